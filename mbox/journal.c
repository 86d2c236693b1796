/* Mailbox records: the append journal, which lets the next lock taker undo the torn tail of
 * a killed appender, and the store of the in-place rewrite record (its meaning: inplace.c).
 *
 * Before writing, the appender records "P F pid": the mailbox size before the append and the
 * exact size after it (known in advance thanks to the spool counts). Primary store is the
 * xattr user.mda.append on the mailbox itself: it needs no write access to the spool
 * directory (Debian's /var/mail is 2775 root:mail), it follows the inode, and a rename of
 * another file over the mailbox cannot leave a journal that points at the wrong file.
 * Fallback (filesystems without user xattrs, and only there): DIR/.NAME.mda-journal holding
 * "dev ino P F pid", believed only when it is a plain file of the mailbox's owner that nobody
 * else can write (a sticky world-writable spool lets anyone create that name).
 *
 * Why no fsync between recording the journal and writing the data: a process kill (the
 * case the journal is for) loses nothing that is in the page cache, so order does not matter
 * there. After a power loss, the xattr is inode metadata and goes through the filesystem's
 * metadata journal in order: a commit that makes the grown size durable also carries the
 * earlier xattr change, so a torn tail is never durable without its journal. And because F is
 * exact, a journal whose removal was lost after a completed append is harmless (S >= F means
 * "complete, keep"). The one fsync before reporting success is the durability point.
 *
 * The rewrite record (xattr user.mda.rewrite, fallback DIR/.NAME.mda-rewrite) uses the same
 * two stores but is written durably: fsync of the mailbox after the xattr, or a file written
 * beside, fsynced and renamed into place, then the directory fsynced.
 */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"
#include "common/trusted.h"

/* The records a mailbox can carry, each in its own xattr or, without xattrs, its own file. */
static const struct {
	const char *xattr;
	const char *suffix;
} journal_kinds[] = {
	[MBOX_J_APPEND] = { MBOX_JOURNAL_XATTR, "mda-journal" },
	[MBOX_J_REWRITE] = { MBOX_REWRITE_XATTR, "mda-rewrite" },
};

static bool journal_kind_path(enum mbox_jkind kind, const char *path, char *out, size_t size)
{
	char dir[CFG_PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!mbox_dirname(path, dir, sizeof dir))
		return false;
	int n = snprintf(out, size, "%s/.%s.%s", dir, base, journal_kinds[kind].suffix);
	return n > 0 && (size_t)n < size;
}

static bool journal_xattr_disabled(void)
{
	/* Test-only switch that makes a file system with user xattrs behave as one without, for
	 * writers and readers alike (tests/unit/test_mbox_append.c, test_mbox_inplace.c). */
	const char *v = getenv("MBOX_TEST_NO_XATTR");
	return v && *v == '1';
}

/* The fallback files are for file systems without user xattrs, and only there: beside a
 * mailbox that can carry an xattr, a record file can only be someone else's plant. */
static bool journal_no_xattrs(int err)
{
	return err == ENOTSUP || err == EOPNOTSUPP;
}

/* Who may have written a record file of the mailbox open as fd: its owner (root gives the
 * files it writes to the owner), nobody else able to change it, on the mailbox's disk. */
static bool journal_file_rule(int fd, struct trust_rule *rule)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return false;
	*rule = (struct trust_rule){ .owner = st.st_uid, .forbid = 022, .check_dev = true, .dev = st.st_dev };
	return true;
}

/* Writes "dev ino TEXT" to file through a new file of our own (O_EXCL beside it, given to the
 * mailbox owner when we are root) renamed over it: an update is atomic, a kill never leaves
 * half a record, and nothing planted at the name is written through or kept (in a sticky
 * directory the rename over someone else's file fails: then there is no record). Durable:
 * fsynced, and the directory too. A first record that cannot be made durable is removed. */
static bool journal_write_file(const char *file, int fd, const char *text, bool durable, bool first)
{
	char tmp[CFG_PATH_MAX + 48], line[MBOX_RECORD_MAX + 64];
	struct stat st;
	if (fstat(fd, &st) != 0 || snprintf(tmp, sizeof tmp, "%s.XXXXXX", file) >= (int)sizeof tmp)
		return false;
	int n = snprintf(line, sizeof line, "%ju %ju %s\n", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, text);
	if (n < 0 || n >= (int)sizeof line)
		return false;
	int jfd = mkostemp(tmp, O_CLOEXEC);
	if (jfd < 0)
		return false;
	int err = mbox_pwrite_all(jfd, line, (size_t)n, 0);
	if (!err && geteuid() == 0 && st.st_uid != 0 && fchown(jfd, st.st_uid, (gid_t)-1) != 0)
		err = errno;
	if (!err && durable && fsync(jfd) != 0)
		err = errno;
	close(jfd);
	if (!err && rename(tmp, file) != 0)
		err = errno;
	if (err) {
		unlink(tmp);
		return false;
	}
	if (durable && mbox_fsync_dir(file) != 0) {
		if (first)
			unlink(file);
		return false;
	}
	return true;
}

/* 0, or the errno of the failure (the xattr is gone again when a first one was not durable). */
static int journal_write_xattr(int fd, const char *name, const char *text, bool durable, bool first)
{
	if (fsetxattr(fd, name, text, strlen(text), 0) != 0)
		return errno;
	if (durable && fsync(fd) != 0) {
		int err = errno;
		if (first)
			fremovexattr(fd, name);
		return err;
	}
	return 0;
}

bool mbox_record_set(struct mbox_journal *j, enum mbox_jkind kind, int fd, const char *path,
		     const char *text, bool durable)
{
	bool first = !j->active;
	if (first) {
		memset(j, 0, sizeof *j);
		j->kind = kind;
	}
	/* Once a record is in one store, updates go there too: two stores would disagree. */
	if (first ? !journal_xattr_disabled() : !j->in_file) {
		int err = journal_write_xattr(fd, journal_kinds[kind].xattr, text, durable, first);
		if (err == 0) {
			j->active = true;
			return true;
		}
		/* A working xattr store that refused (full, quota): readers will not look in a
		 * file, so there is no record rather than one nobody reads. */
		if (!first || !journal_no_xattrs(err))
			return false;
	}
	if (!journal_kind_path(kind, path, j->file, sizeof j->file) ||
	    !journal_write_file(j->file, fd, text, durable, first))
		return false;
	j->active = j->in_file = true;
	return true;
}

void mbox_record_clear(struct mbox_journal *j, int fd, bool durable)
{
	if (!j->active)
		return;
	if (j->in_file) {
		unlink(j->file);
		if (durable)
			mbox_fsync_dir(j->file);
	} else {
		fremovexattr(fd, journal_kinds[j->kind].xattr);
		if (durable)
			fsync(fd);
	}
	j->active = false;
}

/* "dev ino TEXT" from the record file, TEXT copied out when the file is trustworthy (see
 * journal_file_rule; anything else is logged and ignored, never acted on) and dev/ino name
 * the open mailbox: a record for another inode (the mailbox was replaced) is stale. */
static bool journal_read_file(const char *file, int fd, char *text, size_t size)
{
	char line[MBOX_RECORD_MAX + 64];
	struct trust_rule rule;
	struct stat st, mst;
	uintmax_t dev, ino;
	const char *why;
	int skip = 0;
	if (fstat(fd, &mst) != 0 || !journal_file_rule(fd, &rule))
		return false;
	int jfd = trusted_open(file, O_RDONLY, 0, &rule, &st, &why);
	if (jfd < 0) {
		if (errno != ENOENT)
			log_msg(LOG_WARNING, "%s: ignoring %s: %s", file, "a record file not written for this mailbox",
				why ? why : strerror(errno));
		return false;
	}
	ssize_t n = pread(jfd, line, sizeof line - 1, 0);
	close(jfd);
	if (n <= 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%ju %ju %n", &dev, &ino, &skip) != 2 || skip == 0 ||
	    dev != (uintmax_t)mst.st_dev || ino != (uintmax_t)mst.st_ino)
		return false;
	return snprintf(text, size, "%s", line + skip) < (int)size;
}

bool mbox_record_get(struct mbox_journal *j, enum mbox_jkind kind, int fd, const char *path, char *text,
		     size_t size)
{
	memset(j, 0, sizeof *j);
	j->kind = kind;
	if (!journal_xattr_disabled()) {
		ssize_t n = fgetxattr(fd, journal_kinds[kind].xattr, text, size - 1);
		if (n > 0) {
			text[n] = '\0';
			j->active = true;
			return true;
		}
		if (n == 0 || !journal_no_xattrs(errno))
			return false;
	}
	if (!journal_kind_path(kind, path, j->file, sizeof j->file) ||
	    !journal_read_file(j->file, fd, text, size))
		return false;
	j->active = j->in_file = true;
	return true;
}

void mbox_journal_set(struct mbox_journal *j, int fd, const char *path, off_t p, off_t f)
{
	static bool warned;
	char text[64];
	j->active = false;
	snprintf(text, sizeof text, "%jd %jd %ld", (intmax_t)p, (intmax_t)f, (long)getpid());
	if (mbox_record_set(j, MBOX_J_APPEND, fd, path, text, false))
		return;
	if (!warned)
		log_msg(LOG_WARNING, "%s: no append journal possible (xattr and journal file failed); "
			"torn-tail repair after a kill -9 is unavailable", path);
	warned = true;
}

void mbox_journal_clear(struct mbox_journal *j, int fd)
{
	mbox_record_clear(j, fd, false);
}

/* The append journal's P and F, when there is one; j says where it is. */
static bool journal_get(struct mbox_journal *j, int fd, const char *path, off_t *p, off_t *f)
{
	char text[MBOX_RECORD_MAX];
	intmax_t pp, ff;
	if (!mbox_record_get(j, MBOX_J_APPEND, fd, path, text, sizeof text) ||
	    sscanf(text, "%jd %jd", &pp, &ff) != 2 || pp < 0 || ff < pp)
		return false;
	*p = (off_t)pp;
	*f = (off_t)ff;
	return true;
}

bool mbox_journal_get(int fd, const char *path, off_t *p, off_t *f, bool *in_file)
{
	struct mbox_journal j;
	bool found = journal_get(&j, fd, path, p, f);
	*in_file = j.in_file;
	return found;
}

/* True when [p, s) holds the start of a message after the one the dead appender began:
 * some other writer appended after the torn tail, and truncating would destroy its mail.
 * Our own bytes cannot contain "\nFrom " after their From_ line: bodies are quoted. */
static bool journal_foreign_after(int fd, off_t p, off_t s)
{
	char buf[64 * 1024 + 8];
	off_t off = p;
	size_t keep = 0;
	bool first_line = true;
	while (off < s) {
		size_t want = sizeof buf - 8 - keep;
		if ((off_t)want > s - off)
			want = (size_t)(s - off);
		ssize_t n = pread(fd, buf + keep, want, off);
		if (n <= 0)
			return true;     /* unreadable: be conservative, keep the bytes */
		size_t len = keep + (size_t)n;
		off += n;
		size_t i = 0;
		if (first_line) {
			/* Skip the separator padding and our own From_ line. */
			while (i < len && buf[i] == '\n')
				i++;
			const char *nl = memchr(buf + i, '\n', len - i);
			if (!nl && off < s) {
				keep = 0;
				continue;   /* a From_ line longer than the buffer: still ours */
			}
			i = nl ? (size_t)(nl - buf) : len;
			first_line = false;
		}
		if (len > i && memmem(buf + i, len - i, "\nFrom ", 6))
			return true;
		keep = len - i < 5 ? len - i : 5;
		memmove(buf, buf + len - keep, keep);
	}
	return false;
}

int mbox_journal_recover(int fd, const char *path)
{
	off_t p, f;
	struct stat st;
	struct mbox_journal j;
	if (!journal_get(&j, fd, path, &p, &f))
		return 0;
	if (fstat(fd, &st) != 0)
		return errno;
	if (st.st_size >= p && st.st_size < f) {
		if (journal_foreign_after(fd, p, st.st_size)) {
			log_msg(LOG_WARNING, "%s: torn append at %jd..%jd is followed by another writer's "
				"mail; kept as it is", path, (intmax_t)p, (intmax_t)st.st_size);
		} else {
			if (ftruncate(fd, p) != 0 || fsync(fd) != 0)
				return errno;     /* journal stays: the next lock taker tries again */
			log_msg(LOG_WARNING, "%s: removed torn tail of an interrupted delivery "
				"(%jd bytes at offset %jd)", path, (intmax_t)(st.st_size - p), (intmax_t)p);
		}
	}
	/* S >= F: that append completed and only its journal removal was lost; S < P: the
	 * file was rewritten since, the journal is stale. Either way nothing to repair. */
	mbox_journal_clear(&j, fd);
	return 0;
}
