/* Tests: RFC 5228's address, allof, anyof, envelope, exists, false, header, not, size, true,
 * and string (RFC 5229), body (RFC 5173), mailboxexists (RFC 5490); the rest live with
 * their extension (date.c, flags.c, duplicate.c). */
#include "sieve/internal.h"

#include <string.h>
#include <strings.h>

/* The values of one header name, narrowed by :index/:last (RFC 5260 6). */
static const struct sv_hdrval *header_values(struct sv_exec *x, const struct sv_cmd *c, const struct sv_val *name,
					     size_t *n)
{
	const struct sv_hdrval *v = sv_msg_header(x, name->s, name->len, n);
	if (!v || !c->m.index)
		return v;
	if (c->m.index > *n) {
		*n = 0;
		return NULL;
	}
	size_t i = c->m.last ? *n - c->m.index : c->m.index - 1;
	*n = 1;
	return &v[i];
}

/* Calls fn for each value of each header the test names (narrowed by :index); stops at
 * the first non-zero return. */
typedef int (*hv_fn)(struct sv_exec *x, const struct sv_cmd *c, const struct sv_hdrval *v, size_t *count);

static int each_header_value(struct sv_exec *x, const struct sv_cmd *c, hv_fn fn, size_t *count)
{
	for (uint32_t h = 0; h < c->list[0]->n; h++) {
		struct sv_val name;
		if (!sv_expand(x, &c->list[0]->v[h], &name))
			return -1;
		size_t n;      /* an invalid name has no values (sv_msg_header) */
		const struct sv_hdrval *v = header_values(x, c, &name, &n);
		if (x->failed)
			return -1;
		for (size_t i = 0; i < n; i++) {
			int r = fn(x, c, &v[i], count);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

static int header_one(struct sv_exec *x, const struct sv_cmd *c, const struct sv_hdrval *v, size_t *count)
{
	if (c->m.mt == MT_COUNT) {
		(*count)++;
		return 0;
	}
	return sv_match_value(x, c, &c->m, c->list[1], v->s, v->len);
}

static int test_header(struct sv_exec *x, const struct sv_cmd *c)
{
	size_t count = 0;
	int r = each_header_value(x, c, header_one, &count);
	return r != 0 || c->m.mt != MT_COUNT ? r : sv_match_count(x, c, c->list[1], count);
}

/* Matches one address part against the keys; *count gathers :count. */
static int match_address(struct sv_exec *x, const struct sv_cmd *c, const struct sv_addr *ad, size_t *count)
{
	struct sv_val part;
	const char *delims = x->opts->recipient_delimiter ? x->opts->recipient_delimiter : "+";
	if (!sv_addr_part(ad, c->m.ap, delims, &part))
		return 0;
	if (c->m.mt == MT_COUNT) {
		(*count)++;
		return 0;
	}
	return sv_match_value(x, c, &c->m, c->list[1], part.s, part.len);
}

static int address_one(struct sv_exec *x, const struct sv_cmd *c, const struct sv_hdrval *v, size_t *count)
{
	/* charged as the parse the cache saves, so limits do not depend on it */
	if (!sv_step(x, 1 + v->raw_len / 64, c->line))
		return -1;
	const struct sv_addr *addrs;
	int na = sv_msg_addresses(x, v, &addrs);
	if (na == -2)
		return -1;
	if (na < 0)
		na = 1;    /* the invalid list as one pseudo-address */
	for (int k = 0; k < na; k++) {
		int r = match_address(x, c, &addrs[k], count);
		if (r != 0)
			return r;
	}
	return 0;
}

static int test_address(struct sv_exec *x, const struct sv_cmd *c)
{
	size_t count = 0;
	int r = each_header_value(x, c, address_one, &count);
	return r != 0 || c->m.mt != MT_COUNT ? r : sv_match_count(x, c, c->list[1], count);
}

/* An envelope address is a bare addr-spec: split at the last '@'; "" is the null sender. */
static void envelope_addr(const char *s, struct sv_addr *ad)
{
	size_t len = strlen(s);
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>')
		s++, len -= 2;
	const char *at = len ? memrchr(s, '@', len) : NULL;
	*ad = (struct sv_addr){ .all = s, .all_len = len };
	if (len == 0)
		return;       /* null reverse path: only :all "" matches (RFC 5228 5.4) */
	ad->local = s;
	ad->local_len = at ? (size_t)(at - s) : len;
	if (at) {
		ad->domain = at + 1;
		ad->domain_len = len - ad->local_len - 1;
	}
}

static int test_envelope(struct sv_exec *x, const struct sv_cmd *c)
{
	size_t count = 0;
	const struct sieve_envelope *e = x->env;
	for (uint32_t h = 0; h < c->list[0]->n; h++) {
		struct sv_val part;
		if (!sv_expand(x, &c->list[0]->v[h], &part))
			return -1;
		const char *v = NULL;
		if (strcasecmp(part.s, "from") == 0)
			v = e->sender ? e->sender : "";
		else if (strcasecmp(part.s, "to") == 0)
			/* the original recipient when known, as Pigeonhole does */
			v = e->orig_recipient && *e->orig_recipient ? e->orig_recipient : e->recipient;
		else if (strcasecmp(part.s, "auth") == 0)
			v = e->auth;
		if (!v)
			continue;
		struct sv_addr ad;
		envelope_addr(v, &ad);
		int r = match_address(x, c, &ad, &count);
		if (r != 0)
			return r;
	}
	return c->m.mt == MT_COUNT ? sv_match_count(x, c, c->list[1], count) : 0;
}

static int test_exists(struct sv_exec *x, const struct sv_cmd *c)
{
	for (uint32_t h = 0; h < c->list[0]->n; h++) {
		struct sv_val name;
		size_t n;
		if (!sv_expand(x, &c->list[0]->v[h], &name))
			return -1;
		sv_msg_header(x, name.s, name.len, &n);    /* none for an invalid name */
		if (x->failed)
			return -1;
		if (n == 0)
			return 0;
	}
	return 1;
}

static int test_string(struct sv_exec *x, const struct sv_cmd *c)
{
	size_t count = 0;
	for (uint32_t i = 0; i < c->list[0]->n; i++) {
		struct sv_val v;
		if (!sv_expand(x, &c->list[0]->v[i], &v))
			return -1;
		if (c->m.mt == MT_COUNT) {
			count += v.len > 0;    /* RFC 5229 5: empty strings do not count */
			continue;
		}
		int r = sv_match_value(x, c, &c->m, c->list[1], v.s, v.len);
		if (r != 0)
			return r;
	}
	return c->m.mt == MT_COUNT ? sv_match_count(x, c, c->list[1], count) : 0;
}

static int test_body(struct sv_exec *x, const struct sv_cmd *c)
{
	const struct sv_bodypart *parts;
	size_t n;
	if (sv_body_values(x, c, &parts, &n) < 0)
		return -1;
	if (c->m.mt == MT_COUNT)
		return sv_match_count(x, c, c->list[1], n);
	for (size_t i = 0; i < n; i++) {
		int r = sv_match_value(x, c, &c->m, c->list[1], parts[i].s, parts[i].len);
		if (r != 0)
			return r;
	}
	return 0;
}

static int test_mailboxexists(struct sv_exec *x, const struct sv_cmd *c)
{
	for (uint32_t i = 0; i < c->list[0]->n; i++) {
		struct sv_val name;
		char path[SV_PATH_MAX];
		const char *why;
		if (!sv_expand(x, &c->list[0]->v[i], &name))
			return -1;
		if (strlen(name.s) != name.len)
			return 0;
		int r = sieve_folder_path(name.s, path, sizeof path, &why);
		if (r < 0)
			return 0;
		if (r == 1)
			continue;    /* INBOX always exists */
		if (!x->opts->mailbox_exists)
			return 0;
		r = x->opts->mailbox_exists(x->opts->mailbox_ctx, name.s, path);
		if (r < 0)
			return sv_fail(x, c->line, "cannot tell whether folder '%.64s' exists", name.s);
		if (r == 0)
			return 0;
	}
	return 1;
}

int sv_test(struct sv_exec *x, const struct sv_cmd *c)
{
	if (!sv_step(x, 1, c->line))
		return -1;
	switch (c->op) {
	case OP_TRUE:
		return 1;
	case OP_FALSE:
		return 0;
	case OP_NOT: {
		int r = sv_test(x, c->test);
		return r < 0 ? r : !r;
	}
	case OP_ALLOF:
	case OP_ANYOF:
		for (uint32_t i = 0; i < c->ntests; i++) {
			int r = sv_test(x, c->tests[i]);
			if (r < 0)
				return r;
			if (r == (c->op == OP_ANYOF))
				return r;
		}
		return c->op == OP_ALLOF;
	case OP_SIZE: {
		uint64_t size = (uint64_t)sv_msg_size(x->msg);
		return (c->bits & B_OVER) ? size > c->num : size < c->num;
	}
	case OP_HEADER:
		return test_header(x, c);
	case OP_ADDRESS:
		return test_address(x, c);
	case OP_ENVELOPE:
		return test_envelope(x, c);
	case OP_EXISTS:
		return test_exists(x, c);
	case OP_STRING:
		return test_string(x, c);
	case OP_BODY:
		return test_body(x, c);
	case OP_HASFLAG:
		return sv_test_hasflag(x, c);
	case OP_DATE:
	case OP_CURRENTDATE:
		return sv_test_date(x, c);
	case OP_DUPLICATE:
		return sv_test_duplicate(x, c);
	case OP_MAILBOXEXISTS:
		return test_mailboxexists(x, c);
	default:
		return sv_fail(x, c->line, "not a test");
	}
}
