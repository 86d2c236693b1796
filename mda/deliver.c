/* Delivery of one spooled message to one recipient: trace headers, loop check, each action. */
#include "mda/deliver.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "common/intern.h"
#include "common/log.h"
#include "common/quota.h"
#include "common/user.h"
#include "mbox/header.h"
#include "mda/biff.h"
#include "mda/deliver_int.h"
#include "mda/deliver_quota.h"
#include "mda/deliver_sieve_int.h"
#include "mda/deliver_sieve.h"

/* Loop detection reads at most this much of the header section; a loop's Delivered-To lines
 * are near the top, and a bigger read would let one message cost us memory. */
#define DELIVER_HEADER_SCAN_MAX (256 * 1024)
#define DELIVER_HEADERS_MAX 4096

int deliver_init(struct deliver_ctx *ctx, const struct config *cfg, struct result *r)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->cfg = cfg;
	/* auto is mda here: LMTP, and stdin mode without an MTA's environment (stdin_mode.c
	 * decides that one). */
	ctx->expansion = cfg->expansion == EXPANSION_MTA ? EXPANSION_MTA : EXPANSION_MDA;
	if (cfg->hostname[0]) {
		snprintf(ctx->hostname, sizeof ctx->hostname, "%s", cfg->hostname);
	} else if (gethostname(ctx->hostname, sizeof ctx->hostname - 1) != 0) {
		return res_errno(r, errno, false, "gethostname");
	}
	ctx->expander = expand_new(cfg);
	if (!ctx->expander)
		return res_set(r, EX_OSERR, "4.3.0", "out of memory creating the expansion engine");
	return EX_OK;
}

void deliver_cleanup(struct deliver_ctx *ctx)
{
	deliver_message_reset(ctx);
	if (ctx->memo)
		deliver_memo_end(ctx, false);
	if (ctx->expander)
		expand_free(ctx->expander);
	ctx->expander = NULL;
	deliver_sieve_free(ctx->sieve);
	ctx->sieve = NULL;
}

/* Splits "local@domain" at the last '@': the local part is copied to out (lowercase kept as
 * given), the domain (or NULL) returned. */
static const char *split_address(const char *addr, char *local, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);
	if (n >= size)
		n = size - 1;
	memcpy(local, addr, n);
	local[n] = '\0';
	return at ? at + 1 : NULL;
}

/* The destinations of actions this run still has to deliver. With the retry memory already
 * running (stdin mode: it starts before the recipients are expanded) those an earlier run
 * delivered do not count, or the MTA's retry of a message deferred with 4.5.3 would meet the
 * same count again and again until it bounced. LMTP starts the memory only after DATA. */
static size_t to_deliver(const struct deliver_ctx *ctx, const struct action_list *actions)
{
	size_t n = 0;
	for (size_t i = 0; i < actions->n; i++)
		n += !deliver_memo_seen(ctx->memo, &actions->v[i]);
	return n;
}

static bool ascii_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

int deliver_prepare(struct deliver_ctx *ctx, const char *rcpt, struct action_list *actions,
		    struct result *r)
{
	char local[512];
	const char *delim = ctx->cfg->recipient_delimiter;
	actions->v = NULL;
	actions->n = 0;
	if (strlen(rcpt) >= sizeof local)
		return res_set(r, EX_NOUSER, "5.1.3", "<%.100s...>: address too long", rcpt);
	split_address(rcpt, local, sizeof local);
	/* The name decides a path (spool_dir/NAME); check it before anything else sees it. */
	if (delim[0]) {
		size_t base = strcspn(local, delim);
		if (base > 0)
			local[base] = '\0';
	}
	if (!user_name_valid(local))
		return res_set(r, EX_NOUSER, "5.1.3", "<%s>: invalid user name", rcpt);
	/* mta: the MTA has expanded aliases and .forward; doing it again would deliver twice. */
	int rc = ctx->expansion == EXPANSION_MTA ? expand_mailbox(ctx->expander, rcpt, actions, r)
						 : expand_recipient(ctx->expander, rcpt, actions, r);
	if (rc == EX_NOUSER && !ascii_only(local))
		return res_set(r, EX_NOUSER, "5.6.7", "no mailbox has a non-ASCII name (system user names are "
			       "ASCII); an alias with this local part in the aliases file can name one");
	if (rc != EX_OK)
		return r->ex;
	size_t limit = expand_limit(ctx->cfg), n = to_deliver(ctx, actions);
	if (ctx->held + n > limit) {
		action_list_free(actions);
		return res_set(r, EX_TEMPFAIL, "4.5.3", "%zu destinations, which with the %zu of the recipients "
			       "before it exceed expansion_limit %zu for one message; send it in another transaction",
			       n, ctx->held, limit);
	}
	if (deliver_quota_at_rcpt(ctx->cfg, actions, r) != EX_OK) {
		action_list_free(actions);
		return r->ex;
	}
	ctx->held += n;
	return EX_OK;
}

void deliver_release(struct deliver_ctx *ctx, struct action_list *actions)
{
	ctx->held -= actions->n < ctx->held ? actions->n : ctx->held;
	action_list_free(actions);
}

const char *deliver_expansion_name(const struct deliver_ctx *ctx)
{
	return ctx->expansion == EXPANSION_MTA ? "mta" : "mda";
}

bool deliver_final_address(const struct deliver_ctx *ctx, const char *addr, const char *rcpt_domain,
			   char *out, size_t size)
{
	int n;
	if (strchr(addr, '@'))
		n = snprintf(out, size, "%s", addr);
	else
		n = snprintf(out, size, "%s@%s", addr, rcpt_domain && *rcpt_domain ? rcpt_domain : ctx->hostname);
	return n >= 0 && (size_t)n < size;
}

/* Copies s into out with control characters replaced, so no outside string can add a header
 * line. */
static void clean_copy(char *out, size_t size, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
}

/* Reads the header section of the spool (bounded) into a malloc'd buffer. */
static char *read_headers(const struct mbox_spool *msg, size_t *len)
{
	size_t want = (size_t)msg->header_size;
	if (want > DELIVER_HEADER_SCAN_MAX)
		want = DELIVER_HEADER_SCAN_MAX;
	char *buf = malloc(want + 1);
	size_t got = 0;
	if (!buf)
		return NULL;
	while (got < want) {
		ssize_t n = pread(msg->fd, buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* True when a Delivered-To: field of the message names addr: the message has been here. */
static bool has_delivered_to(const char *hdrs, size_t len, const char *addr)
{
	size_t pos = 0;
	struct hdr_field f;
	char found[1024];
	while (hdr_next(hdrs, len, &pos, &f)) {
		if (f.name_len == 0 || !hdr_name_is(&f, "Delivered-To"))
			continue;
		char *v = hdr_unfold(f.value, f.value_len);
		if (!v)
			continue;
		bool same = hdr_skin_address(v, strlen(v), found, sizeof found) && strcasecmp(found, addr) == 0;
		free(v);
		if (same)
			return true;
	}
	return false;
}

/* What one action needs besides the action itself. */
struct run_arg {
	const struct deliver_ctx *ctx;
	const struct envelope *env;
	const struct action *a;
	const char *final;        /* Delivered-To address */
	const char *orig;         /* original recipient */
	const char *sender;       /* cleaned envelope sender, "" = null sender */
	const char *headers;      /* Return-Path, X-Original-To, Delivered-To lines */
	const struct mbox_spool *msg;
	off_t quota_limit;        /* mailbox: its byte limit (read before dropping privileges), 0 = none */
	const char *spool;        /* mailbox: the user's spool mailbox path */
	const struct deliver_sieve_set *sieve;  /* mailbox: the user's Sieve scripts, NULL = none */
	char where[CFG_PATH_MAX + 128];   /* "mailbox /var/mail/x" for the log */
};

/* Where and how one append goes; limit and sizes only for the user's own mail (the spool
 * mailbox, Sieve's folders). */
struct append_to {
	const char *path;
	bool dotlock;
	gid_t gid;
	off_t limit;              /* the user's quota, 0 = none */
	struct mbox_sizes *sizes;
	off_t elsewhere;          /* quota_scope = all: the user's bytes in other files */
};

/* The bytes path itself may grow to: what the quota leaves after the user's other files
 * (at least 1, as 0 would mean no limit). */
static off_t file_limit(const struct append_to *to)
{
	if (to->limit <= 0)
		return 0;
	return to->limit - to->elsewhere > 0 ? to->limit - to->elsewhere : 1;
}

static int run_append(struct run_arg *ra, const struct append_to *to, const char *sender, const char *headers,
		      const struct mbox_spool *msg, struct result *r)
{
	const struct config *cfg = ra->ctx->cfg;
	struct mbox_delivery d = {
		.path = to->path,
		.owner = { .uid = ra->a->runas->uid, .gid = to->gid },
		.dotlock = to->dotlock,
		.sender = sender,
		.arrival = ra->env->arrival,
		.headers = headers,
		.msg = msg,
		.quoting = cfg->mbox_quoting,
		.lock_timeout = cfg->lock_timeout,
		.fsync = cfg->fsync,
		.size_limit = file_limit(to),
		.limit_tempfail = cfg->quota_full_tempfail,
		.sizes = to->sizes,
	};
	return mbox_append(&d, r);
}

/* After a delivery that crossed a quota_warning percentage: the warning goes into the same
 * mailbox, from the null sender, past the limit (it is short, and a user who is not told
 * loses mail). Its failure is logged; the delivery stands. */
static void warn_quota(struct run_arg *ra, const struct append_to *to)
{
	const struct config *cfg = ra->ctx->cfg;
	const char *user = ra->a->runas->name;
	struct mbox_spool sp;
	struct result r = { 0 };
	char headers[USER_NAME_MAX + 64];
	struct mbox_sizes all = { to->sizes->before + to->elsewhere, to->sizes->after + to->elsewhere };
	int percent = deliver_quota_warning(cfg, user, ra->ctx->hostname, to->limit, &all, &sp, &r);
	if (percent <= 0) {
		if (percent < 0)
			log_msg(LOG_WARNING, "%s: no quota warning: %s", user, r.reason);
		return;
	}
	struct append_to unlimited = { to->path, to->dotlock, to->gid, 0, NULL, 0 };
	snprintf(headers, sizeof headers, "Return-Path: <>\nDelivered-To: %s\n", user);
	if (run_append(ra, &unlimited, "", headers, &sp, &r) != EX_OK)
		log_msg(LOG_WARNING, "%s: no quota warning: %s", user, r.reason);
	else
		log_msg(LOG_INFO, "%s: mailbox %s is %d%% full (%lld of %lld bytes): warning delivered", user, to->path,
			percent, (long long)all.after, (long long)to->limit);
	mbox_spool_close(&sp);
}

/* A missing mail_group is an administrator's mistake, never the sender's: leave gid as is. */
static gid_t mail_gid(const struct config *cfg, gid_t fallback);

/* quota_scope = all: the bytes of the user's mail outside target. */
static off_t quota_elsewhere(const struct run_arg *ra, const char *target)
{
	char folders[CFG_PATH_MAX];
	if (ra->quota_limit <= 0)
		return 0;
	deliver_quota_folders(ra->ctx->cfg, ra->a->runas, folders, sizeof folders);
	return quota_bytes_elsewhere(ra->ctx->cfg, ra->spool, folders, target);
}

/* The spool mailbox part of a mailbox delivery (also Sieve's keep, headers then carrying
 * its flags). */
static int append_mailbox(struct run_arg *ra, const char *path, const char *headers, struct result *r)
{
	const struct config *cfg = ra->ctx->cfg;
	struct mbox_sizes sizes = { 0, 0 };
	struct append_to to = { path, true, mail_gid(cfg, ra->a->runas->gid), ra->quota_limit, &sizes,
				quota_elsewhere(ra, path) };
	if (run_append(ra, &to, ra->sender, headers, ra->msg, r) != EX_OK)
		return r->ex;
	*r = res_ok("delivered to mailbox %s", path);
	if (cfg->biff)
		biff_notify(ra->a->runas->name, sizes.before, path);
	warn_quota(ra, &to);
	return EX_OK;
}

/* Sieve's appends: the trace headers, then extra (its flags). A folder is a file of the user's
 * (no dotlock, the user's group), as mail(1) saves into one. */
static int sieve_append(void *arg, const char *path, bool spool, const char *extra, struct result *r)
{
	struct run_arg *ra = arg;
	char headers[DELIVER_HEADERS_MAX + 1024];
	if (snprintf(headers, sizeof headers, "%s%s", ra->headers, extra ? extra : "") >= (int)sizeof headers)
		return res_set(r, EX_DATAERR, "5.1.3", "trace headers too long");
	if (spool)
		return append_mailbox(ra, path, headers, r);
	/* A folder counts toward the quota only with quota_scope = all. */
	struct mbox_sizes sizes = { 0, 0 };
	bool counted = ra->quota_limit > 0 && strcmp(ra->ctx->cfg->quota_scope, "all") == 0;
	struct append_to to = { path, false, ra->a->runas->gid, counted ? ra->quota_limit : 0, &sizes,
				counted ? quota_elsewhere(ra, path) : 0 };
	if (run_append(ra, &to, ra->sender, headers, ra->msg, r) != EX_OK)
		return r->ex;
	if (counted)
		warn_quota(ra, &to);
	return EX_OK;
}

static int run_sieve(struct run_arg *ra, const char *path, struct result *r)
{
	struct user_info u = { .uid = ra->a->runas->uid, .gid = ra->a->runas->gid };
	snprintf(u.name, sizeof u.name, "%s", ra->a->runas->name);
	snprintf(u.home, sizeof u.home, "%s", ra->a->runas->home);
	struct deliver_sieve_job job = {
		.cfg = ra->ctx->cfg, .user = &u, .hostname = ra->ctx->hostname, .rcpt = ra->final,
		.orig = ra->orig, .sender = ra->sender, .queue_id = ra->env->queue_id, .spool_path = path,
		.msg = ra->msg, .append = sieve_append, .arg = ra,
	};
	return deliver_sieve_run(ra->sieve, &job, r);
}

static int run_mailbox(struct run_arg *ra, struct result *r)
{
	const struct config *cfg = ra->ctx->cfg;
	char path[CFG_PATH_MAX + USER_NAME_MAX + 2];
	if (!user_name_valid(ra->a->runas->name))
		return res_set(r, EX_NOUSER, "5.1.3", "invalid user name %s", ra->a->runas->name);
	if (snprintf(path, sizeof path, "%s/%s", cfg->spool_dir, ra->a->runas->name) >= (int)sizeof path)
		return res_set(r, EX_TEMPFAIL, "4.3.5", "mailbox path too long");
	ra->spool = path;     /* for the quota of Sieve's folder appends, within this call */
	if (ra->sieve)
		return run_sieve(ra, path, r);
	return append_mailbox(ra, path, ra->headers, r);
}

static int run_file(struct run_arg *ra, struct result *r)
{
	const char *path = ra->a->target;
	if (path[0] != '/')
		return res_set(r, EX_TEMPFAIL, "4.3.5", "file destination %s is not an absolute path", path);
	struct append_to to = { path, false, ra->a->runas->gid, 0, NULL, 0 };
	if (run_append(ra, &to, ra->sender, ra->headers, ra->msg, r) != EX_OK)
		return r->ex;
	*r = res_ok("delivered to file %s", path);
	return EX_OK;
}

/* "NAME=value" into buf at *used; returns the string or NULL when buf is full. */
static const char *env_entry(char *buf, size_t size, size_t *used, const char *name, const char *value)
{
	int n = snprintf(buf + *used, size - *used, "%s=%s", name, value ? value : "");
	if (n < 0 || (size_t)n >= size - *used)
		return NULL;
	const char *s = buf + *used;
	*used += (size_t)n + 1;
	return s;
}

/* The clean environment of a |command: only what the documentation promises. */
static bool command_env(const struct run_arg *ra, char *buf, size_t size, const char **envp, size_t max)
{
	const struct action_user *u = ra->a->runas;
	char local[512];
	const char *domain = split_address(ra->final, local, sizeof local);
	const char *pairs[][2] = {
		{ "HOME", u->home }, { "USER", u->name }, { "LOGNAME", u->name },
		{ "SHELL", u->shell[0] ? u->shell : "/bin/sh" }, { "PATH", "/usr/bin:/bin" },
		{ "SENDER", ra->sender }, { "RECIPIENT", ra->final }, { "ORIGINAL_RECIPIENT", ra->orig },
		{ "LOCAL", local }, { "DOMAIN", domain ? domain : "" }, { "EXTENSION", ra->a->extension },
	};
	size_t used = 0, n = 0;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0] && n + 1 < max; i++) {
		if (strcmp(pairs[i][0], "EXTENSION") == 0 && !pairs[i][1])
			continue;
		if (!(envp[n++] = env_entry(buf, size, &used, pairs[i][0], pairs[i][1])))
			return false;
	}
	envp[n] = NULL;
	return true;
}

static int run_command(struct run_arg *ra, struct result *r)
{
	char envbuf[8192], prefix[DELIVER_HEADERS_MAX + 1200];
	const char *envp[16];
	const char *argv[] = { "/bin/sh", "-c", ra->a->target, NULL };
	if (!command_env(ra, envbuf, sizeof envbuf, envp, sizeof envp / sizeof envp[0]))
		return res_set(r, EX_TEMPFAIL, "4.3.0", "command environment too large");
	/* Commands get what Postfix gives mailbox_command: a From_ line, then our trace headers. */
	int n = mbox_from_line(prefix, sizeof prefix, ra->sender, ra->env->arrival);
	if (n < 0 || snprintf(prefix + n, sizeof prefix - (size_t)n, "%s", ra->headers) >= (int)(sizeof prefix - (size_t)n))
		return res_set(r, EX_TEMPFAIL, "4.3.0", "trace headers too long");
	struct deliver_spawn_req req = {
		.argv = argv, .envp = envp, .dir = ra->a->runas->home, .prefix = prefix, .msg = ra->msg,
		.timeout = ra->ctx->cfg->command_timeout, .what = "command",
	};
	if (deliver_spawn(&req, r) != EX_OK)
		return r->ex;
	*r = res_ok("delivered to command: %.200s", ra->a->target);
	return EX_OK;
}

static int run_forward(struct run_arg *ra, struct result *r)
{
	const struct config *cfg = ra->ctx->cfg;
	char from[1024], prefix[1200];
	const char *envp[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", NULL };
	clean_copy(from, sizeof from, ra->a->sender ? ra->a->sender : ra->sender);
	/* The null sender must stay null, or bounces of the forward would loop back. */
	const char *argv[] = { cfg->sendmail_path, "-oi", "-f", from[0] ? from : "<>", "--", ra->a->target, NULL };
	if (ra->a->target[0] == '-')
		return res_set(r, EX_DATAERR, "5.1.3", "invalid forwarding address %s", ra->a->target);
	if (snprintf(prefix, sizeof prefix, "Delivered-To: %s\n", ra->final) >= (int)sizeof prefix)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "Delivered-To too long");
	struct deliver_spawn_req req = {
		.argv = argv, .envp = envp, .dir = "/", .prefix = prefix, .msg = ra->msg,
		.timeout = cfg->command_timeout, .what = "sendmail",
	};
	if (deliver_spawn(&req, r) != EX_OK)
		return r->ex;
	*r = res_ok("forwarded as %s", ra->a->target);
	return EX_OK;
}

/* An ACT_BOUNCE's failure as a result. */
static int bounce_result(const struct action *a, struct result *r)
{
	const struct action_status *s = a->status;
	if (!s)
		return res_set(r, EX_SOFTWARE, "4.3.0", "a failed branch without its status");
	return res_set(r, s->ex, s->dsn, "%s", s->reason);
}

static int run_action(void *arg, struct result *r)
{
	struct run_arg *ra = arg;
	switch (ra->a->kind) {
	case ACT_MAILBOX:
		return run_mailbox(ra, r);
	case ACT_FILE:
		return run_file(ra, r);
	case ACT_COMMAND:
		return run_command(ra, r);
	case ACT_FORWARD:
		return run_forward(ra, r);
	case ACT_BOUNCE:
		return bounce_result(ra->a, r);
	}
	return res_set(r, EX_SOFTWARE, "4.3.0", "unknown action kind");
}

static gid_t mail_gid(const struct config *cfg, gid_t fallback)
{
	struct group gr, *found = NULL;
	char buf[4096];
	if (!cfg->mail_group[0])
		return fallback;
	if (getgrnam_r(cfg->mail_group, &gr, buf, sizeof buf, &found) != 0 || !found)
		return fallback;
	return found->gr_gid;
}

static double elapsed(const struct envelope *env)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double d = (double)(now.tv_sec - env->started.tv_sec) + (now.tv_nsec - env->started.tv_nsec) / 1e9;
	return d < 0 ? 0 : d;
}

/* What the log's dest= names: "mailbox PATH", "file PATH", "command: TEXT", the forwarding
 * address; made here, in the process that logs (the delivery itself may run in a child). */
static void describe_destination(const struct deliver_ctx *ctx, const struct action *a, char *out, size_t size)
{
	switch (a->kind) {
	case ACT_MAILBOX:
		snprintf(out, size, "mailbox %s/%s", ctx->cfg->spool_dir, a->runas->name);
		break;
	case ACT_FILE:
		snprintf(out, size, "file %.1000s", a->target);
		break;
	case ACT_COMMAND:
		snprintf(out, size, "command: %.1000s", a->target);
		break;
	case ACT_FORWARD:
		snprintf(out, size, "%.1000s", a->target);
		break;
	case ACT_BOUNCE:
		out[0] = '\0';
		break;
	}
}

/* ra->where as a quoted log value: quotes and backslashes escaped, so the line stays one
 * key="value" list a script can split. */
static void quoted_where(const char *where, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = where; *p && n + 3 < size; p++) {
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n] = '\0';
}

/* One line per destination, Postfix's fields first (queue id, to, orig_to, relay, delay, dsn,
 * status), then what an administrator counts by: the client, the size, the destination. */
static void log_delivery(const struct run_arg *ra, const struct result *r)
{
	const char *status = res_is_ok(r) ? "sent" : res_is_temp(r) ? "deferred" : "bounced";
	const char *qid = ra->env->queue_id, *client = ra->env->client;
	char dest[sizeof ra->where * 2 + 1];
	bool show_orig = ra->orig[0] && strcasecmp(ra->orig, ra->final) != 0;
	double delay = elapsed(ra->env);
	quoted_where(ra->where[0] ? ra->where : "-", dest, sizeof dest);
	log_msg(res_is_ok(r) ? LOG_INFO : LOG_WARNING,
		"%s%sto=<%s>%s%s%s, relay=local, expansion=%s, %s%s%ssize=%lld, dest=\"%s\", delay=%.2f, delay_ms=%.0f, "
		"dsn=%s, status=%s (%s)", qid, qid[0] ? ": " : "", ra->final, show_orig ? ", orig_to=<" : "",
		show_orig ? ra->orig : "", show_orig ? ">" : "", deliver_expansion_name(ra->ctx), client[0] ? "client=" : "",
		client, client[0] ? ", " : "", (long long)ra->msg->size, dest, delay, delay * 1000, r->dsn, status, r->reason);
}

/* Keeps the worse of two results in *acc: any temporary failure beats a permanent one
 * (the MTA retries, and retries are safe thanks to the retry memory), any failure beats
 * success, the first of equals wins. */
static void combine(struct result *acc, const struct result *r, bool first)
{
	if (first || res_is_ok(acc)) {
		*acc = *r;
		return;
	}
	if (res_is_ok(r) || res_is_temp(acc))
		return;
	if (res_is_temp(r))
		*acc = *r;
}

/* Return-Path, X-Original-To (only when it tells something), Delivered-To: Postfix's order. */
static bool build_headers(char *buf, size_t size, const char *sender, const char *orig, const char *final)
{
	int n;
	if (orig[0] && strcasecmp(orig, final) != 0)
		n = snprintf(buf, size, "Return-Path: <%s>\nX-Original-To: %s\nDelivered-To: %s\n", sender, orig, final);
	else
		n = snprintf(buf, size, "Return-Path: <%s>\nDelivered-To: %s\n", sender, final);
	return n >= 0 && (size_t)n < size;
}

/* EX_OK when the action may run with the rights we have, else why not. */
static int may_run(const struct action *a, struct result *r)
{
	char chain[EXPAND_CHAIN_TEXT_MAX];
	const struct action_user *u = a->runas;
	/* Root's own deliveries never run commands or write files: a .forward line must not turn
	 * mail into a root shell. */
	if (u->uid == 0 && a->kind != ACT_MAILBOX)
		return res_set(r, EX_TEMPFAIL, "4.7.1", "refusing to run %s as root (%s)",
			       a->kind == ACT_COMMAND ? "a command" : a->kind == ACT_FILE ? "a file delivery" : "a forward",
			       action_chain(a, chain, sizeof chain));
	/* Without root we cannot become another user: running someone else's .forward command or
	 * file delivery with our rights would hand them our account. The administrator can fix
	 * this (run mda as root or change the alias), so it is temporary. */
	if (geteuid() != 0 && u->uid != geteuid() && (a->kind == ACT_COMMAND || a->kind == ACT_FILE))
		return res_set(r, EX_TEMPFAIL, "4.7.1", "cannot deliver to %s as %s without root (%s)",
			       a->kind == ACT_COMMAND ? "a command" : "a file", u->name,
			       action_chain(a, chain, sizeof chain));
	return EX_OK;
}

/* The action's user as deliver_as_user takes it. */
static void user_of(const struct action_user *au, struct user_info *u)
{
	snprintf(u->name, sizeof u->name, "%s", au->name);
	snprintf(u->home, sizeof u->home, "%s", au->home);
	snprintf(u->shell, sizeof u->shell, "%s", au->shell);
	u->uid = au->uid;
	u->gid = au->gid;
}

static int deliver_one(struct deliver_ctx *ctx, struct run_arg *ra, const char *hdrs, size_t hlen,
		       struct result *r)
{
	const struct action *a = ra->a;
	char headers[DELIVER_HEADERS_MAX], chain[EXPAND_CHAIN_TEXT_MAX];
	struct user_info u;
	describe_destination(ctx, a, ra->where, sizeof ra->where);
	if (a->kind == ACT_BOUNCE)
		return bounce_result(a, r);
	if (has_delivered_to(hdrs, hlen, ra->final))
		return res_set(r, EX_DATAERR, "5.4.6", "mail forwarding loop for %s (%s)", ra->final,
			       action_chain(a, chain, sizeof chain));
	if (deliver_memo_seen(ctx->memo, a))
		return res_set(r, EX_OK, "2.0.0", "already delivered for %s in an earlier attempt", ra->final);
	if (may_run(a, r) != EX_OK)
		return r->ex;
	if (!build_headers(headers, sizeof headers, ra->sender, ra->orig, ra->final))
		return res_set(r, EX_DATAERR, "5.1.3", "addresses too long for trace headers");
	ra->headers = headers;
	ra->quota_limit = 0;
	if (a->kind == ACT_MAILBOX && quota_limit(ctx->cfg, a->runas->name, &ra->quota_limit, r) != EX_OK)
		return r->ex;
	user_of(a->runas, &u);
	/* Compiled (or found in the cache) here, in the long-lived process, run in the child. */
	ra->sieve = a->kind == ACT_MAILBOX ? deliver_sieve_load(&ctx->sieve, ctx->cfg, &u) : NULL;
	deliver_as_user(ctx->cfg, &u, a->kind == ACT_MAILBOX, run_action, ra, r);
	ra->headers = NULL;
	if (res_is_ok(r))
		deliver_memo_done(ctx->memo, a);
	return r->ex;
}

/* ---- Once per destination per message ---- */

/* A destination this message has reached, and how that went. */
struct served {
	const char *key;
	const char *what;     /* "mailbox alice", "command: ...", for texts */
	int ex;
	char dsn[12];
	const char *reason;   /* of a failure; NULL after success */
};

struct deliver_served {
	struct arena arena;   /* keys, reasons and the entries themselves */
	struct ptab table;
};

static uint64_t served_hash(const void *ctx, uintptr_t item)
{
	(void)ctx;
	return intern_hash(((const struct served *)item)->key);
}

static bool served_eq(const void *ctx, uintptr_t item, const void *key)
{
	(void)ctx;
	return strcmp(((const struct served *)item)->key, key) == 0;
}

static const struct ptab_ops served_ops = { served_hash, served_eq };

void deliver_message_reset(struct deliver_ctx *ctx)
{
	if (!ctx->served)
		return;
	arena_free(&ctx->served->arena);
	ptab_free(&ctx->served->table);
	free(ctx->served);
	ctx->served = NULL;
}

/* What makes two actions one destination, as Postfix's local(8) keys its duplicate filter: a
 * mailbox by its user, a file by uid and path, a command by uid, recipient (its environment
 * names it) and text, a forward by address, case folded. *what_len: the length of the part
 * texts show ("mailbox alice"). False when the key does not fit. */
static bool served_key(const struct action *a, char *buf, size_t size, int *what_len)
{
	int n = -1, more = 0;
	switch (a->kind) {
	case ACT_MAILBOX:
		n = snprintf(buf, size, "mailbox %s", a->runas->name);
		break;
	case ACT_FILE:
		n = snprintf(buf, size, "file %s", a->target);
		break;
	case ACT_COMMAND:
		n = snprintf(buf, size, "command: %s", a->target);
		break;
	case ACT_FORWARD:
		n = snprintf(buf, size, "forward to %s", a->target);
		for (char *p = buf; n > 0 && (size_t)n < size && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		break;
	case ACT_BOUNCE:
		break;
	}
	if (n <= 0 || (size_t)n >= size)
		return false;
	*what_len = n;
	/* The part no text shows: whose rights, and for a command its recipient. */
	if (a->kind == ACT_FILE || a->kind == ACT_COMMAND)
		more = snprintf(buf + n, size - (size_t)n, "\x1f%u\x1f%s", (unsigned)a->runas->uid,
				a->kind == ACT_COMMAND && a->recipient ? a->recipient : "");
	return more >= 0 && (size_t)more < size - (size_t)n;
}

/* a's destination in this message: *first is its earlier outcome (a duplicate) or NULL, in
 * which case the entry returned is a's, to be filled by served_done. NULL without memory:
 * the action is then delivered, a duplicate being better than a loss. */
static struct served *served_claim(struct deliver_ctx *ctx, const struct action *a, const struct served **first)
{
	char key[ALIAS_ITEM_MAX + USER_NAME_MAX + 600];
	struct served *sv;
	int what_len = 0;
	*first = NULL;
	if (!served_key(a, key, sizeof key, &what_len))
		return NULL;
	if (!ctx->served && !(ctx->served = calloc(1, sizeof *ctx->served)))
		return NULL;
	uint64_t h = intern_hash(key);
	if ((*first = (const struct served *)ptab_find(&ctx->served->table, h, key, &served_ops, NULL)))
		return NULL;
	sv = arena_alloc(&ctx->served->arena, sizeof *sv);
	if (!sv || !(sv->key = arena_strdup(&ctx->served->arena, key)))
		return NULL;
	key[what_len] = '\0';
	if (!(sv->what = arena_strdup(&ctx->served->arena, key)) ||
	    ptab_add(&ctx->served->table, h, (uintptr_t)sv, &served_ops, NULL) != 0)
		return NULL;
	sv->ex = EX_TEMPFAIL;   /* until served_done says otherwise */
	snprintf(sv->dsn, sizeof sv->dsn, "4.3.0");
	sv->reason = "delivery of the first copy did not finish";
	return sv;
}

static void served_done(struct deliver_ctx *ctx, struct served *sv, const struct result *r)
{
	if (!sv)
		return;
	sv->ex = r->ex;
	snprintf(sv->dsn, sizeof sv->dsn, "%s", r->dsn);
	sv->reason = res_is_ok(r) ? NULL : arena_strdup(&ctx->served->arena, r->reason);
	if (!res_is_ok(r) && !sv->reason)
		sv->reason = "delivery failed";
}

/* A duplicate gets its destination's first outcome: success (Postfix's local(8) and cleanup(8)
 * drop a duplicate silently, as delivered), or that failure again, never a second copy. Logged
 * without status=, so that counting status=sent counts copies. */
static void duplicate(const struct run_arg *ra, const struct served *first, struct result *r)
{
	const char *qid = ra->env->queue_id;
	bool show_orig = ra->orig[0] && strcasecmp(ra->orig, ra->final) != 0;
	if (first->ex == EX_OK)
		*r = res_ok("already delivered to %s for this message", first->what);
	else
		res_set(r, first->ex, first->dsn, "%s", first->reason);
	log_msg(LOG_INFO, "%s%sto=<%s>%s%s%s, relay=local, expansion=%s, duplicate of %s in this message, "
		"not delivered again (first copy: %s)", qid, qid[0] ? ": " : "", ra->final,
		show_orig ? ", orig_to=<" : "", show_orig ? ra->orig : "", show_orig ? ">" : "",
		deliver_expansion_name(ra->ctx), first->what,
		res_is_ok(r) ? "sent" : res_is_temp(r) ? "deferred" : "bounced");
}

/* The name for Delivered-To: the addressed local part itself (extension included, as Postfix
 * writes it) when the action is for the addressed user, else the user the engine reached. */
static const char *delivered_name(const struct deliver_ctx *ctx, const struct action *a, const char *local)
{
	const char *delim = ctx->cfg->recipient_delimiter;
	size_t base = delim[0] ? strcspn(local, delim) : strlen(local);
	if (!a->recipient)
		return local;
	if (!strchr(a->recipient, '@') && strlen(a->recipient) == base && strncmp(a->recipient, local, base) == 0)
		return local;
	return a->recipient;
}

int deliver_to_recipient_orig(struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			      const char *orig_rcpt, const struct action_list *actions,
			      const struct mbox_spool *msg, struct result *r)
{
	char local[512], final[1024], orig[1024], sender[1024];
	const char *domain = split_address(rcpt, local, sizeof local);
	size_t hlen = 0;
	char *hdrs = read_headers(msg, &hlen);
	clean_copy(sender, sizeof sender, env->sender);
	if (!hdrs)
		return res_set(r, EX_OSERR, "4.3.0", "out of memory reading the message headers");
	*r = res_ok("no delivery actions");
	if (actions->n == 0)
		res_set(r, EX_SOFTWARE, "4.3.0", "<%s>: no delivery actions", rcpt);
	for (size_t i = 0; i < actions->n; i++) {
		const struct action *a = &actions->v[i];
		struct run_arg ra = { .ctx = ctx, .env = env, .a = a, .final = final, .orig = orig,
				      .sender = sender, .msg = msg };
		struct result one;
		if (!deliver_final_address(ctx, delivered_name(ctx, a, local), domain, final, sizeof final))
			clean_copy(final, sizeof final, rcpt);
		clean_copy(final, sizeof final, final);
		/* A bare name is qualified like Delivered-To, so "alice" is not news next to alice@host. */
		const char *o = orig_rcpt ? orig_rcpt : a->orig_recipient ? a->orig_recipient : rcpt;
		if (!deliver_final_address(ctx, o, domain, orig, sizeof orig))
			snprintf(orig, sizeof orig, "%s", o);
		clean_copy(orig, sizeof orig, orig);
		const struct served *first;
		struct served *sv = served_claim(ctx, a, &first);
		if (first) {
			duplicate(&ra, first, &one);
			combine(r, &one, i == 0);
			continue;
		}
		if (ctx->cfg->message_size_limit > 0 && msg->size > ctx->cfg->message_size_limit)
			res_set(&one, EX_DATAERR, "5.3.4", "message size %lld exceeds the limit %lld",
				(long long)msg->size, ctx->cfg->message_size_limit);
		else
			deliver_one(ctx, &ra, hdrs, hlen, &one);
		served_done(ctx, sv, &one);
		log_delivery(&ra, &one);
		combine(r, &one, i == 0);
	}
	free(hdrs);
	return r->ex;
}

int deliver_to_recipient(struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			 const struct action_list *actions, const struct mbox_spool *msg, struct result *r)
{
	return deliver_to_recipient_orig(ctx, env, rcpt, NULL, actions, msg, r);
}
