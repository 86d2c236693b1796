/* The quota command: the user's mail against its limit, counted as mda counts it at delivery
 * (common/quota.c: mailbox_size_limit or the quota_file line, quota_scope = all adding the
 * mail_folder_dir files), so that what mail shows is what the next delivery will be judged by. */
#include "mailcmd/session.h"

#include <inttypes.h>

#include "common/quota.h"

/* 12345678 as "12,345,678". */
static void grouped(char *out, size_t size, long long n)
{
	char digits[32];
	size_t len = (size_t)snprintf(digits, sizeof digits, "%lld", n < 0 ? 0 : n), o = 0;
	for (size_t i = 0; i < len && o + 2 < size; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

void mail_cmd_quota(struct mail_session *s)
{
	struct quota_usage u;
	struct result r = { 0 };
	char used[32], limit[32];
	if (quota_usage(s->cfg, s->user, s->home, &u, &r) != EX_OK) {
		fprintf(stderr, "mail: quota: %s\n", r.reason);
		return;
	}
	grouped(used, sizeof used, (long long)u.used);
	printf("Mailbox %s%s%s: ", u.spool, u.folders[0] ? " and " : "", u.folders);
	if (u.limit <= 0) {
		printf("%s bytes, no limit\n", used);
		return;
	}
	grouped(limit, sizeof limit, (long long)u.limit);
	printf("%s of %s bytes (%" PRId64 "%%)\n", used, limit, (int64_t)u.used * 100 / (int64_t)u.limit);
}
