/* Inside the expansion engine: the builder of compact action lists (mda/expand_list.c) that
 * the recursion (mda/expand.c) hands each destination it finds. */
#ifndef MDA_EXPAND_INT_H
#define MDA_EXPAND_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/intern.h"
#include "common/result.h"
#include "common/user.h"
#include "mda/expand.h"

/* One destination as the recursion found it; the builder keeps copies of what it needs. */
struct action_spec {
	enum action_kind kind;
	const char *target;               /* NULL for a bounce */
	const char *recipient;
	const char *extension, *sender;   /* or NULL */
	const char *chain;                /* "rcpt -> alias -> ..." up to the list holding target */
	const struct user_info *runas;    /* NULL for a bounce */
	const struct result *status;      /* ACT_BOUNCE only */
};

struct action_builder {
	struct action_list *out;
	size_t cap, limit;
	struct ptab seen;                 /* indices (+1) into out->v, for de-duplication */
	const char *orig;                 /* the envelope recipient, in the store */
};

enum { ACTION_ADDED = 1, ACTION_DUPLICATE = 0, ACTION_NOMEM = -1, ACTION_FULL = -2 };

/* Starts an empty list in out for the envelope recipient orig, of at most limit actions.
 * 0, or -1 when out of memory (out is then safe to free). */
int action_list_begin(struct action_builder *b, struct action_list *out, const char *orig, size_t limit);

/* Adds s unless the list holds the same destination (kind, target or a bounce's reason, user).
 * ACTION_ADDED, ACTION_DUPLICATE, ACTION_FULL when limit actions are there, ACTION_NOMEM. */
int action_list_add(struct action_builder *b, const struct action_spec *s);

/* Ends the building: the list is kept (its vector shrunk to size) or freed. */
void action_list_end(struct action_builder *b, bool keep);

#endif
