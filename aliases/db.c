/* The aliases GDBM database: atomic compile (temp file, fsync, rename) and the reader. */
#include "aliases/aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Build tuning, measured on 1M aliases (see the report in the commit log): big blocks mean
 * buckets of ~2700 entries, so few splits; no mmap, because GDBM re-maps (and fstat()s) every
 * time the file grows; a bucket cache large enough to keep every bucket in memory until the
 * single sync at the end; no locking on a file nobody else can know about yet. */
#define ALIAS_DB_BLOCK  65536
#define ALIAS_DB_CACHE  4096

struct alias_db {
	GDBM_FILE dbf;
	struct alias_db_info info;
};

static datum mkdatum(const char *s, size_t len_with_nul)
{
	datum d = { (char *)s, (int)len_with_nul };
	return d;
}

/* ---- Compile ---- */

struct compile_ctx {
	GDBM_FILE dbf;
	const char *src;
	FILE *errfp;
	struct alias_compile_stats *st;
};

static int store_entry(void *vctx, const struct alias_entry *e, struct result *r)
{
	struct compile_ctx *c = vctx;
	datum key = mkdatum(e->name, e->name_len + 1), val = mkdatum(e->value, e->value_len + 1);
	/* GDBM_INSERT finds duplicates in the hash lookup it does anyway: no extra index. */
	int rc = gdbm_store(c->dbf, key, val, GDBM_INSERT);
	if (rc == 1) {
		c->st->duplicates++;
		if (c->errfp)
			fprintf(c->errfp, "%s:%lu: warning: duplicate alias %s ignored (the first one wins)\n",
				c->src, e->line, e->name);
		return 0;
	}
	if (rc != 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot store alias %s: %s", e->name,
			       gdbm_db_strerror(c->dbf)), -1;
	c->st->aliases++;
	c->st->total += e->name_len + e->value_len;
	if (e->value_len > c->st->longest)
		c->st->longest = e->value_len;
	return 0;
}

/* Owner and mode for the new file: the old file's, or ours and 0644. */
static void target_identity(const char *dbpath, uid_t *uid, gid_t *gid, mode_t *mode, bool *keep)
{
	struct stat st;
	*keep = stat(dbpath, &st) == 0 && S_ISREG(st.st_mode);
	*uid = *keep ? st.st_uid : geteuid();
	*gid = *keep ? st.st_gid : getegid();
	*mode = *keep ? (st.st_mode & 07777) : 0644;
}

static int fsync_dir(const char *path)
{
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Everything after the entries: sentinel, owner/mode, sync, close. Closes the database. */
static int finish_db(GDBM_FILE dbf, int fd, const char *dbpath, struct result *r)
{
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool keep;
	target_identity(dbpath, &uid, &gid, &mode, &keep);
	if (gdbm_store(dbf, mkdatum("@", 2), mkdatum("@", 2), GDBM_REPLACE) != 0) {
		res_set(r, EX_TEMPFAIL, "4.3.0", "cannot store the @ sentinel: %s", gdbm_db_strerror(dbf));
		gdbm_close(dbf);
		return r->ex;
	}
	if ((keep && fchown(fd, uid, gid) != 0 && errno != EPERM) || fchmod(fd, mode) != 0) {
		res_errno(r, errno, false, "cannot set owner/mode of the new database");
		gdbm_close(dbf);
		return r->ex;
	}
	/* gdbm_sync writes the cached buckets and the header and fsyncs the file. */
	if (gdbm_sync(dbf) != 0 || fsync(fd) != 0) {
		res_set(r, EX_TEMPFAIL, "4.3.0", "cannot write the new database: %s",
			gdbm_db_strerror(dbf));
		gdbm_close(dbf);
		return r->ex;
	}
	if (gdbm_close(dbf) != 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot close the new database");
	return EX_OK;
}

static GDBM_FILE create_temp(const char *dbpath, char *tmp, size_t cap, int *fdp, struct result *r)
{
	if (snprintf(tmp, cap, "%s.tmpXXXXXX", dbpath) >= (int)cap) {
		res_set(r, EX_CANTCREAT, "5.3.5", "database path too long: %s", dbpath);
		return NULL;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		res_errno(r, errno, false, "cannot create %s", tmp);
		r->ex = EX_CANTCREAT;
		return NULL;
	}
	GDBM_FILE dbf = gdbm_fd_open(fd, tmp, ALIAS_DB_BLOCK,
				     GDBM_NEWDB | GDBM_NOLOCK | GDBM_NOMMAP | GDBM_CLOERROR, NULL);
	if (!dbf) {
		res_set(r, EX_CANTCREAT, "4.3.0", "cannot create database %s: %s", tmp,
			gdbm_strerror(gdbm_errno));
		unlink(tmp);
		return NULL;
	}
	int cache = ALIAS_DB_CACHE;
	gdbm_setopt(dbf, GDBM_SETCACHESIZE, &cache, sizeof cache);   /* best effort */
	*fdp = fd;
	return dbf;
}

int alias_compile(const char *src, const char *dbpath, FILE *errfp, struct alias_compile_stats *st,
		  struct result *r)
{
	char tmp[4096];
	struct alias_parse_stats ps;
	int fd = -1, rc;
	memset(st, 0, sizeof *st);
	FILE *in = fopen(src, "re");
	if (!in)
		return res_set(r, EX_NOINPUT, "5.3.0", "cannot open %s: %s", src, strerror(errno));
	GDBM_FILE dbf = create_temp(dbpath, tmp, sizeof tmp, &fd, r);
	if (!dbf) {
		fclose(in);
		return r->ex;
	}
	struct compile_ctx c = { dbf, src, errfp, st };
	rc = alias_parse_stream(in, src, store_entry, &c, errfp, &ps, r);
	fclose(in);
	st->bad = ps.bad;
	if (rc != EX_OK)
		gdbm_close(dbf);
	else
		rc = finish_db(dbf, fd, dbpath, r);
	if (rc == EX_OK && rename(tmp, dbpath) != 0)
		rc = res_errno(r, errno, false, "cannot rename %s to %s", tmp, dbpath);
	if (rc != EX_OK) {
		unlink(tmp);
		if (r->ex == EX_OK || r->ex == EX_IOERR)
			r->ex = EX_TEMPFAIL;
		return r->ex;
	}
	fsync_dir(dbpath);   /* the rename is durable; failure here changes nothing we could fix */
	if (st->bad)
		return res_set(r, EX_DATAERR, "5.3.0", "%s: %lu bad entries skipped", src, st->bad);
	*r = res_ok("%s: %lu aliases", src, st->aliases);
	return EX_OK;
}

/* ---- Reader ---- */

int alias_db_open(const char *path, struct alias_db **out, struct result *r)
{
	struct stat st;
	*out = NULL;
	GDBM_FILE dbf = gdbm_open(path, 0, GDBM_READER | GDBM_NOLOCK | GDBM_CLOEXEC, 0, NULL);
	if (!dbf) {
		int err = errno;
		if (gdbm_errno == GDBM_FILE_OPEN_ERROR && err == ENOENT)
			return res_set(r, EX_NOINPUT, "4.3.0", "aliases database %s does not exist", path);
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot open aliases database %s: %s", path,
			       gdbm_strerror(gdbm_errno));
	}
	if (!gdbm_exists(dbf, mkdatum("@", 2))) {
		gdbm_close(dbf);
		return res_set(r, EX_TEMPFAIL, "4.3.0",
			       "aliases database %s is incomplete (no @ sentinel): newaliases running?", path);
	}
	struct alias_db *db = calloc(1, sizeof *db);
	if (!db || fstat(gdbm_fdesc(dbf), &st) != 0) {
		free(db);
		gdbm_close(dbf);
		return res_errno(r, errno ? errno : ENOMEM, false, "cannot open aliases database %s", path);
	}
	db->dbf = dbf;
	db->info.dev = st.st_dev;
	db->info.ino = st.st_ino;
	db->info.mtime = st.st_mtim;
	db->info.owner = st.st_uid;
	*out = db;
	return EX_OK;
}

void alias_db_close(struct alias_db *db)
{
	if (!db)
		return;
	gdbm_close(db->dbf);
	free(db);
}

void alias_db_info(const struct alias_db *db, struct alias_db_info *info)
{
	*info = db->info;
}

/* A stored string: NUL-terminated by convention, but never trust the file for that. */
static char *dup_datum(datum d)
{
	size_t n = (size_t)d.dsize;
	if (n > 0 && d.dptr[n - 1] == '\0')
		n--;
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, d.dptr, n);
		s[n] = '\0';
	}
	return s;
}

int alias_db_lookup(struct alias_db *db, const char *name, char **value, struct result *r)
{
	*value = NULL;
	datum d = gdbm_fetch(db->dbf, mkdatum(name, strlen(name) + 1));
	if (!d.dptr) {
		if (gdbm_errno == GDBM_ITEM_NOT_FOUND)
			return 0;
		res_set(r, EX_TEMPFAIL, "4.3.0", "aliases database lookup failed: %s",
			gdbm_db_strerror(db->dbf));
		return -1;
	}
	*value = dup_datum(d);
	free(d.dptr);
	if (!*value) {
		res_errno(r, ENOMEM, false, "aliases lookup");
		return -1;
	}
	return 1;
}

int alias_db_foreach(struct alias_db *db, void (*fn)(void *ctx, const char *name, const char *value),
		     void *ctx, struct result *r)
{
	datum key = gdbm_firstkey(db->dbf);
	while (key.dptr) {
		datum val = gdbm_fetch(db->dbf, key);
		char *k = dup_datum(key), *v = val.dptr ? dup_datum(val) : NULL;
		if (k && v && strcmp(k, "@") != 0)
			fn(ctx, k, v);
		free(k);
		free(v);
		free(val.dptr);
		datum next = gdbm_nextkey(db->dbf, key);
		free(key.dptr);
		key = next;
	}
	if (gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "reading the aliases database: %s",
			       gdbm_db_strerror(db->dbf));
	return EX_OK;
}
