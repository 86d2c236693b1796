/* ~/.forward and :include: files: safe opening (ownership, permissions, symlinks, size), with
 * the rights of the user whose file it is. */
#ifndef FORWARD_FORWARD_H
#define FORWARD_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
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

/* Reads u's ~/.forward with u's rights (a root process takes u's uid, gid and only that group
 * for the reading, as Postfix's local(8) does, so a 0700 home or a root_squash NFS home works
 * and root never follows a path the user controls) after checking the home directory and the
 * file: regular, owned by the user or root, not group/world writable, symlinks only into
 * places the user owns, at most FWD_SIZE_MAX bytes; opened with O_NOFOLLOW (or checked against
 * the lstat/stat identity) and verified with fstat. Returns the status; *content is NULL
 * unless FWD_FOUND. */
enum fwd_status fwd_read(const struct user_info *u, char **content, struct result *r);

/* What to read as an :include: file, and as whom. */
struct fwd_include_req {
	const char *path;                  /* absolute */
	const struct user_info *reader;    /* opened with this user's rights (when we are root);
					    * NULL: with ours */
	const struct user_info *for_user;  /* a .forward's include: the file must also be this
					    * user's or world-readable (a check for when we
					    * cannot take the reader's rights); or NULL */
	size_t max;                        /* largest content accepted, <= FWD_INCLUDE_SIZE_MAX */
};

/* Reads an :include: file (regular, not group/world writable, at most q->max bytes) with the
 * reader's rights and reports its owner in *owner. Failure texts name the path and the
 * reader's own errno ("cannot open :include: file PATH: Permission denied"), never the
 * content, so they tell nothing the reader could not find out. EX_OK; EX_UNAVAILABLE
 * 5.3.0/5.7.1 when the reader cannot open it; EX_NOPERM 5.7.1 when unsafe; EX_DATAERR 5.3.4
 * when too large; EX_TEMPFAIL on I/O trouble; r says why. */
int fwd_read_include(const struct fwd_include_req *q, char **content, uid_t *owner, struct result *r);

#endif
