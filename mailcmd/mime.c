/* Showing messages: header lookup and MIME bodies decoded to the locale's charset. */
#include "mailcmd/mail.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbox/header.h"

char *mail_header_get(const char *hdr, size_t len, const char *name)
{
	struct hdr_field f;
	if (!hdr_find(hdr, len, name, &f))
		return NULL;
	return hdr_unfold(f.value, f.value_len);
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

static void show_part(FILE *out, const char *hdr, size_t hlen, const char *body, size_t blen,
		      int *partno, int depth);

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

static void show_multipart(FILE *out, const char *boundary, const char *body, size_t blen,
			   int *partno, int depth)
{
	size_t bl = strlen(boundary), pos = find_boundary(body, blen, 0, boundary, bl);
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
		show_part(out, part, off, part + off, plen - off, partno, depth + 1);
		pos = next;
	}
}

static void show_part(FILE *out, const char *hdr, size_t hlen, const char *body, size_t blen,
		      int *partno, int depth)
{
	char *ct = mail_header_get(hdr, hlen, "Content-Type");
	char *cte = mail_header_get(hdr, hlen, "Content-Transfer-Encoding");
	char *cd = mail_header_get(hdr, hlen, "Content-Disposition");
	char type[128], charset[64] = "", name[256] = "", boundary[256];
	media_type(ct, type, sizeof type);
	(*partno)++;
	bool attachment = cd && !strncasecmp(cd, "attachment", 10);
	if (!strncmp(type, "multipart/", 10) && depth < 20 && ct &&
	    mime_param(ct, "boundary", boundary, sizeof boundary)) {
		(*partno)--;
		show_multipart(out, boundary, body, blen, partno, depth);
	} else if (!attachment && (!strcmp(type, "text/plain") || (!strncmp(type, "text/", 5) && *partno <= 1))) {
		size_t dlen;
		char *dec = decode_cte(cte, body, blen, &dlen);
		if (ct)
			mime_param(ct, "charset", charset, sizeof charset);
		if (*partno > 1)
			fprintf(out, "\n[-- #%d %s --]\n\n", *partno, type);
		put_converted(out, charset, dec ? dec : body, dec ? dlen : blen);
		free(dec);
	} else {
		if (!(cd && mime_param(cd, "filename", name, sizeof name)) && ct)
			mime_param(ct, "name", name, sizeof name);
		char *dname = name[0] ? hdr_decode_2047(name, strlen(name)) : NULL;
		fprintf(out, "\n[-- Attachment #%d: %s (%s, %zu bytes) --]\n", *partno,
			dname ? dname : "(unnamed)", type, blen);
		free(dname);
	}
	free(ct);
	free(cte);
	free(cd);
}

void mail_show_body(FILE *out, const char *hdr, size_t hlen, const char *body, size_t blen)
{
	int partno = 0;
	char *mv = mail_header_get(hdr, hlen, "MIME-Version");
	char *ct = mail_header_get(hdr, hlen, "Content-Type");
	/* without MIME-Version a message is plain text whatever else it says (RFC 2045) */
	if (!mv && !ct)
		fwrite(body, 1, blen, out);
	else
		show_part(out, hdr, hlen, body, blen, &partno, 0);
	free(mv);
	free(ct);
}
