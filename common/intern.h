/* Compact storage for many small strings: an arena that keeps each distinct string once, and
 * the open-addressing table behind it (usable on its own for items whose keys the caller knows). */
#ifndef COMMON_INTERN_H
#define COMMON_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a of a NUL-terminated string. */
uint64_t intern_hash(const char *s);

/* How a table finds its items' keys: hash of a stored item, and item == key. ctx is the
 * caller's (e.g. the array the items index). Items are nonzero uintptr_t (pointers, index+1). */
struct ptab_ops {
	uint64_t (*hash)(const void *ctx, uintptr_t item);
	bool (*eq)(const void *ctx, uintptr_t item, const void *key);
};

struct ptab {
	uintptr_t *slot;   /* 0 = empty; at most half full */
	size_t cap, n;
};

/* The item equal to key (whose hash is h), or 0. */
uintptr_t ptab_find(const struct ptab *t, uint64_t h, const void *key, const struct ptab_ops *ops,
		    const void *ctx);
/* Adds an item known to be absent (h is its hash). 0, or -1 when out of memory. */
int ptab_add(struct ptab *t, uint64_t h, uintptr_t item, const struct ptab_ops *ops, const void *ctx);
void ptab_free(struct ptab *t);

struct arena_chunk;

/* Zero-initialise; everything allocated lives until arena_free. Chunks grow from 256 bytes to
 * 64 KB, so a small arena costs little and a big one has no per-string overhead. */
struct arena {
	struct arena_chunk *head;
	size_t next_cap;
	struct ptab strings;   /* the interned strings */
};

/* size bytes aligned for any type, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* A copy of s (packed, not interned), or NULL when out of memory. */
const char *arena_strdup(struct arena *a, const char *s);
/* The arena's one copy of s in *out: 1 when s was new, 0 when it was there, -1 out of memory. */
int arena_intern(struct arena *a, const char *s, const char **out);
void arena_free(struct arena *a);

#endif
