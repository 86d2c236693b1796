/* trusted_open: open without following or blocking, then believe only what fstat shows. */
#include "common/trusted.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

const char *trusted_check(int fd, const struct trust_rule *rule, struct stat *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return "cannot stat it";
	if (out)
		*out = st;
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_nlink != 1)
		return st.st_nlink ? "more than one hard link" : "removed";
	if (rule->owner != (uid_t)-1 && st.st_uid != rule->owner)
		return "owned by another user";
	if (st.st_mode & rule->forbid & 022)
		return "writable by group or others";
	if (st.st_mode & rule->forbid)
		return "readable by group or others";
	if (rule->check_dev && st.st_dev != rule->dev)
		return "on another file system";
	return NULL;
}

int trusted_open(const char *path, int flags, mode_t create_mode, const struct trust_rule *rule,
		 struct stat *st, const char **why)
{
	return trusted_openat(AT_FDCWD, path, flags, create_mode, rule, st, why);
}

int trusted_openat(int dirfd, const char *path, int flags, mode_t create_mode, const struct trust_rule *rule,
		   struct stat *st, const char **why)
{
	if (why)
		*why = NULL;
	if (flags & O_TRUNC) {
		errno = EINVAL;
		return -1;
	}
	int fd = openat(dirfd, path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, create_mode);
	if (fd < 0) {
		if (errno == ELOOP && why)
			*why = "a symbolic link";
		return -1;
	}
	const char *bad = trusted_check(fd, rule, st);
	if (bad) {
		close(fd);
		if (why)
			*why = bad;
		errno = EPERM;
		return -1;
	}
	return fd;
}

int trusted_private_dir(const char *path, uid_t owner, bool create, const char **why)
{
	struct stat st;
	*why = NULL;
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	/* O_DIRECTORY: a FIFO or file planted at the name fails at once, it is never opened. */
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR) {
			*why = "not a directory";
			errno = EPERM;
		}
		return -1;
	}
	if (fstat(fd, &st) != 0)
		*why = "cannot stat it";
	else if (st.st_uid != owner)
		*why = "owned by another user";
	else if (st.st_mode & 077)
		*why = "open to group or others";
	if (*why) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}
