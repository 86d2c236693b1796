/* RFC 5322 header helpers: iterate fields, unfold, RFC 2047 decode via iconv, skin addresses. */
#include "mbox/header.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the line starting at p (up to and including its LF, or to end). */
static size_t hdr_line_len(const char *p, size_t left)
{
	const char *nl = memchr(p, '\n', left);
	return nl ? (size_t)(nl - p) + 1 : left;
}

/* A blank line is "\n" or "\r\n". */
static bool hdr_is_blank_line(const char *p, size_t n)
{
	return (n >= 1 && p[0] == '\n') || (n >= 2 && p[0] == '\r' && p[1] == '\n');
}

/* Length of the field name before ':', 0 when the line is not a field.
 * Blanks before the colon (obsolete syntax "Subject : x") are allowed and trimmed. */
static size_t hdr_name_len(const char *p, size_t n, size_t *colon)
{
	size_t i = 0;
	while (i < n && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
		i++;
	size_t name = i;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (name == 0 || i >= n || p[i] != ':')
		return 0;
	*colon = i;
	return name;
}

bool hdr_next(const char *buf, size_t len, size_t *pos, struct hdr_field *f)
{
	size_t start = *pos, end, colon = 0;
	if (start >= len)
		return false;
	size_t first = hdr_line_len(buf + start, len - start);
	if (hdr_is_blank_line(buf + start, first)) {
		*pos = start + first;
		return false;
	}
	/* Continuation lines start with a blank; they belong to this field. */
	end = start + first;
	while (end < len && (buf[end] == ' ' || buf[end] == '\t'))
		end += hdr_line_len(buf + end, len - end);
	f->raw = buf + start;
	f->raw_len = end - start;
	f->name = buf + start;
	f->name_len = hdr_name_len(buf + start, first, &colon);
	size_t v = f->name_len ? start + colon + 1 : start;
	while (v < end && (buf[v] == ' ' || buf[v] == '\t'))
		v++;
	size_t vend = end;
	if (vend > v && buf[vend - 1] == '\n')
		vend--;
	if (vend > v && buf[vend - 1] == '\r')
		vend--;
	f->value = buf + v;
	f->value_len = vend > v ? vend - v : 0;
	*pos = end;
	return true;
}

bool hdr_name_is(const struct hdr_field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

bool hdr_find(const char *buf, size_t len, const char *name, struct hdr_field *f)
{
	size_t pos = 0;
	while (hdr_next(buf, len, &pos, f))
		if (hdr_name_is(f, name))
			return true;
	return false;
}

char *hdr_unfold(const char *value, size_t len)
{
	char *out = malloc(len + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		/* A line break inside a value is always followed by a blank (that is what made
		 * it a continuation), so dropping CR and LF is exactly RFC 5322 unfolding. */
		if (c == '\r' || c == '\n')
			continue;
		out[o++] = c == '\0' ? ' ' : c;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
	return out;
}

/* ---------------------------------------------------------------- RFC 2047 */

/* A growable output buffer; on ENOMEM ok turns false and the text is dropped at the end. */
struct hdr_buf {
	char *p;
	size_t len, cap;
	bool ok;
};

static void hdr_buf_add(struct hdr_buf *b, const char *s, size_t n)
{
	if (!b->ok)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 64) + n;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->ok = false;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static int hdr_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hdr_b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes Q text into out (at least n bytes). Returns the length, -1 if malformed. */
static long hdr_q_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			out[o++] = ' ';
		} else if (s[i] == '=') {
			if (i + 2 >= n)
				return -1;
			int hi = hdr_hex((unsigned char)s[i + 1]), lo = hdr_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return (long)o;
}

/* Decodes B text (padding optional) into out. Returns the length, -1 if malformed. */
static long hdr_b_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		int v = hdr_b64((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (long)o;
}

/* One parsed encoded-word "=?charset?e?text?=". */
struct hdr_word {
	char charset[64];
	char enc;
	const char *text;
	size_t text_len;
	size_t total;         /* bytes of the whole encoded-word */
};

/* Parses an encoded-word at s. Returns false if s does not start one. */
static bool hdr_parse_word(const char *s, size_t n, struct hdr_word *w)
{
	if (n < 8 || s[0] != '=' || s[1] != '?')
		return false;
	const char *q1 = memchr(s + 2, '?', n - 2);
	if (!q1 || (size_t)(q1 - s) + 4 > n || q1[2] != '?')
		return false;
	size_t cs_len = (size_t)(q1 - (s + 2));
	if (cs_len == 0 || cs_len >= sizeof w->charset)
		return false;
	w->enc = (char)(q1[1] | 0x20);
	if (w->enc != 'b' && w->enc != 'q')
		return false;
	const char *text = q1 + 3;
	size_t left = n - (size_t)(text - s);
	for (size_t i = 0; i + 1 < left; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')
			return false;
		if (text[i] == '?' && text[i + 1] == '=') {
			memcpy(w->charset, s + 2, cs_len);
			w->charset[cs_len] = '\0';
			char *star = strchr(w->charset, '*');   /* RFC 2231 language suffix */
			if (star)
				*star = '\0';
			w->text = text;
			w->text_len = i;
			w->total = (size_t)(text - s) + i + 2;
			return true;
		}
	}
	return false;
}

/* Converts bytes in charset to UTF-8 and appends them. Returns false if iconv refuses
 * (unknown charset, invalid sequence), appending nothing. */
static bool hdr_convert(struct hdr_buf *b, const char *charset, const char *in, size_t n)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	size_t cap = n * 4 + 16;
	char *out = malloc(cap);
	if (!out) {
		iconv_close(cd);
		b->ok = false;
		return false;
	}
	char *ip = (char *)in, *op = out;
	size_t il = n, ol = cap;
	size_t rc = iconv(cd, &ip, &il, &op, &ol);
	bool good = rc != (size_t)-1 && iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1;
	iconv_close(cd);
	if (good) {
		for (char *p = out; p < op; p++)
			if ((unsigned char)*p < 32 || *p == 127)
				*p = '?';     /* never let decoded text inject line breaks or NULs */
		hdr_buf_add(b, out, (size_t)(op - out));
	}
	free(out);
	return good;
}

/* Decodes and converts a run of adjacent encoded-words s[0..n) sharing one charset
 * (count words). On any failure the run is copied unchanged. */
static void hdr_flush_run(struct hdr_buf *b, const char *s, size_t n, const char *charset)
{
	char *bytes = malloc(n + 1);
	size_t blen = 0, i = 0;
	bool good = bytes != NULL;
	struct hdr_word w;
	while (good && i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i >= n || !hdr_parse_word(s + i, n - i, &w))
			break;
		long got = w.enc == 'b' ? hdr_b_decode(w.text, w.text_len, bytes + blen)
					: hdr_q_decode(w.text, w.text_len, bytes + blen);
		if (got < 0)
			good = false;
		else
			blen += (size_t)got;
		i += w.total;
	}
	if (!good || !hdr_convert(b, charset, bytes, blen))
		hdr_buf_add(b, s, n);
	free(bytes);
}

/* Length of the blank run at s. */
static size_t hdr_blanks(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

char *hdr_decode_2047(const char *s, size_t len)
{
	struct hdr_buf b = { .ok = true };
	struct hdr_word w, next;
	size_t i = 0;
	hdr_buf_add(&b, "", 0);
	while (i < len) {
		if (!hdr_parse_word(s + i, len - i, &w)) {
			/* Plain text up to the next '=' (an encoded word starts "=?") in one copy:
			 * byte by byte this was most of a big mailbox's header summary. */
			const char *eq = memchr(s + i + 1, '=', len - i - 1);
			size_t run = eq ? (size_t)(eq - (s + i)) : len - i;
			hdr_buf_add(&b, s + i, run);
			i += run;
			continue;
		}
		/* Extend the run over blank-separated words of the same charset. */
		size_t run_end = i + w.total;
		for (;;) {
			size_t sp = hdr_blanks(s + run_end, len - run_end);
			if (!hdr_parse_word(s + run_end + sp, len - run_end - sp, &next) ||
			    strcasecmp(next.charset, w.charset) != 0)
				break;
			run_end += sp + next.total;
		}
		hdr_flush_run(&b, s + i, run_end - i, w.charset);
		i = run_end;
		/* Blanks between adjacent words of different charsets are dropped too. */
		size_t sp = hdr_blanks(s + i, len - i);
		if (sp && hdr_parse_word(s + i + sp, len - i - sp, &next))
			i += sp;
	}
	if (!b.ok) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---------------------------------------------------------------- addresses */

/* Skips a comment starting at s[i] == '(' (nested, with escapes). Returns the index after it. */
static size_t hdr_skip_comment(const char *s, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* Skips a quoted string starting at s[i] == '"'. Returns the index after it. */
static size_t hdr_skip_quoted(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* Finds the top-level '<' of the first address; sets *end to the end of that address
 * (the top-level ',' or n). Returns n when there is no angle address. */
static size_t hdr_find_angle(const char *s, size_t n, size_t *end)
{
	size_t angle = n, i = 0;
	*end = n;
	while (i < n) {
		if (s[i] == '\\' && i + 1 < n) {
			i += 2;     /* stray escapes outside quotes are common in the wild */
		} else if (s[i] == '"') {
			i = hdr_skip_quoted(s, n, i);
		} else if (s[i] == '(') {
			i = hdr_skip_comment(s, n, i);
		} else if (s[i] == '<' && angle == n) {
			angle = i++;
			while (i < n && s[i] != '>')
				i++;
		} else if (s[i] == ',') {
			*end = i;
			break;
		} else {
			i++;
		}
	}
	return angle;
}

/* No address holds a NUL byte (a copy would be cut or empty) or a line break (a caller
 * writing it into a header or a From_ line would start a new line). */
static bool hdr_bad_addr_bytes(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
			return true;
	return false;
}

/* Copies s[a..b) into out with surrounding blanks trimmed. */
static bool hdr_copy_trim(const char *s, size_t a, size_t b, char *out, size_t size)
{
	while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n'))
		b--;
	if (a == b || b - a >= size || hdr_bad_addr_bytes(s + a, b - a))
		return false;
	memcpy(out, s + a, b - a);
	out[b - a] = '\0';
	return true;
}

bool hdr_skin_address(const char *s, size_t len, char *out, size_t size)
{
	size_t end, o = 0;
	size_t angle = hdr_find_angle(s, len, &end);
	if (angle < len) {
		size_t a = angle + 1, b = a;
		while (b < len && s[b] != '>')
			b++;
		/* Obsolete source route "<@a,@b:user@host>": keep what follows the colon. */
		if (a < b && s[a] == '@') {
			const char *colon = memchr(s + a, ':', b - a);
			if (colon)
				a = (size_t)(colon - s) + 1;
		}
		return hdr_copy_trim(s, a, b, out, size);
	}
	/* No angle brackets: the address is what remains without comments and blanks. */
	for (size_t i = 0; i < end;) {
		if (s[i] == '(') {
			i = hdr_skip_comment(s, end, i);
			continue;
		}
		if (s[i] == '"') {
			size_t q = hdr_skip_quoted(s, end, i);
			if (o + (q - i) >= size)
				return false;
			memcpy(out + o, s + i, q - i);
			o += q - i;
			i = q;
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
			if (o + 1 >= size)
				return false;
			out[o++] = s[i];
		}
		i++;
	}
	if (o == 0 || o >= size || hdr_bad_addr_bytes(out, o))
		return false;
	out[o] = '\0';
	return true;
}

/* Removes quotes and backslash escapes from a phrase, trimming blanks. */
static char *hdr_unquote_phrase(const char *s, size_t n)
{
	char *t = malloc(n + 1);
	size_t o = 0;
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			continue;
		if (s[i] == '\\' && i + 1 < n)
			i++;
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (o == 0 && (s[i] == ' ' || s[i] == '\t'))
			continue;
		t[o++] = s[i];
	}
	while (o > 0 && (t[o - 1] == ' ' || t[o - 1] == '\t'))
		o--;
	t[o] = '\0';
	return t;
}

/* Decodes a phrase into a malloc'd name, NULL if empty. */
static char *hdr_name_from(const char *s, size_t n)
{
	char *plain = hdr_unquote_phrase(s, n);
	if (!plain)
		return NULL;
	if (!*plain) {
		free(plain);
		return NULL;
	}
	char *dec = hdr_decode_2047(plain, strlen(plain));
	free(plain);
	return dec;
}

char *hdr_display_name(const char *s, size_t len)
{
	size_t end;
	size_t angle = hdr_find_angle(s, len, &end);
	if (angle < len)
		return hdr_name_from(s, angle);
	for (size_t i = 0; i < end;) {
		if (s[i] == '"') {
			i = hdr_skip_quoted(s, end, i);
		} else if (s[i] == '(') {
			size_t c = hdr_skip_comment(s, end, i);
			size_t inner_end = c > i + 1 && s[c - 1] == ')' ? c - 1 : c;
			return hdr_name_from(s + i + 1, inner_end - (i + 1));
		} else {
			i++;
		}
	}
	return NULL;
}

/* Content-Transfer-Encoding bodies (sieve's body test; see header.h). */
size_t mime_decode_base64(const char *s, size_t n, char *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		int v = hdr_b64((unsigned char)s[i]);
		if (v < 0)
			continue;    /* line ends and junk between groups */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

size_t mime_decode_qp(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		size_t j = i + 1;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j < n && (s[j] == '\n' || (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n'))) {
			i = s[j] == '\r' ? j + 1 : j;     /* soft line break */
			continue;
		}
		int hi = i + 2 < n ? hdr_hex((unsigned char)s[i + 1]) : -1;
		int lo = hi >= 0 ? hdr_hex((unsigned char)s[i + 2]) : -1;
		if (lo >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
			continue;
		}
		out[o++] = '=';
	}
	return o;
}
