/* The message as tests see it: the header section read once with pread and split into
 * fields (mbox/header.h), values unfolded and RFC 2047-decoded on first use, the body read
 * only when a body test asks. */
#include "sieve/internal.h"

#include "mbox/header.h"
#include "mbox/mbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SV_HCACHE 32
#define SV_ACACHE 16
#define SV_ADDR_MAX 64

struct sv_hfield {
	struct hdr_field f;
	struct sv_hdrval val;
	bool ready;
};

struct sv_msg {
	const struct mbox_spool *sp;
	struct sv_arena *arena;
	const struct sieve_limits *lim;
	char *head;
	size_t head_len;
	bool has_body;
	struct sv_hfield *fields;
	size_t nfields;
	char *body;
	size_t body_len;
	bool body_read, body_failed;
	struct sv_mime *mime;
	/* The values of the header names tests have asked for, kept for the message: a
	 * 100-rule script asks for Subject and From again and again, and each ask was a scan of
	 * every field with two strncasecmp each. */
	struct sv_hcache {
		const char *name;
		size_t len, n;
		const struct sv_hdrval *vals;
	} hcache[SV_HCACHE];
	size_t nhcache;
	/* The addresses of the header values address tests have parsed: 25 address tests on
	 * From parsed the same field 25 times. Keyed by the value's raw text, which lives as
	 * long as the message. */
	struct sv_acache {
		const char *raw;
		const struct sv_addr *addrs;
		int n;
	} acache[SV_ACACHE];
	size_t nacache, acache_next;
};

struct sv_mime **sv_msg_mime(struct sv_msg *m)
{
	return &m->mime;
}

struct sv_arena *sv_msg_arena(struct sv_msg *m)
{
	return m->arena;
}

static bool read_at(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

struct sv_msg *sv_msg_open(const struct mbox_spool *sp, const struct sieve_limits *lim, struct sv_arena *a)
{
	struct sv_msg *m = sv_alloc(a, sizeof *m);
	if (!m)
		return NULL;
	m->sp = sp;
	m->arena = a;
	m->lim = lim;
	size_t hs = sp && sp->header_size > 0 ? (size_t)sp->header_size : 0;
	bool truncated = hs > lim->max_header_bytes;
	if (truncated)
		hs = lim->max_header_bytes;
	m->head = sv_alloc_raw(a, hs + 1);
	if (!m->head || (hs && !read_at(sp->fd, m->head, hs, 0)))
		return NULL;
	if (truncated) {
		/* keep whole lines only: a field cut in two would be a different field */
		char *nl = memrchr(m->head, '\n', hs);
		hs = nl ? (size_t)(nl - m->head) + 1 : 0;
	}
	m->head[hs] = '\0';
	m->head_len = hs;
	m->has_body = sp && (sp->header_size < sp->size ||
			     (hs >= 1 && m->head[hs - 1] == '\n' && (hs == 1 || m->head[hs - 2] == '\n')));
	size_t pos = 0, n = 0, cap = 0;
	struct hdr_field f;
	while (hdr_next(m->head, m->head_len, &pos, &f)) {
		if (f.name_len == 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct sv_hfield *nf = sv_alloc(a, nc * sizeof *nf);
			if (!nf)
				return NULL;
			if (n)
				memcpy(nf, m->fields, n * sizeof *nf);
			m->fields = nf;
			cap = nc;
		}
		m->fields[n].f = f;
		m->fields[n].ready = false;
		n++;
	}
	m->nfields = n;
	return m;
}

off_t sv_msg_size(const struct sv_msg *m)
{
	return m->sp ? m->sp->size : 0;
}

struct sv_val sv_msg_head(const struct sv_msg *m)
{
	struct sv_val v = { m->head, m->head_len };
	return v;
}

bool sv_header_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > 998)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c >= 127 || c == ':')
			return false;
	}
	return true;
}

/* Unfolded and decoded value of a field, made once. */
static bool field_ready(struct sv_exec *x, struct sv_hfield *h)
{
	if (h->ready)
		return true;
	char *raw = hdr_unfold(h->f.value, h->f.value_len);
	if (!raw)
		return false;
	size_t rlen = strlen(raw);
	char *dec = hdr_decode_2047(raw, rlen);
	struct sv_arena *a = x->msg->arena;
	h->val.raw = sv_strndup(a, raw, rlen);
	h->val.raw_len = rlen;
	if (dec) {
		h->val.s = sv_strndup(a, dec, strlen(dec));
		h->val.len = strlen(dec);
	}
	free(raw);
	free(dec);
	if (!h->val.raw || !h->val.s)
		return false;
	h->ready = true;
	return true;
}

/* The cached values of name, or NULL. */
static const struct sv_hcache *hcache_find(const struct sv_msg *m, const char *name, size_t len)
{
	unsigned first = (len ? (unsigned char)name[0] : 0) | 0x20;   /* a cheap test before strncasecmp */
	for (size_t i = 0; i < m->nhcache; i++)
		if (m->hcache[i].len == len && ((unsigned char)m->hcache[i].name[0] | 0x20) == first &&
		    strncasecmp(m->hcache[i].name, name, len) == 0)
			return &m->hcache[i];
	return NULL;
}

/* Keeps vals (message-lifetime memory) for name when there is room; nothing when not. */
static void hcache_add(struct sv_msg *m, const char *name, size_t len, const struct sv_hdrval *vals, size_t n)
{
	char *copy;
	if (m->nhcache == SV_HCACHE || !(copy = sv_alloc(m->arena, len + 1)))
		return;
	memcpy(copy, name, len);
	copy[len] = '\0';
	m->hcache[m->nhcache++] = (struct sv_hcache){ copy, len, n, vals };
}

const struct sv_hdrval *sv_msg_header(struct sv_exec *x, const char *name, size_t len, size_t *n)
{
	struct sv_msg *m = x->msg;
	*n = 0;
	/* Charged as the scan it replaces, so limits do not depend on the cache. */
	if (!sv_step(x, 1 + m->nfields / 32, 0))
		return NULL;
	const struct sv_hcache *c = hcache_find(m, name, len);
	if (c) {
		*n = c->n;
		return c->n ? c->vals : NULL;
	}
	size_t count = 0;
	/* A name no field can have (a variable may make one) names none: remembered as such. */
	size_t scan = sv_header_name_valid(name, len) ? m->nfields : 0;
	for (size_t i = 0; i < scan; i++)
		if (m->fields[i].f.name_len == len && strncasecmp(m->fields[i].f.name, name, len) == 0)
			count++;
	struct sv_hdrval *out = count ? sv_alloc(m->arena, count * sizeof *out) : NULL;
	if (count && !out) {
		sv_fail(x, 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < m->nfields && count; i++) {
		struct sv_hfield *h = &m->fields[i];
		if (h->f.name_len != len || strncasecmp(h->f.name, name, len) != 0)
			continue;
		if (!field_ready(x, h)) {
			sv_fail(x, 0, "out of memory decoding a header");
			return NULL;
		}
		out[(*n)++] = h->val;
	}
	hcache_add(m, name, len, out, *n);
	return *n ? out : NULL;
}

bool sv_msg_body(struct sv_exec *x, struct sv_val *out)
{
	struct sv_msg *m = x->msg;
	if (!m->has_body)
		return false;
	if (!m->body_read) {
		m->body_read = true;
		size_t len = (size_t)(m->sp->size - m->sp->header_size);
		if (len > m->lim->max_body_bytes)
			len = m->lim->max_body_bytes;
		m->body = sv_alloc_raw(m->arena, len + 1);
		if (!m->body || (len && !read_at(m->sp->fd, m->body, len, m->sp->header_size))) {
			m->body_failed = true;
		} else {
			m->body[len] = '\0';
			m->body_len = len;
		}
	}
	if (m->body_failed) {
		sv_fail(x, 0, "cannot read the message body");
		return false;
	}
	out->s = m->body;
	out->len = m->body_len;
	return true;
}

/* Parses v's raw text into message memory; count as sv_addr_parse returns it. */
static int parse_addresses(struct sv_msg *m, const struct sv_hdrval *v, const struct sv_addr **out)
{
	struct sv_addr tmp[SV_ADDR_MAX];
	int n = sv_addr_parse(m->arena, v->raw, v->raw_len, tmp, SV_ADDR_MAX);
	size_t keep = n < 0 ? 1 : (size_t)n;
	struct sv_addr *a = keep ? sv_alloc_raw(m->arena, keep * sizeof *a) : NULL;
	if (keep && !a)
		return -2;
	if (keep)
		memcpy(a, tmp, keep * sizeof *a);
	*out = a;
	return n;
}

int sv_msg_addresses(struct sv_exec *x, const struct sv_hdrval *v, const struct sv_addr **out)
{
	struct sv_msg *m = x->msg;
	for (size_t i = 0; i < m->nacache; i++)
		if (m->acache[i].raw == v->raw) {
			*out = m->acache[i].addrs;
			return m->acache[i].n;
		}
	int n = parse_addresses(m, v, out);
	if (n == -2) {
		sv_fail(x, 0, "out of memory parsing addresses");
		return -2;
	}
	struct sv_acache *slot = &m->acache[m->acache_next++ % SV_ACACHE];
	if (m->nacache < SV_ACACHE)
		m->nacache++;
	*slot = (struct sv_acache){ v->raw, *out, n };
	return n;
}
