/* Composing outgoing mail: RFC 2047/QP/base64 encoders, the RFC 5322 + MIME message, sendmail. */
#include "mailcmd/mail.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sysexits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mbox/header.h"

/* A growing output buffer; allocation failure aborts (mail cannot do anything useful). */
struct mail_buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct mail_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			abort();
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct mail_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_fmt(struct mail_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_fmt(struct mail_buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_add(b, tmp, n < 0 ? 0 : (size_t)n >= sizeof tmp ? sizeof tmp - 1 : (size_t)n);
}

void mail_draft_free(struct mail_draft *d)
{
	free(d->to);
	free(d->cc);
	free(d->bcc);
	free(d->subject);
	free(d->from);
	free(d->in_reply_to);
	free(d->references);
	free(d->record);
	free(d->body);
	for (size_t i = 0; i < d->n_attach; i++)
		free(d->attach[i]);
	free(d->attach);
	memset(d, 0, sizeof *d);
}

void mail_draft_append(struct mail_draft *d, const char *text, size_t len)
{
	char *q = realloc(d->body, d->body_len + len + 1);
	if (!q)
		abort();
	memcpy(q + d->body_len, text, len);
	d->body = q;
	d->body_len += len;
	d->body[d->body_len] = '\0';
}

void mail_addr_append(char **field, const char *more)
{
	while (isspace((unsigned char)*more))
		more++;
	if (!*more)
		return;
	size_t len = (*field ? strlen(*field) : 0) + strlen(more) + 3;
	char *v = malloc(len);
	if (!v)
		abort();
	snprintf(v, len, "%s%s%s", *field ? *field : "", *field && **field ? ", " : "", more);
	free(*field);
	*field = v;
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *mail_base64_encode(const unsigned char *data, size_t len, size_t *out_len)
{
	struct mail_buf b = { 0 };
	size_t col = 0;
	buf_add(&b, "", 0);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		char q[4] = { b64[v >> 18], b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
			      i + 2 < len ? b64[v & 63] : '=' };
		buf_add(&b, q, 4);
		col += 4;
		if (col >= 76) {
			buf_add(&b, "\n", 1);
			col = 0;
		}
	}
	if (col)
		buf_add(&b, "\n", 1);
	if (out_len)
		*out_len = b.len;
	return b.p;
}

char *mail_base64_decode(const char *in, size_t len, size_t *out_len)
{
	struct mail_buf b = { 0 };
	uint32_t acc = 0;
	int bits = 0;
	buf_add(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		const char *p = in[i] ? strchr(b64, in[i]) : NULL;
		if (!p)
			continue;     /* line breaks, '=' padding, garbage: skipped as decoders do */
		acc = (acc << 6) | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char c = (char)((acc >> bits) & 0xFF);
			buf_add(&b, &c, 1);
		}
	}
	*out_len = b.len;
	return b.p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)toupper((unsigned char)c);
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *mail_qp_decode(const char *in, size_t len, size_t *out_len)
{
	struct mail_buf b = { 0 };
	buf_add(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			buf_add(&b, &in[i], 1);
			continue;
		}
		if (i + 1 < len && in[i + 1] == '\n') {       /* soft line break */
			i++;
			continue;
		}
		if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
			i += 2;
			continue;
		}
		int h = i + 2 < len ? hexval(in[i + 1]) : -1, l = h >= 0 ? hexval(in[i + 2]) : -1;
		if (h < 0 || l < 0) {
			buf_add(&b, "=", 1);
			continue;
		}
		char c = (char)(h * 16 + l);
		buf_add(&b, &c, 1);
		i += 2;
	}
	*out_len = b.len;
	return b.p;
}

char *mail_qp_encode(const char *text, size_t len, size_t *out_len)
{
	struct mail_buf b = { 0 };
	size_t col = 0;
	buf_add(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		char tmp[4];
		size_t n;
		if (c == '\n') {
			buf_add(&b, "\n", 1);
			col = 0;
			continue;
		}
		/* trailing blanks, '=', 8-bit, controls and a line-leading "From " dot are encoded */
		bool blank_at_eol = (c == ' ' || c == '\t') && (i + 1 == len || text[i + 1] == '\n');
		bool from_line = col == 0 && c == 'F' && !strncmp(text + i, "From ", 5);
		if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') || blank_at_eol || from_line ||
		    (col == 0 && c == '.'))
			n = (size_t)snprintf(tmp, sizeof tmp, "=%02X", c);
		else
			tmp[0] = (char)c, n = 1;
		if (col + n > 75) {
			buf_add(&b, "=\n", 2);
			col = 0;
		}
		buf_add(&b, tmp, n);
		col += n;
	}
	*out_len = b.len;
	return b.p;
}

/* Length of a complete UTF-8 sequence starting at s (1 for anything odd). */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0xC0)
		return 1;
	size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

char *mail_rfc2047_encode(const char *text, size_t start)
{
	struct mail_buf b = { 0 };
	buf_add(&b, "", 0);
	if (is_ascii(text, strlen(text))) {
		buf_str(&b, text);
		return b.p;
	}
	/* Q-encoded words of at most 75 characters, never splitting a UTF-8 character;
	 * each further word goes on a folded continuation line. */
	const unsigned char *s = (const unsigned char *)text;
	size_t col = start, wordlen = 0;
	bool open = false;
	while (*s) {
		size_t n = utf8_len(s);
		char enc[16] = "";
		size_t elen = 0;
		for (size_t k = 0; k < n; k++) {
			unsigned char c = s[k];
			if (c == ' ')
				enc[elen++] = '_';
			else if (c >= 0x80 || c < 0x20 || strchr("=?_\"()<>,;:.", c))
				elen += (size_t)snprintf(enc + elen, sizeof enc - elen, "=%02X", c);
			else
				enc[elen++] = (char)c;
		}
		if (open && (wordlen + elen + 2 > 75 || col + elen + 2 > 76)) {
			buf_str(&b, "?=\n ");
			open = false;
			col = 1;
		}
		if (!open) {
			buf_str(&b, "=?UTF-8?Q?");
			col += 10;
			wordlen = 10;
			open = true;
		}
		buf_add(&b, enc, elen);
		col += elen;
		wordlen += elen;
		s += n;
	}
	buf_str(&b, "?=");
	return b.p;
}

char *mail_rfc2047_decode(const char *text)
{
	return hdr_decode_2047(text, strlen(text));
}

/* Picks the body's transfer encoding: 7bit for ASCII, 8bit for text with short lines,
 * quoted-printable when lines are over 998 bytes or hold CR/NUL. */
static const char *pick_encoding(const char *body, size_t len)
{
	size_t line = 0;
	bool eight = false, qp = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];
		if (c == '\n') {
			line = 0;
			continue;
		}
		if (++line > 998 || c == '\r' || c == 0)
			qp = true;
		if (c >= 0x80)
			eight = true;
	}
	return qp ? "quoted-printable" : eight ? "8bit" : "7bit";
}

static void add_text_headers(struct mail_buf *b, const char *body, size_t len)
{
	const char *enc = pick_encoding(body, len);
	buf_fmt(b, "Content-Type: text/plain; charset=%s\n", is_ascii(body, len) ? "us-ascii" : "utf-8");
	buf_fmt(b, "Content-Transfer-Encoding: %s\n", enc);
}

static void add_text_body(struct mail_buf *b, const char *body, size_t len)
{
	if (!strcmp(pick_encoding(body, len), "quoted-printable")) {
		size_t n;
		char *q = mail_qp_encode(body, len, &n);
		buf_add(b, q, n);
		free(q);
	} else {
		buf_add(b, body, len);
	}
	if (len && body[len - 1] != '\n')
		buf_add(b, "\n", 1);
}

static const char *guess_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	static const char *const map[][2] = {
		{ "txt", "text/plain" }, { "html", "text/html" }, { "pdf", "application/pdf" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
		{ "gif", "image/gif" }, { "zip", "application/zip" }, { "gz", "application/gzip" },
	};
	for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
		if (!strcasecmp(dot + 1, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct mail_buf b = { 0 };
	char tmp[65536];
	ssize_t n;
	if (fd < 0)
		return NULL;
	buf_add(&b, "", 0);
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (n < 0) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

static int add_attachment(struct mail_buf *b, const char *boundary, const char *path, char *err,
			  size_t errlen)
{
	size_t len, elen;
	char *data = slurp(path, &len);
	if (!data) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *name = mail_rfc2047_encode(base, 40);
	buf_fmt(b, "\n--%s\nContent-Type: %s\nContent-Transfer-Encoding: base64\n", boundary,
		guess_type(base));
	buf_fmt(b, "Content-Disposition: attachment;\n filename=\"%s\"\n\n", name);
	char *enc = mail_base64_encode((const unsigned char *)data, len, &elen);
	buf_add(b, enc, elen);
	free(enc);
	free(name);
	free(data);
	return 0;
}

static void add_address_header(struct mail_buf *b, const char *name, const char *value)
{
	if (value && *value)
		buf_fmt(b, "%s: %s\n", name, value);
}

void mail_date_value(char *out, size_t size, time_t now)
{
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

void mail_message_id(char *out, size_t size, time_t now, unsigned long salt, const char *hostname)
{
	struct tm gm;
	char stamp[32];
	gmtime_r(&now, &gm);
	strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &gm);
	snprintf(out, size, "<%s.%ld.%lx@%s>", stamp, (long)getpid(), (salt ^ (unsigned long)now) & 0xffffff, hostname);
}

char *mail_build_message(const struct mail_draft *d, const char *user, const char *hostname,
			 time_t now, size_t *len_out, char *err, size_t errlen)
{
	struct mail_buf b = { 0 };
	char date[64], boundary[64], id[512];
	const char *body = d->body ? d->body : "";
	mail_date_value(date, sizeof date, now);
	buf_fmt(&b, "Date: %s\n", date);
	if (d->from && *d->from)
		buf_fmt(&b, "From: %s\n", d->from);
	else
		buf_fmt(&b, "From: %s@%s\n", user, hostname);
	char *to = mail_alias_expand(d->to), *cc = mail_alias_expand(d->cc);
	add_address_header(&b, "To", to);
	add_address_header(&b, "Cc", cc);
	free(to);
	free(cc);
	if (d->subject && *d->subject) {
		char *s = mail_rfc2047_encode(d->subject, 9);
		buf_fmt(&b, "Subject: %s\n", s);
		free(s);
	}
	mail_message_id(id, sizeof id, now, (unsigned long)(uintptr_t)d, hostname);
	buf_fmt(&b, "Message-ID: %s\n", id);
	add_address_header(&b, "In-Reply-To", d->in_reply_to);
	add_address_header(&b, "References", d->references);
	buf_str(&b, "MIME-Version: 1.0\n");
	if (!d->n_attach) {
		add_text_headers(&b, body, d->body_len);
		buf_str(&b, "\n");
		add_text_body(&b, body, d->body_len);
		*len_out = b.len;
		return b.p;
	}
	snprintf(boundary, sizeof boundary, "=_mail_%ld_%ld_=", (long)now, (long)getpid());
	buf_fmt(&b, "Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n", boundary);
	buf_str(&b, "This is a multi-part message in MIME format.\n");
	buf_fmt(&b, "\n--%s\n", boundary);
	add_text_headers(&b, body, d->body_len);
	buf_str(&b, "Content-Disposition: inline\n\n");
	add_text_body(&b, body, d->body_len);
	for (size_t i = 0; i < d->n_attach; i++)
		if (add_attachment(&b, boundary, d->attach[i], err, errlen) < 0) {
			free(b.p);
			return NULL;
		}
	buf_fmt(&b, "\n--%s--\n", boundary);
	*len_out = b.len;
	return b.p;
}

/* Adds the bare addresses of a recipient list (aliases expanded) to argv. */
static void add_recipients(char ***argv, size_t *argc, const char *list)
{
	char *exp = mail_alias_expand(list), *save = NULL;
	for (char *t = strtok_r(exp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char addr[512];
		mail_skin(t, addr, sizeof addr);
		if (!addr[0])
			continue;
		char **q = realloc(*argv, (*argc + 2) * sizeof **argv);
		if (!q || !(q[*argc] = strdup(addr)))
			abort();
		*argv = q;
		(*argv)[++*argc] = NULL;
	}
	free(exp);
}

/* -r FROM reaches the MTA as the envelope sender: `-F "Full Name"` when FROM has one, then
 * `-f address` (what s-nail passes; Postfix's and Exim's sendmail take both). argv has room
 * for four more entries. */
static void add_sender_options(char **argv, size_t *argc, const char *from)
{
	char addr[512];
	if (!from || !*from || !hdr_skin_address(from, strlen(from), addr, sizeof addr))
		return;
	char *name = hdr_display_name(from, strlen(from));
	if (name && *name) {
		argv[(*argc)++] = (char *)"-F";
		argv[(*argc)++] = name;
	} else {
		free(name);
	}
	argv[(*argc)++] = (char *)"-f";
	argv[(*argc)++] = strdup(addr);
	if (!argv[*argc - 1])
		abort();
}

/* Frees the sendmail argv: the strings from opts on are malloc'd except the literal flags. */
static void free_args(char **argv, size_t opts, size_t argc)
{
	for (size_t i = opts; i < argc; i++)
		if (strcmp(argv[i], "-f") && strcmp(argv[i], "-F") && strcmp(argv[i], "--"))
			free(argv[i]);
	free(argv);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mail_send_message(const struct config *cfg, const struct mail_draft *d, const char *msg,
		      size_t len, char *err, size_t errlen)
{
	const char *prog = mail_var_get("sendmail");
	char **argv = calloc(8, sizeof *argv);
	size_t argc = 0, first_rcpt;
	int pfd[2], status = 0;
	if (!argv)
		abort();
	if (!prog || !*prog)
		prog = cfg->sendmail_path;
	argv[argc++] = (char *)prog;
	argv[argc++] = (char *)"-oi";
	size_t opts = argc;
	add_sender_options(argv, &argc, d->from);
	argv[argc++] = (char *)"--";
	first_rcpt = argc;
	add_recipients(&argv, &argc, d->to);
	add_recipients(&argv, &argc, d->cc);
	add_recipients(&argv, &argc, d->bcc);
	if (argc == first_rcpt) {
		snprintf(err, errlen, "No recipients specified");
		free_args(argv, opts, argc);
		return -1;
	}
	if (pipe(pfd) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free_args(argv, opts, argc);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[0], 0);
		close(pfd[0]);
		close(pfd[1]);
		execv(prog, argv);
		fprintf(stderr, "%s: %s\n", prog, strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(pfd[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int wr = pid > 0 ? write_all(pfd[1], msg, len) : -1;
	close(pfd[1]);
	signal(SIGPIPE, old);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	free_args(argv, opts, argc);
	if (pid < 0 || wr < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s: %s", prog, pid < 0 ? strerror(errno)
					   : WIFEXITED(status) ? "exited with failure" : "killed");
		return -1;
	}
	return 0;
}
