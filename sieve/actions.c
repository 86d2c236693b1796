/* The result under construction: actions added as the script runs, duplicates merged
 * (RFC 5228 2.10.3; the last flags win, RFC 5232 3), conflicts refused (reject with a
 * delivery or a vacation, RFC 5429 2.4), the implicit keep decided (RFC 5228 2.10.2). */
#include "sieve/internal.h"
#include "sieve/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sv_rb {
	struct sv_arena *a;
	struct sieve_action *acts;
	size_t n, cap;
	bool canceled;          /* the current script canceled the implicit keep */
	bool explicit_keep;     /* the current script ran keep */
	size_t script_first;    /* actions and duplicate IDs the current script started with */
	size_t script_dups;
	struct sv_rb_dup *dups;
	size_t ndups, capdups;
};

struct sv_rb *sv_rb_new(struct sv_arena *a)
{
	struct sv_rb *rb = sv_alloc(a, sizeof *rb);
	if (rb)
		rb->a = a;
	return rb;
}

size_t sv_rb_mark(const struct sv_rb *rb)
{
	return rb->n;
}

void sv_rb_script_start(struct sv_rb *rb)
{
	rb->canceled = false;
	rb->explicit_keep = false;
	rb->script_first = rb->n;
	rb->script_dups = rb->ndups;
}

void sv_rb_rollback(struct sv_rb *rb, size_t mark)
{
	rb->n = mark;
	rb->ndups = rb->script_dups;
	rb->canceled = false;
}

bool sv_rb_implicit_keep(const struct sv_rb *rb)
{
	/* Pigeonhole's sequence rule: the next script runs while the message is kept,
	 * implicitly or by keep. */
	return !rb->canceled || rb->explicit_keep;
}

/* One more action slot, NULL when out of memory. */
static struct sieve_action *rb_push(struct sv_rb *rb, enum sieve_action_kind kind)
{
	if (rb->n == rb->cap) {
		size_t nc = rb->cap ? rb->cap * 2 : 8;
		struct sieve_action *na = sv_alloc(rb->a, nc * sizeof *na);
		if (!na)
			return NULL;
		if (rb->n)
			memcpy(na, rb->acts, rb->n * sizeof *na);
		rb->acts = na;
		rb->cap = nc;
	}
	struct sieve_action *a = &rb->acts[rb->n++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

/* An action the script made, within max_actions (a discard record does not count). */
static struct sieve_action *rb_add(struct sv_exec *x, const struct sv_cmd *c, enum sieve_action_kind kind)
{
	struct sv_rb *rb = x->rb;
	size_t real = 0;
	for (size_t i = 0; i < rb->n; i++)
		real += rb->acts[i].kind != SIEVE_ACT_DISCARD;
	if (real >= x->lim->max_actions) {
		sv_fail(x, c->line, "too many actions (limit %u)", x->lim->max_actions);
		return NULL;
	}
	struct sieve_action *a = rb_push(rb, kind);
	if (!a) {
		sv_fail(x, c->line, "out of memory");
		return NULL;
	}
	a->script = x->unit ? x->unit->name : "";
	a->line = c->line;
	return a;
}

static struct sieve_action *rb_find(struct sv_rb *rb, enum sieve_action_kind kind)
{
	for (size_t i = 0; i < rb->n; i++)
		if (rb->acts[i].kind == kind)
			return &rb->acts[i];
	return NULL;
}

/* RFC 5429 2.4: one reject, never with a delivery or a vacation. */
static int rb_conflicts(struct sv_exec *x, const struct sv_cmd *c, enum sieve_action_kind kind)
{
	struct sv_rb *rb = x->rb;
	bool rejecting = kind == SIEVE_ACT_REJECT || kind == SIEVE_ACT_EREJECT;
	for (size_t i = 0; i < rb->n; i++) {
		const struct sieve_action *a = &rb->acts[i];
		bool a_rejects = a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT;
		bool a_delivers = a->kind == SIEVE_ACT_KEEP || a->kind == SIEVE_ACT_FILEINTO ||
				  a->kind == SIEVE_ACT_REDIRECT || a->kind == SIEVE_ACT_VACATION;
		if (rejecting && a_rejects)
			return sv_fail(x, c->line, "duplicate reject/ereject (the first at line %u)", a->line);
		if ((rejecting && a_delivers) || (a_rejects && kind != SIEVE_ACT_DISCARD && !rejecting))
			return sv_fail(x, c->line, "reject/ereject conflicts with the %s at line %u",
				       rejecting ? (a->kind == SIEVE_ACT_VACATION ? "vacation" : "delivery")
						 : "reject", a->line);
	}
	return 0;
}

static const char *const *flags_copy(struct sv_exec *x, const char *const *flags, size_t n)
{
	if (!n)
		return NULL;
	const char **out = sv_alloc(x->rb->a, n * sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = sv_strdup(x->rb->a, flags[i])))
			return NULL;
	return out;
}

int sv_act_keep(struct sv_exec *x, const struct sv_cmd *c, const char *const *flags, size_t n)
{
	if (rb_conflicts(x, c, SIEVE_ACT_KEEP) < 0)
		return -1;
	struct sv_rb *rb = x->rb;
	rb->canceled = true;
	rb->explicit_keep = true;
	struct sieve_action *a = rb_find(rb, SIEVE_ACT_KEEP);
	if (!a && !(a = rb_add(x, c, SIEVE_ACT_KEEP)))
		return -1;
	a->folder = "INBOX";
	a->flags = flags_copy(x, flags, n);
	a->nflags = a->flags ? n : 0;
	return 0;
}

int sv_act_fileinto(struct sv_exec *x, const struct sv_cmd *c, const char *folder, size_t len,
		    const char *const *flags, size_t n)
{
	char path[SV_PATH_MAX];
	const char *why = "NUL byte in the name";
	int inbox = strlen(folder) == len ? sieve_folder_path(folder, path, sizeof path, &why) : -1;
	if (inbox < 0)
		return sv_fail(x, c->line, "fileinto: invalid folder name '%.64s': %s", folder, why);
	bool copy = (c->bits & B_COPY) != 0;
	if (inbox == 1) {
		/* fileinto "INBOX" is the spool mailbox: the same action as keep. */
		bool canceled = x->rb->canceled, explicit_keep = x->rb->explicit_keep;
		if (sv_act_keep(x, c, flags, n) < 0)
			return -1;
		x->rb->canceled = canceled || !copy;
		x->rb->explicit_keep = explicit_keep || !copy;
		return 0;
	}
	if (rb_conflicts(x, c, SIEVE_ACT_FILEINTO) < 0)
		return -1;
	struct sv_rb *rb = x->rb;
	struct sieve_action *a = NULL;
	for (size_t i = 0; i < rb->n && !a; i++)
		if (rb->acts[i].kind == SIEVE_ACT_FILEINTO && strcmp(rb->acts[i].folder, folder) == 0)
			a = &rb->acts[i];
	if (a) {
		a->copy = a->copy && copy;
		a->create = a->create || (c->bits & B_CREATE);
	} else {
		if (!(a = rb_add(x, c, SIEVE_ACT_FILEINTO)))
			return -1;
		a->folder = sv_strndup(rb->a, folder, len);
		a->path = sv_strdup(rb->a, path);
		a->copy = copy;
		a->create = (c->bits & B_CREATE) != 0;
	}
	a->flags = flags_copy(x, flags, n);
	a->nflags = a->flags ? n : 0;
	if (!a->folder || !a->path)
		return sv_fail(x, c->line, "out of memory");
	if (!copy)
		rb->canceled = true;
	return 0;
}

/* The same mailbox: local parts may be case-sensitive (RFC 5321 2.4), domains are not. */
static bool same_address(const char *a, const char *b)
{
	const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');
	if (!at_a || !at_b || at_a - a != at_b - b)
		return strcmp(a, b) == 0;
	return memcmp(a, b, (size_t)(at_a - a)) == 0 && strcasecmp(at_a, at_b) == 0;
}

int sv_act_redirect(struct sv_exec *x, const struct sv_cmd *c, const char *addr, size_t len)
{
	if (!sv_redirect_address_valid(addr, len))
		return sv_fail(x, c->line, "redirect: invalid address '%.64s'", addr);
	if (rb_conflicts(x, c, SIEVE_ACT_REDIRECT) < 0)
		return -1;
	struct sv_rb *rb = x->rb;
	bool copy = (c->bits & B_COPY) != 0;
	size_t count = 0;
	for (size_t i = 0; i < rb->n; i++) {
		struct sieve_action *a = &rb->acts[i];
		if (a->kind != SIEVE_ACT_REDIRECT)
			continue;
		if (same_address(a->address, addr)) {
			a->copy = a->copy && copy;
			if (!copy)
				rb->canceled = true;
			return 0;
		}
		count++;
	}
	if (count >= x->lim->max_redirects)
		return sv_fail(x, c->line, "too many redirects (limit %u)", x->lim->max_redirects);
	struct sieve_action *a = rb_add(x, c, SIEVE_ACT_REDIRECT);
	if (!a)
		return -1;
	a->address = sv_strndup(rb->a, addr, len);
	a->copy = copy;
	if (!a->address)
		return sv_fail(x, c->line, "out of memory");
	if (!copy)
		rb->canceled = true;
	return 0;
}

int sv_act_reject(struct sv_exec *x, const struct sv_cmd *c, const char *reason, size_t len)
{
	enum sieve_action_kind kind = c->op == OP_EREJECT ? SIEVE_ACT_EREJECT : SIEVE_ACT_REJECT;
	if (rb_conflicts(x, c, kind) < 0)
		return -1;
	struct sieve_action *a = rb_add(x, c, kind);
	if (!a)
		return -1;
	a->reason = sv_strndup(x->rb->a, reason, len);
	if (!a->reason)
		return sv_fail(x, c->line, "out of memory");
	x->rb->canceled = true;
	return 0;
}

int sv_act_discard(struct sv_exec *x, const struct sv_cmd *c)
{
	x->rb->canceled = true;
	if (rb_find(x->rb, SIEVE_ACT_DISCARD))
		return 0;
	return rb_add(x, c, SIEVE_ACT_DISCARD) ? 0 : -1;
}

int sv_act_vacation(struct sv_exec *x, const struct sv_cmd *c, struct sieve_vacation *v)
{
	if (rb_conflicts(x, c, SIEVE_ACT_VACATION) < 0)
		return -1;
	const struct sieve_action *prev = rb_find(x->rb, SIEVE_ACT_VACATION);
	if (prev)
		return sv_fail(x, c->line, "duplicate vacation (the first at line %u)", prev->line);
	struct sieve_action *a = rb_add(x, c, SIEVE_ACT_VACATION);
	if (!a)
		return -1;
	a->vacation = v;
	return 0;
}

void sv_rb_add_duplicate(struct sv_rb *rb, const char *key, size_t len, uint64_t period, bool last)
{
	if (rb->ndups == rb->capdups) {
		size_t nc = rb->capdups ? rb->capdups * 2 : 4;
		struct sv_rb_dup *nd = sv_alloc(rb->a, nc * sizeof *nd);
		if (!nd)
			return;
		if (rb->ndups)
			memcpy(nd, rb->dups, rb->ndups * sizeof *nd);
		rb->dups = nd;
		rb->capdups = nc;
	}
	char *k = sv_strndup(rb->a, key, len);
	if (!k)
		return;
	rb->dups[rb->ndups++] = (struct sv_rb_dup){ k, len, period, last };
}

void sv_rb_finish(struct sv_exec *x, struct sieve_result *res, bool keep, const char *const *flags, size_t nflags)
{
	struct sv_rb *rb = x->rb;
	static struct sieve_action fallback = { .kind = SIEVE_ACT_KEEP, .folder = "INBOX", .implicit = true };
	if (!rb) {
		res->actions = &fallback;
		res->count = 1;
		return;
	}
	if (keep && !rb_find(rb, SIEVE_ACT_KEEP)) {
		struct sieve_action *a = rb_push(rb, SIEVE_ACT_KEEP);
		if (a) {
			a->folder = "INBOX";
			a->implicit = true;
			a->script = "";
			a->flags = flags_copy(x, flags, nflags);
			a->nflags = a->flags ? nflags : 0;
		} else {
			/* out of memory: the keep still happens */
			rb->acts = &fallback;
			rb->n = 1;
		}
	}
	res->actions = rb->acts;
	res->count = rb->n;
	res->priv->dups = rb->dups;
	res->priv->ndups = rb->ndups;
}

const struct sv_rb_dup *sv_rb_dups(const struct sv_rb *rb, size_t *n)
{
	*n = rb->ndups;
	return rb->dups;
}

const struct sv_rb_dup *sv_result_dups(const struct sieve_result *res, size_t *n)
{
	*n = res->priv ? res->priv->ndups : 0;
	return res->priv ? res->priv->dups : NULL;
}
