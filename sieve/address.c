/* RFC 5322 address lists for the address and envelope tests: groups, display names,
 * angle addresses with obsolete routes, quoted local parts, comments, domain literals;
 * address parts :all :localpart :domain and subaddress :user :detail (RFC 5233). */
#include "sieve/internal.h"

#include <string.h>

enum { K_ATOM, K_QSTR, K_DLIT, K_SPECIAL };

struct tok {
	uint8_t kind;
	char ch;              /* K_SPECIAL */
	const char *s;        /* K_ATOM/K_DLIT: text; K_QSTR: raw content (escapes kept) */
	size_t len;
};

static bool is_special(char c)
{
	switch (c) {
	case '(': case ')': case '<': case '>': case '[': case ']': case ':': case ';': case '@':
	case '\\': case ',': case '.': case '"':
		return true;
	default:
		return false;
	}
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Splits s into tokens, dropping blanks and comments. -1 when unbalanced. */
static int tokenize(const char *s, size_t len, struct tok *t, size_t max)
{
	size_t i = 0;
	int n = 0;
	while (i < len) {
		char c = s[i];
		if (is_wsp(c)) {
			i++;
			continue;
		}
		if (c == '(') {
			int depth = 0;
			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i >= len)
				return -1;
			i++;
			continue;
		}
		if ((size_t)n >= max)
			return -1;
		struct tok *k = &t[n++];
		if (c == '"') {
			size_t start = ++i;
			while (i < len && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			if (i >= len)
				return -1;
			*k = (struct tok){ K_QSTR, 0, s + start, i - start };
			i++;
		} else if (c == '[') {
			size_t start = i;
			while (i < len && s[i] != ']')
				i++;
			if (i >= len)
				return -1;
			i++;
			*k = (struct tok){ K_DLIT, 0, s + start, i - start };
		} else if (is_special(c)) {
			*k = (struct tok){ K_SPECIAL, c, s + i, 1 };
			i++;
		} else {
			size_t start = i;
			while (i < len && !is_wsp(s[i]) && !is_special(s[i]) && (unsigned char)s[i] >= 32)
				i++;
			if (i == start)
				return -1;   /* a control character */
			*k = (struct tok){ K_ATOM, 0, s + start, i - start };
		}
	}
	return n;
}

static bool is_sp(const struct tok *t, int n, int i, char c)
{
	return i < n && t[i].kind == K_SPECIAL && t[i].ch == c;
}

static bool is_word(const struct tok *t, int n, int i)
{
	return i < n && (t[i].kind == K_ATOM || t[i].kind == K_QSTR);
}

struct parser {
	const struct tok *t;
	int n, i;
	struct sv_arena *a;
	struct sv_addr *out;
	size_t max, count;
};

/* Text of tokens [from, to) with quoted strings unquoted, into arena memory. */
static char *join(struct parser *p, int from, int to, size_t *len)
{
	size_t total = 0;
	for (int i = from; i < to; i++)
		total += p->t[i].len;
	char *s = sv_alloc_raw(p->a, total + 1);
	if (!s)
		return NULL;
	size_t o = 0;
	for (int i = from; i < to; i++) {
		const struct tok *k = &p->t[i];
		for (size_t j = 0; j < k->len; j++) {
			if (k->kind == K_QSTR && k->s[j] == '\\' && j + 1 < k->len)
				j++;
			s[o++] = k->s[j];
		}
	}
	s[o] = '\0';
	*len = o;
	return s;
}

/* addr-spec from p->i up to a token that is not part of it. */
static bool addr_spec(struct parser *p)
{
	int start = p->i;
	while (is_word(p->t, p->n, p->i) || is_sp(p->t, p->n, p->i, '.'))
		p->i++;
	int local_end = p->i;
	if (local_end == start)
		return false;
	struct sv_addr ad = { 0 };
	ad.local = join(p, start, local_end, &ad.local_len);
	if (!ad.local)
		return false;
	if (is_sp(p->t, p->n, p->i, '@')) {
		p->i++;
		int dstart = p->i;
		if (p->i < p->n && p->t[p->i].kind == K_DLIT)
			p->i++;
		else
			while ((p->i < p->n && p->t[p->i].kind == K_ATOM) || is_sp(p->t, p->n, p->i, '.'))
				p->i++;
		if (p->i == dstart)
			return false;
		ad.domain = join(p, dstart, p->i, &ad.domain_len);
		if (!ad.domain)
			return false;
	} else {
		return false;   /* RFC 5322 wants a domain; "root" alone is not an address */
	}
	if (ad.domain) {
		char *all = sv_alloc_raw(p->a, ad.local_len + ad.domain_len + 2);
		if (!all)
			return false;
		memcpy(all, ad.local, ad.local_len);
		all[ad.local_len] = '@';
		memcpy(all + ad.local_len + 1, ad.domain, ad.domain_len);
		all[ad.local_len + 1 + ad.domain_len] = '\0';
		ad.all = all;
		ad.all_len = ad.local_len + ad.domain_len + 1;
	} else {
		ad.all = ad.local;
		ad.all_len = ad.local_len;
	}
	if (p->count < p->max)
		p->out[p->count++] = ad;
	return true;
}

static bool mailbox(struct parser *p)
{
	int j = p->i;
	while (is_word(p->t, p->n, j) || is_sp(p->t, p->n, j, '.'))
		j++;
	if (is_sp(p->t, p->n, j, '<')) {
		p->i = j + 1;
		if (is_sp(p->t, p->n, p->i, '@')) {   /* obsolete route @a,@b: */
			while (p->i < p->n && !is_sp(p->t, p->n, p->i, ':') && !is_sp(p->t, p->n, p->i, '>'))
				p->i++;
			if (!is_sp(p->t, p->n, p->i, ':'))
				return false;
			p->i++;
		}
		if (!addr_spec(p) || !is_sp(p->t, p->n, p->i, '>'))
			return false;
		p->i++;
		return true;
	}
	return addr_spec(p);
}

static bool entry(struct parser *p)
{
	int j = p->i;
	while (is_word(p->t, p->n, j) || is_sp(p->t, p->n, j, '.'))
		j++;
	if (j > p->i && is_sp(p->t, p->n, j, ':')) {
		p->i = j + 1;
		for (;;) {
			while (is_sp(p->t, p->n, p->i, ','))
				p->i++;
			if (is_sp(p->t, p->n, p->i, ';')) {
				p->i++;
				return true;
			}
			if (p->i >= p->n)
				return true;    /* a group missing its ';' is common enough */
			if (!mailbox(p))
				return false;
		}
	}
	return mailbox(p);
}

int sv_addr_parse(struct sv_arena *a, const char *s, size_t len, struct sv_addr *out, size_t max)
{
	struct tok stack[64], *t = stack;
	size_t tmax = sizeof stack / sizeof stack[0];
	if (len > 48) {
		tmax = len + 1;
		t = sv_alloc_raw(a, tmax * sizeof *t);
		if (!t)
			return -1;
	}
	int n = tokenize(s, len, t, tmax);
	struct parser p = { t, n, 0, a, out, max, 0 };
	bool ok = n >= 0;
	while (ok && p.i < p.n) {
		if (is_sp(t, n, p.i, ',')) {
			p.i++;
			continue;
		}
		ok = entry(&p) && (p.i >= p.n || is_sp(t, n, p.i, ','));
	}
	if (ok)
		return (int)p.count;
	/* Not an address list: one pseudo-address holding the trimmed text, which only :all
	 * can match (RFC 5228 5.1). */
	while (len && is_wsp(*s))
		s++, len--;
	while (len && is_wsp(s[len - 1]))
		len--;
	if (max == 0)
		return -1;
	out[0] = (struct sv_addr){ .all = s, .all_len = len };
	return -1;
}

bool sv_addr_part(const struct sv_addr *ad, int ap, const char *delims, struct sv_val *out)
{
	if (ap == AP_ALL) {
		out->s = ad->all;
		out->len = ad->all_len;
		return true;
	}
	if (!ad->local)
		return false;
	if (ap == AP_DOMAIN) {
		if (!ad->domain)
			return false;
		out->s = ad->domain;
		out->len = ad->domain_len;
		return true;
	}
	if (ap == AP_LOCAL) {
		out->s = ad->local;
		out->len = ad->local_len;
		return true;
	}
	/* :user / :detail split at the first delimiter character. */
	size_t cut = ad->local_len;
	for (size_t i = 0; delims && *delims && i < ad->local_len; i++)
		if (strchr(delims, ad->local[i])) {
			cut = i;
			break;
		}
	if (ap == AP_USER) {
		out->s = ad->local;
		out->len = cut;
		return true;
	}
	if (cut == ad->local_len)
		return false;    /* no detail: :detail matches nothing (RFC 5233 4) */
	out->s = ad->local + cut + 1;
	out->len = ad->local_len - cut - 1;
	return true;
}
