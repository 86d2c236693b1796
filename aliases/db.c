/* The aliases GDBM database: atomic compile (temp file, fsync, rename) and the reader. */
#include "aliases/aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Build strategy, measured on 1,000,000 aliases (see newaliases(8), PERFORMANCE): GDBM
 * writes the touched bucket back after every gdbm_store, so the per-store cost is what
 * matters. With plain I/O that is ~5 system calls per alias; with mmap it is two memcpy()s,
 * but GDBM re-maps the file every time it grows, which is quadratic. So the temporary file is
 * fallocate()d to a generous estimate first and only then switched to mmap: the whole build
 * happens inside one mapping, and the unused tail is cut off at the end. 8 KB blocks keep the
 * per-store bucket copy small without making the directory large; the bucket cache only
 * saves copies out of the mapping. When fallocate is not possible (disk full, a file system
 * without it, or a GDBM header layout this file does not know) the build runs without mmap:
 * slower, same result. */
#define ALIAS_DB_BLOCK  8192
#define ALIAS_DB_CACHE  2048
#define ALIAS_DB_PER_BYTE 2              /* preallocation: 2 bytes per source byte ... */
#define ALIAS_DB_PER_LINE 80             /* ... plus 80 per line (bucket slot, NULs, slack) */
#define ALIAS_DB_MIN_PREALLOC (1 << 20)

struct alias_db {
	GDBM_FILE dbf;
	struct alias_db_info info;
};

static datum mkdatum(const char *s, size_t len_with_nul)
{
	datum d = { (char *)s, (int)len_with_nul };
	return d;
}

/* ---- Format of an existing file ---- */

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static bool magic_is(uint32_t got, uint32_t want)
{
	return got == want || swap32(got) == want;
}

/* GDBM's header magics: the old one, 32- and 64-bit offsets, and the numsync variants. */
static bool is_gdbm_magic(uint32_t m)
{
	for (uint32_t want = 0x13579ace; want <= 0x13579ad1; want++)
		if (magic_is(m, want))
			return true;
	return false;
}

/* Berkeley DB 2 and later keep the access method's magic at offset 12; DB 1.85 at 0. */
static const char *berkeley_kind(uint32_t m)
{
	if (magic_is(m, 0x061561))
		return "a Berkeley DB hash file";
	if (magic_is(m, 0x053162))
		return "a Berkeley DB btree file";
	if (magic_is(m, 0x042253))
		return "a Berkeley DB queue file";
	return NULL;
}

enum alias_db_format alias_db_format(const char *path, const char **what)
{
	unsigned char head[32];
	uint32_t m0, m12, m16;
	struct stat st;
	*what = "missing";
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ALIAS_FMT_MISSING : (*what = strerror(errno), ALIAS_FMT_UNREADABLE);
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, head, sizeof head, 0) : -1;
	close(fd);
	*what = "not a regular file";
	if (n < 0)
		return ALIAS_FMT_OTHER;
	*what = "an empty file";
	if (n < 20)
		return n == 0 ? ALIAS_FMT_OTHER : (*what = "too short for any database", ALIAS_FMT_OTHER);
	memcpy(&m0, head, 4);
	memcpy(&m12, head + 12, 4);
	memcpy(&m16, head + 16, 4);
	*what = "a GDBM database";
	if (is_gdbm_magic(m0))
		return ALIAS_FMT_GDBM;
	if ((*what = berkeley_kind(m12)) || (*what = berkeley_kind(m0)))
		return ALIAS_FMT_BERKELEY;
	*what = magic_is(m16, 0xBEEFC0DE) ? "an LMDB database" : "not a database format mda knows";
	return ALIAS_FMT_OTHER;
}

/* The one sentence both programs say about a file that is not ours (it fits a result). */
static int foreign_db(const char *path, const char *what, bool writing, struct result *r)
{
	return res_set(r, EX_CONFIG, "4.3.5", "%s is %s%s, not mda's GDBM aliases; %s", path, what,
		       strstr(what, "Berkeley") ? " (Postfix or sendmail)" : "",
		       writing ? "not overwriting it: point aliases_db at a file of mda's own (default "
				 ALIAS_DB_DEFAULT ")"
			       : "point aliases_db at mda's own (default " ALIAS_DB_DEFAULT
				 "), or set expansion = mta");
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

/* The database being built: GDBM owns one descriptor of the temporary file, we keep another
 * for what comes after gdbm_close (trimming, owner, mode, fsync). */
struct build {
	GDBM_FILE dbf;
	int fd;
	bool preallocated;
	char tmp[4096];
};

/* The start of GDBM's file header (gdbm_file_header in GDBM's gdbmdefs.h, the standard
 * format with 64-bit offsets): enough to learn where the used part of the file ends. */
struct gdbm_head {
	int magic, block_size;
	off_t dir;
	int dir_size, dir_bits, bucket_size, bucket_elems;
	off_t next_block;
};
#define GDBM_HEAD_MAGIC64 0x13579acf

/* Where the used part of the file ends according to its header, or -1 when the header is not
 * the layout we know (then the build must not rely on it). */
static off_t used_size(int fd)
{
	struct gdbm_head h;
	struct stat st;
	if (sizeof(off_t) != 8 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || fstat(fd, &st) != 0)
		return -1;
	if (h.magic != GDBM_HEAD_MAGIC64 || h.block_size != ALIAS_DB_BLOCK || h.next_block < h.block_size ||
	    h.next_block % h.block_size != 0 || h.next_block > st.st_size)
		return -1;
	return h.next_block;
}

/* Cuts the preallocated tail off: GDBM refuses a file longer than its header says ("needs
 * recovery"), so this is not optional once the file was preallocated. */
static int trim_tail(int fd, struct result *r)
{
	off_t used = used_size(fd);
	if (used < 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "the new database has an unexpected header");
	if (ftruncate(fd, used) != 0)
		return res_errno(r, errno, false, "cannot trim the new database");
	return EX_OK;
}

/* The finished file opens and holds the sentinel: nothing is renamed into place unchecked. */
static int verify_db(const char *path, struct result *r)
{
	GDBM_FILE g = gdbm_open(path, 0, GDBM_READER | GDBM_NOLOCK | GDBM_CLOEXEC, 0, NULL);
	bool ok = g && gdbm_exists(g, mkdatum("@", 2));
	int err = gdbm_errno;
	if (g)
		gdbm_close(g);
	if (!ok)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "the new database does not read back: %s",
			       gdbm_strerror(err));
	return EX_OK;
}

/* Everything after the entries: sentinel, sync, close, trim, owner/mode, fsync. */
static int finish_db(struct build *b, const char *dbpath, struct result *r)
{
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool keep;
	GDBM_FILE dbf = b->dbf;
	b->dbf = NULL;
	if (gdbm_store(dbf, mkdatum("@", 2), mkdatum("@", 2), GDBM_REPLACE) != 0) {
		res_set(r, EX_TEMPFAIL, "4.3.0", "cannot store the @ sentinel: %s", gdbm_db_strerror(dbf));
		gdbm_close(dbf);
		return r->ex;
	}
	/* gdbm_sync writes the cached buckets and the header and syncs the file. */
	if (gdbm_sync(dbf) != 0) {
		res_set(r, EX_TEMPFAIL, "4.3.0", "cannot write the new database: %s", gdbm_db_strerror(dbf));
		gdbm_close(dbf);
		return r->ex;
	}
	if (gdbm_close(dbf) != 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot close the new database");
	if (b->preallocated && trim_tail(b->fd, r) != EX_OK)
		return r->ex;
	if (verify_db(b->tmp, r) != EX_OK)
		return r->ex;
	target_identity(dbpath, &uid, &gid, &mode, &keep);
	if ((keep && fchown(b->fd, uid, gid) != 0 && errno != EPERM) || fchmod(b->fd, mode) != 0)
		return res_errno(r, errno, false, "cannot set owner/mode of the new database");
	if (fsync(b->fd) != 0)
		return res_errno(r, errno, false, "cannot write the new database");
	return EX_OK;
}

/* Lines in the source, for the size estimate: a cheap pass over what is in the page cache
 * anyway. -1 on a read error (the parse will report it). */
static off_t count_lines(int fd)
{
	static char buf[1 << 16];
	off_t lines = 0, pos = 0;
	ssize_t got;
	while ((got = pread(fd, buf, sizeof buf, pos)) > 0) {
		for (const char *p = buf, *end = buf + got; (p = memchr(p, '\n', (size_t)(end - p))); p++)
			lines++;
		pos += got;
	}
	return got < 0 ? -1 : lines;
}

/* Reserves room for the whole build and moves GDBM into one mapping (see the top). A wrong
 * estimate costs speed, never correctness: GDBM grows the file itself. */
static void preallocate(struct build *b, int src_fd, off_t src_size)
{
	off_t lines = count_lines(src_fd);
	off_t want = src_size * ALIAS_DB_PER_BYTE + (lines > 0 ? lines : 0) * ALIAS_DB_PER_LINE;
	int on = 1;
	/* GDBM has written its first header: only a layout we can trim later is preallocated. */
	if (gdbm_sync(b->dbf) != 0 || used_size(b->fd) < 0)
		return;
	if (lines < 0 || fallocate(b->fd, 0, 0, want < ALIAS_DB_MIN_PREALLOC ? ALIAS_DB_MIN_PREALLOC : want) != 0)
		return;
	b->preallocated = true;
	gdbm_setopt(b->dbf, GDBM_SETMMAP, &on, sizeof on);   /* failure: plain I/O, still right */
}

static int create_temp(const char *dbpath, int src_fd, off_t src_size, struct build *b,
		       struct result *r)
{
	if (snprintf(b->tmp, sizeof b->tmp, "%s.tmpXXXXXX", dbpath) >= (int)sizeof b->tmp)
		return res_set(r, EX_CANTCREAT, "5.3.5", "database path too long: %s", dbpath);
	b->fd = mkostemp(b->tmp, O_CLOEXEC);
	if (b->fd < 0) {
		/* The temporary name is ours; the administrator asked for dbpath. */
		res_errno(r, errno, false, "cannot create %s", dbpath);
		return r->ex = EX_CANTCREAT;
	}
	int gfd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
	b->dbf = gfd < 0 ? NULL : gdbm_fd_open(gfd, b->tmp, ALIAS_DB_BLOCK,
					       GDBM_NEWDB | GDBM_NOLOCK | GDBM_NOMMAP | GDBM_CLOERROR, NULL);
	if (!b->dbf) {
		res_set(r, EX_CANTCREAT, "4.3.0", "cannot create database %s: %s", dbpath,
			gfd < 0 ? strerror(errno) : gdbm_strerror(gdbm_errno));
		close(b->fd);
		unlink(b->tmp);
		return r->ex;
	}
	int cache = ALIAS_DB_CACHE;
	gdbm_setopt(b->dbf, GDBM_SETCACHESIZE, &cache, sizeof cache);   /* best effort */
	preallocate(b, src_fd, src_size);
	return EX_OK;
}

/* Parses src into the temporary database and finishes it. The caller renames or unlinks. */
static int build_db(FILE *in, const char *src, const char *dbpath, struct build *b, FILE *errfp,
		    struct alias_compile_stats *st, struct result *r)
{
	struct alias_parse_stats ps;
	struct compile_ctx c = { b->dbf, src, errfp, st };
	int rc = alias_parse_stream(in, src, store_entry, &c, errfp, &ps, r);
	st->bad = ps.bad;
	if (rc != EX_OK) {
		gdbm_close(b->dbf);
		b->dbf = NULL;
		return rc;
	}
	return finish_db(b, dbpath, r);
}

int alias_compile(const char *src, const char *dbpath, FILE *errfp, struct alias_compile_stats *st,
		  struct result *r)
{
	struct build b = { 0 };
	struct stat sst;
	int rc;
	const char *what;
	memset(st, 0, sizeof *st);
	enum alias_db_format fmt = alias_db_format(dbpath, &what);
	if (fmt != ALIAS_FMT_MISSING && fmt != ALIAS_FMT_GDBM && fmt != ALIAS_FMT_UNREADABLE)
		return foreign_db(dbpath, what, true, r);
	FILE *in = fopen(src, "re");
	if (!in)
		return res_set(r, EX_NOINPUT, "5.3.0", "cannot open %s: %s", src, strerror(errno));
	if (fstat(fileno(in), &sst) != 0 || S_ISDIR(sst.st_mode)) {
		fclose(in);
		return res_set(r, EX_NOINPUT, "5.3.0", "cannot read %s: %s", src,
			       S_ISDIR(sst.st_mode) ? "is a directory" : strerror(errno));
	}
	if (create_temp(dbpath, fileno(in), sst.st_size, &b, r) != EX_OK) {
		fclose(in);
		return r->ex;
	}
	rc = build_db(in, src, dbpath, &b, errfp, st, r);
	fclose(in);
	if (rc == EX_OK && rename(b.tmp, dbpath) != 0)
		rc = res_errno(r, errno, false, "cannot put the new %s in place", dbpath);
	close(b.fd);
	if (rc != EX_OK) {
		unlink(b.tmp);
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
		int err = errno, gerr = gdbm_errno;
		const char *what;
		if (gerr == GDBM_FILE_OPEN_ERROR && err == ENOENT)
			return res_set(r, EX_NOINPUT, "4.3.0", "aliases database %s does not exist", path);
		if (alias_db_format(path, &what) == ALIAS_FMT_BERKELEY || gerr == GDBM_BAD_MAGIC_NUMBER)
			return foreign_db(path, what, false, r);
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot open aliases database %s: %s", path,
			       gdbm_strerror(gerr));
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
