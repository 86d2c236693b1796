/* The expansion engine: one envelope recipient -> de-duplicated delivery actions, through
 * /etc/aliases (GDBM), ~/.forward and :include: files, with loop, depth and size limits. */
#ifndef MDA_EXPAND_H
#define MDA_EXPAND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"

/* expansion_limit = 0 means this; no recipient ever expands to more destinations. */
#define EXPAND_LIMIT_HARD_MAX 1000000

enum action_kind {
	ACT_MAILBOX,    /* append to the system mailbox of runas (spool_dir/runas.name) */
	ACT_FILE,       /* append to the mbox file `target` as runas */
	ACT_COMMAND,    /* run `target` with /bin/sh -c as runas, message on stdin */
	ACT_FORWARD,    /* re-inject to remote address `target` through sendmail_path */
	ACT_BOUNCE,     /* fail this branch with `status` (error:5.x.y text, unknown user in a list) */
};

/* Whose privileges an action runs with. One copy per user per list, shared by its actions. */
struct action_user {
	const char *name, *home, *shell;
	uid_t uid;
	gid_t gid;
};

/* The failure of an ACT_BOUNCE (the other kinds carry none). */
struct action_status {
	int ex;
	char dsn[12];
	const char *reason;
};

/* One delivery action: a few pointers (~72 bytes) into the list's store, where the strings
 * that many actions have in common (recipient, sender, chain, user) are kept once. */
struct action {
	enum action_kind kind;
	const char *target;          /* user name, file path, command text, remote address; NULL for bounce */
	const char *recipient;       /* the final address this action delivers for (Delivered-To) */
	const char *orig_recipient;  /* the envelope recipient as given to the engine (X-Original-To) */
	const char *extension;       /* address extension ("ext" of user+ext), or NULL */
	const char *sender;          /* envelope sender override from an owner-NAME alias, or NULL */
	const char *chain;           /* "rcpt -> alias -> user": the way to the list holding target */
	const struct action_user *runas;     /* never NULL (a bounce's is empty, uid 0) */
	const struct action_status *status;  /* ACT_BOUNCE only, else NULL */
};

struct action_store;

struct action_list {
	struct action *v;
	size_t n;
	struct action_store *store;  /* owns what the actions point at; NULL for a hand-made list */
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
 * chain), EX_UNAVAILABLE 5.2.4 more destinations than expansion_limit, EX_TEMPFAIL 4.3.0
 * database or lookup trouble, EX_TEMPFAIL 4.3.5 when the recipient itself is a uid 0 account
 * of the system's user database (a uid 0 user inside a list becomes such an ACT_BOUNCE). ~/.forward files are read with their user's rights, :include:
 * files with those of the user whose list names them (the alias database's owner, or
 * default_privs for root), never root's. out is always safe to free. */
int expand_recipient(struct expander *ex, const char *rcpt, struct action_list *out, struct result *r);

/* The named user's mailbox only, for an MTA that has expanded aliases and .forward already
 * (expansion = mta): the local part of rcpt, lowercased, its recipient_delimiter extension
 * split off (kept as the action's extension), looked up as a user. The aliases database is
 * never opened and no .forward read. EX_OK with one ACT_MAILBOX action; EX_NOUSER 5.1.1
 * unknown user or 5.1.3 bad name; EX_TEMPFAIL 4.3.5 for a uid 0 account of the system's user
 * database ("alias root to a person in /etc/aliases"), 4.3.0 lookup trouble. */
int expand_mailbox(struct expander *ex, const char *rcpt, struct action_list *out, struct result *r);

/* The effective expansion_limit of cfg: destinations per recipient and per message. */
size_t expand_limit(const struct config *cfg);

/* "chain -> target" (just the chain for a bounce) into buf, cut to size (reasons are
 * shorter than EXPAND_CHAIN_TEXT_MAX anyway); returns buf. Never fails. */
#define EXPAND_CHAIN_TEXT_MAX 1100
const char *action_chain(const struct action *a, char *buf, size_t size);

/* Frees the actions and their store and resets the list. */
void action_list_free(struct action_list *l);

#endif
