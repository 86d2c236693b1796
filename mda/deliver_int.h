/* Internal seams of the delivery code: privilege-dropped execution, child processes, retry memory. */
#ifndef MDA_DELIVER_INT_H
#define MDA_DELIVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"
#include "mbox/mbox.h"
#include "mda/expand.h"

struct deliver_memo;

/* Runs fn(arg, r) with runas's privileges: in a forked child that has dropped to runas's uid,
 * gid and groups (plus mail_group when add_mail_group) when we are root and runas is not, else
 * in this process. The child's result comes back over a pipe. Returns r->ex. */
int deliver_as_user(const struct config *cfg, const struct user_info *runas, bool add_mail_group,
		    int (*fn)(void *arg, struct result *r), void *arg, struct result *r);

/* One child process fed the message on stdin: prefix bytes, then the spool. */
struct deliver_spawn_req {
	const char *const *argv;   /* argv[0] is exec'd directly (execve, no PATH search) */
	const char *const *envp;   /* the complete environment */
	const char *dir;           /* working directory, NULL = leave */
	const char *prefix;        /* written before the message, may be NULL */
	const struct mbox_spool *msg;
	int timeout;               /* seconds; the process group is killed after it, 0 = none */
	const char *what;          /* "command" or "sendmail", for reasons */
};

/* Runs the child in its own process group and classifies its end: exit 0 is success,
 * 75/71, a signal or the timeout temporary, other codes permanent 5.3.0 with the first line
 * the child wrote to stderr. Returns r->ex. */
int deliver_spawn(const struct deliver_spawn_req *req, struct result *r);

/* Retry memory lookups for one action (false/no-op when ctx has no memory). */
bool deliver_memo_seen(struct deliver_memo *m, const struct action *a);
void deliver_memo_done(struct deliver_memo *m, const struct action *a);

#endif
