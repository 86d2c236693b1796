/* The body test (RFC 5173): the MIME tree of the message parsed once per execution, parts
 * decoded (base64, quoted-printable) and converted to UTF-8 on first use; :raw, :content
 * with the section 5.2 rules for multipart and message/rfc822, :text with HTML as text. */
#include "sieve/internal.h"

#include "mbox/header.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_part {
	char type[48], subtype[80];      /* lowercase; text/plain by default */
	char charset[48];
	int cte;                          /* CTE_* */
	const char *hdr;                  /* message/rfc822: the nested header section */
	size_t hdr_len;
	const char *body;                 /* the part's own bytes after its header */
	size_t body_len;
	const char *pre, *epi;            /* multipart: preamble and epilogue */
	size_t pre_len, epi_len;
	bool multipart, message;
	size_t first_child, nchildren;    /* children in the flat array (multipart/message) */
	char *decoded;                    /* decoded, UTF-8, made on first use */
	size_t dlen;
	char *text;                       /* the same with HTML turned into text (:text) */
	size_t tlen;
};

enum { CTE_IDENTITY, CTE_BASE64, CTE_QP };

struct sv_mime {
	struct mime_part *parts;
	size_t n, cap;
	bool truncated;
	/* the :text values, the same for every body test of the message: made once */
	struct sv_bodypart *text;
	size_t ntext;
	bool text_ready;
};

struct mime_ctx {
	struct sv_exec *x;
	struct sv_mime *m;
	struct sv_arena *a;
};

/* ------------------------------------------------------------------ headers */

static void copy_lower(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[n] = '\0';
}

/* Value of parameter name in a Content-Type value (quoted or token), into out. */
static bool ct_param(const char *v, size_t len, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	const char *end = v + len;
	const char *p = memchr(v, ';', len);
	while (p && p < end) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0) {
			const char *q = p + nl;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == '=') {
				q++;
				while (q < end && (*q == ' ' || *q == '\t'))
					q++;
				size_t o = 0;
				if (q < end && *q == '"') {
					q++;
					while (q < end && *q != '"' && o + 1 < size) {
						if (*q == '\\' && q + 1 < end)
							q++;
						out[o++] = *q++;
					}
				} else {
					while (q < end && *q != ';' && *q != ' ' && *q != '\t' && o + 1 < size)
						out[o++] = *q++;
				}
				out[o] = '\0';
				return o > 0;
			}
		}
		p = memchr(p, ';', (size_t)(end - p));
	}
	return false;
}

/* Content-Type and Content-Transfer-Encoding of a header section. */
static void part_headers(struct mime_part *mp, const char *hdr, size_t len, bool digest)
{
	struct hdr_field f;
	snprintf(mp->type, sizeof mp->type, "%s", digest ? "message" : "text");
	snprintf(mp->subtype, sizeof mp->subtype, "%s", digest ? "rfc822" : "plain");
	if (hdr_find(hdr, len, "Content-Type", &f)) {
		const char *v = f.value, *end = f.value + f.value_len;
		const char *slash = memchr(v, '/', f.value_len);
		const char *semi = memchr(v, ';', f.value_len);
		if (slash && (!semi || slash < semi)) {
			const char *sub_end = semi ? semi : end;
			while (sub_end > slash + 1 && isspace((unsigned char)sub_end[-1]))
				sub_end--;
			const char *t_end = slash;
			while (t_end > v && isspace((unsigned char)t_end[-1]))
				t_end--;
			copy_lower(mp->type, sizeof mp->type, v, (size_t)(t_end - v));
			const char *s = slash + 1;
			while (s < sub_end && isspace((unsigned char)*s))
				s++;
			copy_lower(mp->subtype, sizeof mp->subtype, s, (size_t)(sub_end - s));
		}
		ct_param(f.value, f.value_len, "charset", mp->charset, sizeof mp->charset);
	}
	if (hdr_find(hdr, len, "Content-Transfer-Encoding", &f)) {
		const char *v = f.value;
		size_t n = f.value_len;
		while (n && isspace((unsigned char)v[n - 1]))
			n--;
		if (n == 6 && strncasecmp(v, "base64", 6) == 0)
			mp->cte = CTE_BASE64;
		else if (n == 16 && strncasecmp(v, "quoted-printable", 16) == 0)
			mp->cte = CTE_QP;
	}
}

/* Splits an entity (header + body) at its blank line. */
static void split_entity(const char *s, size_t len, const char **hdr, size_t *hlen, const char **body, size_t *blen)
{
	size_t pos = 0;
	struct hdr_field f;
	while (hdr_next(s, len, &pos, &f))
		;
	*hdr = s;
	*hlen = pos;
	*body = s + pos;
	*blen = len - pos;
}

/* ------------------------------------------------------------------ structure */

static size_t part_new(struct mime_ctx *c)
{
	struct sv_mime *m = c->m;
	if (m->n >= c->x->lim->max_mime_parts) {
		m->truncated = true;
		return (size_t)-1;
	}
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		struct mime_part *np = sv_alloc(c->a, nc * sizeof *np);
		if (!np)
			return (size_t)-1;
		if (m->n)
			memcpy(np, m->parts, m->n * sizeof *np);
		m->parts = np;
		m->cap = nc;
	}
	memset(&m->parts[m->n], 0, sizeof m->parts[0]);
	return m->n++;
}

/* Offset of the next delimiter line "--boundary" at or after pos (a line start), or len. */
static size_t find_delim(const char *s, size_t len, size_t pos, const char *b, size_t blen)
{
	while (pos + 2 + blen <= len) {
		if (s[pos] == '-' && s[pos + 1] == '-' && memcmp(s + pos + 2, b, blen) == 0)
			return pos;
		const char *nl = memchr(s + pos, '\n', len - pos);
		if (!nl)
			break;
		pos = (size_t)(nl - s) + 1;
	}
	return len;
}

static void parse_entity(struct mime_ctx *c, size_t idx, const char *hdr, size_t hlen, const char *body, size_t blen,
			 bool digest, int depth);

static void parse_multipart(struct mime_ctx *c, size_t idx, const char *body, size_t blen, const char *b, int depth)
{
	size_t bl = strlen(b);
	bool digest = strcmp(c->m->parts[idx].subtype, "digest") == 0;
	size_t d = find_delim(body, blen, 0, b, bl);
	struct mime_part *mp = &c->m->parts[idx];
	mp->pre = body;
	mp->pre_len = d > 0 ? d - 1 : 0;      /* the line end before a delimiter is its own */
	if (d == blen) {
		mp->pre_len = blen;
		return;
	}
	size_t first = c->m->n, count = 0;
	for (;;) {
		size_t after = d + 2 + bl;
		bool close = after + 2 <= blen && body[after] == '-' && body[after + 1] == '-';
		const char *nl = memchr(body + after, '\n', blen - after);
		size_t start = nl ? (size_t)(nl - body) + 1 : blen;
		if (close) {
			mp = &c->m->parts[idx];
			mp->epi = body + start;
			mp->epi_len = blen - start;
			break;
		}
		size_t next = find_delim(body, blen, start, b, bl);
		size_t end = next == blen ? blen : (next > start ? next - 1 : start);
		size_t child = part_new(c);
		if (child == (size_t)-1)
			break;
		count++;
		const char *ph, *pb;
		size_t phl, pbl;
		split_entity(body + start, end - start, &ph, &phl, &pb, &pbl);
		parse_entity(c, child, ph, phl, pb, pbl, digest, depth + 1);
		if (next == blen)
			break;
		d = next;
	}
	/* children of nested parts were appended after ours: record only the direct range */
	mp = &c->m->parts[idx];
	mp->first_child = first;
	mp->nchildren = count;
}

static void parse_entity(struct mime_ctx *c, size_t idx, const char *hdr, size_t hlen, const char *body, size_t blen,
			 bool digest, int depth)
{
	struct mime_part *mp = &c->m->parts[idx];
	part_headers(mp, hdr, hlen, digest);
	mp->body = body;
	mp->body_len = blen;
	if (depth > 32)
		return;
	if (strcmp(mp->type, "multipart") == 0) {
		char boundary[80];
		struct hdr_field f;
		if (hdr_find(hdr, hlen, "Content-Type", &f) &&
		    ct_param(f.value, f.value_len, "boundary", boundary, sizeof boundary)) {
			mp->multipart = true;
			parse_multipart(c, idx, body, blen, boundary, depth);
		}
	} else if (strcmp(mp->type, "message") == 0 && strcmp(mp->subtype, "rfc822") == 0) {
		size_t child = part_new(c);
		if (child == (size_t)-1)
			return;
		mp = &c->m->parts[idx];
		mp->message = true;
		mp->first_child = child;
		mp->nchildren = 1;
		const char *ph, *pb;
		size_t phl, pbl;
		split_entity(body, blen, &ph, &phl, &pb, &pbl);
		mp->hdr = ph;
		mp->hdr_len = phl;
		parse_entity(c, child, ph, phl, pb, pbl, false, depth + 1);
	}
}

static struct sv_mime *mime_tree(struct sv_exec *x)
{
	struct sv_mime **slot = sv_msg_mime(x->msg);
	if (*slot)
		return *slot;
	struct sv_val body = { NULL, 0 };
	struct sv_arena *a = sv_msg_arena(x->msg);
	struct sv_mime *m = sv_alloc(a, sizeof *m);
	if (!m)
		return NULL;
	struct mime_ctx c = { x, m, a };
	if (sv_msg_body(x, &body)) {
		struct sv_val head = sv_msg_head(x->msg);
		size_t root = part_new(&c);
		if (root != (size_t)-1)
			parse_entity(&c, root, head.s, head.len, body.s, body.len, false, 0);
	}
	if (x->failed)
		return NULL;
	if (!sv_step(x, 1 + body.len / 1024 + m->n, 0))
		return NULL;
	*slot = m;
	return m;
}

/* ------------------------------------------------------------------ decoding */

/* Converts text in charset to UTF-8; as it is when the charset is unknown or it fails. */
static char *to_utf8(struct sv_arena *a, const char *cs, char *s, size_t *len)
{
	if (!cs[0] || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "us-ascii") == 0 || *len == 0)
		return s;
	iconv_t cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1)
		return s;
	size_t cap = *len * 4 + 4;
	char *out = sv_alloc_raw(a, cap + 1);
	if (!out) {
		iconv_close(cd);
		return s;
	}
	char *in = s, *op = out;
	size_t inleft = *len, outleft = cap;
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1)
			break;
		if ((errno == EILSEQ || errno == EINVAL) && inleft > 0 && outleft > 0) {
			*op++ = '?';   /* an undecodable byte: one replacement, then go on */
			outleft--;
			in++;
			inleft--;
			continue;
		}
		break;
	}
	iconv_close(cd);
	*len = (size_t)(op - out);
	out[*len] = '\0';
	return out;
}

/* Visible text of HTML: tags, comments, scripts and styles dropped, entities decoded. */
static size_t html_text(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '<') {
			bool skip_body = (n - i > 7 && strncasecmp(s + i, "<script", 7) == 0) ||
					 (n - i > 6 && strncasecmp(s + i, "<style", 6) == 0);
			const char *close = skip_body ? (strncasecmp(s + i, "<script", 7) == 0 ? "</script" : "</style") : NULL;
			if (n - i >= 4 && strncmp(s + i, "<!--", 4) == 0) {
				const char *e = memmem(s + i + 4, n - i - 4, "-->", 3);
				i = e ? (size_t)(e - s) + 3 : n;
				continue;
			}
			const char *gt = memchr(s + i, '>', n - i);
			i = gt ? (size_t)(gt - s) + 1 : n;
			if (close) {
				for (; i < n && strncasecmp(s + i, close, strlen(close)) != 0; i++)
					;
			}
			continue;
		}
		if (s[i] == '&') {
			static const struct { const char *e; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
				{ "&nbsp;", ' ' },
			};
			bool done = false;
			for (size_t k = 0; k < sizeof ents / sizeof ents[0] && !done; k++) {
				size_t el = strlen(ents[k].e);
				if (n - i >= el && strncasecmp(s + i, ents[k].e, el) == 0) {
					out[o++] = ents[k].c;
					i += el;
					done = true;
				}
			}
			if (done)
				continue;
		}
		out[o++] = s[i++];
	}
	return o;
}

static bool is_html(const struct mime_part *mp)
{
	return (strcmp(mp->type, "text") == 0 && strcmp(mp->subtype, "html") == 0) ||
	       (strcmp(mp->type, "application") == 0 && strcmp(mp->subtype, "xhtml+xml") == 0);
}

/* The decoded content of a leaf part (:content), and for :text its visible text. */
static bool part_decoded(struct sv_exec *x, struct mime_part *mp, bool as_text)
{
	struct sv_arena *a = sv_msg_arena(x->msg);
	if (!mp->decoded) {
		char *buf = sv_alloc_raw(a, mp->body_len + 1);
		if (!buf)
			return sv_fail(x, 0, "out of memory decoding a body part") == 0;
		size_t n;
		if (mp->cte == CTE_BASE64)
			n = mime_decode_base64(mp->body, mp->body_len, buf);
		else if (mp->cte == CTE_QP)
			n = mime_decode_qp(mp->body, mp->body_len, buf);
		else {
			memcpy(buf, mp->body, mp->body_len);
			n = mp->body_len;
		}
		buf[n] = '\0';
		if (strcmp(mp->type, "text") == 0)
			buf = to_utf8(a, mp->charset, buf, &n);
		mp->decoded = buf;
		mp->dlen = n;
		if (!sv_step(x, 1 + mp->body_len / 256, 0))
			return false;
	}
	if (as_text && !mp->text) {
		if (!is_html(mp)) {
			mp->text = mp->decoded;
			mp->tlen = mp->dlen;
		} else {
			char *t = sv_alloc_raw(a, mp->dlen + 1);
			if (!t)
				return sv_fail(x, 0, "out of memory decoding a body part") == 0;
			mp->tlen = html_text(mp->decoded, mp->dlen, t);
			t[mp->tlen] = '\0';
			mp->text = t;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ values */

struct vals {
	struct sv_bodypart *v;
	size_t n, cap;
};

static bool vals_add(struct sv_exec *x, struct vals *vs, const char *s, size_t len)
{
	if (vs->n == vs->cap) {
		size_t nc = vs->cap ? vs->cap * 2 : 8;
		struct sv_bodypart *nv = sv_alloc_raw(x->scratch, nc * sizeof *nv);
		if (!nv)
			return sv_fail(x, 0, "out of memory") == 0;
		if (vs->n)
			memcpy(nv, vs->v, vs->n * sizeof *nv);
		vs->v = nv;
		vs->cap = nc;
	}
	vs->v[vs->n++] = (struct sv_bodypart){ s, len };
	return true;
}

/* RFC 5173 5.2: "" any type, "type" any subtype, "type/subtype" exactly, others nothing. */
static bool type_matches(const struct sv_val *spec, const struct mime_part *mp)
{
	if (spec->len == 0)
		return true;
	const char *slash = memchr(spec->s, '/', spec->len);
	if (!slash)
		return strlen(mp->type) == spec->len && strncasecmp(mp->type, spec->s, spec->len) == 0;
	size_t tl = (size_t)(slash - spec->s), sl = spec->len - tl - 1;
	if (tl == 0 || sl == 0 || memchr(slash + 1, '/', sl))
		return false;
	return strlen(mp->type) == tl && strncasecmp(mp->type, spec->s, tl) == 0 && strlen(mp->subtype) == sl &&
	       strncasecmp(mp->subtype, slash + 1, sl) == 0;
}

static bool content_values(struct sv_exec *x, struct sv_mime *m, const struct sv_val *specs, size_t nspecs,
			   struct vals *out)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mime_part *mp = &m->parts[i];
		bool hit = false;
		for (size_t k = 0; k < nspecs && !hit; k++)
			hit = type_matches(&specs[k], mp);
		if (!hit)
			continue;
		if (mp->multipart) {
			if (!vals_add(x, out, mp->pre, mp->pre_len) || (mp->epi && !vals_add(x, out, mp->epi, mp->epi_len)))
				return false;
		} else if (mp->message) {
			if (!vals_add(x, out, mp->hdr, mp->hdr_len))
				return false;
		} else {
			if (!part_decoded(x, mp, false) || !vals_add(x, out, mp->decoded, mp->dlen))
				return false;
		}
	}
	return true;
}

static bool text_values(struct sv_exec *x, struct sv_mime *m, struct vals *out)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mime_part *mp = &m->parts[i];
		bool text = strcmp(mp->type, "text") == 0 ||
			    (strcmp(mp->type, "application") == 0 && strcmp(mp->subtype, "xhtml+xml") == 0);
		if (mp->multipart || mp->message || !text)
			continue;
		if (!part_decoded(x, mp, true) || !vals_add(x, out, mp->text, mp->tlen))
			return false;
	}
	return true;
}

int sv_body_values(struct sv_exec *x, const struct sv_cmd *c, const struct sv_bodypart **out, size_t *n)
{
	struct vals vs = { 0 };
	*out = NULL;
	*n = 0;
	if (c->bt == BT_RAW) {
		struct sv_val body;
		if (!sv_msg_body(x, &body))
			return x->failed ? -1 : 0;
		if (!sv_step(x, 1 + body.len / 1024, c->line) || !vals_add(x, &vs, body.s, body.len))
			return -1;
	} else {
		struct sv_mime *m = mime_tree(x);
		if (!m)
			return x->failed ? -1 : 0;
		if (c->bt == BT_TEXT) {
			if (!m->text_ready) {
				if (!text_values(x, m, &vs))
					return -1;
				if (vs.n && !(m->text = sv_alloc_raw(sv_msg_arena(x->msg), vs.n * sizeof *vs.v)))
					return sv_fail(x, c->line, "out of memory");
				if (vs.n)
					memcpy(m->text, vs.v, vs.n * sizeof *vs.v);
				m->ntext = vs.n;
				m->text_ready = true;
			}
			*out = m->text;
			*n = m->ntext;
			return 0;
		} else {
			size_t ns = c->tlist->n;
			struct sv_val *specs = sv_alloc(x->scratch, (ns ? ns : 1) * sizeof *specs);
			if (!specs)
				return sv_fail(x, c->line, "out of memory");
			for (size_t i = 0; i < ns; i++)
				if (!sv_expand(x, &c->tlist->v[i], &specs[i]))
					return -1;
			if (!content_values(x, m, specs, ns, &vs))
				return -1;
		}
	}
	*out = vs.v;
	*n = vs.n;
	return 0;
}
