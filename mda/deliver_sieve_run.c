/* Carrying out a Sieve result at mailbox delivery, as the user: keep and fileinto through
 * libmbox, redirect and vacation through sendmail_path, reject as a permanent failure. Any
 * failure that is not temporary ends in the spool mailbox: mail is never lost to a filter. */
#include "mda/deliver_sieve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "mda/deliver_int.h"
#include "mda/deliver_sieve_int.h"
#include "sieve/sieve.h"

/* One execution's state: what is done, for the result and the fallback keep. */
struct run {
	const struct deliver_sieve_job *job;
	struct sieve_limits lim;
	struct sieve_exec_opts xo;
	char folder_dir[CFG_PATH_MAX];
	char state[CFG_PATH_MAX];
	bool kept;                /* the message is in the spool mailbox */
	bool stored;              /* ... or in some folder */
	char done[sizeof ((struct result *)0)->reason];
	size_t done_len;
};

/* Adds "; what" to the summary the delivery's log line and result show. */
static void done(struct run *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void done(struct run *st, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof st->done - st->done_len;
	if (room < 4)
		return;
	int n = snprintf(st->done + st->done_len, room, "%s", st->done_len ? "; " : "");
	va_start(ap, fmt);
	int m = vsnprintf(st->done + st->done_len + n, room - (size_t)n, fmt, ap);
	va_end(ap);
	if (m >= 0)
		st->done_len += (size_t)n + (size_t)m < room ? (size_t)n + (size_t)m : room - 1;
}

/* The one log line of a failure that the implicit keep (or a fallback keep) answers. */
static void log_failure(const struct run *st, const struct sieve_action *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void log_failure(const struct run *st, const struct sieve_action *a, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	res_printable(why);
	if (a && a->script)
		log_msg(LOG_WARNING, "%s: to=<%s>, sieve: %s:%u: %s; message kept in the mailbox", st->job->queue_id,
			st->job->rcpt, a->script, a->line, why);
	else
		log_msg(LOG_WARNING, "%s: to=<%s>, sieve: %s; message kept in the mailbox", st->job->queue_id,
			st->job->rcpt, why);
}

/* Status, X-Status and X-Keywords lines for the action's flags, "" when it has none. */
static void flag_headers(const struct sieve_action *a, char *buf, size_t size)
{
	char status[8], xstatus[8], keywords[512];
	buf[0] = '\0';
	if (!a->flags || a->nflags == 0)
		return;
	sieve_flags_mbox(a->flags, a->nflags, status, sizeof status, xstatus, sizeof xstatus, keywords,
			 sizeof keywords);
	res_printable(keywords);
	snprintf(buf, size, "%s%s%s%s%s%s%s%s%s", status[0] ? "Status: " : "", status, status[0] ? "\n" : "",
		 xstatus[0] ? "X-Status: " : "", xstatus, xstatus[0] ? "\n" : "", keywords[0] ? "X-Keywords: " : "",
		 keywords, keywords[0] ? "\n" : "");
}

static int keep(struct run *st, const struct sieve_action *a, struct result *r)
{
	char extra[640];
	flag_headers(a, extra, sizeof extra);
	if (st->job->append(st->job->arg, st->job->spool_path, true, extra[0] ? extra : NULL, r) != EX_OK)
		return r->ex;
	st->kept = st->stored = true;
	done(st, "%s in mailbox %s%s", a->implicit ? "kept" : "keep", st->job->spool_path,
	     extra[0] ? " with flags" : "");
	return EX_OK;
}

/* The spool mailbox, unless the message is there already: what a failed action falls back to. */
static int fallback_keep(struct run *st, struct result *r)
{
	static const struct sieve_action plain = { .kind = SIEVE_ACT_KEEP, .implicit = true };
	if (st->kept)
		return EX_OK;
	return keep(st, &plain, r);
}

/* A directory on the way to a folder: a directory of the user's (or root's) that group and
 * others cannot write, so that nobody else can swap a level for a symbolic link between this
 * check and the append; a symbolic link to one counts when the link is the user's own (~/mail
 * moved to another disk), never when someone else planted it. Made 0700 when missing and
 * create. NULL, or why not. */
static const char *folder_level(const char *path, bool create, uid_t uid)
{
	struct stat sb;
	if (lstat(path, &sb) != 0) {
		if (errno != ENOENT)
			return strerror(errno);
		if (!create)
			return "does not exist (fileinto :create makes it)";
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return strerror(errno);
		if (lstat(path, &sb) != 0)
			return strerror(errno);
	}
	if (S_ISLNK(sb.st_mode)) {
		if (sb.st_uid != uid && sb.st_uid != 0)
			return "a symbolic link of someone else";
		if (stat(path, &sb) != 0)
			return strerror(errno);
	}
	if (!S_ISDIR(sb.st_mode))
		return "not a directory";
	if (sb.st_uid != uid && sb.st_uid != 0)
		return "owned by someone else";
	if (sb.st_mode & 022)
		return "writable by group or others";
	return NULL;
}

/* The folder file for rel under the folder directory into full, its directories checked
 * (the folder directory itself is made when missing, deeper ones only with :create). */
static const char *folder_file(const struct run *st, const char *rel, bool create, char *full, size_t size)
{
	uid_t uid = st->job->user->uid;
	struct stat sb;
	const char *why = folder_level(st->folder_dir, true, uid);
	if (why)
		return why;
	int n = snprintf(full, size, "%s/%s", st->folder_dir, rel);
	if (n < 0 || (size_t)n >= size)
		return "path too long";
	char *level = full + strlen(st->folder_dir) + 1;
	for (char *slash; (slash = strchr(level, '/')) != NULL; level = slash + 1) {
		*slash = '\0';
		why = folder_level(full, create, uid);
		*slash = '/';
		if (why)
			return why;
	}
	if (lstat(full, &sb) == 0 && !S_ISREG(sb.st_mode))
		return "not a regular file";
	return NULL;
}

static int fileinto(struct run *st, const struct sieve_action *a, struct result *r)
{
	char full[CFG_PATH_MAX + 1100], extra[640];
	if (!a->path)
		return keep(st, a, r);
	if (!st->folder_dir[0]) {
		log_failure(st, a, "fileinto \"%s\": no mail_folder_dir", a->folder);
		return fallback_keep(st, r);
	}
	const char *why = folder_file(st, a->path, a->create, full, sizeof full);
	if (why) {
		log_failure(st, a, "fileinto \"%s\": %s: %s", a->folder, full, why);
		return fallback_keep(st, r);
	}
	flag_headers(a, extra, sizeof extra);
	if (st->job->append(st->job->arg, full, false, extra[0] ? extra : NULL, r) != EX_OK) {
		/* Temporary trouble defers as the spool's would; anything else keeps. */
		if (res_is_temp(r))
			return r->ex;
		log_failure(st, a, "fileinto \"%s\": %s", a->folder, r->reason);
		return fallback_keep(st, r);
	}
	st->stored = true;
	done(st, "filed into %s%s", a->folder, extra[0] ? " with flags" : "");
	return EX_OK;
}

/* One message into sendmail_path: the null sender stays null (bounces of it must not loop). */
static int send_mail(const struct run *st, const char *from, const char *to, const char *prefix,
		     const struct mbox_spool *msg, struct result *r)
{
	const char *envp[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", NULL };
	const char *argv[] = { st->job->cfg->sendmail_path, "-oi", "-f", from[0] ? from : "<>", "--", to, NULL };
	if (to[0] == '-' || strpbrk(to, "\r\n"))
		return res_set(r, EX_DATAERR, "5.1.3", "invalid address %.200s", to);
	struct deliver_spawn_req req = {
		.argv = argv, .envp = envp, .dir = "/", .prefix = prefix, .msg = msg,
		.timeout = st->job->cfg->command_timeout, .what = "sendmail",
	};
	return deliver_spawn(&req, r);
}

/* With this delivery's Delivered-To, so that a copy coming back here is a loop mda refuses
 * (deliver.c: a message carrying it is never delivered, nor redirected, again). */
static int redirect(struct run *st, const struct sieve_action *a, struct result *r)
{
	char prefix[1100];
	if (snprintf(prefix, sizeof prefix, "Delivered-To: %s\n", st->job->rcpt) >= (int)sizeof prefix ||
	    send_mail(st, st->job->sender, a->address, prefix, st->job->msg, r) != EX_OK) {
		log_failure(st, a, "redirect to %s failed: %s", a->address, r->reason);
		return fallback_keep(st, r);
	}
	done(st, "redirected to %s", a->address);
	return EX_OK;
}

/* A reply that cannot go is logged; the delivery stands and the reply is not remembered. */
static void vacation(struct run *st, struct sieve_action *a)
{
	struct sieve_vacation *v = a->vacation;
	struct mbox_spool sp;
	struct result r;
	size_t len;
	if (!v || !v->send)
		return;
	char *text = sieve_vacation_message(a, st->job->hostname, time(NULL), &len);
	bool ok = text && mbox_spool_open(&sp, st->job->cfg->tmp_dir, &r) == EX_OK;
	if (ok) {
		ok = mbox_spool_write(&sp, text, len, &r) == EX_OK && mbox_spool_finish(&sp, &r) == EX_OK &&
		     send_mail(st, "", v->to, NULL, &sp, &r) == EX_OK;
		mbox_spool_close(&sp);
	} else if (!text) {
		res_set(&r, EX_OSERR, "4.3.0", "out of memory");
	}
	free(text);
	if (!ok) {
		v->send = false;
		log_msg(LOG_WARNING, "%s: to=<%s>, sieve: %s:%u: vacation reply to %s not sent: %s", st->job->queue_id,
			st->job->rcpt, a->script ? a->script : "?", a->line, v->to, r.reason);
		return;
	}
	done(st, "vacation reply to %s", v->to);
}

static const struct sieve_action *find_reject(const struct sieve_result *res)
{
	for (size_t i = 0; i < res->count; i++)
		if (res->actions[i].kind == SIEVE_ACT_REJECT || res->actions[i].kind == SIEVE_ACT_EREJECT)
			return &res->actions[i];
	return NULL;
}

/* RFC 5429: refused for this recipient only; the reason's first line goes to the client. */
static int reject(const struct sieve_action *a, struct result *r)
{
	char reason[200];
	snprintf(reason, sizeof reason, "%s", a->reason ? a->reason : "");
	reason[strcspn(reason, "\n")] = '\0';
	res_printable(reason);
	return res_set(r, EX_NOPERM, "5.7.1", "rejected by the recipient's Sieve filter: %s",
		       reason[0] ? reason : "no reason given");
}

/* Stores first (a deferral must not have sent anything yet), then redirects, then replies. */
static int carry_out(struct run *st, struct sieve_result *res, struct result *r)
{
	for (size_t i = 0; i < res->count; i++) {
		const struct sieve_action *a = &res->actions[i];
		int rc = a->kind == SIEVE_ACT_KEEP ? keep(st, a, r)
			 : a->kind == SIEVE_ACT_FILEINTO ? fileinto(st, a, r) : EX_OK;
		if (rc != EX_OK)
			return rc;
	}
	for (size_t i = 0; i < res->count; i++)
		if (res->actions[i].kind == SIEVE_ACT_REDIRECT && redirect(st, &res->actions[i], r) != EX_OK)
			return r->ex;
	for (size_t i = 0; i < res->count; i++)
		if (res->actions[i].kind == SIEVE_ACT_VACATION)
			vacation(st, &res->actions[i]);
	for (size_t i = 0; i < res->count; i++)
		if (res->actions[i].kind == SIEVE_ACT_DISCARD && !st->stored && st->done_len == 0)
			done(st, "discarded (%s:%u)", res->actions[i].script ? res->actions[i].script : "?",
			     res->actions[i].line);
	return EX_OK;
}

static int folder_exists(void *ctx, const char *folder, const char *path)
{
	const struct run *st = ctx;
	char full[CFG_PATH_MAX + 1100];
	struct stat sb;
	(void)folder;
	if (!path)
		return 1;
	if (!st->folder_dir[0] || (size_t)snprintf(full, sizeof full, "%s/%s", st->folder_dir, path) >= sizeof full)
		return 0;
	if (lstat(full, &sb) == 0)
		return S_ISREG(sb.st_mode);
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

static void setup(struct run *st, const struct deliver_sieve_job *job)
{
	const struct config *cfg = job->cfg;
	memset(st, 0, sizeof *st);
	st->job = job;
	deliver_sieve_limits(cfg, &st->lim);
	if (!deliver_sieve_user_path(cfg->mail_folder_dir, job->user, st->folder_dir, sizeof st->folder_dir))
		st->folder_dir[0] = '\0';
	bool state = deliver_sieve_user_path(cfg->sieve_state, job->user, st->state, sizeof st->state);
	st->xo = (struct sieve_exec_opts){
		.limits = &st->lim, .recipient_delimiter = cfg->recipient_delimiter,
		.state_path = state ? st->state : NULL, .state_owner = job->user->uid,
		.mailbox_exists = folder_exists, .mailbox_ctx = st,
	};
}

int deliver_sieve_run(const struct deliver_sieve_set *set, const struct deliver_sieve_job *job, struct result *r)
{
	struct run st;
	setup(&st, job);
	struct sieve_envelope env = {
		.sender = job->sender, .recipient = job->rcpt, .user = job->user->name,
		.orig_recipient = job->orig && job->orig[0] ? job->orig : NULL,
	};
	struct sieve_result *res = sieve_execute(set->v, set->n, job->msg, &env, &st.xo);
	if (!res) {
		log_failure(&st, NULL, "out of memory running the scripts");
		return fallback_keep(&st, r) != EX_OK ? r->ex : (*r = res_ok("%s", st.done), EX_OK);
	}
	if (res->failed)
		log_failure(&st, NULL, "%s", res->error);
	const struct sieve_action *rej = res->failed ? NULL : find_reject(res);
	int rc = rej ? reject(rej, r) : carry_out(&st, res, r);
	if (rc == EX_OK) {
		char why[256];
		if (sieve_commit(res, &st.xo, why, sizeof why) != 0)
			log_msg(LOG_WARNING, "%s: to=<%s>, sieve: cannot record state: %s", job->queue_id, job->rcpt, why);
		*r = res_ok("sieve: %s", st.done_len ? st.done : "no action");
	}
	sieve_result_free(res);
	return r->ex;
}
