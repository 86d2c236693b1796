/* Opening files that someone else may have planted: a shared tmp_dir, a sticky spool, a
 * directory group mail can write. The descriptor is trusted only after fstat says so. */
#ifndef COMMON_TRUSTED_H
#define COMMON_TRUSTED_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What a file must be to be believed. Every file is also required to be a regular file with
 * exactly one link. */
struct trust_rule {
	uid_t owner;          /* required owner; (uid_t)-1 accepts any */
	mode_t forbid;        /* permission bits that must be clear, e.g. 022 or 077 */
	bool check_dev;       /* must live on device dev (beside the file it describes) */
	dev_t dev;
};

/* Opens path with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC added to flags (a FIFO, device or
 * symlink planted there can neither block nor redirect us; flags must not hold O_TRUNC, which
 * would act before the check) and returns the descriptor when it satisfies rule, with its
 * stat in *st (may be NULL). Returns -1 with errno from open(2), or EPERM when the file is
 * not trusted, *why (may be NULL) then naming the broken rule in a few words. */
int trusted_open(const char *path, int flags, mode_t create_mode, const struct trust_rule *rule,
		 struct stat *st, const char **why);
/* The same, path relative to the directory open as dirfd (AT_FDCWD: like trusted_open). */
int trusted_openat(int dirfd, const char *path, int flags, mode_t create_mode, const struct trust_rule *rule,
		   struct stat *st, const char **why);
/* Opens (creating it 0700 first when create) the directory path, trusted only when it is a
 * real directory (no symlink) owned by owner and closed to group and others: nobody else can
 * then put a file in it. Returns the descriptor, or -1 with errno (EPERM and *why when it
 * exists but is not such a directory). */
int trusted_private_dir(const char *path, uid_t owner, bool create, const char **why);

/* The same checks on a descriptor already open. NULL when trusted, else what is wrong. */
const char *trusted_check(int fd, const struct trust_rule *rule, struct stat *st);

#endif
