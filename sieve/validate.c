/* The validator: checks each command of the generic tree against its signature (the table
 * in commands.c), resolves tags, comparators, match types and variables, and builds the
 * compiled commands the interpreter runs. */
#include "sieve/commands.h"
#include "sieve/syntax.h"

#include <stdio.h>
#include <string.h>

struct vstate {
	struct sieve_script *p;
	struct sv_unit *u;
	struct sv_diag *d;
	struct sv_vctx vc;
	struct sv_slab slab;    /* the compiled commands and lists, from the program's arena */
	struct sv_names cmds, tags;   /* indexes of the commands and tests, and of gtags */
	bool failed;
};

static bool v_oom(struct vstate *vs, unsigned line, unsigned col)
{
	sv_error(vs->d, line, col, "out of memory");
	vs->failed = true;
	return false;
}

static void *v_alloc(struct vstate *vs, size_t n, unsigned line, unsigned col)
{
	void *p = sv_slab_raw(&vs->slab, n);
	if (!p)
		v_oom(vs, line, col);
	else
		memset(p, 0, n);
	return p;
}

static bool v_err(struct vstate *vs, unsigned line, unsigned col, const char *fmt, const char *a, const char *b)
{
	char msg[400];
	snprintf(msg, sizeof msg, fmt, a, b ? b : "");
	sv_error(vs->d, line, col, "%s", msg);
	vs->failed = true;
	return false;
}

/* A list argument compiled (variables expanded at run time when expand). The list and its
 * strings are one allocation; sv_str_compile fills each string whole. */
_Static_assert(sizeof(struct sv_list) % _Alignof(struct sv_str) == 0, "strings follow the list");
static struct sv_list *v_list(struct vstate *vs, const struct sv_arg *a, bool expand)
{
	size_t n = a->nstrs ? a->nstrs : 1;
	struct sv_list *l = sv_slab_raw(&vs->slab, sizeof *l + n * sizeof *l->v);
	if (!l) {
		v_oom(vs, a->line, a->col);
		return NULL;
	}
	l->v = (struct sv_str *)(l + 1);
	l->n = 0;
	if (a->nstrs == 0)
		memset(l->v, 0, sizeof *l->v);
	for (size_t i = 0; i < a->nstrs; i++)
		if (!sv_str_compile(&vs->vc, &a->strs[i], &l->v[i], expand)) {
			vs->failed = true;
			return NULL;
		}
	l->n = (uint32_t)a->nstrs;
	return l;
}

static struct sv_str *v_string(struct vstate *vs, const struct sv_arg *a, bool expand)
{
	struct sv_list *l = v_list(vs, a, expand);
	return l ? &l->v[0] : NULL;
}

static bool v_is_const(const struct sv_str *s)
{
	return s->nparts == 0;
}

/* ------------------------------------------------------------------ generic tags */

struct tagstate {
	bool have_cmp, have_mt, have_ap, have_bt, have_zone, have_index;
};

/* The tag's arguments: args[*i] is the tag, *i moves past what it takes. */
struct tagargs {
	const struct sv_arg *args;
	size_t nargs;
	size_t *i;
};

/* False (reported) when ext is needed and not required; what and name say what needs it. */
static bool v_ext(struct vstate *vs, uint32_t ext, const struct sv_arg *a, const char *what, const char *name)
{
	if (!ext || (vs->u->exts & ext))
		return true;
	sv_error(vs->d, a->line, a->col, "%s ':%s' requires the extension '%s'", what, name, sv_ext_name(ext));
	vs->failed = true;
	return false;
}

/* The next argument as the string a tag takes. */
static const struct sv_arg *v_tag_string(struct vstate *vs, const struct tagargs *ta, const char *tag)
{
	size_t *i = ta->i;
	if (*i + 1 >= ta->nargs || ta->args[*i + 1].kind != A_STRINGS || ta->args[*i + 1].bracketed) {
		v_err(vs, ta->args[*i].line, ta->args[*i].col, "tag ':%s' needs a string argument", tag, NULL);
		return NULL;
	}
	return &ta->args[++*i];
}

static const struct sv_arg *v_tag_list(struct vstate *vs, const struct tagargs *ta, const char *tag)
{
	size_t *i = ta->i;
	if (*i + 1 >= ta->nargs || ta->args[*i + 1].kind != A_STRINGS) {
		v_err(vs, ta->args[*i].line, ta->args[*i].col, "tag ':%s' needs a string list argument", tag, NULL);
		return NULL;
	}
	return &ta->args[++*i];
}

/* False (reported) when a tag of its kind (what) came before; a tag of each kind is allowed once. */
static bool v_once(struct vstate *vs, bool *have, const struct sv_arg *a, const char *what)
{
	if (*have)
		return v_err(vs, a->line, a->col, "more than one %s", what, NULL);
	*have = true;
	return true;
}

static int v_relation(const char *s)
{
	static const char *const rels[] = { "gt", "ge", "lt", "le", "eq", "ne" };
	for (int i = 0; i < 6; i++)
		if (sv_name_eq(s, rels[i]))
			return i;
	return -1;
}

enum { GT_CMP, GT_MT, GT_AP, GT_INDEX, GT_LAST, GT_ZONE, GT_ORIGZONE, GT_BT };

/* Comparator, match type, address part, index, zone and body transform tags. */
static const struct gtag {
	const char *name;
	uint8_t kind;       /* GT_* */
	uint8_t value;      /* GT_MT: MT_*, GT_AP: AP_*, GT_BT: BT_* */
	unsigned group;     /* the G_* a command must accept */
	uint32_t ext;       /* the extension it needs, 0 for none */
	const char *what;   /* what an error calls it */
} gtags[] = {
	{ "all", GT_AP, AP_ALL, G_ADDR, 0, "address part" },
	{ "comparator", GT_CMP, 0, G_CMP, 0, "tag" },
	{ "contains", GT_MT, MT_CONTAINS, G_MATCH, 0, "match type" },
	{ "content", GT_BT, BT_CONTENT, G_BODY, 0, "tag" },
	{ "count", GT_MT, MT_COUNT, G_MATCH, EXT_RELATIONAL, "match type" },
	{ "detail", GT_AP, AP_DETAIL, G_ADDR, EXT_SUBADDRESS, "address part" },
	{ "domain", GT_AP, AP_DOMAIN, G_ADDR, 0, "address part" },
	{ "index", GT_INDEX, 0, G_INDEX, EXT_INDEX, "tag" },
	{ "is", GT_MT, MT_IS, G_MATCH, 0, "match type" },
	{ "last", GT_LAST, 0, G_INDEX, EXT_INDEX, "tag" },
	{ "localpart", GT_AP, AP_LOCAL, G_ADDR, 0, "address part" },
	{ "matches", GT_MT, MT_MATCHES, G_MATCH, 0, "match type" },
	{ "originalzone", GT_ORIGZONE, 0, G_ZONE, 0, "tag" },
	{ "raw", GT_BT, BT_RAW, G_BODY, 0, "tag" },
	{ "regex", GT_MT, MT_REGEX, G_MATCH, EXT_REGEX, "match type" },
	{ "text", GT_BT, BT_TEXT, G_BODY, 0, "tag" },
	{ "user", GT_AP, AP_USER, G_ADDR, EXT_SUBADDRESS, "address part" },
	{ "value", GT_MT, MT_VALUE, G_MATCH, EXT_RELATIONAL, "match type" },
	{ "zone", GT_ZONE, 0, G_ZONE, 0, "tag" },
};
_Static_assert(sizeof gtags / sizeof gtags[0] < SV_NAMES_SLOTS, "an index holds all generic tags");

static int v_comparator(struct vstate *vs, struct sv_cmd *c, struct tagstate *ts, const struct tagargs *ta)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	const struct sv_arg *s = v_tag_string(vs, ta, a->tag);
	if (!s)
		return -1;
	if (!v_once(vs, &ts->have_cmp, a, "comparator"))
		return -1;
	const char *name = s->strs[0].s;
	if (sv_name_eq(name, "i;octet"))
		c->m.cmp = CMP_OCTET;
	else if (sv_name_eq(name, "i;ascii-casemap"))
		c->m.cmp = CMP_CASEMAP;
	else if (!sv_name_eq(name, "i;ascii-numeric"))
		return v_err(vs, s->line, s->col, "unknown comparator '%.64s'", name, NULL) - 1;
	else if (!(vs->u->exts & EXT_NUMERIC))
		return v_err(vs, s->line, s->col,
			     "comparator 'i;ascii-numeric' requires the extension 'comparator-i;ascii-numeric'", NULL,
			     NULL) - 1;
	else
		c->m.cmp = CMP_NUMERIC;
	return 1;
}

static int v_match_type(struct vstate *vs, struct sv_cmd *c, struct tagstate *ts, const struct gtag *gt,
			const struct tagargs *ta)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	if (!v_once(vs, &ts->have_mt, a, "match type"))
		return -1;
	c->m.mt = gt->value;
	if (c->m.mt != MT_COUNT && c->m.mt != MT_VALUE)
		return 1;
	const struct sv_arg *s = v_tag_string(vs, ta, a->tag);
	if (!s)
		return -1;
	int rel = v_relation(s->strs[0].s);
	if (rel < 0)
		return v_err(vs, s->line, s->col, "invalid relational match '%.32s'", s->strs[0].s, NULL) - 1;
	c->m.rel = (uint8_t)rel;
	return 1;
}

static int v_index(struct vstate *vs, struct sv_cmd *c, struct tagstate *ts, const struct tagargs *ta)
{
	size_t *i = ta->i;
	const struct sv_arg *a = &ta->args[*i];
	if (*i + 1 >= ta->nargs || ta->args[*i + 1].kind != A_NUMBER)
		return v_err(vs, a->line, a->col, "tag ':index' needs a number", NULL, NULL) - 1;
	uint64_t n = ta->args[++*i].num;
	if (n == 0 || n > 1000000)
		return v_err(vs, a->line, a->col, "':index' must be between 1 and 1000000", NULL, NULL) - 1;
	if (!v_once(vs, &ts->have_index, a, "':index'"))
		return -1;
	c->m.index = (uint32_t)n;
	return 1;
}

/* :zone "+hhmm" (given) or :originalzone (original). */
static int v_zone(struct vstate *vs, struct sv_cmd *c, struct tagstate *ts, bool given, const struct tagargs *ta)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	const struct sv_arg *s = given ? v_tag_string(vs, ta, a->tag) : NULL;
	if (given && !s)
		return -1;
	if (!v_once(vs, &ts->have_zone, a, "zone"))
		return -1;
	if (!given) {
		c->zone = ZONE_ORIGINAL;
		return 1;
	}
	c->zone = ZONE_GIVEN;
	c->str[S_ZONE] = v_string(vs, s, true);
	return c->str[S_ZONE] ? 1 : -1;
}

static int v_body_transform(struct vstate *vs, struct sv_cmd *c, struct tagstate *ts, const struct gtag *gt,
			    const struct tagargs *ta)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	if (!v_once(vs, &ts->have_bt, a, "body transform"))
		return -1;
	c->bt = gt->value;
	if (gt->value == BT_CONTENT) {
		const struct sv_arg *l = v_tag_list(vs, ta, a->tag);
		if (!l || !(c->tlist = v_list(vs, l, true)))
			return -1;
	}
	return 1;
}

/* A generic tag at args[*i]: 1 when it was one, 0 when not, -1 on error. */
static int v_generic_tag(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, struct tagstate *ts,
			 const struct tagargs *ta)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	const struct gtag *gt = sv_names_find(&vs->tags, a->tag, a->tag_len);
	if (!gt || !(def->groups & gt->group) || (gt->kind == GT_LAST && def->op == OP_DUPLICATE) ||
	    (gt->kind == GT_ORIGZONE && def->op != OP_DATE))
		return 0;
	if (!v_ext(vs, gt->ext, a, gt->what, gt->name))
		return -1;
	switch (gt->kind) {
	case GT_CMP:
		return v_comparator(vs, c, ts, ta);
	case GT_MT:
		return v_match_type(vs, c, ts, gt, ta);
	case GT_AP:
		if (!v_once(vs, &ts->have_ap, a, "address part"))
			return -1;
		c->m.ap = gt->value;
		return 1;
	case GT_INDEX:
		return v_index(vs, c, ts, ta);
	case GT_LAST:
		c->m.last = true;
		return 1;
	case GT_ZONE:
	case GT_ORIGZONE:
		return v_zone(vs, c, ts, gt->kind == GT_ZONE, ta);
	default:
		return v_body_transform(vs, c, ts, gt, ta);
	}
}

/* ------------------------------------------------------------------ command tags */

/* What a command's own tag takes, from the arguments after it. */
static int v_own_tag_arg(struct vstate *vs, const struct sv_tagdef *td, struct sv_cmd *c, const struct tagargs *ta)
{
	size_t *i = ta->i;
	if (td->arg == TA_STRING) {
		const struct sv_arg *s = v_tag_string(vs, ta, td->name);
		if (!s || !(c->str[td->slot] = v_string(vs, s, true)))
			return -1;
	} else if (td->arg == TA_LIST) {
		const struct sv_arg *l = v_tag_list(vs, ta, td->name);
		if (!l || !(c->tlist = v_list(vs, l, true)))
			return -1;
	} else if (td->arg == TA_NUMBER) {
		if (*i + 1 >= ta->nargs || ta->args[*i + 1].kind != A_NUMBER)
			return v_err(vs, ta->args[*i].line, ta->args[*i].col, "tag ':%s' needs a number", td->name,
				     NULL) - 1;
		c->num = ta->args[++*i].num;
	} else if (td->arg == TA_MODIFIER) {
		c->modifiers |= (uint8_t)td->slot;
	}
	return 1;
}

static int v_own_tag(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, const struct tagargs *ta,
		     unsigned *groups_used)
{
	const struct sv_arg *a = &ta->args[*ta->i];
	for (const struct sv_tagdef *td = def->tags; td && td->name; td++) {
		if (!sv_name_eq(a->tag, td->name))
			continue;
		if (!v_ext(vs, td->ext, a, "tag", td->name))
			return -1;
		if (td->excl) {
			if (*groups_used & td->excl)
				return v_err(vs, a->line, a->col, "tag ':%s' conflicts with an earlier tag of %s",
					     td->name, def->name) - 1;
			*groups_used |= td->excl;
		} else if (td->bit && (c->bits & td->bit)) {
			return v_err(vs, a->line, a->col, "tag ':%s' given twice", td->name, NULL) - 1;
		}
		c->bits |= td->bit;
		return v_own_tag_arg(vs, td, c, ta);
	}
	return 0;
}

/* ------------------------------------------------------------------ positional */

/* Fills the positional slots from pos ("?L0L1": optional leading list 0, list 1). */
static bool v_positional(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, const struct sv_gnode *g,
			 size_t first)
{
	const char *pos = def->pos ? def->pos : "";
	size_t want = 0, optional = 0;
	for (const char *p = pos; *p; p++) {
		if (*p == '?')
			optional++;
		else if (*p == 'S' || *p == 'L' || *p == 'N')
			want++;
	}
	size_t have = g->nargs - first;
	if (have > want || have + optional < want) {
		char n[16];
		snprintf(n, sizeof n, "%zu", want - optional);
		return v_err(vs, g->line, g->col, "wrong number of arguments for '%s' (expected %s)", def->name,
			     optional ? "more or fewer" : n);
	}
	size_t skip = want - have;   /* optional leading arguments left out */
	size_t ai = first;
	bool opt_next = false;
	for (const char *p = pos; *p; p++) {
		if (*p == '?') {
			opt_next = true;
			continue;
		}
		char kind = *p;
		int slot = p[1] - '0';
		p++;
		if (opt_next && skip) {
			skip--;
			opt_next = false;
			continue;
		}
		if (opt_next)
			c->bits |= B_HASVAR;
		opt_next = false;
		const struct sv_arg *a = &g->args[ai++];
		bool expand = !(def->flags & F_CONST_ARGS);
		if (kind == 'N') {
			if (a->kind != A_NUMBER)
				return v_err(vs, a->line, a->col, "'%s' expects a number here", def->name, NULL);
			c->num = a->num;
		} else if (a->kind != A_STRINGS) {
			return v_err(vs, a->line, a->col, "'%s' expects a %s here", def->name,
				     kind == 'S' ? "string" : "string list");
		} else if (kind == 'S') {
			if (a->bracketed && a->nstrs != 1)
				return v_err(vs, a->line, a->col, "'%s' expects a string here, not a list", def->name, NULL);
			if (!(c->str[slot] = v_string(vs, a, expand)))
				return false;
		} else if (!(c->list[slot] = v_list(vs, a, expand))) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ per-command checks */

static bool v_header_names(struct vstate *vs, const struct sv_list *l, bool address)
{
	for (uint32_t i = 0; l && i < l->n; i++) {
		const struct sv_str *s = &l->v[i];
		if (!v_is_const(s))
			continue;
		if (!sv_header_name_valid(s->s, s->len))
			return v_err(vs, s->line, s->col, "invalid header name '%.64s'", s->s, NULL);
		if (address && !sv_address_header(s->s))
			return v_err(vs, s->line, s->col, "header '%.64s' is not allowed for the address test", s->s,
				     NULL);
	}
	return true;
}

/* Keys of a match: a numeric comparator cannot do substring or pattern matching, regexes
 * of constant keys are compiled now (their errors are compile errors). */
static bool v_keys(struct vstate *vs, struct sv_cmd *c, const struct sv_list *keys)
{
	if (c->m.cmp == CMP_NUMERIC && c->m.mt != MT_IS && c->m.mt != MT_VALUE && c->m.mt != MT_COUNT)
		return v_err(vs, c->line, c->col, "comparator 'i;ascii-numeric' cannot be used with this match type",
			     NULL, NULL);
	if (c->m.mt != MT_REGEX || !keys)
		return true;
	c->m.rx = v_alloc(vs, (keys->n ? keys->n : 1) * sizeof *c->m.rx, c->line, c->col);
	if (!c->m.rx)
		return false;
	for (uint32_t i = 0; i < keys->n; i++) {
		const struct sv_str *k = &keys->v[i];
		if (!v_is_const(k))
			continue;
		char err[160];
		struct sv_regex *rx = sv_regex_compile(k->s, k->len, c->m.cmp, err, sizeof err);
		if (!rx)
			return v_err(vs, k->line, k->col, "invalid regular expression: %s", err, NULL);
		if (!sv_program_keep_regex(vs->p, rx)) {
			sv_regex_free(rx);
			return v_err(vs, k->line, k->col, "out of memory", NULL, NULL);
		}
		c->m.rx[i] = rx;
	}
	return true;
}

static bool v_require(struct vstate *vs, struct sv_cmd *c)
{
	const struct sv_list *l = c->list[0];
	for (uint32_t i = 0; i < l->n; i++) {
		const struct sv_str *s = &l->v[i];
		uint32_t bit = sv_ext_lookup(s->s, s->len);
		if (bit & vs->p->disabled)
			bit = 0;
		if (!bit)
			return v_err(vs, s->line, s->col, "unknown extension '%.64s'", s->s, NULL);
		vs->u->exts |= bit;
		if (bit == EXT_VACSECONDS)
			vs->u->exts |= EXT_VACATION;
	}
	return true;
}

static bool v_folder_name(struct vstate *vs, const struct sv_str *s)
{
	if (!v_is_const(s))
		return true;
	char path[1024];
	const char *why = NULL;
	if (sieve_folder_path(s->s, path, sizeof path, &why) < 0 || strlen(s->s) != s->len)
		return v_err(vs, s->line, s->col, "invalid folder name '%.64s': %s", s->s, why ? why : "NUL byte");
	return true;
}

static bool v_redirect_address(struct vstate *vs, const struct sv_str *s)
{
	if (!v_is_const(s))
		return true;
	if (!sv_redirect_address_valid(s->s, s->len))
		return v_err(vs, s->line, s->col, "invalid redirect address '%.64s'", s->s, NULL);
	return true;
}

static bool v_set(struct vstate *vs, struct sv_cmd *c)
{
	const struct sv_str *name = c->str[S_TARGET];
	unsigned m = c->modifiers;
	if (((m & MOD_LOWER) && (m & MOD_UPPER)) || ((m & MOD_LOWERFIRST) && (m & MOD_UPPERFIRST)) ||
	    ((m & MOD_QUOTEWILDCARD) && (m & MOD_QUOTEREGEX)))
		return v_err(vs, c->line, c->col, "two modifiers of the same precedence", NULL, NULL);
	bool global;
	int slot = sv_var_slot(&vs->vc, name->s, name->len, name->line, name->col, &global);
	if (slot < 0) {
		vs->failed = true;
		return false;
	}
	c->var = (uint32_t)slot;
	c->var_global = global;
	return true;
}

/* setflag/addflag/removeflag/hasflag with variable names: bound now, they are constant. */
static bool v_flag_vars(struct vstate *vs, struct sv_cmd *c)
{
	if (!(c->bits & B_HASVAR))
		return true;
	if (!(vs->u->exts & EXT_VARIABLES))
		return v_err(vs, c->line, c->col, "a variable name for '%s' requires the extension 'variables'",
			     c->op == OP_HASFLAG ? "hasflag" : "setflag", NULL);
	const struct sv_list *l = c->list[0];
	if (c->op != OP_HASFLAG && l->n != 1)
		return v_err(vs, c->line, c->col, "expected one variable name", NULL, NULL);
	for (uint32_t i = 0; i < l->n; i++) {
		bool global;
		if (sv_var_slot(&vs->vc, l->v[i].s, l->v[i].len, l->v[i].line, l->v[i].col, &global) < 0) {
			vs->failed = true;
			return false;
		}
	}
	return true;
}

static bool v_vacation(struct vstate *vs, struct sv_cmd *c)
{
	if ((c->bits & B_SECONDS) && !(vs->u->exts & EXT_VACSECONDS))
		return v_err(vs, c->line, c->col, "tag ':seconds' requires the extension 'vacation-seconds'", NULL, NULL);
	return true;
}

static bool v_duplicate(struct vstate *vs, struct sv_cmd *c)
{
	if (c->str[S_DUPID] && !(c->bits & B_UNIQUEID) && v_is_const(c->str[S_DUPID]) &&
	    !sv_header_name_valid(c->str[S_DUPID]->s, c->str[S_DUPID]->len))
		return v_err(vs, c->line, c->col, "invalid header name '%.64s'", c->str[S_DUPID]->s, NULL);
	return true;
}

static bool v_date(struct vstate *vs, struct sv_cmd *c)
{
	const struct sv_str *part = c->str[S_DATEPART];
	if (v_is_const(part) && !sv_date_part_valid(part->s))
		return v_err(vs, part->line, part->col, "unknown date part '%.32s'", part->s, NULL);
	const struct sv_str *z = c->str[S_ZONE];
	int minutes;
	if (c->zone == ZONE_GIVEN && z && v_is_const(z) && !sv_zone_valid(z->s, z->len, &minutes))
		return v_err(vs, z->line, z->col, "invalid time zone '%.32s'", z->s, NULL);
	if (c->op == OP_DATE && !v_header_names(vs, &(struct sv_list){ c->str[S_HEADER], 1 }, false))
		return false;
	return true;
}

static bool v_include(struct vstate *vs, struct sv_cmd *c)
{
	const struct sv_str *name = c->str[S_TARGET];
	if (!sv_include_name_valid(name->s, name->len))
		return v_err(vs, name->line, name->col, "invalid script name '%.64s'", name->s, NULL);
	c->inc = sv_compile_include(vs->p, name->s, (c->bits & B_GLOBAL) != 0, (c->bits & B_OPTIONAL) != 0,
				    name->line, name->col, vs->d);
	if (!c->inc) {
		vs->failed = true;
		return false;
	}
	return true;
}

static bool v_global(struct vstate *vs, struct sv_cmd *c)
{
	const struct sv_list *l = c->list[0];
	if (!(vs->u->exts & EXT_VARIABLES))
		return v_err(vs, c->line, c->col, "'global' requires the extension 'variables'", NULL, NULL);
	for (uint32_t i = 0; i < l->n; i++)
		if (!sv_var_global(&vs->vc, l->v[i].s, l->v[i].len, l->v[i].line, l->v[i].col)) {
			vs->failed = true;
			return false;
		}
	return true;
}

/* The checks that are not in the signature table. */
static bool v_specific(struct vstate *vs, struct sv_cmd *c)
{
	switch (c->op) {
	case OP_REQUIRE:
		return v_require(vs, c);
	case OP_FILEINTO:
		return v_folder_name(vs, c->str[S_TARGET]);
	case OP_REDIRECT:
		return v_redirect_address(vs, c->str[S_TARGET]);
	case OP_SET:
		return v_set(vs, c);
	case OP_SETFLAG:
	case OP_ADDFLAG:
	case OP_REMOVEFLAG:
	case OP_HASFLAG:
		return v_flag_vars(vs, c) && (c->op != OP_HASFLAG || v_keys(vs, c, c->list[1]));
	case OP_VACATION:
		return v_vacation(vs, c);
	case OP_DUPLICATE:
		return v_duplicate(vs, c);
	case OP_INCLUDE:
		return v_include(vs, c);
	case OP_GLOBAL:
		return v_global(vs, c);
	case OP_HEADER:
	case OP_ADDRESS:
	case OP_EXISTS:
		return v_header_names(vs, c->list[0], c->op == OP_ADDRESS) &&
		       (c->op == OP_EXISTS || v_keys(vs, c, c->list[1]));
	case OP_ENVELOPE:
		for (uint32_t i = 0; i < c->list[0]->n; i++) {
			const struct sv_str *s = &c->list[0]->v[i];
			if (v_is_const(s) && !sv_name_eq(s->s, "from") && !sv_name_eq(s->s, "to") &&
			    !sv_name_eq(s->s, "auth"))
				return v_err(vs, s->line, s->col, "unknown envelope part '%.32s'", s->s, NULL);
		}
		return v_keys(vs, c, c->list[1]);
	case OP_STRING:
	case OP_BODY:
		return v_keys(vs, c, c->list[1]);
	case OP_DATE:
	case OP_CURRENTDATE:
		return v_date(vs, c) && v_keys(vs, c, c->list[1]);
	case OP_SIZE:
		if (!(c->bits & (B_OVER | B_UNDER)))
			return v_err(vs, c->line, c->col, "'size' needs :over or :under", NULL, NULL);
		return true;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------ commands */

static struct sv_cmd *v_node(struct vstate *vs, const struct sv_gnode *g, bool test);

static bool v_tests(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, const struct sv_gnode *g)
{
	if (def->tests == 0) {
		if (g->ntests)
			return v_err(vs, g->line, g->col, "'%s' takes no test", def->name, NULL);
		return true;
	}
	if (def->tests == 1 && (g->ntests != 1 || g->test_list))
		return v_err(vs, g->line, g->col, "'%s' needs exactly one test", def->name, NULL);
	if (def->tests == 2 && !g->test_list)
		return v_err(vs, g->line, g->col, "'%s' needs a test list in ( )", def->name, NULL);
	if (def->tests == 1) {
		c->test = v_node(vs, g->tests[0], true);
		return c->test != NULL;
	}
	c->tests = v_alloc(vs, g->ntests * sizeof *c->tests, g->line, g->col);
	if (!c->tests)
		return false;
	for (size_t i = 0; i < g->ntests; i++)
		if (!(c->tests[i] = v_node(vs, g->tests[i], true)))
			return false;
	c->ntests = (uint32_t)g->ntests;
	return true;
}

static struct sv_cmd *v_block(struct vstate *vs, const struct sv_gnode *first, bool top);

/* The definition of g, which is a test or a command; NULL (reported) when there is none. */
static const struct sv_cmddef *v_def(struct vstate *vs, const struct sv_gnode *g, bool test)
{
	const struct sv_cmddef *def = sv_names_find(&vs->cmds, g->name, g->name_len);
	if (!def)
		v_err(vs, g->line, g->col, test ? "unknown test '%.64s'" : "unknown command '%.64s'", g->name, NULL);
	else if (def->test != test)
		v_err(vs, g->line, g->col, test ? "'%s' is a command, not a test" : "'%s' is a test, not a command",
		      g->name, NULL);
	else if (def->ext && !(vs->u->exts & def->ext))
		v_err(vs, g->line, g->col, "'%s' requires the extension '%s'", def->name, sv_ext_name(def->ext));
	else
		return def;
	return NULL;
}

/* The tags of g, which come before its positional arguments; the index of the first of
 * those, or -1 (reported). */
static long v_tags(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, const struct sv_gnode *g)
{
	struct tagstate ts = { 0 };
	unsigned groups_used = 0;
	size_t i = 0;
	struct tagargs ta = { g->args, g->nargs, &i };
	for (; i < g->nargs && g->args[i].kind == A_TAG; i++) {
		int r = v_generic_tag(vs, def, c, &ts, &ta);
		if (r == 0)
			r = v_own_tag(vs, def, c, &ta, &groups_used);
		if (r < 0)
			return -1;
		if (r == 0)
			return v_err(vs, g->args[i].line, g->args[i].col, "unknown tag ':%.64s' for '%s'", g->args[i].tag,
				     def->name) - 1;
	}
	for (size_t k = i; k < g->nargs; k++)
		if (g->args[k].kind == A_TAG)
			return v_err(vs, g->args[k].line, g->args[k].col, "tag ':%.64s' after positional arguments of '%s'",
				     g->args[k].tag, def->name) - 1;
	if (c->m.last && !c->m.index)
		return v_err(vs, g->line, g->col, "':last' needs ':index'", NULL, NULL) - 1;
	return (long)i;
}

static bool v_block_rule(struct vstate *vs, const struct sv_cmddef *def, const struct sv_gnode *g)
{
	if (def->block && !g->has_block)
		return v_err(vs, g->line, g->col, "'%s' needs a block", def->name, NULL);
	if (!def->block && g->has_block)
		return v_err(vs, g->line, g->col, "'%s' takes no block", def->name, NULL);
	return true;
}

static struct sv_cmd *v_node(struct vstate *vs, const struct sv_gnode *g, bool test)
{
	const struct sv_cmddef *def = v_def(vs, g, test);
	if (!def)
		return NULL;
	struct sv_cmd *c = sv_slab_raw(&vs->slab, sizeof *c);
	if (!c) {
		v_oom(vs, g->line, g->col);
		return NULL;
	}
	*c = (struct sv_cmd){ .op = def->op, .line = g->line, .col = g->col,
			      .m = { .mt = MT_IS, .cmp = CMP_CASEMAP, .ap = AP_ALL } };
	long first = v_tags(vs, def, c, g);
	if (first < 0 || !v_positional(vs, def, c, g, (size_t)first) || !v_tests(vs, def, c, g) ||
	    !v_block_rule(vs, def, g) || !v_specific(vs, c))
		return NULL;
	if (def->block) {
		c->block = v_block(vs, g->block, false);
		if (vs->failed)
			return NULL;
	}
	return c;
}

/* A sequence of commands; elsif/else are hung on the if before them. */
static struct sv_cmd *v_block(struct vstate *vs, const struct sv_gnode *first, bool top)
{
	struct sv_cmd *head = NULL, **tail = &head, *last_if = NULL;
	bool requires_ok = top;
	for (const struct sv_gnode *g = first; g; g = g->next) {
		bool is_require = sv_name_eq(g->name, "require");
		if (is_require && !requires_ok) {
			v_err(vs, g->line, g->col, "require must come before any other command", NULL, NULL);
			return NULL;
		}
		if (!is_require)
			requires_ok = false;
		struct sv_cmd *c = v_node(vs, g, false);
		if (!c)
			return NULL;
		if (c->op == OP_ELSIF || c->op == OP_ELSE) {
			if (!last_if) {
				v_err(vs, g->line, g->col, "'%s' without a preceding 'if'", g->name, NULL);
				return NULL;
			}
			last_if->alt = c;
			last_if = c->op == OP_ELSIF ? c : NULL;
			continue;
		}
		last_if = c->op == OP_IF ? c : NULL;
		if (c->op == OP_REQUIRE || c->op == OP_GLOBAL)
			continue;   /* nothing to do at run time */
		*tail = c;
		tail = &c->next;
	}
	return head;
}

bool sv_validate(struct sieve_script *p, struct sv_unit *u, struct sv_gnode *tree, struct sv_diag *d)
{
	struct vstate vs = { .p = p, .u = u, .d = d, .slab = { &p->arena, NULL, NULL } };
	vs.vc = (struct sv_vctx){ p, u, d };
	sv_cmd_index(&vs.cmds);
	sv_names_build(&vs.tags, gtags, sizeof gtags / sizeof gtags[0], sizeof gtags[0]);
	u->code = v_block(&vs, tree, true);
	return !vs.failed;
}
