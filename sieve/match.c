/* Comparators (i;octet, i;ascii-casemap, i;ascii-numeric: RFC 4790) and match types
 * (:is :contains :matches, :regex, relational :count/:value: RFC 5231), with match
 * variables (RFC 5229 3.2) and a step cost proportional to the bytes compared. */
#include "sieve/internal.h"

#include <stdio.h>
#include <string.h>

static unsigned char upper_tab[256];
/* How common a byte is in mail text, only the order matters: blanks, then letters by their
 * frequency in English, then the rest; digits and most punctuation are rare. */
static unsigned char common_tab[256];

static void upper_init(void)
{
	if (upper_tab['a'])
		return;
	static const char by_frequency[] = "etaoinsrhldcumfpgwybvkxjqz";
	for (int i = 0; i < 256; i++) {
		upper_tab[i] = (unsigned char)(i >= 'a' && i <= 'z' ? i - 32 : i);
		common_tab[i] = i >= 128 ? 30 : 20;
	}
	for (int i = 0; by_frequency[i]; i++) {
		common_tab[(unsigned char)by_frequency[i]] = (unsigned char)(250 - 4 * i);
		common_tab[(unsigned char)by_frequency[i] - 32] = (unsigned char)(250 - 4 * i);
	}
	for (const char *p = ".,-'"; *p; p++)
		common_tab[(unsigned char)*p] = 120;
	common_tab[' '] = common_tab['\n'] = 255;
	common_tab['\t'] = common_tab['\r'] = 200;
}

static inline unsigned char fold(int cmp, unsigned char c)
{
	return cmp == CMP_CASEMAP ? upper_tab[c] : c;
}

/* i;ascii-numeric: the value of the leading digits; no digit is positive infinity. */
static int numeric_order(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t da = 0, db = 0;
	while (da < alen && a[da] >= '0' && a[da] <= '9')
		da++;
	while (db < blen && b[db] >= '0' && b[db] <= '9')
		db++;
	if (da == 0 || db == 0)
		return da == 0 && db == 0 ? 0 : da == 0 ? 1 : -1;
	size_t za = 0, zb = 0;
	while (za + 1 < da && a[za] == '0')
		za++;
	while (zb + 1 < db && b[zb] == '0')
		zb++;
	if (da - za != db - zb)
		return da - za < db - zb ? -1 : 1;
	int r = memcmp(a + za, b + zb, da - za);
	return r < 0 ? -1 : r > 0;
}

int sv_cmp_order(int cmp, const char *a, size_t alen, const char *b, size_t blen)
{
	if (cmp == CMP_NUMERIC)
		return numeric_order(a, alen, b, blen);
	upper_init();
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = fold(cmp, (unsigned char)a[i]), y = fold(cmp, (unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

bool sv_rel_holds(int rel, int order)
{
	switch (rel) {
	case REL_GT: return order > 0;
	case REL_GE: return order >= 0;
	case REL_LT: return order < 0;
	case REL_LE: return order <= 0;
	case REL_EQ: return order == 0;
	default: return order != 0;
	}
}

static bool is_equal(int cmp, const char *a, size_t alen, const char *b, size_t blen)
{
	if (cmp == CMP_OCTET)
		return alen == blen && memcmp(a, b, alen) == 0;
	if (cmp == CMP_CASEMAP && alen != blen)
		return false;
	return sv_cmp_order(cmp, a, alen, b, blen) == 0;
}

/* ASCII upper case of 8 bytes at once: a byte gets 0x20 off where it is 'a'..'z'. */
static uint64_t upper8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t low7 = w & ~high;                      /* no carry can leave a byte below */
	uint64_t from_a = low7 + ones * (0x80 - 'a');   /* high bit: byte >= 'a' */
	uint64_t past_z = low7 + ones * (0x80 - 'z' - 1);
	uint64_t lower = from_a & ~past_z & ~w & high;
	return w ^ (lower >> 2);
}

static void fold_copy(char *out, const char *s, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		w = upper8(w);
		memcpy(out + i, &w, 8);
	}
	for (; i < len; i++)
		out[i] = (char)upper_tab[(unsigned char)s[i]];
}

/* ASCII upper-case copy of s: long values that live as long as the execution (body parts,
 * headers: the message arena) are folded once and kept in a small cache, so 25 body tests
 * fold the body once. Values in scratch memory are never cached: their address may be
 * reused for other bytes by the next command. */
static const char *folded(struct sv_exec *x, const char *s, size_t len, char *stackbuf, size_t bufsize)
{
	struct sv_fold *fc = x->fold;
	bool cache = len >= SV_FOLD_MIN && sv_arena_owns(sv_msg_arena(x->msg), s);
	if (cache)
		for (unsigned i = 0; i < SV_FOLD_CACHE; i++)
			if (fc[i].src == s && fc[i].len == len)
				return fc[i].fold;
	char *out = len < bufsize ? stackbuf : sv_alloc_raw(cache ? sv_msg_arena(x->msg) : x->scratch, len + 1);
	if (!out)
		return NULL;
	fold_copy(out, s, len);
	out[len] = '\0';
	if (cache && out != stackbuf) {
		struct sv_fold *slot = &fc[x->fold_next++ % SV_FOLD_CACHE];
		*slot = (struct sv_fold){ s, len, out };
	}
	return out;
}

/* The key's least common byte (common_tab). */
static size_t rarest_byte(const char *k, size_t klen)
{
	size_t best = 0;
	for (size_t i = 1; i < klen; i++)
		if (common_tab[(unsigned char)k[i]] < common_tab[(unsigned char)k[best]])
			best = i;
	return best;
}

/* Where k first occurs in s. Looks for the key's least common byte with memchr and compares
 * the key around each hit: in mail text a key with a digit or a rare letter then skips most
 * of a body at memchr's speed, where memmem reads every byte. After a few false hits (the
 * byte is common here after all) memmem takes over, so the worst case stays linear. */
static const char *find_key(const char *s, size_t slen, const char *k, size_t klen)
{
	if (klen < 2 || slen < 64)
		return memmem(s, slen, k, klen);
	size_t r = rarest_byte(k, klen);
	const char *p = s + r, *last = s + (slen - klen) + r;   /* where k[r] can be */
	for (unsigned misses = 0; p <= last; misses++) {
		const char *hit = memchr(p, k[r], (size_t)(last - p) + 1);
		if (!hit)
			return NULL;
		const char *start = hit - r;
		if (memcmp(start, k, klen) == 0)
			return start;
		if (misses == 32)
			return memmem(start + 1, slen - (size_t)(start + 1 - s), k, klen);
		p = hit + 1;
	}
	return NULL;
}

/* A case-insensitive search in a short value (a header field, mostly): compared in place,
 * which for a few dozen bytes costs less than folding copies of both and calling memmem.
 * At most SHORT_VALUE * klen comparisons. */
#define SHORT_VALUE 64
static bool contains_short(const char *s, size_t slen, const char *k, size_t klen)
{
	unsigned char k0 = upper_tab[(unsigned char)k[0]];
	for (size_t i = 0; i + klen <= slen; i++) {
		if (upper_tab[(unsigned char)s[i]] != k0)
			continue;
		size_t j = 1;
		while (j < klen && upper_tab[(unsigned char)s[i + j]] == upper_tab[(unsigned char)k[j]])
			j++;
		if (j == klen)
			return true;
	}
	return false;
}

static int contains(struct sv_exec *x, int cmp, const char *s, size_t slen, const char *k, size_t klen)
{
	if (klen == 0)
		return 1;
	if (klen > slen)
		return 0;
	upper_init();
	if (cmp == CMP_OCTET)
		return find_key(s, slen, k, klen) != NULL;
	if (slen < SHORT_VALUE)
		return contains_short(s, slen, k, klen);
	char sbuf[256], kbuf[256];
	const char *fs = folded(x, s, slen, sbuf, sizeof sbuf), *fk = folded(x, k, klen, kbuf, sizeof kbuf);
	if (!fs || !fk)
		return sv_fail(x, 0, "out of memory");
	return find_key(fs, slen, fk, klen) != NULL;
}

/* Glob matching of RFC 5228 2.7.1, wildcards as short as possible (RFC 5229 3.2): on a
 * mismatch only the last '*' grows, which is linear per star and never exponential. caps
 * get a [start, end) pair per wildcard. */
int sv_glob(struct sv_exec *x, int cmp, const char *pat, size_t plen, const char *s, size_t slen, size_t *caps,
	    unsigned *ncaps, unsigned maxcaps)
{
	upper_init();
	size_t p = 0, i = 0, star_p = 0, star_s = 0;
	unsigned w = 0, star_w = 0;
	bool have_star = false;
	uint64_t work = 0;
	for (;;) {
		if (++work == 4096) {
			work = 0;
			if (x && !sv_step(x, 16, 0))
				return -1;
		}
		if (p < plen) {
			char c = pat[p];
			if (c == '*') {
				have_star = true;
				star_p = p;
				star_s = i;
				star_w = w;
				if (caps && w < maxcaps)
					caps[2 * w] = caps[2 * w + 1] = i;
				w++;
				p++;
				continue;
			}
			if (i < slen) {
				if (c == '?') {
					if (caps && w < maxcaps) {
						caps[2 * w] = i;
						caps[2 * w + 1] = i + 1;
					}
					w++;
					p++;
					i++;
					continue;
				}
				size_t adv = 1;
				if (c == '\\' && p + 1 < plen) {
					c = pat[p + 1];
					adv = 2;
				}
				if (fold(cmp, (unsigned char)c) == fold(cmp, (unsigned char)s[i])) {
					p += adv;
					i++;
					continue;
				}
			}
		} else if (i == slen) {
			if (ncaps)
				*ncaps = w < maxcaps ? w : maxcaps;
			return 1;
		}
		if (!have_star || star_s >= slen)
			return 0;
		star_s++;
		if (caps && star_w < maxcaps)
			caps[2 * star_w + 1] = star_s;
		p = star_p + 1;
		i = star_s;
		w = star_w + 1;
	}
}

/* Copies the match variables of a successful :matches or :regex. */
static bool set_match_vars(struct sv_exec *x, const char *v, size_t len, const size_t *caps, unsigned ncaps,
			   bool regex)
{
	unsigned n = 0;
	if (!regex) {
		if (!sv_var_set(x, &x->match[0], v, len))
			return false;
		n = 1;
	}
	for (unsigned i = 0; i < ncaps && n < SV_MATCH_MAX; i++, n++)
		if (!sv_var_set(x, &x->match[n], v + caps[2 * i], caps[2 * i + 1] - caps[2 * i]))
			return false;
	x->nmatch = n;
	return true;
}

static int match_regex(struct sv_exec *x, const struct sv_cmd *c, const struct sv_match *m, uint32_t k,
		       const struct sv_val *key, const char *v, size_t len, bool vars)
{
	struct sv_regex *rx = m->rx ? m->rx[k] : NULL, *own = NULL;
	if (!rx) {
		char err[160];
		if (!sv_step(x, 1 + key->len / 16, c->line))
			return -1;
		own = rx = sv_regex_compile(key->s, key->len, m->cmp, err, sizeof err);
		if (!rx)
			return sv_fail(x, c->line, "invalid regular expression: %s", err);
	}
	size_t caps[2 * SV_MATCH_MAX];
	unsigned ncaps = 0;
	const char *why = NULL;
	int r = sv_regex_match(rx, v, len, x->lim, vars ? caps : NULL, vars ? &ncaps : NULL, SV_MATCH_MAX, &why);
	sv_regex_free(own);
	if (r < 0)
		return sv_fail(x, c->line, "%s", why);
	if (r == 1 && vars && !set_match_vars(x, v, len, caps, ncaps, true))
		return -1;
	return r;
}

int sv_match_value(struct sv_exec *x, const struct sv_cmd *c, const struct sv_match *m, const struct sv_list *keys,
		   const char *v, size_t len)
{
	bool vars = (x->unit->exts & EXT_VARIABLES) != 0;
	upper_init();
	for (uint32_t k = 0; k < keys->n; k++) {
		struct sv_val key;
		if (!sv_expand(x, &keys->v[k], &key) || !sv_step(x, 1 + (len + key.len) / 256, c->line))
			return -1;
		int r = 0;
		switch (m->mt) {
		case MT_IS:
			r = is_equal(m->cmp, v, len, key.s, key.len);
			break;
		case MT_CONTAINS:
			r = contains(x, m->cmp, v, len, key.s, key.len);
			break;
		case MT_MATCHES: {
			size_t caps[2 * SV_MATCH_MAX];
			unsigned ncaps = 0;
			r = sv_glob(x, m->cmp, key.s, key.len, v, len, vars ? caps : NULL, &ncaps, SV_MATCH_MAX - 1);
			if (r == 1 && vars && !set_match_vars(x, v, len, caps, ncaps, false))
				return -1;
			break;
		}
		case MT_REGEX:
			r = match_regex(x, c, m, k, &key, v, len, vars);
			break;
		case MT_VALUE:
			r = sv_rel_holds(m->rel, sv_cmp_order(m->cmp, v, len, key.s, key.len));
			break;
		default:
			r = 0;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

int sv_match_count(struct sv_exec *x, const struct sv_cmd *c, const struct sv_list *keys, size_t count)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%zu", count);
	for (uint32_t k = 0; k < keys->n; k++) {
		struct sv_val key;
		if (!sv_expand(x, &keys->v[k], &key) || !sv_step(x, 1, c->line))
			return -1;
		if (sv_rel_holds(c->m.rel, sv_cmp_order(c->m.cmp, num, (size_t)n, key.s, key.len)))
			return 1;
	}
	return 0;
}
