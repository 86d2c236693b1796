/* imap4flags (RFC 5232): flag sets kept as space-separated words in variables (or the
 * internal variable), setflag/addflag/removeflag, hasflag, :flags, and their mbox form. */
#include "sieve/internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const system_flags[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft" };

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A flag an IMAP store accepts: a known system flag or a keyword atom (RFC 3501). */
static const char *flag_canonical(const char *s, size_t len)
{
	if (len && s[0] == '\\') {
		for (size_t i = 0; i < sizeof system_flags / sizeof system_flags[0]; i++)
			if (strlen(system_flags[i]) == len && strncasecmp(system_flags[i], s, len) == 0)
				return system_flags[i];
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c >= 127 || strchr("(){%*\"\\]", c))
			return NULL;
	}
	return len ? s : NULL;
}

size_t sv_flags_split(struct sv_arena *a, const char *s, size_t len, const char ***out)
{
	size_t words = 0;
	for (size_t i = 0; i < len; i++)
		if (!is_space(s[i]) && (i == 0 || is_space(s[i - 1])))
			words++;
	*out = NULL;
	if (!words)
		return 0;
	const char **v = sv_alloc(a, words * sizeof *v);
	if (!v)
		return 0;
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && is_space(s[i]))
			i++;
		size_t start = i;
		while (i < len && !is_space(s[i]))
			i++;
		if (i == start)
			break;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strlen(v[k]) == i - start && strncasecmp(v[k], s + start, i - start) == 0;
		if (dup)
			continue;
		const char *canon = start < len && s[start] == '\\' ? flag_canonical(s + start, i - start) : NULL;
		v[n] = canon ? canon : sv_strndup(a, s + start, i - start);
		if (!v[n])
			return n;
		n++;
	}
	*out = v;
	return n;
}

/* The words of every string of a list, after expansion, as one flag list. */
static bool list_words(struct sv_exec *x, const struct sv_list *l, const char ***out, size_t *n)
{
	struct sv_buf b = { 0 };
	for (uint32_t i = 0; i < l->n; i++) {
		struct sv_val v;
		if (!sv_expand(x, &l->v[i], &v)) {
			sv_buf_free(&b);
			return false;
		}
		sv_buf_add(&b, v.s, v.len);
		sv_buf_add(&b, " ", 1);
	}
	if (b.oom) {
		sv_buf_free(&b);
		return sv_fail(x, 0, "out of memory") == 0;
	}
	*n = sv_flags_split(x->scratch, b.p ? b.p : "", b.len, out);
	sv_buf_free(&b);
	return true;
}

static bool has_word(const char *const *v, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], w) == 0)
			return true;
	return false;
}

bool sv_flags_apply(struct sv_exec *x, struct sv_var *var, int op, const struct sv_list *flags)
{
	const char **add, **cur = NULL;
	size_t nadd, ncur = 0;
	if (!list_words(x, flags, &add, &nadd))
		return false;
	if (op != OP_SETFLAG)
		ncur = sv_flags_split(x->scratch, var->s ? var->s : "", var->len, &cur);
	struct sv_buf b = { 0 };
	for (size_t i = 0; i < ncur; i++) {
		if (op == OP_REMOVEFLAG && has_word(add, nadd, cur[i]))
			continue;
		sv_buf_fmt(&b, "%s%s", b.len ? " " : "", cur[i]);
	}
	for (size_t i = 0; op != OP_REMOVEFLAG && i < nadd; i++)
		if (!has_word(cur, ncur, add[i]))
			sv_buf_fmt(&b, "%s%s", b.len ? " " : "", add[i]);
	bool ok = !b.oom && sv_var_set(x, var, b.p ? b.p : "", b.len);
	sv_buf_free(&b);
	if (!ok && !x->failed)
		sv_fail(x, 0, "out of memory");
	return ok;
}

int sv_test_hasflag(struct sv_exec *x, const struct sv_cmd *c)
{
	const char **keys = NULL;
	size_t nkeys = 0, count = 0;
	if (c->m.mt != MT_COUNT && !list_words(x, c->list[1], &keys, &nkeys))
		return -1;
	/* The keys are flag lists too ("b A" is two flags): match against each word. */
	struct sv_list kl = { sv_alloc(x->scratch, (nkeys ? nkeys : 1) * sizeof(struct sv_str)), (uint32_t)nkeys };
	if (!kl.v)
		return sv_fail(x, c->line, "out of memory");
	for (size_t i = 0; i < nkeys; i++)
		kl.v[i] = (struct sv_str){ .s = keys[i], .len = strlen(keys[i]) };
	struct sv_match m = c->m;
	m.rx = NULL;     /* regexes of the split keys are compiled as they come */
	uint32_t nvars = (c->bits & B_HASVAR) ? c->list[0]->n : 1;
	for (uint32_t v = 0; v < nvars; v++) {
		struct sv_var *var = sv_flag_target(x, c, v);
		if (!var)
			continue;
		const char **fl;
		size_t nf = sv_flags_split(x->scratch, var->s ? var->s : "", var->len, &fl);
		if (c->m.mt == MT_COUNT) {
			count += nf;
			continue;
		}
		for (size_t i = 0; i < nf; i++) {
			int r = sv_match_value(x, c, &m, &kl, fl[i], strlen(fl[i]));
			if (r != 0)
				return r;
		}
	}
	return c->m.mt == MT_COUNT ? sv_match_count(x, c, c->list[1], count) : 0;
}

bool sv_action_flags(struct sv_exec *x, const struct sv_cmd *c, const char *const **out, size_t *n)
{
	const char **words;
	size_t nw;
	if (c->bits & B_HASFLAGS) {
		if (!list_words(x, c->tlist, &words, &nw))
			return false;
	} else {
		nw = sv_flags_split(x->scratch, x->flags.s ? x->flags.s : "", x->flags.len, &words);
	}
	/* Flags a mailbox cannot store are ignored, never an error (RFC 5232 5). */
	size_t k = 0;
	for (size_t i = 0; i < nw; i++) {
		const char *canon = flag_canonical(words[i], strlen(words[i]));
		if (canon)
			words[k++] = canon;
	}
	*out = words;
	*n = k;
	return true;
}

void sieve_flags_mbox(const char *const *flags, size_t n, char *status, size_t ssize, char *xstatus, size_t xsize,
		      char *keywords, size_t ksize)
{
	bool seen = false;
	char x[8];
	size_t xn = 0, kn = 0;
	if (ksize)
		keywords[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *f = flags[i];
		if (strcasecmp(f, "\\Seen") == 0)
			seen = true;
		else if (strcasecmp(f, "\\Answered") == 0 && !memchr(x, 'A', xn))
			x[xn++] = 'A';
		else if (strcasecmp(f, "\\Flagged") == 0 && !memchr(x, 'F', xn))
			x[xn++] = 'F';
		else if (strcasecmp(f, "\\Deleted") == 0 && !memchr(x, 'D', xn))
			x[xn++] = 'D';
		else if (strcasecmp(f, "\\Draft") == 0 && !memchr(x, 'T', xn))
			x[xn++] = 'T';
		else if (f[0] != '\\' && ksize) {
			int w = snprintf(keywords + kn, ksize - kn, "%s%s", kn ? " " : "", f);
			if (w > 0 && (size_t)w < ksize - kn)
				kn += (size_t)w;
			else
				keywords[kn] = '\0';
		}
	}
	/* Status: "R" read, "O" old: a message the user has seen is not new either. */
	snprintf(status, ssize, "%s", seen ? "RO" : "");
	snprintf(xstatus, xsize, "%.*s", (int)xn, x);
}
