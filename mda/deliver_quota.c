/* Mailbox quotas at delivery: the RCPT-time refusal of a mailbox that is already full, and
 * the warning message a delivery that crosses a quota_warning percentage leaves behind. The
 * append itself enforces the limit under the mailbox lock (mbox_append's size_limit). */
#include "mda/deliver_quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/quota.h"
#include "common/user.h"
#include "mda/deliver_sieve_int.h"

/* The refusal of a full mailbox, as the append gives it, so both answers read alike. */
static int full(const struct config *cfg, const char *path, off_t size, off_t limit, struct result *r)
{
	const char *why = "mailbox full: %s holds %lld bytes, the limit is %lld";
	if (cfg->quota_full_tempfail)
		return res_set(r, EX_TEMPFAIL, "4.2.2", why, path, (long long)size, (long long)limit);
	return res_set(r, EX_CANTCREAT, "5.2.2", why, path, (long long)size, (long long)limit);
}

void deliver_quota_folders(const struct config *cfg, const struct action_user *au, char *out, size_t size)
{
	struct user_info u = { .uid = au->uid, .gid = au->gid };
	snprintf(u.name, sizeof u.name, "%s", au->name);
	snprintf(u.home, sizeof u.home, "%s", au->home);
	if (!deliver_sieve_user_path(cfg->mail_folder_dir, &u, out, size))
		out[0] = '\0';
}

int deliver_quota_at_rcpt(const struct config *cfg, const struct action_list *actions, struct result *r)
{
	char path[CFG_PATH_MAX + USER_NAME_MAX + 2];
	struct stat st;
	off_t limit = 0;
	size_t mailboxes = 0;
	struct result first = { 0 };
	/* A list with another destination still gets the message there: only a recipient that
	 * is nothing but full mailboxes is refused before DATA. */
	for (size_t i = 0; i < actions->n; i++) {
		const struct action *a = &actions->v[i];
		if (a->kind != ACT_MAILBOX)
			return EX_OK;
		if (quota_limit(cfg, a->runas->name, &limit, r) != EX_OK)
			return r->ex;
		char folders[CFG_PATH_MAX];
		if (limit <= 0 || snprintf(path, sizeof path, "%s/%s", cfg->spool_dir, a->runas->name) >= (int)sizeof path)
			return EX_OK;
		deliver_quota_folders(cfg, a->runas, folders, sizeof folders);
		off_t elsewhere = quota_bytes_elsewhere(cfg, path, folders, path);
		if (stat(path, &st) != 0)
			st.st_size = 0;
		st.st_size += elsewhere;
		if (st.st_size < limit)
			return EX_OK;
		if (mailboxes++ == 0)
			full(cfg, path, st.st_size, limit, &first);
	}
	if (mailboxes == 0)
		return EX_OK;
	*r = first;
	return r->ex;
}

int deliver_quota_warning(const struct config *cfg, const char *user, const char *hostname, off_t limit,
			  const struct mbox_sizes *sizes, struct mbox_spool *sp, struct result *r)
{
	int percent = quota_crossed(cfg, limit, sizes->before, sizes->after);
	if (percent == 0)
		return 0;
	char *text = quota_warning_message(cfg, user, hostname, percent, sizes->after, limit);
	if (!text)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot make the quota warning for %s", user), -1;
	int ok = mbox_spool_open(sp, cfg->tmp_dir, r) == EX_OK && mbox_spool_write(sp, text, strlen(text), r) == EX_OK &&
		 mbox_spool_finish(sp, r) == EX_OK;
	free(text);
	if (!ok) {
		mbox_spool_close(sp);
		return -1;
	}
	return percent;
}
