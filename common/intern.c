/* An arena with interned strings: the many equal strings of a big expansion kept once. */
#include "common/intern.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 256
#define ARENA_CHUNK_MAX 65536

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

uint64_t intern_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* ---- The table ---- */

uintptr_t ptab_find(const struct ptab *t, uint64_t h, const void *key, const struct ptab_ops *ops,
		    const void *ctx)
{
	if (t->cap == 0)
		return 0;
	for (size_t j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1))
		if (ops->eq(ctx, t->slot[j], key))
			return t->slot[j];
	return 0;
}

static void place(uintptr_t *slot, size_t cap, uint64_t h, uintptr_t item)
{
	size_t j = h & (cap - 1);
	while (slot[j])
		j = (j + 1) & (cap - 1);
	slot[j] = item;
}

int ptab_add(struct ptab *t, uint64_t h, uintptr_t item, const struct ptab_ops *ops, const void *ctx)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		uintptr_t *slot = calloc(cap, sizeof *slot);
		if (!slot)
			return -1;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i])
				place(slot, cap, ops->hash(ctx, t->slot[i]), t->slot[i]);
		free(t->slot);
		t->slot = slot;
		t->cap = cap;
	}
	place(t->slot, t->cap, h, item);
	t->n++;
	return 0;
}

void ptab_free(struct ptab *t)
{
	free(t->slot);
	memset(t, 0, sizeof *t);
}

/* ---- The arena ---- */

/* Room for size bytes at offset `at` of a new or the head chunk. A big request gets a chunk of
 * its own behind head, so the space left in head is not lost. */
static char *take(struct arena *a, size_t size, size_t align)
{
	struct arena_chunk *h = a->head;
	if (h) {
		size_t at = (h->used + align - 1) / align * align;
		if (at <= h->cap && h->cap - at >= size) {
			h->used = at + size;
			return (char *)h->data + at;
		}
	}
	if (a->next_cap < ARENA_CHUNK_MIN)
		a->next_cap = ARENA_CHUNK_MIN;
	bool own = h && size > a->next_cap / 4;
	size_t cap = own || size > a->next_cap ? size : a->next_cap;
	struct arena_chunk *c = malloc(sizeof *c + cap);
	if (!c)
		return NULL;
	c->used = size;
	c->cap = cap;
	if (own) {
		c->next = h->next;
		h->next = c;
		return (char *)c->data;
	}
	c->next = h;
	a->head = c;
	if (a->next_cap < ARENA_CHUNK_MAX)
		a->next_cap *= 2;
	return (char *)c->data;
}

void *arena_alloc(struct arena *a, size_t size)
{
	return take(a, size ? size : 1, sizeof(max_align_t));
}

const char *arena_strdup(struct arena *a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = take(a, len, 1);
	return p ? memcpy(p, s, len) : NULL;
}

static uint64_t str_hash(const void *ctx, uintptr_t item)
{
	(void)ctx;
	return intern_hash((const char *)item);
}

static bool str_eq(const void *ctx, uintptr_t item, const void *key)
{
	(void)ctx;
	return strcmp((const char *)item, key) == 0;
}

static const struct ptab_ops str_ops = { str_hash, str_eq };

int arena_intern(struct arena *a, const char *s, const char **out)
{
	uint64_t h = intern_hash(s);
	const char *p = (const char *)ptab_find(&a->strings, h, s, &str_ops, NULL);
	if (p)
		return *out = p, 0;
	if (!(p = arena_strdup(a, s)) || ptab_add(&a->strings, h, (uintptr_t)p, &str_ops, NULL) != 0)
		return -1;
	return *out = p, 1;
}

void arena_free(struct arena *a)
{
	for (struct arena_chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	ptab_free(&a->strings);
	memset(a, 0, sizeof *a);
}
