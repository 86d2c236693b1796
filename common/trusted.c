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
	if (why)
		*why = NULL;
	if (flags & O_TRUNC) {
		errno = EINVAL;
		return -1;
	}
	int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, create_mode);
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
