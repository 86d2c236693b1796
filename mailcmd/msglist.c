/* Message-list parsing (`1 3-5 * $ . ^ :n /re user`) over the session's message array. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "mailcmd/mail.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A message may be picked in this mode (deleted ones only by undelete). */
static bool eligible(const struct mail_msg *m, enum mail_list_mode mode)
{
	bool del = (m->flags & MAIL_M_DELETED) != 0;
	return mode == MAIL_LIST_DELETED ? del : !del;
}

static int fail(char *err, size_t errlen, const char *msg, const char *tok)
{
	snprintf(err, errlen, msg, tok);
	return -1;
}

/* Resolves a single-message token (number, ., $, ^) to a 1-based number or 0. */
static size_t resolve_one(const char *tok, const struct mail_msg *msgs, size_t n, size_t cur,
			  enum mail_list_mode mode)
{
	if (!strcmp(tok, "."))
		return n ? cur + 1 : 0;
	if (!strcmp(tok, "$") || !strcmp(tok, "^")) {
		bool last = tok[0] == '$';
		for (size_t k = 0; k < n; k++) {
			size_t i = last ? n - 1 - k : k;
			if (eligible(&msgs[i], mode))
				return i + 1;
		}
		return 0;
	}
	char *end;
	unsigned long v = strtoul(tok, &end, 10);
	if (*end || end == tok)
		return 0;
	return v;
}

static bool type_matches(const struct mail_msg *m, char c)
{
	switch (c) {
	case 'n': return (m->flags & MAIL_M_NEW) && !(m->flags & MAIL_M_READ);
	case 'o': return !(m->flags & MAIL_M_NEW);
	case 'u': return !(m->flags & MAIL_M_READ);
	case 'r': return (m->flags & MAIL_M_READ) != 0;
	case 'd': return (m->flags & MAIL_M_DELETED) != 0;
	case 'a': return (m->flags & MAIL_M_ANSWERED) != 0;
	case 'f': return (m->flags & MAIL_M_FLAGGED) != 0;
	default: return false;
	}
}

/* A PCRE2 caseless search of the subjects (only with regex-search set). -1 when pat is not a
 * valid expression. */
static int select_subject_regex(const char *pat, const struct mail_msg *msgs, size_t n,
				enum mail_list_mode mode, unsigned char *sel)
{
	int errcode, count = 0;
	PCRE2_SIZE erroff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				       PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
	pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
	if (!md) {
		pcre2_code_free(re);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = msgs[i].subject ? msgs[i].subject : "";
		if (eligible(&msgs[i], mode) && !sel[i] && pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0) {
			sel[i] = 1;
			count++;
		}
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return count;
}

/* `/text`: Heirloom's search, the subjects holding text (ASCII case ignored); an empty text
 * repeats the last search. With the variable regex-search set, text is a PCRE2 expression. */
static int select_subject(const char *pat, const struct mail_msg *msgs, size_t n, enum mail_list_mode mode,
			  unsigned char *sel, char *err, size_t errlen)
{
	static char last[256];
	int count = 0;
	if (!*pat)
		pat = last;
	else
		snprintf(last, sizeof last, "%s", pat);
	if (!*pat)
		return fail(err, errlen, "%s", "No previous search string");
	if (mail_var_isset("regex-search")) {
		count = select_subject_regex(pat, msgs, n, mode, sel);
		return count < 0 ? fail(err, errlen, "%s: not a regular expression", pat) : count;
	}
	for (size_t i = 0; i < n; i++)
		if (eligible(&msgs[i], mode) && !sel[i] && strcasestr(msgs[i].subject ? msgs[i].subject : "", pat)) {
			sel[i] = 1;
			count++;
		}
	return count;
}

bool mail_from_matches(const char *from, const char *name)
{
	char addr[512];
	if (!from || !*name)
		return false;
	mail_skin(from, addr, sizeof addr);
	if (!strcasecmp(addr, name))
		return true;
	size_t nl = strlen(name);
	if (!strncasecmp(addr, name, nl) && addr[nl] == '@')
		return true;
	return strcasestr(from, name) != NULL;
}

/* Display position k's message, and message i's position, under order (or none). */
static size_t nth(const struct mail_order *o, size_t k)
{
	return o && k < o->n ? o->nth[k] : k;
}

static size_t pos(const struct mail_order *o, size_t i)
{
	return o && i < o->n ? o->pos[i] : i;
}

/* Messages a..b (1-based), from a's display position to b's under order. */
static int select_range(size_t a, size_t b, const struct mail_msg *msgs, size_t n, enum mail_list_mode mode,
			const struct mail_order *o, unsigned char *sel, char *err, size_t errlen, const char *tok)
{
	int count = 0;
	if (a < 1 || b > n)
		return fail(err, errlen, "%s: Invalid message number", tok);
	size_t from = pos(o, a - 1), to = pos(o, b - 1);
	if (from > to)
		return fail(err, errlen, "%s: Invalid message number", tok);
	for (size_t k = from; k <= to; k++) {
		size_t i = nth(o, k);
		if (eligible(&msgs[i], mode)) {
			count += !sel[i];
			sel[i] = 1;
		}
	}
	return count;
}

/* `-` and `+`: the undeleted message before or after the current one (Heirloom's TDASH/TPLUS). */
static int select_step(int dir, const struct mail_msg *msgs, size_t n, size_t cur, enum mail_list_mode mode,
		       const struct mail_order *o, unsigned char *sel, char *err, size_t errlen)
{
	for (long k = (long)pos(o, cur) + dir; k >= 0 && k < (long)n; k += dir)
		if (eligible(&msgs[nth(o, (size_t)k)], mode)) {
			sel[nth(o, (size_t)k)] = 1;
			return 1;
		}
	return fail(err, errlen, "%s", dir > 0 ? "Referencing beyond EOF" : "Referencing before 1");
}

/* One whitespace-separated token; returns how many it added or -1. */
static int select_token(const char *tok, const struct mail_msg *msgs, size_t n, size_t cur,
			enum mail_list_mode mode, const struct mail_order *o, unsigned char *sel, char *err,
			size_t errlen)
{
	if (!strcmp(tok, "*"))
		return select_range(1, n ? n : 1, msgs, n, mode, NULL, sel, err, errlen, tok);
	if (tok[0] == ':') {
		int count = 0;
		if (!tok[1] || strspn(tok + 1, "nourdaf") != strlen(tok + 1))
			return fail(err, errlen, "%s: Unknown message type", tok);
		/* :d picks deleted messages whatever the mode, as in mailx */
		for (size_t i = 0; i < n; i++)
			for (const char *c = tok + 1; *c; c++)
				if (type_matches(&msgs[i], *c) &&
				    (*c == 'd' || eligible(&msgs[i], mode)) && !sel[i]) {
					sel[i] = 1;
					count++;
				}
		return count;
	}
	if (tok[0] == '/')
		return select_subject(tok + 1, msgs, n, mode, sel, err, errlen);
	if ((tok[0] == '-' || tok[0] == '+') && !tok[1])
		return select_step(tok[0] == '+' ? 1 : -1, msgs, n, cur, mode, o, sel, err, errlen);
	const char *dash = strchr(tok + 1, '-');
	if ((isdigit((unsigned char)tok[0]) || strchr(".$^", tok[0])) && dash) {
		char a[32];
		snprintf(a, sizeof a, "%.*s", (int)(dash - tok), tok);
		size_t x = resolve_one(a, msgs, n, cur, mode), y = resolve_one(dash + 1, msgs, n, cur, mode);
		if (!x || !y)
			return fail(err, errlen, "%s: Invalid message number", tok);
		return select_range(x, y, msgs, n, mode, o, sel, err, errlen, tok);
	}
	if (isdigit((unsigned char)tok[0]) || (strchr(".$^", tok[0]) && !tok[1])) {
		size_t x = resolve_one(tok, msgs, n, cur, mode);
		if (x < 1 || x > n)
			return fail(err, errlen, "%s: Invalid message number", tok);
		/* an explicit number may name a deleted message only for undelete */
		if (!eligible(&msgs[x - 1], mode))
			return fail(err, errlen, "%s: Inappropriate message", tok);
		sel[x - 1] = 1;
		return 1;
	}
	int count = 0;
	for (size_t i = 0; i < n; i++)
		if (eligible(&msgs[i], mode) && mail_from_matches(msgs[i].from, tok) && !sel[i]) {
			sel[i] = 1;
			count++;
		}
	return count;
}

int mail_msglist_parse(const char *spec, const struct mail_msg *msgs, size_t n, size_t cur,
		       enum mail_list_mode mode, unsigned char *sel, char *err, size_t errlen)
{
	return mail_msglist_parse_in(spec, msgs, n, cur, mode, NULL, sel, err, errlen);
}

int mail_msglist_parse_in(const char *spec, const struct mail_msg *msgs, size_t n, size_t cur,
			  enum mail_list_mode mode, const struct mail_order *o, unsigned char *sel, char *err,
			  size_t errlen)
{
	char buf[1024], *save = NULL;
	int total = 0;
	err[0] = '\0';
	memset(sel, 0, n);
	if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf)
		return fail(err, errlen, "%s", "Message list too long");
	for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		int c = select_token(tok, msgs, n, cur, mode, o, sel, err, errlen);
		if (c < 0)
			return -1;
		total += c;
	}
	total = 0;
	for (size_t i = 0; i < n; i++)
		total += sel[i] != 0;
	if (total == 0)
		return fail(err, errlen, "%s", mode == MAIL_LIST_DELETED ? "No applicable messages"
									 : "No applicable messages");
	return total;
}
