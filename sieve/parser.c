/* The Sieve grammar (RFC 5228 section 8.2) into a generic tree: commands with arguments,
 * tests and blocks. Meaning is checked later, by validate.c. Nesting is bounded. */
#include "sieve/syntax.h"

#include <string.h>

struct sv_parser {
	struct sv_lexer *lx;
	struct sv_slab slab;     /* the tree's nodes and arrays */
	struct sv_token tok;
	unsigned depth, max_depth;
	bool failed;
};

static void ps_next(struct sv_parser *ps)
{
	sv_lex_next(ps->lx, &ps->tok);
	if (ps->tok.type == T_ERROR)
		ps->failed = true;
}

static void ps_expected(struct sv_parser *ps, const char *what)
{
	if (ps->tok.type != T_ERROR)
		sv_error(ps->lx->diag, ps->tok.line, ps->tok.col, "expected %s, found %s", what,
			 sv_tok_name(ps->tok.type));
	ps->failed = true;
}

/* Makes room for one more element of an array that grows by doubling (the elements are
 * written whole, so the memory is not cleared). */
static bool ps_grow(struct sv_parser *ps, void **arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 4;
	void *p = sv_slab_raw(&ps->slab, nc * size);
	if (!p)
		return false;
	if (n)
		memcpy(p, *arr, n * size);
	*arr = p;
	*cap = nc;
	return true;
}

static bool ps_string_list(struct sv_parser *ps, struct sv_arg *arg)
{
	size_t cap = 0;
	arg->kind = A_STRINGS;
	if (ps->tok.type == T_STRING) {
		arg->strs = sv_slab_raw(&ps->slab, sizeof *arg->strs);
		if (!arg->strs)
			return false;
		arg->strs[0] = (struct sv_rawstr){ ps->tok.s, ps->tok.len, ps->tok.line, ps->tok.col };
		arg->nstrs = 1;
		ps_next(ps);
		return true;
	}
	arg->bracketed = true;
	ps_next(ps);    /* '[' */
	for (;;) {
		if (ps->tok.type != T_STRING) {
			ps_expected(ps, "a string in the string list");
			return false;
		}
		if (!ps_grow(ps, (void **)&arg->strs, arg->nstrs, &cap, sizeof *arg->strs))
			return false;
		arg->strs[arg->nstrs++] = (struct sv_rawstr){ ps->tok.s, ps->tok.len, ps->tok.line, ps->tok.col };
		ps_next(ps);
		if (ps->tok.type == T_RBRACKET) {
			ps_next(ps);
			return true;
		}
		if (ps->tok.type != T_COMMA) {
			ps_expected(ps, "',' or ']' in the string list");
			return false;
		}
		ps_next(ps);
	}
}

static struct sv_gnode *ps_test(struct sv_parser *ps);

/* arguments = *argument [ test / test-list ] */
static bool ps_arguments(struct sv_parser *ps, struct sv_gnode *n)
{
	size_t cap = 0, tcap = 0;
	for (;;) {
		enum sv_tok t = ps->tok.type;
		if (t != T_TAG && t != T_NUMBER && t != T_STRING && t != T_LBRACKET)
			break;
		if (!ps_grow(ps, (void **)&n->args, n->nargs, &cap, sizeof *n->args))
			return false;
		struct sv_arg *a = &n->args[n->nargs++];
		memset(a, 0, sizeof *a);
		a->line = ps->tok.line;
		a->col = ps->tok.col;
		if (t == T_TAG) {
			a->kind = A_TAG;
			a->tag = ps->tok.s;
			a->tag_len = ps->tok.len;
			ps_next(ps);
		} else if (t == T_NUMBER) {
			a->kind = A_NUMBER;
			a->num = ps->tok.num;
			ps_next(ps);
		} else if (!ps_string_list(ps, a)) {
			return false;
		}
	}
	if (ps->tok.type == T_IDENT) {
		struct sv_gnode *test = ps_test(ps);
		if (!test)
			return false;
		n->tests = sv_slab_raw(&ps->slab, sizeof *n->tests);
		if (!n->tests)
			return false;
		n->tests[0] = test;
		n->ntests = 1;
	} else if (ps->tok.type == T_LPAREN) {
		n->test_list = true;
		ps_next(ps);
		for (;;) {
			struct sv_gnode *test = ps_test(ps);
			if (!test)
				return false;
			if (!ps_grow(ps, (void **)&n->tests, n->ntests, &tcap, sizeof *n->tests))
				return false;
			n->tests[n->ntests++] = test;
			if (ps->tok.type == T_RPAREN) {
				ps_next(ps);
				break;
			}
			if (ps->tok.type != T_COMMA) {
				ps_expected(ps, "',' or ')' in the test list");
				return false;
			}
			ps_next(ps);
		}
	}
	return !ps->failed;
}

static struct sv_gnode *ps_node(struct sv_parser *ps)
{
	struct sv_gnode *n = sv_slab_zero(&ps->slab, sizeof *n);
	if (!n) {
		sv_error(ps->lx->diag, ps->tok.line, ps->tok.col, "out of memory");
		ps->failed = true;
		return NULL;
	}
	n->name = ps->tok.s;
	n->name_len = ps->tok.len;
	n->line = ps->tok.line;
	n->col = ps->tok.col;
	return n;
}

static bool ps_enter(struct sv_parser *ps)
{
	if (++ps->depth > ps->max_depth) {
		sv_error(ps->lx->diag, ps->tok.line, ps->tok.col, "nested too deeply (limit %u)", ps->max_depth);
		ps->failed = true;
		return false;
	}
	return true;
}

static struct sv_gnode *ps_test(struct sv_parser *ps)
{
	if (ps->tok.type != T_IDENT) {
		ps_expected(ps, "a test");
		return NULL;
	}
	if (!ps_enter(ps))
		return NULL;
	struct sv_gnode *n = ps_node(ps);
	if (!n)
		return NULL;
	ps_next(ps);
	if (!ps_arguments(ps, n))
		return NULL;
	ps->depth--;
	return n;
}

static struct sv_gnode *ps_commands(struct sv_parser *ps, bool in_block);

static struct sv_gnode *ps_command(struct sv_parser *ps)
{
	struct sv_gnode *n = ps_node(ps);
	if (!n)
		return NULL;
	ps_next(ps);
	if (!ps_arguments(ps, n))
		return NULL;
	if (ps->tok.type == T_SEMI) {
		ps_next(ps);
		return n;
	}
	if (ps->tok.type != T_LBRACE) {
		ps_expected(ps, "';' or '{'");
		return NULL;
	}
	if (!ps_enter(ps))
		return NULL;
	ps_next(ps);
	n->has_block = true;
	n->block = ps_commands(ps, true);
	if (ps->failed)
		return NULL;
	ps->depth--;
	ps_next(ps);    /* '}' */
	return n;
}

/* commands until '}' (in a block) or the end of the script. */
static struct sv_gnode *ps_commands(struct sv_parser *ps, bool in_block)
{
	struct sv_gnode *first = NULL, **tail = &first;
	for (;;) {
		if (ps->failed)
			return NULL;
		if (ps->tok.type == T_RBRACE && in_block)
			return first;
		if (ps->tok.type == T_EOF) {
			if (in_block)
				ps_expected(ps, "'}'");
			return first;
		}
		if (ps->tok.type != T_IDENT) {
			ps_expected(ps, "a command");
			return NULL;
		}
		struct sv_gnode *n = ps_command(ps);
		if (!n)
			return NULL;
		*tail = n;
		tail = &n->next;
	}
}

struct sv_gnode *sv_parse(struct sv_lexer *lx, struct sv_arena *tree, unsigned max_nesting, bool *ok)
{
	struct sv_parser ps = { .lx = lx, .slab = { tree, NULL, NULL }, .max_depth = max_nesting ? max_nesting : 64 };
	ps_next(&ps);
	struct sv_gnode *first = ps_commands(&ps, false);
	*ok = !ps.failed;
	return first;
}
