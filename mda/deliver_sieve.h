/* Sieve at mailbox delivery: which scripts run for a user (compiled once, cached while the
 * files stay the same) and carrying out their actions through libmbox and sendmail_path. */
#ifndef MDA_DELIVER_SIEVE_H
#define MDA_DELIVER_SIEVE_H

#include <stdbool.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"
#include "mbox/mbox.h"

struct deliver_sieve;       /* compiled scripts of one delivery process or LMTP session */
struct deliver_sieve_set;   /* the scripts of one delivery: before, the user's, after */

/* The scripts for user u (sieve_before, the user's sieve, sieve_after), compiled or taken
 * from *cache (created on first use) while no file they came from has changed (device,
 * inode, size, mtime). The user's files are read with u's identity (privs_call_as). A
 * script that is unsafe or does not compile is left out with one log line naming
 * FILE:LINE and the reason. Returns NULL when no script applies (delivery as without
 * Sieve); the set stays valid until the next call on the same cache. */
const struct deliver_sieve_set *deliver_sieve_load(struct deliver_sieve **cache, const struct config *cfg,
						   const struct user_info *u);

/* Frees the cache and its scripts. Safe on NULL.
 * Never fails. */
void deliver_sieve_free(struct deliver_sieve *cache);

/* What one mailbox delivery gives the Sieve actions (deliver.c fills it). */
struct deliver_sieve_job {
	const struct config *cfg;
	const struct user_info *user;   /* whose script; the process already runs as this user */
	const char *hostname;           /* for the vacation reply's Message-ID */
	const char *rcpt;               /* the envelope recipient (Delivered-To address) */
	const char *orig;               /* the original recipient, "" = as rcpt */
	const char *sender;             /* the envelope sender, "" = the null sender */
	const char *queue_id;           /* for log lines */
	const char *spool_path;         /* the user's spool mailbox (INBOX) */
	const struct mbox_spool *msg;
	/* Appends msg to path with the delivery's trace headers and then extra (LF-terminated
	 * lines, or NULL): spool true for the spool mailbox (dotlock, mail_group), false for a
	 * folder file. Returns EX_OK or the failure in r, as mbox_append. */
	int (*append)(void *arg, const char *path, bool spool, const char *extra, struct result *r);
	void *arg;
};

/* Runs set against the message and carries out the result: keep and fileinto through
 * job->append (a folder's temporary failure defers like the spool's), redirect and
 * vacation through sendmail_path, reject/ereject as EX_NOPERM 5.7.1 with the reason. Any
 * script or action failure that is not temporary ends in the spool mailbox (the implicit
 * keep) with one log line FILE:LINE reason. Returns r->ex. */
int deliver_sieve_run(const struct deliver_sieve_set *set, const struct deliver_sieve_job *job, struct result *r);

#endif
