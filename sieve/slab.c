/* The slow path of the front end's bump allocator (sieve/syntax.h). */
#include "sieve/syntax.h"

void *sv_slab_more(struct sv_slab *s, size_t n)
{
	if (n >= SV_SLAB_BLOCK / 4)
		return sv_alloc_raw(s->arena, n);
	char *b = sv_alloc_raw(s->arena, SV_SLAB_BLOCK);
	if (!b)
		return NULL;
	s->p = b;
	s->end = b + SV_SLAB_BLOCK;
	return sv_slab_raw(s, n);
}
