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
	char client[400];         /* LMTP: the client (XFORWARD's original one when given), "" = none */
	time_t arrival;
	struct timespec started;  /* for delay= in the log */
};

struct deliver_memo;
struct deliver_served;
struct deliver_sieve;

struct deliver_ctx {
	const struct config *cfg;
	struct expander *expander;
	char hostname[256];       /* domain for Delivered-To of bare local names */
	struct deliver_memo *memo;/* retry memory of this message (stdin mode), NULL = none */
	size_t held;              /* destinations of prepared, unreleased recipients (expansion_limit) */
	enum cfg_expansion expansion;  /* EXPANSION_MDA (aliases, .forward) or EXPANSION_MTA (mailbox only) */
	struct deliver_served *served; /* destinations this message has reached, NULL = none yet */
	struct deliver_sieve *sieve;   /* compiled Sieve scripts (mda/deliver_sieve.h), NULL = none yet */
};

/* Prepares a context (hostname, expander). expansion = auto becomes mda; stdin mode sets mta
 * when it runs under an MTA that has expanded already. EX_OK or EX_OSERR/EX_CONFIG. */
int deliver_init(struct deliver_ctx *ctx, const struct config *cfg, struct result *r);
void deliver_cleanup(struct deliver_ctx *ctx);

/* RCPT-time check: validates the name, expands it (expansion mda) or finds the user's mailbox
 * (mta) and keeps the actions in *actions for
 * deliver_to_recipient. Returns EX_OK, EX_NOUSER (550 5.1.1), EX_TEMPFAIL (45x), ... in r.
 * The destinations of one message are bounded by expansion_limit: a recipient that alone
 * expands to more fails permanently (EX_UNAVAILABLE 5.2.4); one that fits alone but not with
 * the recipients prepared before it in this message fails temporarily (EX_TEMPFAIL 4.5.3,
 * LMTP 452: the client sends it in another transaction). */
int deliver_prepare(struct deliver_ctx *ctx, const char *rcpt, struct action_list *actions,
		    struct result *r);

/* Ends a message: forgets the destinations it reached. Until then deliver_to_recipient gives
 * each mailbox, file, command and forwarding address the message once, whichever recipients
 * led there (a duplicate gets the first copy's outcome, logged as a duplicate). The LMTP
 * session calls it when a transaction ends; a stdin run is one message. The expansion_limit
 * count needs no reset: deliver_release gives each recipient's share back. */
void deliver_message_reset(struct deliver_ctx *ctx);

/* Frees a prepared recipient's actions and gives its destinations back to the message's
 * expansion_limit (the LMTP session calls it when a transaction ends or is reset). */
void deliver_release(struct deliver_ctx *ctx, struct action_list *actions);

/* Delivers msg to every action of one prepared recipient. The combined result: success only
 * when every action succeeded (each fsynced); any temporary failure makes it temporary.
 * Logs one line per action in Postfix style. */
int deliver_to_recipient(struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			 const struct action_list *actions, const struct mbox_spool *msg, struct result *r);

/* Same, with the original recipient the MTA reported (-a, ORIGINAL_RECIPIENT, ORCPT) for
 * X-Original-To; orig_rcpt NULL means each action's own. Returns like deliver_to_recipient. */
int deliver_to_recipient_orig(struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			      const char *orig_rcpt, const struct action_list *actions,
			      const struct mbox_spool *msg, struct result *r);

/* Retry memory: after deliver_memo_begin, deliver_to_recipient skips actions an earlier run
 * already completed for this very message (same sender and bytes) and remembers new ones.
 * EX_OK, or EX_TEMPFAIL when the state file is unusable (delivery may then go on without it). */
int deliver_memo_begin(struct deliver_ctx *ctx, const struct envelope *env, const struct mbox_spool *msg,
		       struct result *r);

/* Ends the retry memory: when temp_failed, the completed actions are written (fsynced) to the
 * state file so the MTA's retry skips them. Failures are logged, never fatal. */
void deliver_memo_end(struct deliver_ctx *ctx, bool temp_failed);

/* "mda" or "mta": the expansion that applies, as the log lines show it. */
const char *deliver_expansion_name(const struct deliver_ctx *ctx);

/* The Delivered-To form of an address: rcpt's own domain when it has one, else
 * "@hostname". Writes into out (size bytes); returns false when it does not fit. */
bool deliver_final_address(const struct deliver_ctx *ctx, const char *addr, const char *rcpt_domain,
			   char *out, size_t size);

#endif
