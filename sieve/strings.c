/* Strings: encoded characters (RFC 5228 2.4.2.4) at compile time, variable references
 * (RFC 5229) bound to slots at compile time and expanded at run time, set's modifiers. */
#include "sieve/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sv_identifier_valid(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes one "${hex:..}" / "${unicode:..}" at s (which starts with "${"). Returns the bytes
 * consumed (0: not an encoded character, left as it is; -1: an invalid code point). */
static long encoded_one(const char *s, size_t len, struct sv_buf *out)
{
	bool unicode;
	size_t i;
	if (len >= 6 && strncasecmp(s + 2, "hex:", 4) == 0)
		unicode = false, i = 6;
	else if (len >= 10 && strncasecmp(s + 2, "unicode:", 8) == 0)
		unicode = true, i = 10;
	else
		return 0;
	struct sv_buf tmp = { 0 };
	bool any = false;
	for (;;) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i < len && s[i] == '}')
			break;
		size_t start = i;
		unsigned long v = 0;
		while (i < len && hexval((unsigned char)s[i]) >= 0 && i - start < 9)
			v = v * 16 + (unsigned long)hexval((unsigned char)s[i++]);
		size_t n = i - start;
		if (n == 0 || (!unicode && n > 2) || (unicode && n > 8) || (i < len && !is_blank(s[i]) && s[i] != '}')) {
			sv_buf_free(&tmp);
			return 0;
		}
		if (unicode && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) {
			sv_buf_free(&tmp);
			return -1;
		}
		char u[4];
		if (unicode)
			sv_buf_add(&tmp, u, utf8_put(u, v));
		else {
			u[0] = (char)v;
			sv_buf_add(&tmp, u, 1);
		}
		any = true;
	}
	if (i >= len || !any) {
		sv_buf_free(&tmp);
		return 0;
	}
	sv_buf_add(out, tmp.p, tmp.len);
	sv_buf_free(&tmp);
	return (long)(i + 1);
}

/* Whether s holds "${" (an encoded character or a variable may start there). memchr for
 * the '$' first: most strings have none, and memmem costs more to set up. */
static bool has_ref(const char *s, size_t len)
{
	const char *end = s + len;
	while ((s = memchr(s, '$', (size_t)(end - s))) != NULL)
		if (++s < end && *s == '{')
			return true;
	return false;
}

/* The string with its encoded characters replaced; false on an invalid code point. */
static bool encoded_decode(struct sv_vctx *c, const struct sv_rawstr *raw, const char **s, size_t *len)
{
	if (!has_ref(raw->s, raw->len)) {
		*s = raw->s;
		*len = raw->len;
		return true;
	}
	struct sv_buf b = { 0 };
	size_t i = 0;
	while (i < raw->len) {
		if (raw->s[i] == '$' && i + 1 < raw->len && raw->s[i + 1] == '{') {
			long n = encoded_one(raw->s + i, raw->len - i, &b);
			if (n < 0) {
				sv_error(c->d, raw->line, raw->col, "invalid unicode character in encoded character");
				sv_buf_free(&b);
				return false;
			}
			if (n > 0) {
				i += (size_t)n;
				continue;
			}
		}
		sv_buf_add(&b, raw->s + i, 1);
		i++;
	}
	*s = sv_strndup(&c->p->arena, b.p ? b.p : "", b.len);
	*len = b.len;
	sv_buf_free(&b);
	return *s != NULL;
}

/* ------------------------------------------------------------------ variable names */

static int find_name(char **names, uint32_t n, const char *name, size_t len)
{
	for (uint32_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* Appends name to a growable arena array of names. */
static int add_name(struct sieve_script *p, char ***names, uint32_t *n, uint32_t *cap, const char *name,
		    size_t len)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 8;
		char **a = sv_alloc(&p->arena, nc * sizeof *a);
		if (!a)
			return -1;
		if (*n)
			memcpy(a, *names, *n * sizeof *a);
		*names = a;
		*cap = nc;
	}
	char *s = sv_strndup(&p->arena, name, len);
	if (!s)
		return -1;
	for (char *q = s; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	(*names)[*n] = s;
	return (int)(*n)++;
}

static bool unit_declared_global(const struct sv_unit *u, const char *name, size_t len)
{
	return find_name(u->global_names, u->nglobal_names, name, len) >= 0;
}

bool sv_var_global(struct sv_vctx *c, const char *name, size_t len, unsigned line, unsigned col)
{
	if (!sv_identifier_valid(name, len)) {
		sv_error(c->d, line, col, "invalid variable name '%.*s'", (int)(len > 64 ? 64 : len), name);
		return false;
	}
	if (find_name(c->u->local_names, c->u->nlocals, name, len) >= 0) {
		sv_error(c->d, line, col, "variable '%.*s' is already used as a local variable", (int)len, name);
		return false;
	}
	if (unit_declared_global(c->u, name, len))
		return true;
	if (add_name(c->p, &c->u->global_names, &c->u->nglobal_names, &c->u->cap_gnames, name, len) < 0)
		return false;
	if (find_name(c->p->globals, c->p->nglobals, name, len) < 0) {
		if (c->p->nglobals >= c->p->lim.max_variables) {
			sv_error(c->d, line, col, "too many global variables (limit %u)", c->p->lim.max_variables);
			return false;
		}
		if (add_name(c->p, &c->p->globals, &c->p->nglobals, &c->p->cap_globals, name, len) < 0)
			return false;
	}
	return true;
}

int sv_var_slot(struct sv_vctx *c, const char *name, size_t len, unsigned line, unsigned col, bool *global)
{
	*global = false;
	if (len > 7 && strncasecmp(name, "global.", 7) == 0) {
		if (!(c->u->exts & EXT_INCLUDE)) {
			sv_error(c->d, line, col, "variable namespace 'global' requires the include extension");
			return -1;
		}
		name += 7;
		len -= 7;
		if (!sv_var_global(c, name, len, line, col))
			return -1;
	}
	if (!sv_identifier_valid(name, len)) {
		sv_error(c->d, line, col, "invalid variable name '%.*s'", (int)(len > 64 ? 64 : len), name);
		return -1;
	}
	if (unit_declared_global(c->u, name, len)) {
		*global = true;
		return find_name(c->p->globals, c->p->nglobals, name, len);
	}
	int i = find_name(c->u->local_names, c->u->nlocals, name, len);
	if (i >= 0)
		return i;
	if (c->u->nlocals >= c->p->lim.max_variables) {
		sv_error(c->d, line, col, "too many variables (limit %u)", c->p->lim.max_variables);
		return -1;
	}
	return add_name(c->p, &c->u->local_names, &c->u->nlocals, &c->u->cap_locals, name, len);
}

/* ------------------------------------------------------------------ templates */

/* The variable reference starting at s ("${" ...): its length and part, 0 when s is not a
 * valid reference (it then stays literal text), -1 on an error already reported. */
static long var_ref(struct sv_vctx *c, const char *s, size_t len, const struct sv_rawstr *raw, struct sv_part *part)
{
	const char *end = memchr(s + 2, '}', len - 2);
	if (!end)
		return 0;
	const char *name = s + 2;
	size_t n = (size_t)(end - name);
	if (n == 0)
		return 0;
	bool digits = true;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)name[i]))
			digits = false;
	if (digits) {
		unsigned long idx = 0;
		for (size_t i = 0; i < n && idx < 100000; i++)
			idx = idx * 10 + (unsigned long)(name[i] - '0');
		part->kind = PART_MATCH;
		part->slot = idx > 100000 ? 100000 : (uint32_t)idx;
		return (long)(n + 3);
	}
	/* identifier ("." identifier)*: anything else is literal text */
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (ch == '.') {
			if (i == 0 || i + 1 == n || name[i - 1] == '.')
				return 0;
			dots++;
		} else if (!(isalnum((unsigned char)ch) || ch == '_')) {
			return 0;
		}
	}
	if (isdigit((unsigned char)name[0]))
		return 0;
	if (dots > 0 && !(dots == 1 && n > 7 && strncasecmp(name, "global.", 7) == 0)) {
		const char *dot = memchr(name, '.', n);
		sv_error(c->d, raw->line, raw->col, "unknown variable namespace '%.*s'", (int)(dot - name), name);
		return -1;
	}
	bool global;
	int slot = sv_var_slot(c, name, n, raw->line, raw->col, &global);
	if (slot < 0)
		return -1;
	part->kind = PART_VAR;
	part->slot = (uint32_t)slot;
	part->global = global;
	return (long)(n + 3);
}

bool sv_str_compile(struct sv_vctx *c, const struct sv_rawstr *raw, struct sv_str *out, bool variables)
{
	memset(out, 0, sizeof *out);
	out->line = raw->line;
	out->col = raw->col;
	const char *s = raw->s;
	size_t len = raw->len;
	if ((c->u->exts & EXT_ENCODED) && !encoded_decode(c, raw, &s, &len))
		return false;
	out->s = s;
	out->len = len;
	if (!variables || !(c->u->exts & EXT_VARIABLES) || !has_ref(s, len))
		return true;
	/* Count parts first: at most one literal and one reference per "${". */
	size_t max = 1;
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '$' && s[i + 1] == '{')
			max += 2;
	struct sv_part *parts = sv_alloc(&c->p->arena, max * sizeof *parts);
	if (!parts)
		return false;
	uint32_t np = 0;
	size_t lit = 0, i = 0;
	while (i < len) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			struct sv_part ref = { 0 };
			long n = var_ref(c, s + i, len - i, raw, &ref);
			if (n < 0)
				return false;
			if (n > 0) {
				if (i > lit)
					parts[np++] = (struct sv_part){ .kind = PART_LIT, .s = s + lit, .len = i - lit };
				parts[np++] = ref;
				i += (size_t)n;
				lit = i;
				continue;
			}
		}
		i++;
	}
	if (np == 0)
		return true;
	if (len > lit)
		parts[np++] = (struct sv_part){ .kind = PART_LIT, .s = s + lit, .len = len - lit };
	out->parts = parts;
	out->nparts = np;
	return true;
}

/* ------------------------------------------------------------------ run time */

static bool sv_oom(struct sv_exec *x)
{
	sv_fail(x, 0, "out of memory");
	return false;
}

struct sv_var *sv_var_ref(struct sv_exec *x, uint32_t slot, bool global)
{
	if (global)
		return slot < x->prog->nglobals ? &x->globals[slot] : NULL;
	return slot < x->nlocals ? &x->locals[slot] : NULL;
}

bool sv_var_set(struct sv_exec *x, struct sv_var *v, const char *s, size_t len)
{
	if (len > x->lim->max_string)
		len = x->lim->max_string;   /* RFC 5229 3: values may be truncated */
	if (len + 1 > v->cap) {
		size_t cap = len + 1 < 64 ? 64 : len + 1;
		char *np = realloc(v->s, cap);
		if (!np)
			return sv_oom(x);
		v->s = np;
		v->cap = cap;
	}
	if (len)
		memmove(v->s, s, len);
	v->s[len] = '\0';
	v->len = len;
	return true;
}

bool sv_expand(struct sv_exec *x, const struct sv_str *s, struct sv_val *out)
{
	if (s->nparts == 0) {
		out->s = s->s;
		out->len = s->len;
		return true;
	}
	size_t total = 0;
	for (uint32_t i = 0; i < s->nparts; i++) {
		const struct sv_part *p = &s->parts[i];
		if (p->kind == PART_LIT) {
			total += p->len;
		} else if (p->kind == PART_MATCH) {
			total += p->slot < x->nmatch ? x->match[p->slot].len : 0;
		} else {
			const struct sv_var *v = sv_var_ref(x, p->slot, p->global);
			total += v ? v->len : 0;
		}
	}
	if (total > x->lim->max_string)
		total = x->lim->max_string;
	char *buf = sv_alloc(x->scratch, total + 1);
	if (!buf) {
		sv_fail(x, s->line, "out of memory expanding a string");
		return false;
	}
	size_t o = 0;
	for (uint32_t i = 0; i < s->nparts && o < total; i++) {
		const struct sv_part *p = &s->parts[i];
		const char *src = NULL;
		size_t n = 0;
		if (p->kind == PART_LIT) {
			src = p->s, n = p->len;
		} else if (p->kind == PART_MATCH) {
			if (p->slot < x->nmatch)
				src = x->match[p->slot].s, n = x->match[p->slot].len;
		} else {
			const struct sv_var *v = sv_var_ref(x, p->slot, p->global);
			if (v)
				src = v->s, n = v->len;
		}
		if (n > total - o)
			n = total - o;
		if (n)
			memcpy(buf + o, src, n);
		o += n;
	}
	buf[o] = '\0';
	out->s = buf;
	out->len = o;
	return true;
}

/* Characters of a UTF-8 string (bytes that do not continue a sequence). */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static bool quote_chars(struct sv_exec *x, struct sv_val *v, const char *special)
{
	size_t extra = 0;
	for (size_t i = 0; i < v->len; i++)
		if (v->s[i] && strchr(special, v->s[i]))
			extra++;
	if (!extra)
		return true;
	char *buf = sv_alloc(x->scratch, v->len + extra + 1);
	if (!buf)
		return sv_oom(x);
	size_t o = 0;
	for (size_t i = 0; i < v->len; i++) {
		if (v->s[i] && strchr(special, v->s[i]))
			buf[o++] = '\\';
		buf[o++] = v->s[i];
	}
	v->s = buf;
	v->len = o;
	return true;
}

/* Precedence order (RFC 5229 4.1): case (40), first letter (30), quoting (20), length (10). */
bool sv_apply_modifiers(struct sv_exec *x, unsigned mods, struct sv_val *v)
{
	if (!mods)
		return true;
	char *buf = sv_alloc(x->scratch, v->len + 1);
	if (!buf)
		return sv_oom(x);
	memcpy(buf, v->s, v->len);
	v->s = buf;
	for (size_t i = 0; i < v->len; i++) {
		if (mods & MOD_LOWER)
			buf[i] = (char)tolower((unsigned char)buf[i]);
		else if (mods & MOD_UPPER)
			buf[i] = (char)toupper((unsigned char)buf[i]);
	}
	if (v->len && (mods & MOD_LOWERFIRST))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	if (v->len && (mods & MOD_UPPERFIRST))
		buf[0] = (char)toupper((unsigned char)buf[0]);
	if ((mods & MOD_QUOTEWILDCARD) && !quote_chars(x, v, "*?\\"))
		return false;
	if ((mods & MOD_QUOTEREGEX) && !quote_chars(x, v, "*?\\.^$[]{}()|+"))
		return false;
	if (mods & MOD_LENGTH) {
		char *num = sv_alloc(x->scratch, 24);
		if (!num)
			return sv_oom(x);
		int n = snprintf(num, 24, "%zu", utf8_chars(v->s, v->len));
		v->s = num;
		v->len = n > 0 ? (size_t)n : 0;
	}
	return true;
}
