/* Showing messages: header lookup and MIME bodies decoded to the locale's charset. */
#include "mailcmd/mail.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mbox/header.h"

char *mail_header_get(const char *hdr, size_t len, const char *name)
{
	struct hdr_field f;
	if (!hdr_find(hdr, len, name, &f))
		return NULL;
	return hdr_unfold(f.value, f.value_len);
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies parameter `param` of a Content-Type-like value (quotes removed) into out. */
static bool mime_param(const char *value, const char *param, char *out, size_t size)
{
	size_t pl = strlen(param);
	for (const char *p = strchr(value, ';'); p; p = strchr(p + 1, ';')) {
		const char *s = p + 1;
		while (isspace((unsigned char)*s))
			s++;
		if (strncasecmp(s, param, pl) || s[pl] != '=')
			continue;
		s += pl + 1;
		size_t n = 0;
		if (*s == '"') {
			s++;
			while (s[n] && s[n] != '"')
				n++;
		} else {
			while (s[n] && s[n] != ';' && !isspace((unsigned char)s[n]))
				n++;
		}
		snprintf(out, size, "%.*s", (int)n, s);
		return true;
	}
	return false;
}

/* Appends the RFC 2231 percent-decoded bytes of v[0..n) to out at *o (bounded). */
static void pct_decode(const char *v, size_t n, char *out, size_t size, size_t *o)
{
	for (size_t i = 0; i < n && *o + 1 < size; i++) {
		int h = -1, l = -1;
		if (v[i] == '%' && i + 2 < n) {
			h = hexdigit(v[i + 1]);
			l = hexdigit(v[i + 2]);
		}
		if (h >= 0 && l >= 0) {
			out[(*o)++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[(*o)++] = v[i];
		}
	}
	out[*o] = '\0';
}

/* Parameter `param` of a header value as UTF-8: RFC 2231 (`name*=charset''%XX`, continued
 * `name*0*=`, `name*1=`...) when present, else the plain parameter with RFC 2047 words
 * decoded (what mailers really send). */
static bool mime_param_2231(const char *value, const char *param, char *out, size_t size)
{
	char key[80], seg[512], raw[1024] = "", charset[64] = "";
	size_t o = 0;
	bool any = false;
	for (int k = -1; k < 64; k++) {
		bool ext;
		snprintf(key, sizeof key, k < 0 ? "%s*" : "%s*%d*", param, k);
		if (!(ext = mime_param(value, key, seg, sizeof seg))) {
			if (k < 0)
				continue;
			snprintf(key, sizeof key, "%s*%d", param, k);
			if (!mime_param(value, key, seg, sizeof seg))
				break;
		}
		const char *v = seg;
		if (ext && !any) {
			/* charset'language'text in the first (or only) extended segment */
			const char *q1 = strchr(seg, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
			if (q1 && q2) {
				snprintf(charset, sizeof charset, "%.*s", (int)(q1 - seg), seg);
				v = q2 + 1;
			}
		}
		any = true;
		if (ext)
			pct_decode(v, strlen(v), raw, sizeof raw, &o);
		else
			o += (size_t)snprintf(raw + o, o < sizeof raw ? sizeof raw - o : 0, "%s", v);
		if (o >= sizeof raw)
			o = sizeof raw - 1;
		if (k < 0)
			break;
	}
	if (!any) {
		if (!mime_param(value, param, seg, sizeof seg))
			return false;
		char *dec = hdr_decode_2047(seg, strlen(seg));
		snprintf(out, size, "%s", dec ? dec : seg);
		free(dec);
		return true;
	}
	char *conv = NULL;
	if (charset[0] && strcasecmp(charset, "utf-8") && strcasecmp(charset, "us-ascii")) {
		iconv_t cd = iconv_open("UTF-8", charset);
		if (cd != (iconv_t)-1) {
			char buf[1024], *in = raw, *op = buf;
			size_t il = strlen(raw), ol = sizeof buf - 1;
			iconv(cd, &in, &il, &op, &ol);
			*op = '\0';
			iconv_close(cd);
			conv = strdup(buf);
		}
	}
	snprintf(out, size, "%s", conv ? conv : raw);
	free(conv);
	return true;
}

/* The media type (lowercase, no parameters) of a Content-Type value; text/plain by default. */
static void media_type(const char *ct, char *out, size_t size)
{
	size_t n = 0;
	if (!ct) {
		snprintf(out, size, "text/plain");
		return;
	}
	while (ct[n] && ct[n] != ';' && !isspace((unsigned char)ct[n]) && n + 1 < size) {
		out[n] = (char)tolower((unsigned char)ct[n]);
		n++;
	}
	out[n] = '\0';
}

/* True when text in charset can be shown as it is in a locale whose codeset is to. */
static bool same_charset(const char *charset, const char *to)
{
	return !charset[0] || !strcasecmp(charset, "us-ascii") || !strcasecmp(charset, to) ||
	       !strcasecmp(charset, "unknown-8bit") ||
	       (!strcasecmp(charset, "utf8") && !strcasecmp(to, "UTF-8"));
}

/* Pure ASCII text in an ASCII-based charset reads the same in every locale codeset glibc
 * has: no iconv_open per header line (a header summary calls this twice per message). */
static bool is_ascii_superset(const char *charset)
{
	return !strcasecmp(charset, "UTF-8") || !strcasecmp(charset, "utf8") ||
	       !strcasecmp(charset, "us-ascii") || !strncasecmp(charset, "iso-8859-", 9);
}

static bool all_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Converts s[0..len) from charset to the locale's codeset into a malloc'd NUL-terminated
 * buffer (length in *out_len); bytes iconv cannot convert become '?' so a bad message never
 * hides the rest of the text. NULL when no conversion is needed or possible. */
static char *to_locale(const char *charset, const char *s, size_t len, size_t *out_len)
{
	const char *to = nl_langinfo(CODESET);
	if (same_charset(charset, to) || (is_ascii_superset(charset) && all_ascii(s, len)))
		return NULL;
	iconv_t cd = iconv_open(to, charset);
	if (cd == (iconv_t)-1)
		return NULL;
	bool utf8 = !strcasecmp(charset, "UTF-8") || !strcasecmp(charset, "utf8");
	size_t cap = len + 16, used = 0;
	char *res = malloc(cap);
	char *in = (char *)s;
	size_t inleft = len;
	while (res && inleft) {
		if (cap - used < 64) {
			char *g = realloc(res, cap * 2);
			if (!g)
				break;
			res = g;
			cap *= 2;
		}
		char *o = res + used;
		size_t oleft = cap - used - 2;   /* room for a '?' and the NUL */
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		used = (size_t)(o - res);
		if (r == (size_t)-1 && errno != E2BIG && inleft) {
			res[used++] = '?';   /* one '?' per character: a UTF-8 sequence is skipped whole */
			do {
				in++;
				inleft--;
			} while (utf8 && inleft && (*in & 0xC0) == 0x80);
		}
	}
	iconv_close(cd);
	if (!res)
		return NULL;
	res[used] = '\0';
	*out_len = used;
	return res;
}

static void put_converted(FILE *out, const char *charset, const char *s, size_t len)
{
	size_t n;
	char *conv = to_locale(charset, s, len, &n);
	fwrite(conv ? conv : s, 1, conv ? n : len, out);
	free(conv);
}

char *mail_locale_text(const char *utf8)
{
	size_t n;
	char *conv = to_locale("UTF-8", utf8, strlen(utf8), &n);
	return conv ? conv : strdup(utf8);
}

void mail_put_header(FILE *out, const char *name, size_t name_len, const char *value, size_t value_len)
{
	char *raw = hdr_unfold(value, value_len);
	char *dec = raw ? hdr_decode_2047(raw, strlen(raw)) : NULL;
	char *loc = dec ? mail_locale_text(dec) : NULL;
	fprintf(out, "%.*s: %s\n", (int)name_len, name, loc ? loc : raw ? raw : "");
	free(loc);
	free(dec);
	free(raw);
}

void mail_put_fields(FILE *out, const char *hdr, size_t hlen, bool all)
{
	struct hdr_field f;
	size_t pos = 0;
	while (hdr_next(hdr, hlen, &pos, &f)) {
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)f.name_len, f.name);
		if (!all && f.name_len && mail_ignored(name))
			continue;
		if (f.name_len && memmem(f.value, f.value_len, "=?", 2))
			mail_put_header(out, f.name, f.name_len, f.value, f.value_len);
		else
			fwrite(f.raw, 1, f.raw_len, out);
	}
}

/* Decodes a part body according to its Content-Transfer-Encoding; malloc'd or NULL when the
 * body can be shown as it is. */
static char *decode_cte(const char *cte, const char *body, size_t len, size_t *out_len)
{
	if (cte && !strncasecmp(cte, "base64", 6))
		return mail_base64_decode(body, len, out_len);
	if (cte && !strncasecmp(cte, "quoted-printable", 16))
		return mail_qp_decode(body, len, out_len);
	return NULL;
}

/* Offset of the blank line ending the header section of a part (start of its body). */
static size_t body_offset(const char *p, size_t len)
{
	if (len && p[0] == '\n')
		return 1;
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n')
			return i + 2;
		if (p[i] == '\n' && p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* Finds the next "--boundary" line at or after pos; returns its offset or len. */
static size_t find_boundary(const char *p, size_t len, size_t pos, const char *b, size_t bl)
{
	for (size_t i = pos; i + 2 + bl <= len; i++) {
		if ((i == 0 || p[i - 1] == '\n') && p[i] == '-' && p[i + 1] == '-' &&
		    !memcmp(p + i + 2, b, bl))
			return i;
		const char *nl = memchr(p + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - p);
	}
	return len;
}

struct walk {
	mail_part_fn fn;
	void *ctx;
	int leaves;
};

static void walk_part(struct walk *w, const char *hdr, size_t hlen, const char *body, size_t blen,
		      const char *id, int depth);

typedef void (*child_fn)(void *ctx, const struct mail_part *child, int depth);

/* Calls fn for each body part between the boundaries of a multipart body (its header, body,
 * media type and number id.1, id.2, ..., the top level's 1, 2, ...), as Heirloom numbers them. */
static void each_part(const char *boundary, const char *body, size_t blen, const char *id, int depth, child_fn fn,
		      void *ctx)
{
	size_t bl = strlen(boundary), pos = find_boundary(body, blen, 0, boundary, bl);
	int k = 0;
	while (pos < blen) {
		if (pos + 2 + bl + 2 <= blen && !memcmp(body + pos + 2 + bl, "--", 2))
			return;
		const char *nl = memchr(body + pos, '\n', blen - pos);
		if (!nl)
			return;
		size_t start = (size_t)(nl - body) + 1;
		size_t next = find_boundary(body, blen, start, boundary, bl);
		size_t end = next > start && body[next - 1] == '\n' ? next - 1 : next;
		const char *part = body + start;
		size_t plen = end > start ? end - start : 0, off = body_offset(part, plen);
		struct mail_part c = { .hdr = part, .hlen = off, .body = part + off, .blen = plen - off };
		char *ct = mail_header_get(c.hdr, c.hlen, "Content-Type");
		media_type(ct, c.type, sizeof c.type);
		free(ct);
		snprintf(c.id, sizeof c.id, "%s%s%d", id, *id ? "." : "", ++k);
		fn(ctx, &c, depth + 1);
		pos = next;
	}
}

static void walk_child(void *ctx, const struct mail_part *c, int depth)
{
	walk_part(ctx, c->hdr, c->hlen, c->body, c->blen, c->id, depth);
}

static void walk_part(struct walk *w, const char *hdr, size_t hlen, const char *body, size_t blen,
		      const char *id, int depth)
{
	struct mail_part p = { .hdr = hdr, .hlen = hlen, .body = body, .blen = blen };
	char *ct = mail_header_get(hdr, hlen, "Content-Type");
	char boundary[256];
	media_type(ct, p.type, sizeof p.type);
	if (!strncmp(p.type, "multipart/", 10) && depth < 20 && ct &&
	    mime_param(ct, "boundary", boundary, sizeof boundary)) {
		each_part(boundary, body, blen, depth ? id : "", depth, walk_child, w);
	} else {
		p.index = ++w->leaves;
		snprintf(p.id, sizeof p.id, "%s", *id ? id : "1");
		w->fn(w->ctx, &p);
	}
	free(ct);
}

void mail_mime_walk(const char *hdr, size_t hlen, const char *body, size_t blen, mail_part_fn fn, void *ctx)
{
	struct walk w = { fn, ctx, 0 };
	char *mv = mail_header_get(hdr, hlen, "MIME-Version");
	char *ct = mail_header_get(hdr, hlen, "Content-Type");
	/* without MIME-Version a message is plain text whatever else it says (RFC 2045) */
	if (!mv && !ct) {
		struct mail_part p = { .hdr = "", .body = body, .blen = blen, .index = 1, .id = "1",
				       .type = "text/plain" };
		fn(ctx, &p);
	} else {
		walk_part(&w, hdr, hlen, body, blen, "", 0);
	}
	free(mv);
	free(ct);
}

char *mail_part_decode(const struct mail_part *p, size_t *len)
{
	char *cte = mail_header_get(p->hdr, p->hlen, "Content-Transfer-Encoding");
	char *dec = decode_cte(cte, p->body, p->blen, len);
	free(cte);
	if (dec)
		return dec;
	dec = malloc(p->blen + 1);
	if (dec) {
		memcpy(dec, p->body, p->blen);
		dec[p->blen] = '\0';
		*len = p->blen;
	}
	return dec;
}

bool mail_part_filename(const struct mail_part *p, char *out, size_t size)
{
	char *cd = mail_header_get(p->hdr, p->hlen, "Content-Disposition");
	char *ct = mail_header_get(p->hdr, p->hlen, "Content-Type");
	bool found = (cd && mime_param_2231(cd, "filename", out, size)) ||
		     (ct && mime_param_2231(ct, "name", out, size));
	free(cd);
	free(ct);
	return found && out[0];
}

bool mail_part_is_attachment(const struct mail_part *p)
{
	char *cd = mail_header_get(p->hdr, p->hlen, "Content-Disposition");
	bool att = cd && !strncasecmp(cd, "attachment", 10);
	free(cd);
	return att;
}

struct show {
	FILE *out;
	bool all;          /* Type: every header field of the parts too */
	int leaves;        /* attachment numbers, in order of appearance */
};

static void show_entity(struct show *sh, const struct mail_part *p, int depth);

/* A leaf: text decoded into the locale's charset; anything else as one line naming it (where
 * Heirloom shows nothing but the part's header). */
static void show_leaf(struct show *sh, const struct mail_part *p, bool inner)
{
	char charset[64] = "", name[256] = "";
	bool named = mail_part_filename(p, name, sizeof name);
	int index = ++sh->leaves;
	bool text = !strcmp(p->type, "text/plain") || (!strncmp(p->type, "text/", 5) && index <= 1);
	/* a text/plain attachment is still text: shown inline, as s-nail does */
	if (text && (!mail_part_is_attachment(p) || !strcmp(p->type, "text/plain"))) {
		size_t dlen;
		char *ct = mail_header_get(p->hdr, p->hlen, "Content-Type");
		char *dec = mail_part_decode(p, &dlen);
		if (ct)
			mime_param(ct, "charset", charset, sizeof charset);
		const char *text_p = dec ? dec : p->body;
		size_t text_len = dec ? dlen : p->blen;
		put_converted(sh->out, charset, text_p, text_len);
		/* a part ends where its boundary's line begins: end its last line, so that the
		 * blank line before the next "Part N:" shows */
		if (inner && text_len && text_p[text_len - 1] != '\n')
			fputc('\n', sh->out);
		free(dec);
		free(ct);
		return;
	}
	char *loc = named ? mail_locale_text(name) : NULL;
	fprintf(sh->out, "[-- Attachment #%d: %s (%s, %zu bytes) --]\n", index, loc ? loc : named ? name : "(unnamed)",
		p->type, p->blen);
	free(loc);
}

/* Heirloom's sendpart() for a part of a multipart: "Part 2.1:" (after a blank line, but for
 * the top level's first), the part's header fields as type shows them, a blank line, the part. */
static void show_child(void *ctx, const struct mail_part *c, int depth)
{
	struct show *sh = ctx;
	fprintf(sh->out, "%sPart %s:\n", depth > 1 || strcmp(c->id, "1") ? "\n" : "", c->id);
	mail_put_fields(sh->out, c->hdr, c->hlen, sh->all);
	fputc('\n', sh->out);
	show_entity(sh, c, depth);
}

/* multipart/alternative shows its first text/plain part alone, unless print-alternatives. */
struct first_plain {
	struct mail_part part;
	bool found;
};

static void find_plain(void *ctx, const struct mail_part *c, int depth)
{
	struct first_plain *f = ctx;
	(void)depth;
	if (!f->found && !strcmp(c->type, "text/plain")) {
		f->part = *c;
		f->found = true;
	}
}

/* message/rfc822: the enclosed message inline under a From_ line, its header fields as type
 * shows them, then its body, as Heirloom's put_from_() and sendpart(). */
static void show_rfc822(struct show *sh, const struct mail_part *p, int depth)
{
	size_t off = body_offset(p->body, p->blen);
	struct mail_part m = { .hdr = p->body, .hlen = off, .body = p->body + off, .blen = p->blen - off };
	char *from = mail_header_get(m.hdr, m.hlen, "From"), *date = mail_header_get(m.hdr, m.hlen, "Date");
	char *ct = mail_header_get(m.hdr, m.hlen, "Content-Type"), addr[512];
	time_t t = mail_parse_date(date);
	char when[64] = "";
	struct tm tm;
	if (t != (time_t)-1 && gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(sh->out, "From %s %s\n", from ? mail_skin(from, addr, sizeof addr) : "MAILER-DAEMON", when);
	mail_put_fields(sh->out, m.hdr, m.hlen, sh->all);
	fputc('\n', sh->out);
	media_type(ct, m.type, sizeof m.type);
	snprintf(m.id, sizeof m.id, "%s", p->id);
	show_entity(sh, &m, depth);
	free(from);
	free(date);
	free(ct);
}

static void show_entity(struct show *sh, const struct mail_part *p, int depth)
{
	char boundary[256];
	char *ct = mail_header_get(p->hdr, p->hlen, "Content-Type");
	bool multi = !strncmp(p->type, "multipart/", 10) && depth < 20 && ct &&
		     mime_param(ct, "boundary", boundary, sizeof boundary);
	const char *id = depth ? p->id : "";
	free(ct);
	if (multi && !strcmp(p->type, "multipart/alternative") && !mail_var_isset("print-alternatives")) {
		struct first_plain f = { .found = false };
		each_part(boundary, p->body, p->blen, id, depth, find_plain, &f);
		if (f.found) {
			show_entity(sh, &f.part, depth + 1);
			return;
		}
	}
	if (multi)
		each_part(boundary, p->body, p->blen, id, depth, show_child, sh);
	else if (!strcmp(p->type, "message/rfc822") && depth < 20)
		show_rfc822(sh, p, depth + 1);
	else
		show_leaf(sh, p, depth > 0);
}

void mail_show_body(FILE *out, const char *hdr, size_t hlen, const char *body, size_t blen, bool all)
{
	struct show sh = { out, all, 0 };
	char *mv = mail_header_get(hdr, hlen, "MIME-Version");
	char *ct = mail_header_get(hdr, hlen, "Content-Type");
	struct mail_part top = { .hdr = hdr, .hlen = hlen, .body = body, .blen = blen, .id = "1" };
	/* without MIME-Version a message is plain text whatever else it says (RFC 2045) */
	media_type(mv || ct ? ct : NULL, top.type, sizeof top.type);
	show_entity(&sh, &top, 0);
	free(mv);
	free(ct);
}

/* "Fri, 29 Sep 2023 07:40:00 +0200" (day name optional, seconds optional) as a time; -1 when
 * it is none of those. */
time_t mail_parse_date(const char *date)
{
	const char *forms[] = { "%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z", "%a, %d %b %Y %H:%M %z" };
	for (size_t k = 0; date && k < sizeof forms / sizeof forms[0]; k++) {
		struct tm tm = { 0 };
		if (strptime(date, forms[k], &tm)) {
			long zone = tm.tm_gmtoff;   /* timegm resets it */
			return timegm(&tm) - zone;
		}
	}
	return (time_t)-1;
}
