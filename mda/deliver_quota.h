/* Mailbox quotas at delivery time (limits and texts: common/quota.h). */
#ifndef MDA_DELIVER_QUOTA_H
#define MDA_DELIVER_QUOTA_H

#include <sys/types.h>

#include "common/config.h"
#include "common/result.h"
#include "mbox/mbox.h"
#include "mda/expand.h"

/* The folder directory of au (mail_folder_dir with ~/ as the home) into out, "" when none:
 * what quota_scope = all counts besides the spool mailbox. */
void deliver_quota_folders(const struct config *cfg, const struct action_user *au, char *out, size_t size);

/* RCPT time: when every destination of the recipient is a spool mailbox already at or over
 * its limit, refuses it before the client sends the data (EX_CANTCREAT 5.2.2, LMTP 552, or
 * EX_TEMPFAIL 4.2.2, 452, with quota_full_tempfail). A mailbox with room, any other kind of
 * destination, or no limit: EX_OK. Run with the rights to read quota_file and stat the spool. */
int deliver_quota_at_rcpt(const struct config *cfg, const struct action_list *actions, struct result *r);

/* After an append of sizes->before..after to user's mailbox under limit: when it crossed a
 * quota_warning percentage, puts the warning message into sp (open, to be appended and
 * closed by the caller) and returns the percentage; 0 when none was crossed; -1 when the
 * warning could not be made (r says why; the delivery itself stands). */
int deliver_quota_warning(const struct config *cfg, const char *user, const char *hostname, off_t limit,
			  const struct mbox_sizes *sizes, struct mbox_spool *sp, struct result *r);

#endif
