/* Compact action lists: an action is a few pointers into its list's store, where the strings
 * and users its actions share (recipient, chain, sender, the user of a whole .forward) are
 * kept once; a 49,000-line include costs ~73 bytes per destination besides the address. */
#include "mda/expand_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct action_store {
	struct arena arena;
	struct ptab users;           /* struct action_user in the arena */
};

/* ---- Users, kept once per list ---- */

static uint64_t user_hash(const struct action_user *u)
{
	return intern_hash(u->name) ^ u->uid;
}

static uint64_t user_item_hash(const void *ctx, uintptr_t item)
{
	(void)ctx;
	return user_hash((const struct action_user *)item);
}

static bool user_eq(const void *ctx, uintptr_t item, const void *key)
{
	(void)ctx;
	const struct action_user *a = (const struct action_user *)item, *b = key;
	return a->uid == b->uid && a->gid == b->gid && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->home, b->home) == 0 && strcmp(a->shell, b->shell) == 0;
}

static const struct ptab_ops user_ops = { user_item_hash, user_eq };

/* The one copy of str in the store (NULL stays NULL); *oom set on allocation failure. */
static const char *keep_str(struct action_store *s, const char *str, bool *oom)
{
	const char *p = NULL;
	if (str && arena_intern(&s->arena, str, &p) < 0)
		*oom = true;
	return p;
}

/* The store's copy of u, or NULL on allocation failure. */
static const struct action_user *keep_user(struct action_store *s, const struct user_info *u)
{
	struct action_user key = { u->name, u->home, u->shell, u->uid, u->gid }, *a;
	uint64_t h = user_hash(&key);
	bool oom = false;
	if ((a = (struct action_user *)ptab_find(&s->users, h, &key, &user_ops, NULL)))
		return a;
	if (!(a = arena_alloc(&s->arena, sizeof *a)))
		return NULL;
	*a = (struct action_user){ keep_str(s, u->name, &oom), keep_str(s, u->home, &oom),
				   keep_str(s, u->shell, &oom), u->uid, u->gid };
	if (oom || ptab_add(&s->users, h, (uintptr_t)a, &user_ops, NULL) != 0)
		return NULL;
	return a;
}

/* ---- De-duplication: the seen set holds indices, the keys are the actions themselves ---- */

struct akey {
	enum action_kind kind;
	const char *text, *user;   /* target (a bounce's reason), runas name */
};

static struct akey key_of(const struct action *a)
{
	return (struct akey){ a->kind, a->target ? a->target : a->status->reason, a->runas->name };
}

static uint64_t akey_hash(const struct akey *k)
{
	return (intern_hash(k->text) * 31 + intern_hash(k->user)) ^ (uint64_t)k->kind;
}

static uint64_t seen_hash(const void *ctx, uintptr_t item)
{
	const struct action_list *l = ctx;
	struct akey k = key_of(&l->v[item - 1]);
	return akey_hash(&k);
}

static bool seen_eq(const void *ctx, uintptr_t item, const void *key)
{
	const struct action_list *l = ctx;
	const struct akey *b = key;
	struct akey a = key_of(&l->v[item - 1]);
	return a.kind == b->kind && strcmp(a.text, b->text) == 0 && strcmp(a.user, b->user) == 0;
}

static const struct ptab_ops seen_ops = { seen_hash, seen_eq };

/* ---- Building ---- */

static const struct user_info no_user = { .home = "/" };

int action_list_begin(struct action_builder *b, struct action_list *out, const char *orig, size_t limit)
{
	bool oom = false;
	memset(b, 0, sizeof *b);
	memset(out, 0, sizeof *out);
	b->out = out;
	b->limit = limit;
	if (!(out->store = calloc(1, sizeof *out->store)))
		return -1;
	b->orig = keep_str(out->store, orig, &oom);
	return oom ? -1 : 0;
}

static bool grow(struct action_builder *b)
{
	if (b->out->n < b->cap)
		return true;
	size_t cap = b->cap ? b->cap * 2 : 8;
	struct action *v = realloc(b->out->v, cap * sizeof *v);
	if (!v)
		return false;
	b->out->v = v;
	b->cap = cap;
	return true;
}

/* Fills a with copies in the store; false on allocation failure. */
static bool keep_action(struct action_builder *b, struct action *a, const struct action_spec *sp)
{
	struct action_store *s = b->out->store;
	bool oom = false;
	a->kind = sp->kind;
	if (!(a->runas = keep_user(s, sp->runas ? sp->runas : &no_user)))
		return false;
	/* A mailbox's target and recipient are its user's name; a forward's recipient is its target. */
	const char *t = sp->target;
	a->target = !t ? NULL : strcmp(t, a->runas->name) == 0 ? a->runas->name : arena_strdup(&s->arena, t);
	if (t && !a->target)
		return false;
	a->recipient = t && strcmp(sp->recipient, t) == 0 ? a->target : keep_str(s, sp->recipient, &oom);
	a->orig_recipient = b->orig;
	a->extension = keep_str(s, sp->extension, &oom);
	a->sender = keep_str(s, sp->sender, &oom);
	a->chain = keep_str(s, sp->chain, &oom);
	if (sp->status) {
		struct action_status *st = arena_alloc(&s->arena, sizeof *st);
		if (!st)
			return false;
		st->ex = sp->status->ex;
		snprintf(st->dsn, sizeof st->dsn, "%s", sp->status->dsn);
		st->reason = keep_str(s, sp->status->reason, &oom);
		a->status = st;
	}
	return !oom;
}

int action_list_add(struct action_builder *b, const struct action_spec *s)
{
	struct akey k = { s->kind, s->target ? s->target : s->status->reason, s->runas ? s->runas->name : "" };
	uint64_t h = akey_hash(&k);
	if (ptab_find(&b->seen, h, &k, &seen_ops, b->out))
		return ACTION_DUPLICATE;
	if (b->out->n >= b->limit)
		return ACTION_FULL;
	if (!grow(b))
		return ACTION_NOMEM;
	struct action *a = &b->out->v[b->out->n];
	memset(a, 0, sizeof *a);
	if (!keep_action(b, a, s))
		return ACTION_NOMEM;
	b->out->n++;
	if (ptab_add(&b->seen, h, b->out->n, &seen_ops, b->out) != 0)
		return ACTION_NOMEM;
	return ACTION_ADDED;
}

void action_list_end(struct action_builder *b, bool keep)
{
	ptab_free(&b->seen);
	if (!keep) {
		action_list_free(b->out);
		return;
	}
	/* What the doubling left unused: a big list is kept for a whole LMTP transaction. */
	struct action *v = b->out->n ? realloc(b->out->v, b->out->n * sizeof *v) : NULL;
	if (v)
		b->out->v = v;
}

/* ---- Public ---- */

size_t expand_limit(const struct config *cfg)
{
	int n = cfg->expansion_limit;
	return n <= 0 || n > EXPAND_LIMIT_HARD_MAX ? EXPAND_LIMIT_HARD_MAX : (size_t)n;
}

const char *action_chain(const struct action *a, char *buf, size_t size)
{
	const char *chain = a->chain ? a->chain : a->recipient ? a->recipient : "";
	if (a->target)
		snprintf(buf, size, "%s -> %s", chain, a->target);
	else
		snprintf(buf, size, "%s", chain);
	return buf;
}

void action_list_free(struct action_list *l)
{
	if (l->store) {
		arena_free(&l->store->arena);
		ptab_free(&l->store->users);
		free(l->store);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}
