/* One message on stdin: envelope from flags, environment or the MTA's block; spool; deliver. */
#include "mda/stdin_mode.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "mbox/mbox.h"
#include "mda/deliver.h"

/* The MTA's block is a few short lines; this much is read before looking for it. */
#define STDIN_HEAD_MAX 16384
#define STDIN_CHUNK 65536

/* Copies the line value (after "Name:"), trimmed, without CR, into out. */
static void copy_value(const char *v, size_t len, char *out, size_t size)
{
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	if (len >= 2 && v[0] == '<' && memchr(v, '>', len)) {
		const char *gt = memchr(v, '>', len);
		len = (size_t)(gt - v - 1);
		v++;
	}
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static bool line_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && strncasecmp(line, name, n) == 0;
}

/* Stores one block header line; false when the line does not belong to the block. */
static bool take_header(struct mda_block *b, const char *line, size_t len)
{
	static const struct {
		const char *name;
		size_t has, val;
	} fields[] = {
		{ "Return-Path:", offsetof(struct mda_block, has_return_path), offsetof(struct mda_block, return_path) },
		{ "X-Original-To:", offsetof(struct mda_block, has_orig_to), offsetof(struct mda_block, orig_to) },
		{ "Delivered-To:", offsetof(struct mda_block, has_delivered_to), offsetof(struct mda_block, delivered_to) },
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		bool *has = (bool *)((char *)b + fields[i].has);
		size_t n = strlen(fields[i].name);
		if (!line_is(line, len, fields[i].name))
			continue;
		/* A second copy is part of the message: the MTA adds each once. */
		if (*has)
			return false;
		/* Nothing but a From_ line or Return-Path may open the block. */
		if (!b->has_from && !b->has_return_path && i != 0)
			return false;
		*has = true;
		copy_value(line + n, len - n, (char *)b + fields[i].val, MDA_ADDR_MAX);
		return true;
	}
	return false;
}

static void parse_from_line(struct mda_block *b, const char *line, size_t len)
{
	const char *s = line + 5, *end = line + len;
	while (s < end && *s == ' ')
		s++;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
		e++;
	copy_value(s, (size_t)(e - s), b->from_sender, sizeof b->from_sender);
	if (strcmp(b->from_sender, "MAILER-DAEMON") == 0)
		b->from_sender[0] = '\0';
	b->has_from = true;
}

void mda_block_parse(const char *buf, size_t len, struct mda_block *b)
{
	size_t pos = 0;
	memset(b, 0, sizeof *b);
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (!nl)
			break;
		size_t llen = (size_t)(nl - line), next = pos + llen + 1;
		if (pos == 0 && llen >= 5 && memcmp(line, "From ", 5) == 0) {
			parse_from_line(b, line, llen);
			pos = next;
			continue;
		}
		/* A folded field is the message's, not the MTA's one-line trace header. */
		if (next < len && (buf[next] == ' ' || buf[next] == '\t'))
			break;
		if (!take_header(b, line, llen))
			break;
		pos = next;
	}
	b->length = (b->has_from || b->has_return_path) ? pos : 0;
}

static void strip_brackets(const char *s, char *out, size_t size)
{
	copy_value(s, strlen(s), out, size);
}

static void invoking_user(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	snprintf(out, size, "%s", pw ? pw->pw_name : "MAILER-DAEMON");
}

void mda_choose_sender(const struct mda_stdin_opts *o, const struct mda_block *b, char *out, size_t size)
{
	const char *env = getenv("SENDER");
	if (o->sender)
		strip_brackets(o->sender, out, size);
	else if (env)
		strip_brackets(env, out, size);
	else if (b->has_return_path)
		snprintf(out, size, "%s", b->return_path);
	else if (b->has_from)
		snprintf(out, size, "%s", b->from_sender);
	else
		invoking_user(out, size);
	if (strcmp(out, "MAILER-DAEMON") == 0)
		out[0] = '\0';
}

static const char *nonempty_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

bool mda_env_recipient(const struct config *cfg, char *out, size_t size)
{
	const char *local = nonempty_env("LOCAL"), *domain = nonempty_env("DOMAIN");
	const char *rcpt = nonempty_env("RECIPIENT"), *ext = nonempty_env("EXTENSION");
	const char *user = nonempty_env("USER") ? nonempty_env("USER") : nonempty_env("LOGNAME");
	int n;
	/* Postfix's LOCAL is the lowercased local part with its extension: the truth even when the
	 * command runs as nobody for root with USER=root. */
	if (local)
		n = snprintf(out, size, "%s%s%s", local, domain ? "@" : "", domain ? domain : "");
	else if (rcpt)
		n = snprintf(out, size, "%s", rcpt);
	else if (user && ext && cfg->recipient_delimiter[0])
		n = snprintf(out, size, "%s%c%s", user, cfg->recipient_delimiter[0], ext);
	else if (user)
		n = snprintf(out, size, "%s", user);
	else {
		invoking_user(out, size);
		n = (int)strlen(out);
	}
	return n > 0 && (size_t)n < size;
}

bool mda_env_names_recipient(void)
{
	return nonempty_env("LOCAL") || nonempty_env("RECIPIENT") || nonempty_env("LOCAL_PART");
}

const char *mda_mta_environment(void)
{
	/* Postfix's local(8) always sets these (and MAIL_CONFIG from postfix(1)); OpenSMTPD's mda
	 * and mda's own |command deliveries set the same LOCAL and RECIPIENT. */
	if (nonempty_env("LOCAL") && nonempty_env("RECIPIENT"))
		return nonempty_env("MAIL_CONFIG") ? "Postfix local(8)" : "LOCAL and RECIPIENT";
	/* Exim's pipe transport: MESSAGE_ID always, LOCAL_PART unless batched, QUALIFY_DOMAIN. */
	if (nonempty_env("MESSAGE_ID") && (nonempty_env("LOCAL_PART") || nonempty_env("QUALIFY_DOMAIN")))
		return "Exim";
	return NULL;
}

int mda_exit_code(const struct result *r)
{
	if (res_is_ok(r))
		return EX_OK;
	if (res_is_temp(r))
		return EX_TEMPFAIL;
	switch (r->ex) {
	case EX_NOUSER:
		return EX_NOUSER;
	case EX_DATAERR:
		return EX_DATAERR;
	case EX_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case EX_NOPERM:   /* 5.7.1: a policy refusal, bounced as the log and LMTP say */
		return EX_NOPERM;
	case EX_CANTCREAT:   /* 5.2.2: mailbox full (mailbox_size_limit), bounced */
		return EX_CANTCREAT;
	default:
		/* Permissions, configuration, software: an administrator can fix these, and the
		 * MTA bounces every code but 75 and 71. */
		return EX_TEMPFAIL;
	}
}

/* Same ranking as the per-action one: temporary beats permanent beats success. */
static void combine(struct result *acc, const struct result *r, bool first)
{
	if (first || res_is_ok(acc) || (!res_is_temp(acc) && res_is_temp(r) && !res_is_ok(r)))
		*acc = *r;
}

static ssize_t read_some(int fd, char *buf, size_t size)
{
	ssize_t n;
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Reads the message into the spool, minus the MTA's block; too-big input is drained so the
 * MTA sees our verdict rather than a broken pipe. */
static int spool_input(const struct config *cfg, int fd, struct mbox_spool *sp, struct mda_block *b,
		       struct result *r)
{
	char *buf = malloc(STDIN_CHUNK);
	size_t len = 0;
	long long total = 0;
	ssize_t n = 1;
	if (!buf)
		return res_set(r, EX_OSERR, "4.3.0", "out of memory");
	while (len < STDIN_HEAD_MAX && (n = read_some(fd, buf + len, STDIN_HEAD_MAX - len)) > 0)
		len += (size_t)n;
	mda_block_parse(buf, len, b);
	size_t off = b->length;
	while (n > 0 || len > off) {
		total += (long long)(len - off);
		bool fits = cfg->message_size_limit == 0 || total <= cfg->message_size_limit;
		if (fits && len > off && mbox_spool_write(sp, buf + off, len - off, r) != EX_OK)
			break;
		off = 0;
		len = 0;
		if (n <= 0)
			break;
		n = read_some(fd, buf, STDIN_CHUNK);
		len = n > 0 ? (size_t)n : 0;
	}
	free(buf);
	if (n < 0)
		return res_errno(r, errno, false, "reading the message from standard input");
	if (r->ex != EX_OK)
		return r->ex;
	if (cfg->message_size_limit > 0 && total > cfg->message_size_limit)
		return res_set(r, EX_DATAERR, "5.3.4", "message size %lld exceeds the limit of %lld bytes", total,
			       cfg->message_size_limit);
	return mbox_spool_finish(sp, r);
}

static void log_refused(const struct deliver_ctx *ctx, const struct envelope *env, const char *rcpt,
			const struct result *r)
{
	log_msg(LOG_WARNING, "%s: to=<%s>, relay=local, expansion=%s, dsn=%s, status=%s (%s)", env->queue_id, rcpt,
		deliver_expansion_name(ctx), r->dsn, res_is_temp(r) ? "deferred" : "bounced", r->reason);
}

static int deliver_all(struct deliver_ctx *ctx, const struct envelope *env, const struct mda_stdin_opts *o,
		       char *const *rcpts, size_t n, const char *orig, const struct mbox_spool *sp,
		       struct result *r)
{
	struct result memo_r;
	bool any_temp = false;
	if (deliver_memo_begin(ctx, env, sp, &memo_r) != EX_OK)
		log_msg(LOG_WARNING, "%s: %s; retries may repeat deliveries", env->queue_id, memo_r.reason);
	(void)o;
	for (size_t i = 0; i < n; i++) {
		struct action_list actions = { 0 };
		struct result one;
		if (deliver_prepare(ctx, rcpts[i], &actions, &one) == EX_OK)
			deliver_to_recipient_orig(ctx, env, rcpts[i], orig, &actions, sp, &one);
		else
			log_refused(ctx, env, rcpts[i], &one);
		action_list_free(&actions);
		if (!res_is_ok(&one) && n > 1) {
			char why[sizeof one.reason];
			snprintf(why, sizeof why, "%s", one.reason);
			if (snprintf(one.reason, sizeof one.reason, "<%s>: %s", rcpts[i], why) < 0)
				snprintf(one.reason, sizeof one.reason, "%s", why);
		}
		any_temp |= !res_is_ok(&one) && res_is_temp(&one);
		combine(r, &one, i == 0);
	}
	deliver_memo_end(ctx, any_temp);
	return r->ex;
}

static void fill_envelope(struct envelope *env, const char *sender)
{
	memset(env, 0, sizeof *env);
	snprintf(env->sender, sizeof env->sender, "%s", sender);
	env->arrival = time(NULL);
	clock_gettime(CLOCK_REALTIME, &env->started);
	snprintf(env->queue_id, sizeof env->queue_id, "%lX%05X", (unsigned long)env->arrival,
		 (unsigned)getpid() & 0xfffff);
}

/* The status line comes first: Postfix takes the DSN (and defer or bounce) from the first
 * "D.S.N text" of the output; the log lines held back by main() follow it. */
static int finish(const struct result *r, FILE *err)
{
	if (!res_is_ok(r))
		fprintf(err, "%s %s\n", r->dsn, r->reason);
	log_release_stderr(err);
	return mda_exit_code(r);
}

int mda_stdin_run(const struct config *cfg, const struct mda_stdin_opts *o, int in_fd, FILE *err)
{
	char env_rcpt[MDA_ADDR_MAX], sender[MDA_ADDR_MAX];
	char *env_rcpts[1] = { env_rcpt };
	char *const *rcpts = o->rcpts;
	size_t n = o->n_rcpts;
	struct result r = res_ok(NULL);
	struct mbox_spool sp;
	struct mda_block block;
	struct envelope env;
	struct deliver_ctx ctx;
	if (n == 0) {
		if (!mda_env_recipient(cfg, env_rcpt, sizeof env_rcpt)) {
			res_set(&r, EX_TEMPFAIL, "4.3.5", "no recipient given and none in the environment");
			return finish(&r, err);
		}
		rcpts = env_rcpts;
		n = 1;
	}
	if (mbox_spool_open(&sp, cfg->tmp_dir, &r) != EX_OK)
		return finish(&r, err);
	if (spool_input(cfg, in_fd, &sp, &block, &r) != EX_OK) {
		mbox_spool_close(&sp);
		return finish(&r, err);
	}
	mda_choose_sender(o, &block, sender, sizeof sender);
	const char *orig = o->orig_rcpt && *o->orig_rcpt ? o->orig_rcpt
			   : nonempty_env("ORIGINAL_RECIPIENT") ? nonempty_env("ORIGINAL_RECIPIENT")
			   : block.has_orig_to && block.orig_to[0] ? block.orig_to : NULL;
	fill_envelope(&env, sender);
	if (deliver_init(&ctx, cfg, &r) == EX_OK) {
		if (cfg->expansion == EXPANSION_AUTO && mda_mta_environment())
			ctx.expansion = EXPANSION_MTA;
		deliver_all(&ctx, &env, o, rcpts, n, orig, &sp, &r);
	}
	deliver_cleanup(&ctx);
	mbox_spool_close(&sp);
	return finish(&r, err);
}
