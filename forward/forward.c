/* Safe reading of ~/.forward and :include: files: every check is made on what was opened. */
#include "forward/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

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

static enum fwd_status ignore(const struct user_info *u, const char *what, const char *why)
{
	log_msg(LOG_WARNING, "ignoring %s of user %s: %s", what, u->name, why);
	return FWD_IGNORED;
}

enum fwd_status fwd_read(const struct user_info *u, char **content, struct result *r)
{
	char path[CFG_PATH_MAX + 16];
	struct stat st, fst;
	const char *why;
	int err;
	*content = NULL;
	if (u->home[0] != '/')
		return ignore(u, "home directory", "not an absolute path");
	why = check_path(u->home, u->uid, true, &st, &err);
	if (why && err == ENOENT)
		return FWD_NONE;
	if (why && temporary_errno(err))
		return res_errno(r, err, false, "cannot check home of %s", u->name), FWD_ERROR;
	if (why)
		return ignore(u, "home directory", why);
	snprintf(path, sizeof path, "%s%s.forward", u->home,
		 u->home[strlen(u->home) - 1] == '/' ? "" : "/");
	why = check_path(path, u->uid, false, &st, &err);
	if (why && err == ENOENT)
		return FWD_NONE;
	if (why && temporary_errno(err))
		return res_errno(r, err, false, "cannot check %s", path), FWD_ERROR;
	if (why)
		return ignore(u, ".forward", why);
	bool was_link = lstat(path, &fst) == 0 && S_ISLNK(fst.st_mode);
	int fd = open_checked(path, &st, !was_link, &fst);
	if (fd < 0 && temporary_errno(errno))
		return res_errno(r, errno, false, "cannot open %s", path), FWD_ERROR;
	if (fd < 0)
		return ignore(u, ".forward", strerror(errno));
	why = unsafe_reason(&fst, u->uid, false);
	if (!why && was_link && fst.st_uid != u->uid)
		why = "symlink to a place the user does not own";
	if (why) {
		close(fd);
		return ignore(u, ".forward", why);
	}
	*content = slurp(fd, (size_t)fst.st_size, FWD_SIZE_MAX);
	err = errno;
	close(fd);
	if (!*content && err == 0)
		return ignore(u, ".forward", "larger than 64 KB");
	if (!*content)
		return res_errno(r, err, false, "cannot read %s", path), FWD_ERROR;
	return FWD_FOUND;
}

int fwd_read_include(const char *path, const struct user_info *for_user, char **content,
		     uid_t *owner, struct result *r)
{
	struct stat st, fst;
	*content = NULL;
	if (path[0] != '/')
		return res_set(r, EX_DATAERR, "5.3.0", ":include: %s: not an absolute path", path);
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return res_set(r, EX_NOINPUT, "5.3.0", ":include: %s does not exist", path);
		return res_errno(r, errno, false, "cannot stat :include: %s", path);
	}
	int fd = open_checked(path, &st, false, &fst);
	if (fd < 0)
		return res_errno(r, errno, false, "cannot open :include: %s", path);
	const char *why = !S_ISREG(fst.st_mode) ? "not a regular file"
			  : (fst.st_mode & (S_IWGRP | S_IWOTH)) ? "group or world writable" : NULL;
	if (!why && for_user && fst.st_uid != for_user->uid && !(fst.st_mode & S_IROTH))
		why = "not the user's and not world-readable";
	if (why) {
		close(fd);
		return res_set(r, EX_NOPERM, "5.7.1", "unsafe :include: %s: %s", path, why);
	}
	*content = slurp(fd, (size_t)fst.st_size, FWD_INCLUDE_SIZE_MAX);
	int err = errno;
	close(fd);
	if (!*content && err == 0)
		return res_set(r, EX_DATAERR, "5.3.4", ":include: %s is too large", path);
	if (!*content)
		return res_errno(r, err, false, "cannot read :include: %s", path);
	*owner = fst.st_uid;
	return EX_OK;
}
