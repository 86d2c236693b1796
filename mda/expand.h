/* The expansion engine: one envelope recipient -> de-duplicated delivery actions, through
 * /etc/aliases (GDBM), ~/.forward and :include: files, with loop and depth protection. */
#ifndef MDA_EXPAND_H
#define MDA_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"

enum action_kind {
	ACT_MAILBOX,    /* append to the system mailbox of runas (spool_dir/runas.name) */
	ACT_FILE,       /* append to the mbox file `target` as runas */
	ACT_COMMAND,    /* run `target` with /bin/sh -c as runas, message on stdin */
	ACT_FORWARD,    /* re-inject to remote address `target` through sendmail_path */
	ACT_BOUNCE,     /* fail this branch with `status` (error:5.x.y text, unknown user in a list) */
};

struct action {
	enum action_kind kind;
	char *target;          /* user name, file path, command text, remote address; NULL for bounce */
	char *recipient;       /* the final address this action delivers for (Delivered-To) */
	char *orig_recipient;  /* the envelope recipient as given to the engine (X-Original-To) */
	char *extension;       /* address extension ("ext" of user+ext), or NULL */
	char *sender;          /* envelope sender override from an owner-NAME alias, or NULL */
	char *chain;           /* "rcpt -> alias -> user" for logs and loop errors */
	struct user_info runas;/* whose privileges the action runs with */
	struct result status;  /* ACT_BOUNCE: the failure; others: res_ok */
};

struct action_list {
	struct action *v;
	size_t n;
};

struct expander;

/* Creates an engine for cfg (the config must outlive it). The aliases database is opened
 * lazily and reopened when its file changes (inode/mtime). NULL only on allocation failure. */
struct expander *expand_new(const struct config *cfg);
void expand_free(struct expander *ex);

/* Expands one envelope recipient ("user", "user+ext", "user@domain": the domain is dropped,
 * every address given to the delivery agent is local). On EX_OK, out holds at least one action
 * (failed branches appear as ACT_BOUNCE entries). Whole-recipient failures are returned
 * directly: EX_NOUSER 5.1.1 unknown user, EX_DATAERR 5.4.6 loop or too deep (reason names the
 * chain), EX_TEMPFAIL 4.3.0 database or lookup trouble. out is always safe to free. */
int expand_recipient(struct expander *ex, const char *rcpt, struct action_list *out, struct result *r);

/* Frees the actions and resets the list. */
void action_list_free(struct action_list *l);

#endif
