/* Safe reading of ~/.forward and :include: files: opened with the rights of the user whose
 * file it is (root never opens a path a user chose), every check made on what was opened. */
#include "forward/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privs.h"

/* Why a file or directory is unsafe for user u, or NULL. st is what was opened/stat'ed. */
static const char *unsafe_reason(const struct stat *st, uid_t uid, bool want_dir)
{
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return want_dir ? "not a directory" : "not a regular file";
	if (st->st_uid != uid && st->st_uid != 0)
		return "owned by someone else";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "group or world writable";
	return NULL;
}

/* lstat, and for a symlink the target, which the user must own. */
static const char *check_path(const char *path, uid_t uid, bool want_dir, struct stat *st, int *err)
{
	const char *why;
	*err = 0;
	if (lstat(path, st) != 0)
		return *err = errno, "cannot stat";
	if (S_ISLNK(st->st_mode)) {
		if (stat(path, st) != 0)
			return *err = errno, "dangling symlink";
		if (st->st_uid != uid)
			return "symlink to a place the user does not own";
	}
	why = unsafe_reason(st, uid, want_dir);
	return why;
}

static bool temporary_errno(int err)
{
	return err == EIO || err == ENOMEM || err == ENFILE || err == EMFILE || err == EINTR ||
	       err == EAGAIN || err == ESTALE || err == ETIMEDOUT;
}

/* Reads at most max bytes of fd; -1 when larger or on error (errno, 0 for "too large"). */
static char *slurp(int fd, size_t size, size_t max)
{
	if (size > max) {
		errno = 0;
		return NULL;
	}
	char *buf = malloc(size + 1);
	size_t n = 0;
	if (!buf)
		return NULL;
	while (n < size) {
		ssize_t got = read(fd, buf + n, size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return NULL;
		}
		if (got == 0)
			break;   /* shrank under us: take what is there */
		n += (size_t)got;
	}
	buf[n] = '\0';
	return buf;
}

/* Opens path for reading and checks the descriptor is the file that was checked. */
static int open_checked(const char *path, const struct stat *want, bool nofollow, struct stat *got)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -1;
	if (fstat(fd, got) != 0 || got->st_dev != want->st_dev || got->st_ino != want->st_ino) {
		close(fd);
		errno = EAGAIN;   /* replaced between the checks and the open: someone is playing */
		return -1;
	}
	return fd;
}

/* ---- ~/.forward ---- */

/* One .forward read, done as its user; logging and classification wait until root is back. */
struct fwd_job {
	const struct user_info *u;
	char path[CFG_PATH_MAX + 16];
	char *content;
	const char *what, *why;   /* FWD_IGNORED: which file and why */
	struct result r;          /* FWD_ERROR */
};

static int ignored(struct fwd_job *j, const char *what, const char *why)
{
	j->what = what;
	j->why = why;
	return FWD_IGNORED;
}

static int check_home(struct fwd_job *j)
{
	const struct user_info *u = j->u;
	struct stat st;
	int err;
	const char *why = check_path(u->home, u->uid, true, &st, &err);
	if (why && err == ENOENT)
		return FWD_NONE;
	if (why && temporary_errno(err))
		return res_errno(&j->r, err, false, "cannot check home of %s", u->name), FWD_ERROR;
	if (why)
		return ignored(j, "home directory", why);
	return FWD_FOUND;
}

static int read_forward(void *arg)
{
	struct fwd_job *j = arg;
	const struct user_info *u = j->u;
	struct stat st, fst;
	const char *why;
	int err, rc = check_home(j);
	if (rc != FWD_FOUND)
		return rc;
	snprintf(j->path, sizeof j->path, "%s%s.forward", u->home, u->home[strlen(u->home) - 1] == '/' ? "" : "/");
	why = check_path(j->path, u->uid, false, &st, &err);
	if (why && err == ENOENT)
		return FWD_NONE;
	if (why && temporary_errno(err))
		return res_errno(&j->r, err, false, "cannot check %s", j->path), FWD_ERROR;
	if (why)
		return ignored(j, ".forward", why);
	bool was_link = lstat(j->path, &fst) == 0 && S_ISLNK(fst.st_mode);
	int fd = open_checked(j->path, &st, !was_link, &fst);
	if (fd < 0 && temporary_errno(errno))
		return res_errno(&j->r, errno, false, "cannot open %s", j->path), FWD_ERROR;
	if (fd < 0)
		return ignored(j, ".forward", strerror(errno));
	why = unsafe_reason(&fst, u->uid, false);
	if (!why && was_link && fst.st_uid != u->uid)
		why = "symlink to a place the user does not own";
	if (why) {
		close(fd);
		return ignored(j, ".forward", why);
	}
	j->content = slurp(fd, (size_t)fst.st_size, FWD_SIZE_MAX);
	err = errno;
	close(fd);
	if (!j->content && err == 0)
		return ignored(j, ".forward", "larger than 64 KB");
	if (!j->content)
		return res_errno(&j->r, err, false, "cannot read %s", j->path), FWD_ERROR;
	return FWD_FOUND;
}

enum fwd_status fwd_read(const struct user_info *u, char **content, struct result *r)
{
	struct fwd_job j = { .u = u };
	int rc;
	*content = NULL;
	if (u->home[0] != '/')
		rc = ignored(&j, "home directory", "not an absolute path");
	else if ((rc = privs_call_as(u->uid, u->gid, read_forward, &j, r)) < 0)
		return FWD_ERROR;
	if (rc == FWD_ERROR)
		*r = j.r;
	if (rc == FWD_IGNORED)
		log_msg(LOG_WARNING, "ignoring %s of user %s: %s", j.what, u->name, j.why);
	*content = j.content;
	return (enum fwd_status)rc;
}

/* ---- :include: ---- */

/* One :include: read, done as the reader. The texts name the path and the reader's own errno
 * only (what the reader could learn with ls), never the content. */
struct inc_job {
	const struct fwd_include_req *q;
	char *content;
	uid_t owner;
	struct result r;
};

static int inc_refuse(struct inc_job *j, int fd, const char *why)
{
	if (fd >= 0)
		close(fd);
	return res_set(&j->r, EX_NOPERM, "5.7.1", "unsafe :include: file %s: %s", j->q->path, why);
}

/* The reader's errno: temporary when the system is in trouble, else the reader's mistake. */
static int inc_errno(struct inc_job *j, int err, const char *op)
{
	return res_errno(&j->r, err, !temporary_errno(err), "cannot %s :include: file %s", op, j->q->path);
}

static int read_include(void *arg)
{
	struct inc_job *j = arg;
	const struct fwd_include_req *q = j->q;
	struct stat st, fst;
	/* stat first: a device or FIFO is refused before open(2) could act on it. */
	if (stat(q->path, &st) != 0)
		return inc_errno(j, errno, "open");
	if (!S_ISREG(st.st_mode))
		return inc_refuse(j, -1, "not a regular file");
	int fd = open_checked(q->path, &st, false, &fst);
	if (fd < 0)
		return inc_errno(j, errno, "open");
	if (!S_ISREG(fst.st_mode))
		return inc_refuse(j, fd, "not a regular file");
	if (fst.st_mode & (S_IWGRP | S_IWOTH))
		return inc_refuse(j, fd, "group or world writable");
	if (q->for_user && fst.st_uid != q->for_user->uid && !(fst.st_mode & S_IROTH))
		return inc_refuse(j, fd, "not the user's and not world-readable");
	j->content = slurp(fd, (size_t)fst.st_size, q->max);
	int err = errno;
	close(fd);
	if (!j->content && err == 0)
		return res_set(&j->r, EX_DATAERR, "5.3.4", ":include: file %s is larger than %zu bytes", q->path,
			       q->max);
	if (!j->content)
		return inc_errno(j, err, "read");
	j->owner = fst.st_uid;
	return EX_OK;
}

int fwd_read_include(const struct fwd_include_req *q, char **content, uid_t *owner, struct result *r)
{
	struct inc_job j = { .q = q };
	*content = NULL;
	if (q->path[0] != '/')
		return res_set(r, EX_DATAERR, "5.3.0", ":include: file %s: not an absolute path", q->path);
	int rc = q->reader ? privs_call_as(q->reader->uid, q->reader->gid, read_include, &j, r)
			   : read_include(&j);
	if (rc < 0)
		return r->ex;
	if (rc != EX_OK)
		return *r = j.r, r->ex;
	*content = j.content;
	*owner = j.owner;
	return EX_OK;
}
