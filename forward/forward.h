/* ~/.forward and :include: files: safe opening (ownership, permissions, symlinks, size). */
#ifndef FORWARD_FORWARD_H
#define FORWARD_FORWARD_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"

#define FWD_SIZE_MAX 65536        /* a larger .forward is ignored */
#define FWD_INCLUDE_SIZE_MAX (4 * 1024 * 1024)   /* mailing lists can be big */

enum fwd_status {
	FWD_FOUND,    /* *content holds the file (malloc'd, NUL-terminated) */
	FWD_NONE,     /* no .forward: ordinary mailbox delivery */
	FWD_IGNORED,  /* unsafe or unusable .forward, logged with LOG_WARNING: mailbox delivery */
	FWD_ERROR,    /* temporary trouble (I/O, memory): r says why */
};

/* Reads u's ~/.forward after checking the home directory and the file: regular, owned by
 * the user or root, not group/world writable, symlinks only into places the user owns,
 * at most FWD_SIZE_MAX bytes; opened with O_NOFOLLOW (or checked against the lstat/stat
 * identity) and verified with fstat. Returns the status; *content is NULL unless FWD_FOUND. */
enum fwd_status fwd_read(const struct user_info *u, char **content, struct result *r);

/* Reads an :include: file (absolute path, regular file, not group/world writable, at most
 * FWD_INCLUDE_SIZE_MAX bytes) and reports its owner in *owner. When for_user is not NULL
 * (the include came from that user's .forward) the file must be owned by that user or be
 * world-readable. EX_OK, EX_NOINPUT when missing, EX_NOPERM 5.7.1 when unsafe, EX_TEMPFAIL
 * on I/O trouble; r says why. */
int fwd_read_include(const char *path, const struct user_info *for_user, char **content,
		     uid_t *owner, struct result *r);

#endif
