/* Delivery of one spooled message to one envelope recipient: trace headers, loop check,
 * expansion, each action run with the right privileges. Shared by stdin and LMTP modes. */
#ifndef MDA_DELIVER_H
#define MDA_DELIVER_H

#include <stdbool.h>
#include <time.h>

#include "common/config.h"
#include "common/result.h"
#include "mbox/mbox.h"
#include "mda/expand.h"

struct envelope {
	char sender[1024];        /* envelope sender, "" for the null sender <> */
	char queue_id[32];        /* for log lines; LMTP session/transaction id or stdin pid-based id */
	time_t arrival;
	struct timespec started;  /* for delay= in the log */
};

struct deliver_ctx {
	const struct config *cfg;
	struct expander *expander;
	char hostname[256];       /* domain for Delivered-To of bare local names */
};

/* Prepares a context (hostname, expander). EX_OK or EX_OSERR/EX_CONFIG with the reason. */
int deliver_init(struct deliver_ctx *ctx, const struct config *cfg, struct result *r);
void deliver_cleanup(struct deliver_ctx *ctx);

/* RCPT-time check: validates the name, expands it and keeps the actions in *actions for
 * deliver_to_recipient. Returns EX_OK, EX_NOUSER (550 5.1.1), EX_TEMPFAIL (45x), ... in r. */
int deliver_prepare(struct deliver_ctx *ctx, const char *rcpt, struct action_list *actions,
		    struct result *r);

/* Delivers msg to every action of one prepared recipient. The combined result: success only
 * when every action succeeded (each fsynced); any temporary failure makes it temporary.
 * Logs one line per action in Postfix style. */
int deliver_to_recipient(struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			 const struct action_list *actions, const struct mbox_spool *msg, struct result *r);

#endif
