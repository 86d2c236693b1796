/* The validator: checks each command of the generic tree against its signature (the table
 * in commands.c), resolves tags, comparators, match types and variables, and builds the
 * compiled commands the interpreter runs. */
#include "sieve/internal.h"
#include "sieve/commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct vstate {
	struct sieve_script *p;
	struct sv_unit *u;
	struct sv_diag *d;
	struct sv_vctx vc;
	bool failed;
};

static void *v_alloc(struct vstate *vs, size_t n, unsigned line, unsigned col)
{
	void *p = sv_alloc(&vs->p->arena, n);
	if (!p) {
		sv_error(vs->d, line, col, "out of memory");
		vs->failed = true;
	}
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

/* A list argument compiled (variables expanded at run time when expand). */
static struct sv_list *v_list(struct vstate *vs, const struct sv_arg *a, bool expand)
{
	struct sv_list *l = v_alloc(vs, sizeof *l, a->line, a->col);
	if (!l)
		return NULL;
	l->v = v_alloc(vs, (a->nstrs ? a->nstrs : 1) * sizeof *l->v, a->line, a->col);
	if (!l->v)
		return NULL;
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
	unsigned groups_seen;
};

static bool v_ext(struct vstate *vs, uint32_t ext, const struct sv_arg *a, const char *what)
{
	if (!ext || (vs->u->exts & ext))
		return true;
	char buf[80];
	snprintf(buf, sizeof buf, "%s", what);
	return v_err(vs, a->line, a->col, "%s requires the extension '%s'", buf, sv_ext_name(ext));
}

/* The next argument as the string a tag takes. */
static const struct sv_arg *v_tag_string(struct vstate *vs, const struct sv_arg *args, size_t nargs, size_t *i,
					 const char *tag)
{
	if (*i + 1 >= nargs || args[*i + 1].kind != A_STRINGS || args[*i + 1].bracketed) {
		v_err(vs, args[*i].line, args[*i].col, "tag ':%s' needs a string argument", tag, NULL);
		return NULL;
	}
	return &args[++*i];
}

static const struct sv_arg *v_tag_list(struct vstate *vs, const struct sv_arg *args, size_t nargs, size_t *i,
				       const char *tag)
{
	if (*i + 1 >= nargs || args[*i + 1].kind != A_STRINGS) {
		v_err(vs, args[*i].line, args[*i].col, "tag ':%s' needs a string list argument", tag, NULL);
		return NULL;
	}
	return &args[++*i];
}

static int v_relation(const char *s)
{
	static const char *const rels[] = { "gt", "ge", "lt", "le", "eq", "ne" };
	for (int i = 0; i < 6; i++)
		if (strcasecmp(s, rels[i]) == 0)
			return i;
	return -1;
}

/* Comparator, match type, address part, index, zone and body transform tags. Returns 1 when
 * args[*i] was one of them, 0 when not, -1 on error. */
static int v_generic_tag(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, struct tagstate *ts,
			 const struct sv_arg *args, size_t nargs, size_t *i)
{
	const struct sv_arg *a = &args[*i];
	const char *t = a->tag;
	unsigned g = def->groups;
	if ((g & G_CMP) && strcasecmp(t, "comparator") == 0) {
		const struct sv_arg *s = v_tag_string(vs, args, nargs, i, t);
		if (!s)
			return -1;
		if (ts->have_cmp)
			return v_err(vs, a->line, a->col, "more than one comparator", NULL, NULL) - 1;
		ts->have_cmp = true;
		const char *name = s->strs[0].s;
		if (strcasecmp(name, "i;octet") == 0)
			c->m.cmp = CMP_OCTET;
		else if (strcasecmp(name, "i;ascii-casemap") == 0)
			c->m.cmp = CMP_CASEMAP;
		else if (strcasecmp(name, "i;ascii-numeric") == 0) {
			if (!(vs->u->exts & EXT_NUMERIC))
				return v_err(vs, s->line, s->col,
					     "comparator 'i;ascii-numeric' requires the extension 'comparator-i;ascii-numeric'",
					     NULL, NULL) - 1;
			c->m.cmp = CMP_NUMERIC;
		} else
			return v_err(vs, s->line, s->col, "unknown comparator '%.64s'", name, NULL) - 1;
		return 1;
	}
	if (g & G_MATCH) {
		static const struct { const char *name; uint8_t mt; uint32_t ext; } mts[] = {
			{ "is", MT_IS, 0 },           { "contains", MT_CONTAINS, 0 }, { "matches", MT_MATCHES, 0 },
			{ "regex", MT_REGEX, EXT_REGEX }, { "count", MT_COUNT, EXT_RELATIONAL },
			{ "value", MT_VALUE, EXT_RELATIONAL },
		};
		for (size_t k = 0; k < sizeof mts / sizeof mts[0]; k++) {
			if (strcasecmp(t, mts[k].name) != 0)
				continue;
			char what[40];
			snprintf(what, sizeof what, "match type ':%s'", mts[k].name);
			if (!v_ext(vs, mts[k].ext, a, what))
				return -1;
			if (ts->have_mt)
				return v_err(vs, a->line, a->col, "more than one match type", NULL, NULL) - 1;
			ts->have_mt = true;
			c->m.mt = mts[k].mt;
			if (c->m.mt == MT_COUNT || c->m.mt == MT_VALUE) {
				const struct sv_arg *s = v_tag_string(vs, args, nargs, i, t);
				if (!s)
					return -1;
				int rel = v_relation(s->strs[0].s);
				if (rel < 0)
					return v_err(vs, s->line, s->col, "invalid relational match '%.32s'", s->strs[0].s,
						     NULL) - 1;
				c->m.rel = (uint8_t)rel;
			}
			return 1;
		}
	}
	if (g & G_ADDR) {
		static const struct { const char *name; uint8_t ap; uint32_t ext; } aps[] = {
			{ "all", AP_ALL, 0 }, { "localpart", AP_LOCAL, 0 }, { "domain", AP_DOMAIN, 0 },
			{ "user", AP_USER, EXT_SUBADDRESS }, { "detail", AP_DETAIL, EXT_SUBADDRESS },
		};
		for (size_t k = 0; k < sizeof aps / sizeof aps[0]; k++) {
			if (strcasecmp(t, aps[k].name) != 0)
				continue;
			char what[40];
			snprintf(what, sizeof what, "address part ':%s'", aps[k].name);
			if (!v_ext(vs, aps[k].ext, a, what))
				return -1;
			if (ts->have_ap)
				return v_err(vs, a->line, a->col, "more than one address part", NULL, NULL) - 1;
			ts->have_ap = true;
			c->m.ap = aps[k].ap;
			return 1;
		}
	}
	if ((g & G_INDEX) && strcasecmp(t, "index") == 0) {
		if (!v_ext(vs, EXT_INDEX, a, "tag ':index'"))
			return -1;
		if (*i + 1 >= nargs || args[*i + 1].kind != A_NUMBER)
			return v_err(vs, a->line, a->col, "tag ':index' needs a number", NULL, NULL) - 1;
		uint64_t n = args[++*i].num;
		if (n == 0 || n > 1000000)
			return v_err(vs, a->line, a->col, "':index' must be between 1 and 1000000", NULL, NULL) - 1;
		if (ts->have_index)
			return v_err(vs, a->line, a->col, "more than one ':index'", NULL, NULL) - 1;
		ts->have_index = true;
		c->m.index = (uint32_t)n;
		return 1;
	}
	if ((g & G_INDEX) && strcasecmp(t, "last") == 0 && def->op != OP_DUPLICATE) {
		if (!v_ext(vs, EXT_INDEX, a, "tag ':last'"))
			return -1;
		c->m.last = true;
		return 1;
	}
	if ((g & G_ZONE) && strcasecmp(t, "zone") == 0) {
		const struct sv_arg *s = v_tag_string(vs, args, nargs, i, t);
		if (!s)
			return -1;
		if (ts->have_zone)
			return v_err(vs, a->line, a->col, "more than one zone", NULL, NULL) - 1;
		ts->have_zone = true;
		c->zone = ZONE_GIVEN;
		c->str[S_ZONE] = v_string(vs, s, true);
		return c->str[S_ZONE] ? 1 : -1;
	}
	if ((g & G_ZONE) && def->op == OP_DATE && strcasecmp(t, "originalzone") == 0) {
		if (ts->have_zone)
			return v_err(vs, a->line, a->col, "more than one zone", NULL, NULL) - 1;
		ts->have_zone = true;
		c->zone = ZONE_ORIGINAL;
		return 1;
	}
	if (g & G_BODY) {
		int bt = strcasecmp(t, "raw") == 0 ? BT_RAW : strcasecmp(t, "text") == 0 ? BT_TEXT
		       : strcasecmp(t, "content") == 0 ? BT_CONTENT : -1;
		if (bt >= 0) {
			if (ts->have_bt)
				return v_err(vs, a->line, a->col, "more than one body transform", NULL, NULL) - 1;
			ts->have_bt = true;
			c->bt = (uint8_t)bt;
			if (bt == BT_CONTENT) {
				const struct sv_arg *l = v_tag_list(vs, args, nargs, i, t);
				if (!l || !(c->tlist = v_list(vs, l, true)))
					return -1;
			}
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ command tags */

static int v_own_tag(struct vstate *vs, const struct sv_cmddef *def, struct sv_cmd *c, const struct sv_arg *args,
		     size_t nargs, size_t *i, unsigned *groups_used)
{
	const struct sv_arg *a = &args[*i];
	for (const struct sv_tagdef *td = def->tags; td && td->name; td++) {
		if (strcasecmp(a->tag, td->name) != 0)
			continue;
		char what[48];
		snprintf(what, sizeof what, "tag ':%s'", td->name);
		if (!v_ext(vs, td->ext, a, what))
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
		if (td->arg == TA_STRING) {
			const struct sv_arg *s = v_tag_string(vs, args, nargs, i, td->name);
			if (!s || !(c->str[td->slot] = v_string(vs, s, true)))
				return -1;
		} else if (td->arg == TA_LIST) {
			const struct sv_arg *l = v_tag_list(vs, args, nargs, i, td->name);
			if (!l || !(c->tlist = v_list(vs, l, true)))
				return -1;
		} else if (td->arg == TA_NUMBER) {
			if (*i + 1 >= nargs || args[*i + 1].kind != A_NUMBER)
				return v_err(vs, a->line, a->col, "tag ':%s' needs a number", td->name, NULL) - 1;
			c->num = args[++*i].num;
		} else if (td->arg == TA_MODIFIER) {
			c->modifiers |= (uint8_t)td->slot;
		}
		return 1;
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
			if (v_is_const(s) && strcasecmp(s->s, "from") != 0 && strcasecmp(s->s, "to") != 0 &&
			    strcasecmp(s->s, "auth") != 0)
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

static struct sv_cmd *v_node(struct vstate *vs, const struct sv_gnode *g, bool test)
{
	const struct sv_cmddef *def = sv_cmd_lookup(g->name, test);
	if (!def) {
		const struct sv_cmddef *other = sv_cmd_lookup(g->name, !test);
		if (other)
			v_err(vs, g->line, g->col, test ? "'%s' is a command, not a test" : "'%s' is a test, not a command",
			      g->name, NULL);
		else
			v_err(vs, g->line, g->col, test ? "unknown test '%.64s'" : "unknown command '%.64s'", g->name, NULL);
		return NULL;
	}
	if (def->ext && !(vs->u->exts & def->ext)) {
		v_err(vs, g->line, g->col, "'%s' requires the extension '%s'", def->name, sv_ext_name(def->ext));
		return NULL;
	}
	struct sv_cmd *c = v_alloc(vs, sizeof *c, g->line, g->col);
	if (!c)
		return NULL;
	c->op = def->op;
	c->line = g->line;
	c->col = g->col;
	c->m.mt = MT_IS;
	c->m.cmp = CMP_CASEMAP;
	c->m.ap = AP_ALL;
	if (c->op == OP_HASFLAG)
		c->m.cmp = CMP_CASEMAP;
	struct tagstate ts = { 0 };
	unsigned groups_used = 0;
	size_t i = 0;
	for (; i < g->nargs && g->args[i].kind == A_TAG; i++) {
		int r = v_generic_tag(vs, def, c, &ts, g->args, g->nargs, &i);
		if (r == 0)
			r = v_own_tag(vs, def, c, g->args, g->nargs, &i, &groups_used);
		if (r < 0)
			return NULL;
		if (r == 0) {
			v_err(vs, g->args[i].line, g->args[i].col, "unknown tag ':%.64s' for '%s'", g->args[i].tag, def->name);
			return NULL;
		}
	}
	for (size_t k = i; k < g->nargs; k++)
		if (g->args[k].kind == A_TAG) {
			v_err(vs, g->args[k].line, g->args[k].col, "tag ':%.64s' after positional arguments of '%s'",
			      g->args[k].tag, def->name);
			return NULL;
		}
	if (c->m.last && !c->m.index) {
		v_err(vs, g->line, g->col, "':last' needs ':index'", NULL, NULL);
		return NULL;
	}
	if (!v_positional(vs, def, c, g, i) || !v_tests(vs, def, c, g))
		return NULL;
	if (def->block && !g->has_block) {
		v_err(vs, g->line, g->col, "'%s' needs a block", def->name, NULL);
		return NULL;
	}
	if (!def->block && g->has_block) {
		v_err(vs, g->line, g->col, "'%s' takes no block", def->name, NULL);
		return NULL;
	}
	if (!v_specific(vs, c))
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
		bool is_require = strcasecmp(g->name, "require") == 0;
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
	struct vstate vs = { .p = p, .u = u, .d = d };
	vs.vc = (struct sv_vctx){ p, u, d };
	u->code = v_block(&vs, tree, true);
	return !vs.failed;
}
