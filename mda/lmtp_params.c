/* DSN and SMTPUTF8 parameter values: xtext, ORCPT address types, NOTIFY, UTF-8. */
#include "mda/lmtp_params.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool lmtp_has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Length of the UTF-8 sequence at p, or 0 when it is not one (RFC 3629 table). */
static size_t utf8_seq(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		unsigned char lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		unsigned char lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

bool lmtp_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool put(char *out, size_t size, size_t *n, char c)
{
	if (*n + 1 >= size)
		return false;
	out[(*n)++] = c;
	return true;
}

/* Appends code point cp as UTF-8. */
static bool put_cp(char *out, size_t size, size_t *n, uint32_t cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	if (cp < 0x80)
		return put(out, size, n, (char)cp);
	if (cp < 0x800)
		return put(out, size, n, (char)(0xc0 | cp >> 6)) && put(out, size, n, (char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return put(out, size, n, (char)(0xe0 | cp >> 12)) && put(out, size, n, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
		       put(out, size, n, (char)(0x80 | (cp & 0x3f)));
	return put(out, size, n, (char)(0xf0 | cp >> 18)) && put(out, size, n, (char)(0x80 | ((cp >> 12) & 0x3f))) &&
	       put(out, size, n, (char)(0x80 | ((cp >> 6) & 0x3f))) && put(out, size, n, (char)(0x80 | (cp & 0x3f)));
}

/* "+HH" at p (both hex digits): the byte, else -1. */
static int xtext_escape(const char *p)
{
	int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
	return p[0] == '+' && hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

bool lmtp_xtext_decode(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = in; *p;) {
		unsigned char c = (unsigned char)*p;
		if (c == '+') {
			int b = xtext_escape(p);
			if (b <= 0 || !put(out, size, &n, (char)b))
				return false;
			p += 3;
			continue;
		}
		/* xchar: "!" to "~" except "+" and "=" */
		if (c < 0x21 || c > 0x7e || c == '=' || !put(out, size, &n, (char)c))
			return false;
		p++;
	}
	out[n] = '\0';
	return true;
}

/* RFC 6533 utf-8-addr-xtext: UTF-8 as is, "\x{HEX}" for a code point, xtext "+HH" too. */
static bool unitext_decode(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = in; *p;) {
		if (p[0] == '\\' && p[1] == 'x' && p[2] == '{') {
			char *end;
			unsigned long cp = strtoul(p + 3, &end, 16);
			if (end == p + 3 || end - (p + 3) > 6 || *end != '}' || !put_cp(out, size, &n, (uint32_t)cp))
				return false;
			p = end + 1;
		} else if (p[0] == '+') {
			int b = xtext_escape(p);
			if (b <= 0 || !put(out, size, &n, (char)b))
				return false;
			p += 3;
		} else if ((unsigned char)p[0] < 0x21 || p[0] == '=' || p[0] == 0x7f) {
			return false;
		} else {
			if (!put(out, size, &n, *p))
				return false;
			p++;
		}
	}
	out[n] = '\0';
	return lmtp_utf8_valid(out);
}

bool lmtp_orcpt_decode(const char *value, char *out, size_t size)
{
	const char *semi = strchr(value, ';');
	if (!semi)
		return false;
	size_t tlen = (size_t)(semi - value);
	if (tlen == 6 && strncasecmp(value, "rfc822", 6) == 0)
		return lmtp_xtext_decode(semi + 1, out, size) && out[0];
	if (tlen == 5 && strncasecmp(value, "utf-8", 5) == 0)
		return unitext_decode(semi + 1, out, size) && out[0];
	return false;
}

bool lmtp_notify_valid(const char *value)
{
	char buf[64];
	if (!value || !*value || snprintf(buf, sizeof buf, "%s", value) >= (int)sizeof buf)
		return false;
	if (strcasecmp(buf, "NEVER") == 0)
		return true;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strcasecmp(w, "SUCCESS") != 0 && strcasecmp(w, "FAILURE") != 0 && strcasecmp(w, "DELAY") != 0)
			return false;
	return value[strlen(value) - 1] != ',' && value[0] != ',';
}
