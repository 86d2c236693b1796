/* In-place replacement of a mailbox (its directory is not ours to write: Debian's /var/mail
 * is 2775 root:mail and mail(1) is not set-id), and the undo, at the next lock, of one whose
 * process died.
 *
 * Under both locks, signals blocked:
 *   1. backup file := the S bytes the mailbox holds, then its new content (n bytes); fsync.
 *      Beside the mailbox when that directory lets us, else in the tmp dir.
 *   2. rewrite record, durable (xattr user.mda.rewrite, else DIR/.NAME.mda-rewrite): the
 *      backup's path and dev/ino, KEEP = S and the FNV-1a of backup[0, KEEP), the bytes to
 *      put back.
 *   3. the new content is copied over the mailbox, the record updated before every step that
 *      moves the end of our bytes (below); fsync.
 *   4. the record is removed (durable), then the backup.
 * A lock taker that finds a record knows the writer died between 2 and 4: it puts
 * backup[0, KEEP) back and keeps, after it, whatever others appended after our bytes.
 *
 * Where our bytes end matters: Postfix local(8) and any writer that knows nothing of the
 * record append at the end of the file as soon as the dead writer's locks are gone. The
 * record tells it in one of two forms:
 *   'w' hi      our bytes are [0, hi).
 *   'm' lo hi   our bytes are [0, hi) when the byte at lo is NUL, else [0, lo).
 * Growing from z to n bytes: record 'm' z n, extend to n (ftruncate: zeros, so byte z is NUL
 * once extended, whoever appends later), record 'w' n, overwrite. Same size or shrinking:
 * record 'w' z, overwrite [0, n), write a NUL at n, record 'm' n z, truncate to n. This rests
 * on one assumption, stated in mbox.h: what another writer appends never starts with a NUL
 * byte (an mbox message starts with "From ", padding with a newline).
 *
 * The undo is crash-safe the same way: the foreign bytes are first copied to the backup after
 * KEEP (KEEP and the hash grow with the next record), and putting the backup back is one more
 * replacement by the steps above; a kill during the undo is undone by the next lock taker.
 * A backup that is missing, another file (dev/ino), shorter than KEEP or hashing otherwise is
 * never used: the mailbox is left as it is, the record stays, and every lock logs it.
 */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/trusted.h"

struct ip_rec {
	char phase;               /* 'w' or 'm', see above */
	off_t lo, hi;
	off_t keep;               /* backup[0, keep) is the mailbox to put back */
	uint64_t hash;            /* FNV-1a of backup[0, keep) */
	uintmax_t bdev, bino;     /* the backup file */
	char backup[CFG_PATH_MAX + 64];
};

/* One replacement or undo in progress on a locked mailbox. */
struct ip_job {
	int fd;
	const char *path;
	int bfd;                  /* the backup, read-write */
	struct ip_rec rec;        /* as last recorded */
	struct mbox_journal j;
	bool journaled;           /* false: no store works, a crash needs a hand restore */
};

static void ip_test_die_at(const char *step)
{
	/* Test-only: tests/unit/test_mbox_inplace.c kills the writer with a real SIGKILL
	 * between two steps (the byte-count hook of mbox/util.c covers the copies). */
	const char *v = getenv("MBOX_TEST_DIE_AT");
	if (v && strcmp(v, step) == 0)
		raise(SIGKILL);
}

static bool ip_format(const struct ip_rec *r, char *text, size_t size)
{
	int n = snprintf(text, size, "1 %c %jd %jd %jd %016" PRIx64 " %ju %ju %ld %s", r->phase,
			 (intmax_t)r->lo, (intmax_t)r->hi, (intmax_t)r->keep, r->hash, r->bdev, r->bino,
			 (long)getpid(), r->backup);
	return n > 0 && (size_t)n < size;
}

/* Parses what ip_format wrote; anything else (another version, a relative path) is refused. */
static bool ip_parse(const char *text, struct ip_rec *r)
{
	int version, at = 0;
	intmax_t lo, hi, keep;
	long pid;
	if (sscanf(text, "%d %c %jd %jd %jd %" SCNx64 " %ju %ju %ld %n", &version, &r->phase, &lo, &hi,
		   &keep, &r->hash, &r->bdev, &r->bino, &pid, &at) != 9 || at == 0 || version != 1)
		return false;
	if ((r->phase != 'w' && r->phase != 'm') || lo < 0 || hi < lo || keep < 0 || text[at] != '/')
		return false;
	r->lo = (off_t)lo;
	r->hi = (off_t)hi;
	r->keep = (off_t)keep;
	return snprintf(r->backup, sizeof r->backup, "%s", text + at) < (int)sizeof r->backup;
}

/* Makes the record say phase lo hi (with the current keep and hash) before the step it
 * allows. On failure the record on disk still describes the file: the step is not taken. */
static int ip_record(struct ip_job *jb, char phase, off_t lo, off_t hi)
{
	char text[MBOX_RECORD_MAX];
	struct ip_rec prev = jb->rec;
	jb->rec.phase = phase;
	jb->rec.lo = lo;
	jb->rec.hi = hi;
	if (!jb->journaled)
		return 0;
	errno = 0;
	if (ip_format(&jb->rec, text, sizeof text) &&
	    mbox_record_set(&jb->j, MBOX_J_REWRITE, jb->fd, jb->path, text, true))
		return 0;
	jb->rec = prev;
	return errno ? errno : EIO;
}

/* Copies src[soff, soff+n) to dst at doff through a mbox_writer (and so its kill test hook),
 * adding the bytes to *hash unless hash is NULL. 0, or errno (EIO: src is shorter). */
static int ip_copy(int src, off_t soff, int dst, off_t doff, off_t n, uint64_t *hash)
{
	struct mbox_writer w;
	char *buf = malloc(MBOX_IO_BUF);
	if (!buf || !mbox_writer_init(&w, dst, doff)) {
		free(buf);
		return ENOMEM;
	}
	int err = 0;
	for (off_t done = 0; !err && !w.err && done < n;) {
		size_t want = n - done < MBOX_IO_BUF ? (size_t)(n - done) : MBOX_IO_BUF;
		ssize_t got = pread(src, buf, want, soff + done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err = got < 0 ? errno : EIO;
			break;
		}
		if (hash)
			*hash = mbox_hash_more(*hash, buf, (size_t)got);
		mbox_writer_put(&w, buf, (size_t)got);
		done += got;
	}
	free(buf);
	int werr = mbox_writer_finish(&w);
	return err ? err : werr;
}

static int ip_hash_file(int fd, off_t n, uint64_t *hash)
{
	char *buf = malloc(MBOX_IO_BUF);
	int err = buf ? 0 : ENOMEM;
	*hash = MBOX_HASH_SEED;
	for (off_t done = 0; !err && done < n;) {
		size_t want = n - done < MBOX_IO_BUF ? (size_t)(n - done) : MBOX_IO_BUF;
		ssize_t got = pread(fd, buf, want, done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			err = got < 0 ? errno : EIO;
		else
			*hash = mbox_hash_more(*hash, buf, (size_t)got);
		done += got > 0 ? got : 0;
	}
	free(buf);
	return err;
}

/* Replaces the mailbox's z bytes, all ours, with backup[off, off+n) in the steps described at
 * the top. The caller removes the record once this returned 0. */
static int ip_apply(struct ip_job *jb, off_t off, off_t n, off_t z)
{
	static const char nul = '\0';
	int err = 0;
	if (n > z) {
		if ((err = ip_record(jb, 'm', z, n)) != 0)
			return err;
		ip_test_die_at("growing");
		if (ftruncate(jb->fd, n) != 0)
			return errno;
		ip_test_die_at("grown");
	}
	off_t end = n > z ? n : z;
	if ((err = ip_record(jb, 'w', end, end)) != 0 || (err = ip_copy(jb->bfd, off, jb->fd, 0, n, NULL)) != 0)
		return err;
	if (n < z) {
		if ((err = mbox_pwrite_all(jb->fd, &nul, 1, n)) != 0)
			return err;
		if (fsync(jb->fd) != 0)
			return errno;
		if ((err = ip_record(jb, 'm', n, z)) != 0)
			return err;
		ip_test_die_at("marked");
		if (ftruncate(jb->fd, n) != 0)
			return errno;
	}
	if (fsync(jb->fd) != 0)
		return errno;
	ip_test_die_at("written");
	return 0;
}

/* Where our bytes end in a file of size bytes, per the record. False when the file is
 * shorter than that: someone else truncated it, the record does not describe it. */
static bool ip_ours(const struct ip_job *jb, off_t size, off_t *ours)
{
	const struct ip_rec *r = &jb->rec;
	char b = 1;
	*ours = r->hi;
	if (r->phase == 'm' && (size <= r->lo || pread(jb->fd, &b, 1, r->lo) != 1 || b != '\0'))
		*ours = r->lo;
	return size >= *ours;
}

/* Puts backup[0, keep) back, followed by what others appended after our bytes (*foreign
 * bytes). EUCLEAN when the file does not fit the record. */
static int ip_restore(struct ip_job *jb, off_t *foreign)
{
	struct stat st;
	off_t ours;
	*foreign = 0;
	if (fstat(jb->fd, &st) != 0)
		return errno;
	if (!ip_ours(jb, st.st_size, &ours))
		return EUCLEAN;
	*foreign = st.st_size - ours;
	if (*foreign > 0) {
		uint64_t h = jb->rec.hash;
		int err = ip_copy(jb->fd, ours, jb->bfd, jb->rec.keep, *foreign, &h);
		if (err)
			return err;
		if (fsync(jb->bfd) != 0)
			return errno;
		/* The record on disk still names backup[0, keep), which is untouched; the next
		 * one names the longer range. */
		jb->rec.keep += *foreign;
		jb->rec.hash = h;
		ip_test_die_at("captured");
	}
	return ip_apply(jb, 0, jb->rec.keep, st.st_size);
}

/* Done: the record goes first (while it exists the backup is needed), then the backup. */
static void ip_finish(struct ip_job *jb)
{
	mbox_record_clear(&jb->j, jb->fd, true);
	ip_test_die_at("cleared");
	close(jb->bfd);
	jb->bfd = -1;
	/* Only while the name is still that very file: never remove what someone put there. */
	struct stat st;
	if (lstat(jb->rec.backup, &st) == 0 && (uintmax_t)st.st_dev == jb->rec.bdev &&
	    (uintmax_t)st.st_ino == jb->rec.bino)
		unlink(jb->rec.backup);
}

/* mkostemp DIR/PREFIX.XXXXXX, the directory made absolute: the record outlives our cwd. */
static int ip_backup_in(struct ip_job *jb, const char *dir, const char *prefix)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return errno;
	if (snprintf(jb->rec.backup, sizeof jb->rec.backup, "%s/%s.XXXXXX", real, prefix) >=
	    (int)sizeof jb->rec.backup)
		return ENAMETOOLONG;
	jb->bfd = mkostemp(jb->rec.backup, O_CLOEXEC);
	return jb->bfd < 0 ? errno : 0;
}

/* The backup goes beside the mailbox when the directory lets us (same disk, survives a
 * reboot), else into the tmp dir. Root hands it to the mailbox's owner, whose next delivery
 * may have to use it. */
static int ip_backup_create(struct ip_job *jb, const struct stat *mst)
{
	char dir[CFG_PATH_MAX], prefix[CFG_PATH_MAX + 32];
	struct stat st;
	const char *slash = strrchr(jb->path, '/');
	const char *base = slash ? slash + 1 : jb->path;
	if (!mbox_dirname(jb->path, dir, sizeof dir))
		return ENAMETOOLONG;
	snprintf(prefix, sizeof prefix, ".%s.mda-backup", base);
	int err = ip_backup_in(jb, dir, prefix);
	if (err == EACCES || err == EPERM || err == EROFS) {
		snprintf(prefix, sizeof prefix, "mbox-rewrite.%s", base);
		err = ip_backup_in(jb, mbox_tmp_dir(), prefix);
	}
	if (err)
		return err;
	/* The undo believes only a backup owned by the mailbox's owner. */
	if ((geteuid() == 0 && fchown(jb->bfd, mst->st_uid, mst->st_gid) != 0) || fstat(jb->bfd, &st) != 0) {
		int err = errno;
		close(jb->bfd);
		jb->bfd = -1;
		unlink(jb->rec.backup);
		return err;
	}
	jb->rec.bdev = (uintmax_t)st.st_dev;
	jb->rec.bino = (uintmax_t)st.st_ino;
	return 0;
}

/* backup := the s current bytes (hashed for the record), then the new content; *n its size. */
static int ip_backup_fill(struct ip_job *jb, off_t s, mbox_gen_fn gen, const void *ctx, off_t *n)
{
	struct mbox_writer w;
	uint64_t h = MBOX_HASH_SEED;
	int err = ip_copy(jb->fd, 0, jb->bfd, 0, s, &h);
	if (!err && !mbox_writer_init(&w, jb->bfd, s))
		err = ENOMEM;
	if (err)
		return err;
	gen(&w, ctx);
	err = mbox_writer_finish(&w);
	*n = w.off - s;
	if (!err && fsync(jb->bfd) != 0)
		err = errno;
	if (!err)
		err = mbox_fsync_dir(jb->rec.backup);   /* the record must never outlive its backup */
	jb->rec.keep = s;
	jb->rec.hash = h;
	return err;
}

/* The first record: without any store the rewrite still goes ahead (as the append does
 * without its journal), behind the backup that a crash would leave for a hand restore. */
static void ip_first_record(struct ip_job *jb, off_t s)
{
	jb->journaled = true;
	if (ip_record(jb, 'w', s, s) == 0) {
		log_msg(LOG_INFO, "%s: rewriting in place, backup in %s", jb->path, jb->rec.backup);
		return;
	}
	jb->journaled = false;
	ip_record(jb, 'w', s, s);
	log_msg(LOG_WARNING, "%s: rewriting in place without a rewrite record (no xattr, directory "
		"not writable): if this process dies now, restore the first %jd bytes of %s by hand",
		jb->path, (intmax_t)s, jb->rec.backup);
}

int mbox_replace_in_place(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx)
{
	struct ip_job jb = { .fd = lk->fd, .path = lk->path, .bfd = -1 };
	off_t s = st->st_size, n = 0, foreign;
	int err = ip_backup_create(&jb, st);
	if (!err)
		err = ip_backup_fill(&jb, s, gen, ctx, &n);
	if (err) {
		if (jb.bfd >= 0) {
			close(jb.bfd);
			unlink(jb.rec.backup);
		}
		return err;
	}
	ip_first_record(&jb, s);
	err = ip_apply(&jb, s, n, s);
	if (!err) {
		ip_finish(&jb);
		return 0;
	}
	int uerr = ip_restore(&jb, &foreign);
	if (!uerr) {
		ip_finish(&jb);
		log_msg(LOG_ERR, "%s: in-place rewrite failed (%s); the old content is back", lk->path,
			strerror(err));
	} else {
		log_msg(LOG_ERR, "%s: in-place rewrite failed (%s) and the old content could not be put "
			"back (%s): it is the first %jd bytes of %s%s", lk->path, strerror(err),
			strerror(uerr), (intmax_t)jb.rec.keep, jb.rec.backup,
			jb.journaled ? "; the next lock retries" : "");
		close(jb.bfd);
	}
	return err;
}

/* True when backup has a name only ip_backup_create gives a backup of the mailbox at mpath:
 * .NAME.mda-backup.XXXXXX in the mailbox's own directory, or mbox-rewrite.NAME.XXXXXX in
 * the tmp dir (any absolute directory: the rewriter's TMPDIR need not be ours). A record
 * naming anything else, such as the owner's ~/.profile, is not ours, however it hashes. */
static bool ip_backup_name_ok(const char *mpath, const char *backup)
{
	char mdir[CFG_PATH_MAX], real_mdir[PATH_MAX], bdir[CFG_PATH_MAX + 64], want[CFG_PATH_MAX + 64];
	const char *slash = strrchr(mpath, '/');
	const char *name = slash ? slash + 1 : mpath;
	const char *bslash = strrchr(backup, '/');
	if (backup[0] != '/' || !bslash || !mbox_dirname(mpath, mdir, sizeof mdir) ||
	    !mbox_dirname(backup, bdir, sizeof bdir))
		return false;
	const char *bname = bslash + 1;
	if (snprintf(want, sizeof want, "mbox-rewrite.%s.", name) < (int)sizeof want &&
	    strncmp(bname, want, strlen(want)) == 0 && strlen(bname) == strlen(want) + 6)
		return true;
	return snprintf(want, sizeof want, ".%s.mda-backup.", name) < (int)sizeof want &&
	       strncmp(bname, want, strlen(want)) == 0 && strlen(bname) == strlen(want) + 6 &&
	       realpath(mdir, real_mdir) && strcmp(bdir, real_mdir) == 0;
}

/* Opens the record's backup and checks that it is the very file the rewriter wrote: a name
 * only a backup of this mailbox has, the same dev/ino, a plain file with one link owned by
 * the mailbox's owner and private to it (mkostemp's 0600), at least keep bytes hashing as
 * recorded. Only then may the undo read it, write to it or remove it. */
static const char *ip_backup_open(struct ip_job *jb)
{
	struct stat st, mst;
	uint64_t h;
	if (fstat(jb->fd, &mst) != 0)
		return strerror(errno);
	if (!ip_backup_name_ok(jb->path, jb->rec.backup))
		return "it is not where or what a backup of this mailbox is";
	struct trust_rule rule = { .owner = mst.st_uid, .forbid = 077 };
	const char *why = NULL;
	jb->bfd = trusted_open(jb->rec.backup, O_RDWR, 0, &rule, &st, &why);
	if (jb->bfd < 0)
		return errno == ENOENT ? "it is missing" : why ? why : strerror(errno);
	if ((uintmax_t)st.st_dev != jb->rec.bdev || (uintmax_t)st.st_ino != jb->rec.bino)
		return "it is not the file the rewriter wrote";
	if (st.st_size < jb->rec.keep)
		return "it is shorter than recorded";
	if (ip_hash_file(jb->bfd, jb->rec.keep, &h) != 0 || h != jb->rec.hash)
		return "its content is not what was recorded";
	return NULL;
}

/* Logged on every lock while a record cannot be used: an administrator has to look. */
static void ip_unusable(const char *path, const char *text, const char *why)
{
	log_msg(LOG_ERR, "%s: an interrupted in-place rewrite was NOT undone (%s); the mailbox is left "
		"as it is and may mix old and new bytes; record %s: %s", path, why, MBOX_REWRITE_XATTR, text);
}

int mbox_inplace_recover(int fd, const char *path)
{
	char text[MBOX_RECORD_MAX];
	struct ip_job jb = { .fd = fd, .path = path, .bfd = -1, .journaled = true };
	off_t foreign;
	sigset_t old;
	if (!mbox_record_get(&jb.j, MBOX_J_REWRITE, fd, path, text, sizeof text))
		return 0;
	if (!ip_parse(text, &jb.rec)) {
		ip_unusable(path, text, "the record is unreadable");
		return 0;
	}
	mbox_block_signals(&old);
	const char *why = ip_backup_open(&jb);
	int err = why ? 0 : ip_restore(&jb, &foreign);
	if (why) {
		ip_unusable(path, text, why);
	} else if (err == EUCLEAN) {
		ip_unusable(path, text, "the mailbox is shorter than the record says: truncated by another program");
		err = 0;
	} else if (err) {
		log_msg(LOG_ERR, "%s: cannot undo an interrupted in-place rewrite (%s); record kept, the "
			"next lock retries", path, strerror(err));
	} else {
		ip_finish(&jb);
		log_msg(LOG_WARNING, "%s: undid an in-place rewrite interrupted by the death of its process: "
			"%jd bytes restored from %s, %jd bytes appended since kept after them", path,
			(intmax_t)(jb.rec.keep - foreign), jb.rec.backup, (intmax_t)foreign);
	}
	if (jb.bfd >= 0)
		close(jb.bfd);
	mbox_restore_signals(&old);
	return err;
}
