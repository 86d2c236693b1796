/* The Sieve front end: lexer, syntax tree, parser, and the bump allocator they and the
 * validator share. Only lexer.c, parser.c, validate.c and compile.c see this. */
#ifndef SIEVE_SYNTAX_H
#define SIEVE_SYNTAX_H

#include "sieve/internal.h"

#include <string.h>

/* ------------------------------------------------------------------ small allocations */
/* A compile makes thousands of small objects (tree nodes, compiled commands, lists):
 * taking each from a block of the arena costs a few instructions where sv_alloc costs a
 * call, a budget check and a memset call. Large requests go to the arena directly. */
struct sv_slab {
	struct sv_arena *arena;
	char *p, *end;
};
#define SV_SLAB_ALIGN _Alignof(max_align_t)
#define SV_SLAB_BLOCK 4096

void *sv_slab_more(struct sv_slab *s, size_t n);

/* n bytes, not cleared; NULL when the arena has no more (its over flag is then set). */
static inline void *sv_slab_raw(struct sv_slab *s, size_t n)
{
	size_t need = (n + SV_SLAB_ALIGN - 1) & ~(SV_SLAB_ALIGN - 1);
	if (n < SV_SLAB_BLOCK / 4 && need <= (size_t)(s->end - s->p)) {
		void *r = s->p;
		s->p += need;
		return r;
	}
	return sv_slab_more(s, n);
}

/* n zeroed bytes (with a constant n the clearing is inlined). */
static inline void *sv_slab_zero(struct sv_slab *s, size_t n)
{
	void *r = sv_slab_raw(s, n);
	if (r)
		memset(r, 0, n);
	return r;
}

/* ------------------------------------------------------------------ lexer */
enum sv_tok {
	T_EOF, T_IDENT, T_TAG, T_NUMBER, T_STRING, T_LBRACKET, T_RBRACKET, T_LPAREN, T_RPAREN,
	T_LBRACE, T_RBRACE, T_COMMA, T_SEMI, T_ERROR,
};
struct sv_token {
	enum sv_tok type;
	unsigned line, col;
	const char *s;          /* identifier/tag name, string contents (arena, NUL-terminated) */
	size_t len;
	uint64_t num;
};
struct sv_lexer {
	const char *src;
	size_t len, pos;
	unsigned line;
	size_t line_start;      /* offset of the current line's first byte: a column is pos - line_start + 1 */
	/* Token text is copied into one block of len + 2 bytes: no token's text with its NUL is
	 * longer than the source it comes from plus one, so the block rarely runs out (then
	 * the arena gives more). */
	char *out, *out_end;
	struct sv_arena *arena;
	struct sv_diag *diag;
};
void sv_lex_init(struct sv_lexer *lx, const char *src, size_t len, struct sv_arena *a, struct sv_diag *d);
/* The next token into *t; T_ERROR after reporting an error. */
void sv_lex_next(struct sv_lexer *lx, struct sv_token *t);
const char *sv_tok_name(enum sv_tok t);

/* ------------------------------------------------------------------ syntax tree */
enum sv_argkind { A_TAG, A_NUMBER, A_STRINGS };
struct sv_arg {
	enum sv_argkind kind;
	unsigned line, col;
	const char *tag;        /* A_TAG: name without ':' */
	size_t tag_len;
	uint64_t num;
	struct sv_rawstr *strs; /* A_STRINGS */
	size_t nstrs;
	bool bracketed;         /* written as [ ... ] */
};
struct sv_gnode {
	const char *name;
	size_t name_len;
	unsigned line, col;
	struct sv_arg *args;
	size_t nargs;
	struct sv_gnode **tests;
	size_t ntests;
	bool test_list;          /* tests came in ( ) */
	bool has_block;
	struct sv_gnode *block;  /* first command of the block */
	struct sv_gnode *next;
};
/* Parses a whole script, the tree's nodes from tree (its strings come from the lexer's
 * arena); NULL with errors reported. An empty script is an empty list. */
struct sv_gnode *sv_parse(struct sv_lexer *lx, struct sv_arena *tree, unsigned max_nesting, bool *ok);

/* validate.c: checks and converts the tree of one unit. */
bool sv_validate(struct sieve_script *p, struct sv_unit *u, struct sv_gnode *tree, struct sv_diag *d);

#endif
