/* vacation and vacation-seconds (RFC 5230, RFC 6131): the period, the handle, the rules
 * that say not to answer (section 4.5-4.6), the per-user memory, and the reply message.
 * Sending it is the caller's job (a null envelope sender, RFC 5230 5.1). */
#include "sieve/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static bool addr_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* The bare address of s (which may be "Name <a@b>"); s itself when it does not parse. */
static struct sv_val bare(struct sv_exec *x, const char *s, size_t len)
{
	struct sv_addr ad[1];
	struct sv_val v = { s, len };
	if (sv_addr_parse(x->scratch, s, len, ad, 1) == 1) {
		v.s = ad[0].all;
		v.len = ad[0].all_len;
	}
	return v;
}

/* The user's addresses: recipient, original recipient, configured ones, :addresses. */
static size_t user_addresses(struct sv_exec *x, const struct sv_cmd *c, struct sv_val *out, size_t max)
{
	size_t n = 0;
	const struct sieve_envelope *e = x->env;
	if (e->recipient && *e->recipient && n < max)
		out[n++] = bare(x, e->recipient, strlen(e->recipient));
	if (e->orig_recipient && *e->orig_recipient && n < max)
		out[n++] = bare(x, e->orig_recipient, strlen(e->orig_recipient));
	for (size_t i = 0; i < e->n_addresses && n < max; i++)
		out[n++] = bare(x, e->addresses[i], strlen(e->addresses[i]));
	for (uint32_t i = 0; c->tlist && i < c->tlist->n && n < max; i++) {
		struct sv_val v;
		if (!sv_expand(x, &c->tlist->v[i], &v))
			return n;
		out[n++] = bare(x, v.s, v.len);
	}
	return n;
}

/* RFC 5230 4.5: the message must name one of the user's addresses in these fields; the
 * address found becomes the From of the reply. */
static const char *addressed_to_user(struct sv_exec *x, const struct sv_val *mine, size_t nmine)
{
	static const char *const fields[] = { "to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc" };
	struct sv_addr addrs[64];
	for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
		size_t n;
		const struct sv_hdrval *v = sv_msg_header(x, fields[f], strlen(fields[f]), &n);
		for (size_t i = 0; v && i < n; i++) {
			int na = sv_addr_parse(x->scratch, v[i].raw, v[i].raw_len, addrs, 64);
			for (int k = 0; k < na; k++)
				for (size_t m = 0; m < nmine; m++)
					if (addr_eq(addrs[k].all, addrs[k].all_len, mine[m].s, mine[m].len))
						return sv_strndup(sv_msg_arena(x->msg), mine[m].s, mine[m].len);
		}
	}
	return NULL;
}

static bool has_header(struct sv_exec *x, const char *name)
{
	size_t n;
	sv_msg_header(x, name, strlen(name), &n);
	return n > 0;
}

static const struct sv_hdrval *first_header(struct sv_exec *x, const char *name)
{
	size_t n;
	const struct sv_hdrval *v = sv_msg_header(x, name, strlen(name), &n);
	return n ? v : NULL;
}

/* Why not to answer this message (RFC 5230 4.5, 4.6 and RFC 3834 2), NULL to answer. */
static const char *why_not(struct sv_exec *x, const char *sender, const struct sv_val *mine, size_t nmine,
			   const char **found)
{
	size_t slen = strlen(sender);
	if (slen == 0)
		return "null envelope sender";
	const char *at = memrchr(sender, '@', slen);
	size_t llen = at ? (size_t)(at - sender) : slen;
	if (addr_eq(sender, llen, "mailer-daemon", 13) || addr_eq(sender, llen, "listserv", 8) ||
	    addr_eq(sender, llen, "majordomo", 9) || (llen >= 6 && strncasecmp(sender, "owner-", 6) == 0) ||
	    (llen >= 8 && strncasecmp(sender + llen - 8, "-request", 8) == 0))
		return "the sender is a mailing list or a mailer";
	for (size_t m = 0; m < nmine; m++)
		if (addr_eq(sender, slen, mine[m].s, mine[m].len))
			return "the sender is the user";
	const struct sv_hdrval *h = first_header(x, "auto-submitted");
	if (h && !(h->len == 2 && strncasecmp(h->s, "no", 2) == 0))
		return "Auto-Submitted message";
	static const char *const lists[] = { "list-id", "list-help", "list-subscribe", "list-unsubscribe",
					     "list-post", "list-owner", "list-archive" };
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		if (has_header(x, lists[i]))
			return "mailing list message";
	h = first_header(x, "precedence");
	if (h && (addr_eq(h->s, h->len, "bulk", 4) || addr_eq(h->s, h->len, "list", 4) || addr_eq(h->s, h->len, "junk", 4)))
		return "bulk, list or junk precedence";
	h = first_header(x, "x-auto-response-suppress");
	if (h && (memmem(h->s, h->len, "OOF", 3) || memmem(h->s, h->len, "All", 3)))
		return "X-Auto-Response-Suppress";
	*found = addressed_to_user(x, mine, nmine);
	if (!*found)
		return "not addressed to the user";
	return NULL;
}

static char *arena_val(struct sv_exec *x, const struct sv_val *v)
{
	char *s = sv_strndup(sv_msg_arena(x->msg), v->s, v->len);
	/* a header value built from message text must not start a new header line */
	for (char *p = s; p && *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return s;
}

static uint64_t clamp_period(const struct sieve_limits *lim, uint64_t p)
{
	if (p < lim->vacation_min_period)
		p = lim->vacation_min_period;
	if (lim->vacation_max_period && p > lim->vacation_max_period)
		p = lim->vacation_max_period;
	return p;
}

int sv_exec_vacation(struct sv_exec *x, const struct sv_cmd *c)
{
	struct sv_arena *a = sv_msg_arena(x->msg);
	struct sieve_vacation *v = sv_alloc(a, sizeof *v);
	struct sv_val reason, subject = { NULL, 0 }, from = { NULL, 0 }, handle = { NULL, 0 };
	if (!v)
		return sv_fail(x, c->line, "out of memory");
	if (!sv_expand(x, c->str[S_REASON], &reason) || (c->str[S_SUBJECT] && !sv_expand(x, c->str[S_SUBJECT], &subject)) ||
	    (c->str[S_FROM] && !sv_expand(x, c->str[S_FROM], &from)) ||
	    (c->str[S_HANDLE] && !sv_expand(x, c->str[S_HANDLE], &handle)))
		return -1;
	v->reason = sv_strndup(a, reason.s, reason.len);
	v->mime = (c->bits & B_MIME) != 0;
	uint64_t period = x->lim->vacation_default_period;
	if (c->bits & B_HASNUM)
		period = (c->bits & B_SECONDS) ? c->num : (c->num > UINT64_MAX / 86400 ? UINT64_MAX : c->num * 86400);
	v->period = clamp_period(x->lim, period);
	if (handle.s) {
		v->handle = arena_val(x, &handle);
	} else {
		/* the same reply text is the same vacation (RFC 5230 4.2) */
		struct sv_buf b = { 0 };
		sv_buf_add(&b, reason.s, reason.len);
		if (subject.s)
			sv_buf_add(&b, subject.s, subject.len);
		else
			sv_buf_str(&b, "<default-subject>");
		if (from.s)
			sv_buf_add(&b, from.s, from.len);
		else
			sv_buf_str(&b, "<default-from>");
		sv_buf_str(&b, v->mime ? "<MIME>" : "<NO-MIME>");
		struct sv_val hv = { b.p ? b.p : "", b.oom ? 0 : b.len };
		v->handle = arena_val(x, &hv);
		sv_buf_free(&b);
	}
	const char *sender = x->env->sender ? x->env->sender : "";
	v->to = sv_strdup(a, sender);
	struct sv_val mine[40];
	size_t nmine = user_addresses(x, c, mine, 40);
	const char *found = NULL;
	v->why = why_not(x, sender, mine, nmine, &found);
	if (x->failed)
		return -1;
	if (!v->why) {
		size_t klen;
		char *key = sv_vacation_key(x->scratch, v->handle, v->to, &klen);
		int r = key ? sv_state_lookup(x->opts, key, klen, x->now) : 0;
		if (r == 1)
			v->why = "already answered";
	}
	v->send = v->why == NULL;
	struct sv_val f = from;
	if (!f.s) {
		const char *fallback = found ? found : x->env->recipient ? x->env->recipient : "";
		f.s = fallback;
		f.len = strlen(fallback);
	}
	v->from = arena_val(x, &f);
	if (subject.s) {
		v->subject = arena_val(x, &subject);
	} else {
		const struct sv_hdrval *h = first_header(x, "subject");
		struct sv_buf b = { 0 };
		if (h && h->len) {
			sv_buf_str(&b, "Auto: ");
			sv_buf_add(&b, h->s, h->len);
		} else {
			sv_buf_str(&b, "Automated reply");
		}
		struct sv_val sv = { b.p ? b.p : "", b.oom ? 0 : b.len };
		v->subject = arena_val(x, &sv);
		sv_buf_free(&b);
	}
	const struct sv_hdrval *mid = first_header(x, "message-id"), *refs = first_header(x, "references");
	if (mid) {
		struct sv_val m = { mid->raw, mid->raw_len };
		v->in_reply_to = arena_val(x, &m);
		struct sv_buf b = { 0 };
		if (refs) {
			sv_buf_add(&b, refs->raw, refs->raw_len);
			sv_buf_str(&b, " ");
		}
		sv_buf_add(&b, mid->raw, mid->raw_len);
		struct sv_val rv = { b.p ? b.p : "", b.oom ? 0 : b.len };
		v->references = arena_val(x, &rv);
		sv_buf_free(&b);
	}
	if (!v->reason || !v->to || !v->from || !v->subject || !v->handle)
		return sv_fail(x, c->line, "out of memory");
	return sv_act_vacation(x, c, v);
}

/* ------------------------------------------------------------------ the reply */

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 128)
			return false;
	return true;
}

/* Subject as RFC 2047 B words when it is not ASCII (each word under 75 bytes). */
static void add_subject(struct sv_buf *b, const char *s)
{
	sv_buf_str(b, "Subject: ");
	if (is_ascii(s)) {
		sv_buf_str(b, s);
		sv_buf_str(b, "\n");
		return;
	}
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), i = 0;
	while (i < len) {
		size_t n = len - i > 36 ? 36 : len - i;
		while (n > 1 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;   /* never split a UTF-8 character between words */
		sv_buf_str(b, i ? "\n =?UTF-8?B?" : "=?UTF-8?B?");
		for (size_t k = 0; k < n; k += 3) {
			unsigned v = (unsigned char)s[i + k] << 16;
			if (k + 1 < n)
				v |= (unsigned char)s[i + k + 1] << 8;
			if (k + 2 < n)
				v |= (unsigned char)s[i + k + 2];
			char q[4] = { tab[(v >> 18) & 63], tab[(v >> 12) & 63], k + 1 < n ? tab[(v >> 6) & 63] : '=',
				      k + 2 < n ? tab[v & 63] : '=' };
			sv_buf_add(b, q, 4);
		}
		sv_buf_str(b, "?=");
		i += n;
	}
	sv_buf_str(b, "\n");
}

char *sieve_vacation_message(const struct sieve_action *a, const char *hostname, time_t now, size_t *len)
{
	const struct sieve_vacation *v = a->vacation;
	struct sv_buf b = { 0 };
	char date[64];
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	sv_buf_fmt(&b, "Date: %s\n", date);
	sv_buf_str(&b, "From: ");
	sv_buf_str(&b, v->from);
	sv_buf_str(&b, "\nTo: <");
	sv_buf_str(&b, v->to);
	sv_buf_str(&b, ">\n");
	add_subject(&b, v->subject);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sv_buf_fmt(&b, "Message-ID: <mda-vacation.%lld.%ld.%d@%s>\n", (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(),
		   hostname && *hostname ? hostname : "localhost");
	if (v->in_reply_to)
		sv_buf_fmt(&b, "In-Reply-To: %s\n", v->in_reply_to);
	if (v->references) {
		sv_buf_str(&b, "References: ");
		sv_buf_str(&b, v->references);
		sv_buf_str(&b, "\n");
	}
	sv_buf_str(&b, "Auto-Submitted: auto-replied (vacation)\nPrecedence: bulk\nMIME-Version: 1.0\n");
	if (!v->mime)
		sv_buf_str(&b, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n");
	/* with :mime the reason is a MIME entity: its own header, a blank line, its body */
	sv_buf_str(&b, v->reason);
	if (b.len && b.p[b.len - 1] != '\n')
		sv_buf_str(&b, "\n");
	if (b.oom) {
		sv_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
