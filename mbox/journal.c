/* The append journal: lets the next lock taker undo the torn tail of a killed appender.
 *
 * Before writing, the appender records "P F pid": the mailbox size before the append and the
 * exact size after it (known in advance thanks to the spool counts). Primary store is the
 * xattr user.mda.append on the mailbox itself: it needs no write access to the spool
 * directory (Debian's /var/mail is 2775 root:mail), it follows the inode, and a rename of
 * another file over the mailbox cannot leave a journal that points at the wrong file.
 * Fallback (filesystems without user xattrs): DIR/.NAME.mda-journal holding "dev ino P F pid".
 *
 * Why no fsync between recording the journal and writing the data: a process kill (the
 * case the journal is for) loses nothing that is in the page cache, so order does not matter
 * there. After a power loss, the xattr is inode metadata and goes through the filesystem's
 * metadata journal in order: a commit that makes the grown size durable also carries the
 * earlier xattr change, so a torn tail is never durable without its journal. And because F is
 * exact, a journal whose removal was lost after a completed append is harmless (S >= F means
 * "complete, keep"). The one fsync before reporting success is the durability point.
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

bool mbox_journal_path(const char *path, char *out, size_t size)
{
	char dir[CFG_PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!mbox_dirname(path, dir, sizeof dir))
		return false;
	int n = snprintf(out, size, "%s/.%s.mda-journal", dir, base);
	return n > 0 && (size_t)n < size;
}

static bool journal_xattr_disabled(void)
{
	/* Test-only switch that exercises the journal-file fallback on filesystems that do
	 * support user xattrs (tests/unit/test_mbox_append.c). */
	const char *v = getenv("MBOX_TEST_NO_XATTR");
	return v && *v == '1';
}

static bool journal_set_file(struct mbox_journal *j, int fd, const char *path, off_t p, off_t f)
{
	struct stat st;
	char text[128];
	if (!mbox_journal_path(path, j->file, sizeof j->file) || fstat(fd, &st) != 0)
		return false;
	int n = snprintf(text, sizeof text, "%ju %ju %jd %jd %ld\n", (uintmax_t)st.st_dev,
			 (uintmax_t)st.st_ino, (intmax_t)p, (intmax_t)f, (long)getpid());
	int jfd = open(j->file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (jfd < 0)
		return false;
	int err = mbox_pwrite_all(jfd, text, (size_t)n, 0);
	close(jfd);
	if (err) {
		unlink(j->file);
		return false;
	}
	return true;
}

void mbox_journal_set(struct mbox_journal *j, int fd, const char *path, off_t p, off_t f)
{
	static bool warned;
	char text[64];
	memset(j, 0, sizeof *j);
	int n = snprintf(text, sizeof text, "%jd %jd %ld", (intmax_t)p, (intmax_t)f, (long)getpid());
	if (!journal_xattr_disabled() && fsetxattr(fd, MBOX_JOURNAL_XATTR, text, (size_t)n, 0) == 0) {
		j->active = true;
		return;
	}
	if (journal_set_file(j, fd, path, p, f)) {
		j->active = j->in_file = true;
		return;
	}
	if (!warned)
		log_msg(LOG_WARNING, "%s: no append journal possible (xattr and journal file failed); "
			"torn-tail repair after a kill -9 is unavailable", path);
	warned = true;
}

void mbox_journal_clear(struct mbox_journal *j, int fd)
{
	if (!j->active)
		return;
	if (j->in_file)
		unlink(j->file);
	else
		fremovexattr(fd, MBOX_JOURNAL_XATTR);
	j->active = false;
}

static bool journal_parse_xattr(int fd, off_t *p, off_t *f)
{
	char text[64];
	ssize_t n = fgetxattr(fd, MBOX_JOURNAL_XATTR, text, sizeof text - 1);
	intmax_t pp, ff;
	if (n <= 0)
		return false;
	text[n] = '\0';
	if (sscanf(text, "%jd %jd", &pp, &ff) != 2 || pp < 0 || ff < pp)
		return false;
	*p = (off_t)pp;
	*f = (off_t)ff;
	return true;
}

static bool journal_parse_file(int fd, const char *path, off_t *p, off_t *f)
{
	char jpath[CFG_PATH_MAX + 32], text[128];
	struct stat st;
	uintmax_t dev, ino;
	intmax_t pp, ff;
	if (!mbox_journal_path(path, jpath, sizeof jpath) || fstat(fd, &st) != 0)
		return false;
	int jfd = open(jpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (jfd < 0)
		return false;
	ssize_t n = pread(jfd, text, sizeof text - 1, 0);
	close(jfd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	if (sscanf(text, "%ju %ju %jd %jd", &dev, &ino, &pp, &ff) != 4 || pp < 0 || ff < pp)
		return false;
	/* A journal for another inode (the mailbox was replaced) is stale. */
	if (dev != (uintmax_t)st.st_dev || ino != (uintmax_t)st.st_ino)
		return false;
	*p = (off_t)pp;
	*f = (off_t)ff;
	return true;
}

bool mbox_journal_get(int fd, const char *path, off_t *p, off_t *f, bool *in_file)
{
	*in_file = false;
	if (journal_parse_xattr(fd, p, f))
		return true;
	*in_file = true;
	return journal_parse_file(fd, path, p, f);
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
	bool in_file;
	struct stat st;
	struct mbox_journal j = { .active = true };
	if (!mbox_journal_get(fd, path, &p, &f, &in_file))
		return 0;
	j.in_file = in_file;
	if (in_file && !mbox_journal_path(path, j.file, sizeof j.file))
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
