/* Memory for libsieve: chunked arenas with a byte budget, growable buffers, diagnostics. */
#include "sieve/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 16384

struct sv_chunk {
	struct sv_chunk *prev;
	size_t size, used;
	max_align_t data[];
};

void sv_arena_init(struct sv_arena *a, size_t limit)
{
	memset(a, 0, sizeof *a);
	a->limit = limit;
}

void sv_arena_free(struct sv_arena *a)
{
	struct sv_chunk *c = a->head;
	while (c) {
		struct sv_chunk *prev = c->prev;
		free(c);
		c = prev;
	}
	free(a->spare);
	a->spare = NULL;
	a->head = NULL;
	a->used = 0;
}

/* Memory for n bytes, not cleared: for copies that fill all of it at once. */
void *sv_alloc_raw(struct sv_arena *a, size_t n)
{
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (n == 0)
		need = sizeof(max_align_t);
	if (need < n || (a->limit && a->used + need > a->limit)) {
		a->over = true;
		return NULL;
	}
	struct sv_chunk *c = a->head;
	if (!c || c->size - c->used < need) {
		size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;
		if (a->spare && a->spare->size >= need) {
			c = a->spare;
			a->spare = NULL;
		} else if ((c = malloc(sizeof *c + size)) != NULL) {
			c->size = size;
		} else {
			a->over = true;
			return NULL;
		}
		c->used = 0;
		c->prev = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

void *sv_alloc(struct sv_arena *a, size_t n)
{
	void *p = sv_alloc_raw(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *sv_strndup(struct sv_arena *a, const char *s, size_t n)
{
	char *p = sv_alloc_raw(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sv_strdup(struct sv_arena *a, const char *s)
{
	return sv_strndup(a, s, strlen(s));
}

bool sv_arena_owns(const struct sv_arena *a, const void *p)
{
	for (const struct sv_chunk *c = a->head; c; c = c->prev)
		if ((const char *)p >= (const char *)c->data && (const char *)p < (const char *)c->data + c->used)
			return true;
	return false;
}

struct sv_mark sv_arena_mark(const struct sv_arena *a)
{
	struct sv_mark m = { a->head, a->head ? a->head->used : 0, a->used };
	return m;
}

void sv_arena_release(struct sv_arena *a, struct sv_mark m)
{
	while (a->head && a->head != m.head) {
		struct sv_chunk *prev = a->head->prev;
		/* Scratch memory is marked and released around every command: keeping one
		 * chunk spares the next command a malloc and a free of 16 KiB. */
		if (!a->spare && a->head->size == CHUNK_MIN)
			a->spare = a->head;
		else
			free(a->head);
		a->head = prev;
	}
	if (a->head)
		a->head->used = m.head_used;
	a->used = m.used;
}

/* ------------------------------------------------------------------ buffers */

void sv_buf_add(struct sv_buf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sv_buf_str(struct sv_buf *b, const char *s)
{
	sv_buf_add(b, s, strlen(s));
}

void sv_buf_fmt(struct sv_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sv_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void sv_buf_free(struct sv_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ diagnostics */

void sieve_errors_clear(struct sieve_errors *errs)
{
	errs->count = errs->warnings = 0;
	errs->len = 0;
	errs->text[0] = '\0';
}

const char *sieve_errors_first(const struct sieve_errors *errs, char *out, size_t size)
{
	if (size == 0)
		return out;
	const char *nl = memchr(errs->text, '\n', errs->len);
	size_t n = nl ? (size_t)(nl - errs->text) : errs->len;
	if (n >= size)
		n = size - 1;
	memcpy(out, errs->text, n);
	out[n] = '\0';
	return out;
}

/* Appends one line; the text is kept printable so a script cannot forge log lines. */
static void sv_diag_line(struct sv_diag *d, unsigned line, unsigned col, const char *kind, const char *fmt,
			 va_list ap)
{
	struct sieve_errors *e = d->errs;
	char msg[600];
	if (!e)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = '?';
	if (e->count + e->warnings > SIEVE_MAX_ERRORS)
		return;
	size_t room = sizeof e->text - e->len;
	int n;
	if (line)
		n = snprintf(e->text + e->len, room, "%s:%u:%u: %s%s\n", d->file, line, col, kind, msg);
	else
		n = snprintf(e->text + e->len, room, "%s: %s%s\n", d->file, kind, msg);
	if (n > 0 && (size_t)n < room)
		e->len += (size_t)n;
	else
		e->text[e->len] = '\0';
}

void sv_error(struct sv_diag *d, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sv_diag_line(d, line, col, "", fmt, ap);
	va_end(ap);
	if (d->errs)
		d->errs->count++;
}

void sv_warning(struct sv_diag *d, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sv_diag_line(d, line, col, "warning: ", fmt, ap);
	va_end(ap);
	if (d->errs)
		d->errs->warnings++;
}

bool sv_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		size_t n;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
