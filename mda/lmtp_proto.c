/* The LMTP state machine: parses commands and DATA from a byte stream, queues replies, and
 * drives recipient checks and deliveries through struct lmtp_ops. No I/O of its own. */
#include "mda/lmtp_proto.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "common/log.h"
#include "mda/lmtp_params.h"

enum lmtp_state {
	ST_FRESH,     /* before LHLO */
	ST_READY,     /* after LHLO; a transaction may or may not be open (s->in_txn) */
	ST_DATA,      /* between 354 and the final dot */
	ST_CLOSED,
};

struct lmtp_rcpt {
	char *addr;
	char *orcpt;           /* decoded DSN ORCPT, or NULL */
	void *handle;
};

struct lmtp_session {
	struct lmtp_ops ops;
	void *ctx;
	char hostname[256];
	char session_id[24];
	char peer[128];
	long long size_limit;
	unsigned max_rcpts;
	unsigned max_errors;
	unsigned junk_limit;
	bool reject_bare_lf;
	bool xforward_ok;
	bool received_header;
	char helo[256];        /* the LHLO argument, for the Received line */

	/* XFORWARD (Postfix's XFORWARD_README): the original client, until the transaction ends */
	struct {
		char name[256], addr[64], port[8], proto[16], helo[256], ident[64], source[8];
	} xf;

	enum lmtp_state state;
	unsigned errors;
	unsigned junk;         /* junk commands since the last delivered message */
	bool expired;          /* lmtp_session_time_limit is over */
	unsigned long long lines;
	unsigned long txn_count;

	/* command line being assembled; one byte kept for the NUL */
	char line[LMTP_CMD_LINE_MAX];
	size_t line_len;
	bool line_overlong;

	/* the transaction: MAIL seen, recipients accepted so far */
	bool in_txn;
	bool smtputf8;         /* MAIL ... SMTPUTF8: UTF-8 addresses and headers allowed */
	struct envelope env;
	struct lmtp_rcpt *rcpts;
	size_t n_rcpts;
	size_t cap_rcpts;      /* kept across transactions so a long session does not churn */

	/* DATA progress */
	bool spool_open;
	int dot_state;         /* 0: none, 1: "." at line start, 2: ".\r" at line start */
	size_t data_line_len;  /* octets of the current line so far, as sent */
	bool data_after_crlf;  /* the current line follows a CRLF (or the 354): only then may it end DATA */
	bool data_last_cr;     /* the last octet of the current line so far is a CR */
	long long data_bytes;  /* octets of the message so far, as sent (after a failure too) */
	bool data_failed;
	bool data_too_big;     /* the failure is the size limit (it wins over the others) */
	struct result data_err;

	char out[8192];
	size_t out_len;
	bool client_gone;      /* a send failed: nothing more is written */
};

/* ------------------------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------------------------ */

static void close_session(struct lmtp_session *s);

bool lmtp_session_flush(struct lmtp_session *s)
{
	if (s->client_gone)
		return false;
	if (s->out_len == 0)
		return true;
	bool ok = s->ops.send(s->ctx, s->out, s->out_len);
	s->out_len = 0;
	if (!ok) {
		s->client_gone = true;
		close_session(s);
	}
	return ok;
}

/* Queues one reply line. Lines are capped at the RFC 5321 reply length, so a long address in
 * the text cannot make a reply the client would choke on. */
static void reply(struct lmtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct lmtp_session *s, const char *fmt, ...)
{
	char line[LMTP_CMD_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || s->state == ST_CLOSED)
		return;
	size_t len = (size_t)n < sizeof line - 3 ? (size_t)n : sizeof line - 3;
	/* Replies echo client text (parameters, addresses): a CR, LF or NUL from it must not
	 * end or forge a reply line. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	memcpy(line + len, "\r\n", 2);
	len += 2;
	if (s->out_len + len > sizeof s->out && !lmtp_session_flush(s))
		return;
	memcpy(s->out + s->out_len, line, len);
	s->out_len += len;
}

/* The per-recipient and per-RCPT form: "CODE DSN <addr> reason", the code from the one mapping. */
static void reply_result(struct lmtp_session *s, const char *addr, const struct result *r,
			 const char *fallback)
{
	reply(s, "%d %s <%s> %s", res_reply_code(r), r->dsn, addr, r->reason[0] ? r->reason : fallback);
}

/* ------------------------------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------------------------------ */

static void release_rcpts(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (s->rcpts[i].handle)
			s->ops.rcpt_release(s->ctx, s->rcpts[i].handle);
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	s->n_rcpts = 0;
}

/* Ends the transaction, whatever stage it reached; nothing of it outlives this call. */
static void txn_reset(struct lmtp_session *s)
{
	if (s->spool_open) {
		s->ops.data_close(s->ctx);
		s->spool_open = false;
	}
	release_rcpts(s);
	s->in_txn = false;
	s->smtputf8 = false;
	memset(&s->env, 0, sizeof s->env);
	memset(&s->xf, 0, sizeof s->xf);      /* XFORWARD describes one transaction */
	if (s->state == ST_DATA)
		s->state = ST_READY;
}

static void close_session(struct lmtp_session *s)
{
	txn_reset(s);
	s->state = ST_CLOSED;
	s->out_len = 0;
}

/* One more against lmtp_max_errors: a client this confused (or this idle) is cut off. */
static void count_error(struct lmtp_session *s)
{
	s->errors++;
	if (s->max_errors == 0 || s->errors < s->max_errors)
		return;
	log_msg(LOG_WARNING, "too many errors from %s, closing", s->peer);
	reply(s, "421 4.7.0 %s Error: too many errors", s->hostname);
	lmtp_session_flush(s);
	close_session(s);
}

/* A reply that counts against lmtp_max_errors. */
static void proto_error(struct lmtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void proto_error(struct lmtp_session *s, const char *fmt, ...)
{
	char text[LMTP_CMD_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	reply(s, "%s", text);
	count_error(s);
}

/* ------------------------------------------------------------------------------------------
 * Command arguments
 * ------------------------------------------------------------------------------------------ */

static bool copy_char(char *out, size_t size, size_t *n, char c)
{
	if ((unsigned char)c < 0x20 || c == 0x7f || *n + 1 >= size)
		return false;
	out[(*n)++] = c;
	return true;
}

/* Parses "<path>" (RFC 5321 Path, source route dropped, quoted local part kept as sent) into
 * out; *rest points past the path and any spaces. False on bad syntax or an address too long. */
static bool parse_path(char *p, char *out, size_t size, char **rest)
{
	size_t n = 0;
	bool quoted = false;
	if (*p++ != '<')
		return false;
	if (*p == '@') {
		char *colon = strchr(p, ':');
		if (!colon)
			return false;
		p = colon + 1;
	}
	for (; *p; p++) {
		if (quoted && *p == '\\' && p[1]) {
			if (!copy_char(out, size, &n, *p++))
				return false;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (!quoted && *p == '>') {
			break;
		} else if (!quoted && (*p == '<' || *p == ' ')) {
			return false;
		}
		if (!copy_char(out, size, &n, *p))
			return false;
	}
	if (*p != '>' || (p[1] != '\0' && p[1] != ' '))
		return false;
	out[n] = '\0';
	for (p++; *p == ' '; p++)
		;
	*rest = p;
	return true;
}

/* Splits the next "KEY[=VALUE]" parameter off *p; NULL when there are none left. */
static char *next_param(char **p, char **value)
{
	char *key = *p;
	if (*key == '\0')
		return NULL;
	char *end = strchr(key, ' ');
	if (end) {
		*end++ = '\0';
		while (*end == ' ')
			end++;
		*p = end;
	} else {
		*p = key + strlen(key);
	}
	char *eq = strchr(key, '=');
	*value = NULL;
	if (eq) {
		*eq = '\0';
		*value = eq + 1;
	}
	return key;
}

/* Checks MAIL parameters; replies and returns false on the first bad one. */
static bool mail_params(struct lmtp_session *s, char *p)
{
	char *key, *val;
	while ((key = next_param(&p, &val)) != NULL) {
		if (strcasecmp(key, "SIZE") == 0) {
			char *end;
			if (!val || !*val || strspn(val, "0123456789") != strlen(val)) {
				proto_error(s, "501 5.5.4 Error: bad SIZE parameter");
				return false;
			}
			unsigned long long size = strtoull(val, &end, 10);
			if (s->size_limit > 0 && size > (unsigned long long)s->size_limit) {
				reply(s, "552 5.3.4 Error: message size exceeds fixed limit of %lld bytes",
				      s->size_limit);
				return false;
			}
		} else if (strcasecmp(key, "BODY") == 0) {
			/* 8-bit data is stored as received; mbox files are 8-bit clean. */
			if (!val || (strcasecmp(val, "7BIT") != 0 && strcasecmp(val, "8BITMIME") != 0)) {
				proto_error(s, "501 5.5.4 Error: BODY must be 7BIT or 8BITMIME");
				return false;
			}
		} else if (strcasecmp(key, "SMTPUTF8") == 0 && !val) {
			s->smtputf8 = true;
		} else if (strcasecmp(key, "RET") == 0) {
			/* DSN: the MTA that sends the notifications keeps the request; we accept it. */
			if (!val || (strcasecmp(val, "FULL") != 0 && strcasecmp(val, "HDRS") != 0)) {
				proto_error(s, "501 5.5.4 Error: RET must be FULL or HDRS");
				return false;
			}
		} else if (strcasecmp(key, "ENVID") == 0) {
			char envid[128];
			if (!val || strlen(val) > 100 || !lmtp_xtext_decode(val, envid, sizeof envid)) {
				proto_error(s, "501 5.5.4 Error: bad ENVID parameter");
				return false;
			}
		} else {
			proto_error(s, "555 5.5.4 Error: unsupported parameter %.64s", key);
			return false;
		}
	}
	return true;
}

/* Checks RCPT parameters (RFC 3461 NOTIFY, ORCPT); the decoded ORCPT goes to orcpt ("" when
 * absent). Replies and returns false on the first bad one. */
static bool rcpt_params(struct lmtp_session *s, char *p, char *orcpt, size_t size)
{
	char *key, *val;
	orcpt[0] = '\0';
	while ((key = next_param(&p, &val)) != NULL) {
		if (strcasecmp(key, "NOTIFY") == 0) {
			if (!lmtp_notify_valid(val)) {
				proto_error(s, "501 5.5.4 Error: bad NOTIFY parameter");
				return false;
			}
		} else if (strcasecmp(key, "ORCPT") == 0) {
			if (!val || !lmtp_orcpt_decode(val, orcpt, size)) {
				proto_error(s, "501 5.5.4 Error: bad ORCPT parameter");
				return false;
			}
		} else {
			proto_error(s, "555 5.5.4 Error: unsupported parameter %.64s", key);
			return false;
		}
	}
	return true;
}

/* RFC 6531: an address with bytes beyond ASCII needs MAIL ... SMTPUTF8, and must be UTF-8. */
static bool address_encoding_ok(struct lmtp_session *s, const char *addr)
{
	if (!lmtp_has_8bit(addr))
		return true;
	if (!s->smtputf8)
		reply(s, "553 5.6.7 <%s> Error: non-ASCII address without SMTPUTF8", addr);
	else if (!lmtp_utf8_valid(addr))
		reply(s, "553 5.6.7 Error: address is not valid UTF-8");
	else
		return true;
	return false;
}

/* ------------------------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------------------------ */

static void cmd_lhlo(struct lmtp_session *s, char *args)
{
	if (*args == '\0') {
		proto_error(s, "501 5.5.4 Syntax: LHLO hostname");
		return;
	}
	txn_reset(s);
	s->state = ST_READY;
	snprintf(s->helo, sizeof s->helo, "%s", args);
	res_printable(s->helo);
	reply(s, "250-%s", s->hostname);
	if (s->xforward_ok)
		reply(s, "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE");
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250-SMTPUTF8");
	reply(s, "250-DSN");
	if (s->size_limit > 0)
		reply(s, "250 SIZE %lld", s->size_limit);
	else
		reply(s, "250 SIZE");
}

static void cmd_helo(struct lmtp_session *s, char *args)
{
	(void)args;
	/* RFC 2033 4.1: an LMTP server must not answer HELO/EHLO as if it were SMTP. */
	proto_error(s, "500 5.5.1 Error: this is LMTP, send LHLO");
}

/* The client that log lines and the Received line name: the one XFORWARD gave, else ours. */
static void set_client(struct lmtp_session *s)
{
	if (s->xf.name[0] || s->xf.addr[0])
		snprintf(s->env.client, sizeof s->env.client, "%s[%s]", s->xf.name[0] ? s->xf.name : "unknown",
			 s->xf.addr[0] ? s->xf.addr : "unknown");
	else
		snprintf(s->env.client, sizeof s->env.client, "%s", s->peer);
}

/* XFORWARD's "no such value" markers: the field is cleared. */
static bool xforward_unavailable(const char *value)
{
	return strcmp(value, "[UNAVAILABLE]") == 0 || strcmp(value, "[TEMPUNAVAIL]") == 0;
}

/* Printable ASCII without what would break a log line or the Received line's comments. */
static bool xforward_value_ok(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("()<>[]\\\";,", *p))
			return false;
	return true;
}

/* One XFORWARD attribute into its field; false for an unknown name or a bad value (one that
 * does not decode, does not fit, or holds what would break a log or Received line). */
static bool xforward_attr(struct lmtp_session *s, const char *name, const char *value)
{
	static const struct { const char *name; size_t off, size; } attrs[] = {
#define XF(n, f) { n, offsetof(struct lmtp_session, xf.f), sizeof ((struct lmtp_session *)0)->xf.f }
		XF("NAME", name), XF("ADDR", addr), XF("PORT", port), XF("PROTO", proto),
		XF("HELO", helo), XF("IDENT", ident), XF("SOURCE", source),
#undef XF
	};
	char decoded[LMTP_CMD_LINE_MAX];
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
		if (strcasecmp(name, attrs[i].name) != 0)
			continue;
		char *field = (char *)s + attrs[i].off;
		if (xforward_unavailable(value)) {
			field[0] = '\0';
			return true;
		}
		if (!lmtp_xtext_decode(value, decoded, sizeof decoded) || strlen(decoded) >= attrs[i].size ||
		    !xforward_value_ok(decoded))
			return false;
		snprintf(field, attrs[i].size, "%s", decoded);
		return true;
	}
	return false;
}

static void cmd_xforward(struct lmtp_session *s, char *args)
{
	char *name, *value;
	if (!s->xforward_ok) {
		proto_error(s, "550 5.7.0 Error: insufficient authorization");
		return;
	}
	if (s->in_txn) {
		proto_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (!*args) {
		proto_error(s, "501 5.5.4 Syntax: XFORWARD attribute=value...");
		return;
	}
	while ((name = next_param(&args, &value))) {
		if (!value || !xforward_attr(s, name, value)) {
			proto_error(s, "501 5.5.4 Bad XFORWARD attribute: %s", name);
			return;
		}
	}
	reply(s, "250 2.0.0 Ok");
}

/* RFC 5321 4.4: the trace line of this hop, at the top of the message. With XFORWARD it names
 * the original client and says which client forwarded it. */
static int write_received(struct lmtp_session *s, struct result *r)
{
	char line[2048], date[64], via[200] = "", rcpt[LMTP_CMD_LINE_MAX + 16] = "";
	time_t now = time(NULL);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime(&now));
	bool forwarded = s->xf.name[0] || s->xf.addr[0];
	const char *helo = forwarded && s->xf.helo[0] ? s->xf.helo : s->helo[0] ? s->helo : "unknown";
	if (forwarded)
		snprintf(via, sizeof via, " (forwarded by %s)", s->peer);
	/* "for" only with one recipient: a list would tell each one who else got the message. */
	if (s->n_rcpts == 1)
		snprintf(rcpt, sizeof rcpt, "\r\n\tfor <%s>", s->rcpts[0].addr);
	int n = snprintf(line, sizeof line, "Received: from %s (%s)%s\r\n\tby %s (mda) with LMTP id %s%s;\r\n\t%s\r\n",
			 helo, s->env.client, via, s->hostname, s->env.queue_id, rcpt, date);
	if (n < 0 || (size_t)n >= sizeof line)
		return EX_OK;            /* a trace line is not worth a failed delivery */
	return s->ops.data_write(s->ctx, line, (size_t)n, r);
}

static void new_queue_id(struct lmtp_session *s)
{
	s->txn_count++;
	snprintf(s->env.queue_id, sizeof s->env.queue_id, "%s%lX", s->session_id, s->txn_count);
}

static void cmd_mail(struct lmtp_session *s, char *args)
{
	char *rest;
	if (s->state == ST_FRESH) {
		proto_error(s, "503 5.5.1 Error: send LHLO first");
		return;
	}
	if (s->in_txn) {
		proto_error(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (strncasecmp(args, "FROM:", 5) != 0) {
		proto_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	for (args += 5; *args == ' '; args++)
		;
	if (!parse_path(args, s->env.sender, sizeof s->env.sender, &rest)) {
		proto_error(s, "501 5.1.7 Error: bad sender address syntax");
		return;
	}
	s->smtputf8 = false;
	if (!mail_params(s, rest) || !address_encoding_ok(s, s->env.sender)) {
		s->smtputf8 = false;
		return;
	}
	s->in_txn = true;
	new_queue_id(s);
	set_client(s);
	s->env.arrival = time(NULL);
	clock_gettime(CLOCK_REALTIME, &s->env.started);
	reply(s, "250 2.1.0 <%s> sender OK", s->env.sender);
}

static bool add_rcpt(struct lmtp_session *s, const char *addr, const char *orcpt, void *handle)
{
	if (s->n_rcpts == s->cap_rcpts) {
		size_t cap = s->cap_rcpts ? s->cap_rcpts * 2 : 8;
		struct lmtp_rcpt *v = realloc(s->rcpts, cap * sizeof *v);
		if (!v)
			return false;
		s->rcpts = v;
		s->cap_rcpts = cap;
	}
	char *copy = strdup(addr), *ocopy = orcpt[0] ? strdup(orcpt) : NULL;
	if (!copy || (orcpt[0] && !ocopy)) {
		free(copy);
		free(ocopy);
		return false;
	}
	s->rcpts[s->n_rcpts].addr = copy;
	s->rcpts[s->n_rcpts].orcpt = ocopy;
	s->rcpts[s->n_rcpts].handle = handle;
	s->n_rcpts++;
	return true;
}

static void cmd_rcpt(struct lmtp_session *s, char *args)
{
	char addr[LMTP_CMD_LINE_MAX], orcpt[LMTP_CMD_LINE_MAX], *rest;
	struct result r;
	void *handle = NULL;
	if (!s->in_txn) {
		proto_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (strncasecmp(args, "TO:", 3) != 0) {
		proto_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	for (args += 3; *args == ' '; args++)
		;
	if (!parse_path(args, addr, sizeof addr, &rest) || addr[0] == '\0') {
		proto_error(s, "501 5.1.3 Error: bad recipient address syntax");
		return;
	}
	if (!rcpt_params(s, rest, orcpt, sizeof orcpt) || !address_encoding_ok(s, addr))
		return;
	if (s->max_rcpts > 0 && s->n_rcpts >= s->max_rcpts) {
		res_set(&r, EX_TEMPFAIL, "4.5.3", "Error: too many recipients");
		reply_result(s, addr, &r, "");
		return;
	}
	if (s->ops.rcpt_prepare(s->ctx, addr, &handle, &r) != EX_OK) {
		log_msg(LOG_INFO, "%s: reject: RCPT from %s: %d %s <%s>: %s", s->env.queue_id, s->peer,
			res_reply_code(&r), r.dsn, addr, r.reason);
		reply_result(s, addr, &r, "rejected");
		return;
	}
	if (!add_rcpt(s, addr, orcpt, handle)) {
		s->ops.rcpt_release(s->ctx, handle);
		res_set(&r, EX_TEMPFAIL, "4.3.1", "Error: out of memory");
		reply_result(s, addr, &r, "");
		return;
	}
	reply(s, "250 2.1.5 <%s> OK", addr);
}

static void cmd_data(struct lmtp_session *s, char *args)
{
	struct result r;
	if (!s->in_txn) {
		proto_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->n_rcpts == 0) {
		proto_error(s, "503 5.5.1 Error: no valid recipients");
		return;
	}
	if (*args) {
		proto_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->ops.data_open(s->ctx, &r) != EX_OK || (s->received_header && write_received(s, &r) != EX_OK)) {
		s->ops.data_close(s->ctx);
		log_msg(LOG_WARNING, "%s: cannot spool message: %s", s->env.queue_id, r.reason);
		reply(s, "%d %s %s", res_reply_code(&r), r.dsn, r.reason);
		return;
	}
	s->spool_open = true;
	s->dot_state = 0;
	s->data_line_len = 0;
	s->data_after_crlf = true;     /* the CRLF that ended DATA: ".\r\n" right away is an empty message */
	s->data_last_cr = false;
	s->data_bytes = 0;
	s->data_failed = false;
	s->data_too_big = false;
	s->state = ST_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_rset(struct lmtp_session *s, char *args)
{
	if (*args) {
		proto_error(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	txn_reset(s);
	reply(s, "250 2.0.0 OK");
}

static void cmd_noop(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "250 2.0.0 OK");
}

static void cmd_quit(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "221 2.0.0 %s closing connection", s->hostname);
	lmtp_session_flush(s);
	close_session(s);
}

static void cmd_vrfy(struct lmtp_session *s, char *args)
{
	if (*args == '\0') {
		proto_error(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}

static void cmd_unimplemented(struct lmtp_session *s, char *args)
{
	(void)args;
	proto_error(s, "502 5.5.1 Error: command not implemented");
}

/* "junk": commands that move no mail (Postfix's smtpd_junk_command_limit); past the limit each
 * one also counts as an error, so a client that only keeps its slot warm is cut off. */
static const struct {
	const char *name;
	void (*run)(struct lmtp_session *s, char *args);
	bool junk;
} commands[] = {
	{ "LHLO", cmd_lhlo, false }, { "MAIL", cmd_mail, false }, { "RCPT", cmd_rcpt, false },
	{ "DATA", cmd_data, false }, { "RSET", cmd_rset, true }, { "NOOP", cmd_noop, true },
	{ "QUIT", cmd_quit, false }, { "VRFY", cmd_vrfy, true }, { "HELP", cmd_help, true },
	{ "HELO", cmd_helo, false }, { "EHLO", cmd_helo, false }, { "XFORWARD", cmd_xforward, false },
	{ "EXPN", cmd_unimplemented, false }, { "BDAT", cmd_unimplemented, false },
	{ "ETRN", cmd_unimplemented, false }, { "TURN", cmd_unimplemented, false },
	{ "STARTTLS", cmd_unimplemented, false }, { "AUTH", cmd_unimplemented, false },
};

static void count_junk(struct lmtp_session *s)
{
	if (s->state == ST_CLOSED || s->junk_limit == 0 || ++s->junk <= s->junk_limit)
		return;
	if (s->junk == s->junk_limit + 1)
		log_msg(LOG_INFO, "%u junk commands from %s without a delivery; each one more is an error",
			s->junk_limit, s->peer);
	count_error(s);
}

static void run_command(struct lmtp_session *s, char *line)
{
	char *args = strchr(line, ' ');
	if (args)
		*args++ = '\0';
	else
		args = line + strlen(line);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcasecmp(line, commands[i].name) == 0) {
			commands[i].run(s, args);
			if (commands[i].junk)
				count_junk(s);
			return;
		}
	}
	proto_error(s, "500 5.5.2 Error: command not recognized");
}

/* Past lmtp_session_time_limit, between transactions: the session ends here. QUIT is still
 * answered as QUIT, so a client leaving anyway sees no error. */
static bool session_expired(struct lmtp_session *s, const char *line)
{
	if (!s->expired || s->in_txn || strcasecmp(line, "QUIT") == 0)
		return false;
	log_msg(LOG_INFO, "session time limit exceeded for %s, closing", s->peer);
	reply(s, "421 4.4.2 %s Error: session time limit exceeded", s->hostname);
	lmtp_session_flush(s);
	close_session(s);
	return true;
}

/* Takes bytes up to and including one LF; an overlong line is discarded to its end and
 * answered once, so the client and server stay in step. */
static size_t command_input(struct lmtp_session *s, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) : n;
	if (!s->line_overlong) {
		if (s->line_len + take > sizeof s->line - 1) {
			s->line_overlong = true;
		} else {
			memcpy(s->line + s->line_len, p, take);
			s->line_len += take;
		}
	}
	if (!lf)
		return n;
	s->lines++;
	size_t len = s->line_len;
	bool overlong = s->line_overlong;
	s->line_len = 0;
	s->line_overlong = false;
	if (overlong) {
		proto_error(s, "500 5.5.6 Error: line too long");
		return take + 1;
	}
	bool crlf = len > 0 && s->line[len - 1] == '\r';
	if (crlf)
		len--;
	s->line[len] = '\0';
	if (session_expired(s, s->line))
		return take + 1;
	if (!crlf && s->reject_bare_lf)
		proto_error(s, "500 5.5.2 Error: bare <LF> received");
	else if (len == 0 || memchr(s->line, '\0', len))
		proto_error(s, "500 5.5.2 Error: command not recognized");
	else
		run_command(s, s->line);
	return take + 1;
}

/* ------------------------------------------------------------------------------------------
 * DATA
 * ------------------------------------------------------------------------------------------ */

/* Records the first reason the message cannot be delivered; the rest of it is still read.
 * An oversized message is reported as such whatever failed first: which of "too big" and
 * "line too long" is noticed first depends on how the client's bytes were cut into reads,
 * and the reply must not. */
static void data_fail(struct lmtp_session *s, const struct result *r, bool too_big)
{
	if (s->data_failed && !(too_big && !s->data_too_big))
		return;
	s->data_failed = true;
	s->data_too_big = too_big;
	s->data_err = *r;
	log_msg(LOG_INFO, "%s: reject: DATA from %s: %s %s", s->env.queue_id, s->peer, r->dsn, r->reason);
}

static void data_emit(struct lmtp_session *s, const char *p, size_t n)
{
	struct result r;
	if (n == 0 || s->data_too_big)
		return;
	if (s->size_limit > 0 && s->data_bytes + (long long)n > s->size_limit) {
		res_set(&r, EX_DATAERR, "5.3.4", "Error: message size exceeds fixed limit of %lld bytes",
			s->size_limit);
		data_fail(s, &r, true);
		return;
	}
	s->data_bytes += (long long)n;     /* counted after other failures too, for the above */
	if (!s->data_failed && s->ops.data_write(s->ctx, p, n, &r) != EX_OK)
		data_fail(s, &r, false);
}

static void data_line_check(struct lmtp_session *s, size_t limit)
{
	struct result r;
	if (s->data_line_len <= limit)
		return;
	res_set(&r, EX_DATAERR, "5.5.6", "Error: message has a line longer than %d octets",
		LMTP_DATA_LINE_MAX);
	data_fail(s, &r, false);
}

/* After the final dot: one reply per accepted recipient, in RCPT order, each sent as soon as
 * that delivery is over so the client never waits on a finished recipient. */
static void data_done(struct lmtp_session *s)
{
	struct result r;
	s->state = ST_READY;
	if (!s->data_failed && s->ops.data_finish(s->ctx, &r) != EX_OK)
		data_fail(s, &r, false);
	for (size_t i = 0; i < s->n_rcpts && s->state != ST_CLOSED; i++) {
		struct lmtp_rcpt *rc = &s->rcpts[i];
		if (s->data_failed)
			r = s->data_err;
		else
			s->ops.deliver(s->ctx, &s->env, rc->addr, rc->orcpt, rc->handle, &r);
		reply_result(s, rc->addr, &r, res_is_ok(&r) ? "delivered" : "failed");
		/* A client that delivers is doing its job: an MTA's RSET between the messages of a
		 * reused connection never adds up to the junk limit. */
		if (res_is_ok(&r))
			s->junk = 0;
		/* A client that is gone cannot be told, and would retry: stop delivering. */
		lmtp_session_flush(s);
	}
	if (s->state != ST_CLOSED)
		txn_reset(s);
}

/* A text line is over (its LF seen, cr: a CR came right before it). A bare LF ends a line of
 * content like a CRLF, but the line after it can never end DATA (RFC 5321 4.1.1.4): a sender
 * cannot smuggle a second transaction past an MTA that reads "<LF>.<LF>" as content. */
static void data_line_end(struct lmtp_session *s, bool cr)
{
	struct result r;
	data_line_check(s, LMTP_DATA_LINE_MAX);
	if (!cr && s->reject_bare_lf) {
		res_set(&r, EX_DATAERR, "5.5.2", "Error: bare <LF> received");
		data_fail(s, &r, false);
	}
	s->data_after_crlf = cr;
	s->data_line_len = 0;
	s->data_last_cr = false;
	s->lines++;
}

/* Streams message bytes to the spool in runs as long as the input allows, cutting only around
 * a leading dot. Returns the bytes consumed: all of p, or up to the end of the final-dot line.
 * Every leading dot is dropped (dot-unstuffing); a lone "." line ends DATA only as
 * <CR><LF>.<CR><LF>, and is otherwise kept as the empty line it unstuffs to. */
static size_t data_input(struct lmtp_session *s, const char *p, size_t n)
{
	size_t i = 0, span = 0;
	while (i < n) {
		if (s->dot_state == 0 && s->data_line_len == 0 && p[i] == '.') {
			data_emit(s, p + span, i - span);
			s->dot_state = 1;
			s->data_line_len = 1;
			span = ++i;
			continue;
		}
		if (s->dot_state == 1) {
			s->dot_state = 0;          /* the dot is dropped, whatever follows */
			if (p[i] == '\r') {
				s->dot_state = 2;  /* the CR is held back until we know */
				s->data_line_len++;
				span = ++i;
				continue;
			}
		} else if (s->dot_state == 2) {
			s->dot_state = 0;
			if (p[i] == '\n' && s->data_after_crlf) {
				s->lines++;
				data_done(s);
				return i + 1;
			}
			data_emit(s, "\r", 1);     /* ".\rX", or ".\r\n" after a bare LF: the CR is content */
			s->data_last_cr = true;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - p) + 1 : n;
		s->data_line_len += end - i;
		if (lf) {
			data_line_end(s, lf > p + i ? lf[-1] == '\r' : s->data_last_cr);
		} else {
			s->data_last_cr = p[n - 1] == '\r';
			data_line_check(s, LMTP_DATA_LINE_MAX - 1);
		}
		i = end;
	}
	data_emit(s, p + span, n - span);
	return n;
}

/* ------------------------------------------------------------------------------------------
 * Session
 * ------------------------------------------------------------------------------------------ */

struct lmtp_session *lmtp_session_new(const struct lmtp_settings *set, const struct lmtp_ops *ops,
				      void *ctx)
{
	struct lmtp_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ops = *ops;
	s->ctx = ctx;
	snprintf(s->hostname, sizeof s->hostname, "%s", set->hostname ? set->hostname : "localhost");
	snprintf(s->session_id, sizeof s->session_id, "%s", set->session_id ? set->session_id : "");
	snprintf(s->peer, sizeof s->peer, "%s", set->peer ? set->peer : "unknown");
	s->size_limit = set->size_limit;
	s->max_rcpts = set->max_recipients;
	s->max_errors = set->max_errors;
	s->junk_limit = set->junk_limit;
	s->reject_bare_lf = set->reject_bare_lf;
	s->xforward_ok = set->xforward;
	s->received_header = set->received_header;
	s->state = ST_FRESH;
	return s;
}

void lmtp_session_free(struct lmtp_session *s)
{
	if (!s)
		return;
	txn_reset(s);
	free(s->rcpts);
	free(s);
}

void lmtp_session_start(struct lmtp_session *s)
{
	reply(s, "220 %s LMTP ready", s->hostname);
	lmtp_session_flush(s);
}

void lmtp_session_input(struct lmtp_session *s, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && s->state != ST_CLOSED) {
		if (s->state == ST_DATA)
			i += data_input(s, buf + i, len - i);
		else
			i += command_input(s, buf + i, len - i);
	}
}

void lmtp_session_eof(struct lmtp_session *s)
{
	if (s->state == ST_CLOSED)
		return;
	if (s->state == ST_DATA)
		log_msg(LOG_INFO, "%s: lost connection after DATA from %s", s->env.queue_id, s->peer);
	close_session(s);
}

void lmtp_session_timeout(struct lmtp_session *s)
{
	if (s->state == ST_CLOSED)
		return;
	log_msg(LOG_INFO, "timeout after %s from %s", s->state == ST_DATA ? "DATA" : "command", s->peer);
	reply(s, "421 4.4.2 %s Error: timeout exceeded", s->hostname);
	lmtp_session_flush(s);
	close_session(s);
}

bool lmtp_session_shutdown(struct lmtp_session *s)
{
	if (s->state == ST_CLOSED)
		return true;
	if (s->in_txn || s->state == ST_DATA || s->line_len > 0 || s->line_overlong)
		return false;
	reply(s, "421 4.3.2 %s Service shutting down, closing connection", s->hostname);
	lmtp_session_flush(s);
	close_session(s);
	return true;
}

void lmtp_session_expire(struct lmtp_session *s)
{
	s->expired = true;
}

bool lmtp_session_closed(const struct lmtp_session *s)
{
	return s->state == ST_CLOSED;
}

unsigned long long lmtp_session_lines(const struct lmtp_session *s)
{
	return s->lines;
}
