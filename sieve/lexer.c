/* The Sieve lexer (RFC 5228 section 8.1): identifiers, tags, numbers with K/M/G, quoted and
 * multi-line strings, comments. Line ends may be CRLF or LF; strings keep LF only.
 * Runs of characters are scanned with pointer loops and memchr; only line ends are
 * counted on the way, a token's column comes from where its line starts. */
#include "sieve/syntax.h"

#include <string.h>

void sv_lex_init(struct sv_lexer *lx, const char *src, size_t len, struct sv_arena *a, struct sv_diag *d)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->arena = a;
	lx->diag = d;
	/* Every token's text with its NUL takes at most twice the source it comes from, so at
	 * any token this block has room for the rest of the script. */
	size_t pool = len < SIZE_MAX / 2 - 1 ? 2 * len + 2 : 0;
	lx->out = pool ? sv_alloc_raw(a, pool) : NULL;
	lx->out_end = lx->out ? lx->out + pool : NULL;
}

const char *sv_tok_name(enum sv_tok t)
{
	static const char *const names[] = {
		[T_EOF] = "end of script", [T_IDENT] = "identifier", [T_TAG] = "tag",
		[T_NUMBER] = "number", [T_STRING] = "string", [T_LBRACKET] = "'['",
		[T_RBRACKET] = "']'", [T_LPAREN] = "'('", [T_RPAREN] = "')'", [T_LBRACE] = "'{'",
		[T_RBRACE] = "'}'", [T_COMMA] = "','", [T_SEMI] = "';'", [T_ERROR] = "error",
	};
	return names[t];
}

/* Character classes, one table lookup each. */
enum { C_IDENT = 1, C_ALPHA = 2, C_BLANK = 4, C_QUOTED = 8 };
static const unsigned char cls[256] = {
	/* C_IDENT letters, digits, '_'; C_ALPHA letters, '_'; C_BLANK ' ' \t \r;
	 * C_QUOTED what a quoted string does not copy as it is: '"' '\\' \r \n */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 8, 0, 0, 12, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 8, 0, 0, 3,
	0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0,
};

static bool is_class(int c, unsigned mask)
{
	return (cls[(unsigned char)c] & mask) != 0;
}

static bool is_digit(int c)
{
	return (unsigned)(c - '0') < 10u;
}

static unsigned lx_col(const struct sv_lexer *lx)
{
	return (unsigned)(lx->pos - lx->line_start + 1);
}

/* Moves to offset to, counting the line ends passed. */
static void lx_skip_to(struct sv_lexer *lx, size_t to)
{
	const char *p = lx->src + lx->pos, *end = lx->src + to;
	const char *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lx->line++;
		lx->line_start = (size_t)(nl + 1 - lx->src);
		p = nl + 1;
	}
	lx->pos = to;
}

/* Where the next token's text goes, with room for the rest of the script and a NUL;
 * NULL when the block could not be had (out of memory). */
static char *lx_room(const struct sv_lexer *lx)
{
	if (lx->out && (size_t)(lx->out_end - lx->out) > lx->len - lx->pos)
		return lx->out;
	return NULL;
}

/* Ends the text written at lx_room with a NUL after n bytes, keeping it. */
static void lx_commit(struct sv_lexer *lx, size_t n)
{
	lx->out[n] = '\0';
	lx->out += n + 1;
}

static void lx_error(struct sv_lexer *lx, struct sv_token *t, unsigned line, unsigned col, const char *msg)
{
	sv_error(lx->diag, line, col, "%s", msg);
	*t = (struct sv_token){ .type = T_ERROR, .line = line, .col = col };
}

/* The end of a bracketed comment opened at p, NULL when it is not closed. */
static const char *lx_comment_end(const char *p, const char *end)
{
	for (p += 2; p + 1 < end; p++) {
		p = memchr(p, '*', (size_t)(end - p - 1));
		if (!p)
			return NULL;
		if (p[1] == '/')
			return p + 2;
	}
	return NULL;
}

/* Skips blanks, line ends and both kinds of comments. False on an unterminated comment. */
static bool lx_skip_space(struct sv_lexer *lx)
{
	const char *s = lx->src, *p = s + lx->pos, *end = s + lx->len;
	for (;;) {
		while (p < end && is_class(*p, C_BLANK))
			p++;
		if (p >= end)
			break;
		if (*p == '\n') {
			lx->line++;
			lx->line_start = (size_t)(++p - s);
		} else if (*p == '#') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl : end;
		} else if (*p == '/' && p + 1 < end && p[1] == '*') {
			const char *close = lx_comment_end(p, end);
			if (!close) {
				lx->pos = (size_t)(p - s);
				unsigned line = lx->line, col = lx_col(lx);
				lx_skip_to(lx, lx->len);
				sv_error(lx->diag, line, col, "unterminated comment");
				return false;
			}
			lx->pos = (size_t)(p - s);
			lx_skip_to(lx, (size_t)(close - s));
			p = close;
		} else {
			break;
		}
	}
	lx->pos = (size_t)(p - s);
	return true;
}

/* A quoted string: \" and \\ are escapes, any other backslash is dropped (RFC 5228 2.4.2);
 * CRLF becomes LF unless its CR is escaped. One pass copies it and counts its lines. */
static void lx_quoted(struct sv_lexer *lx, struct sv_token *t)
{
	const char *s = lx->src, *p = s + lx->pos + 1, *end = s + lx->len;
	char *out = lx_room(lx);
	size_t o = 0, line_start = lx->line_start;
	unsigned line = lx->line;
	for (; out && p < end; p++) {
		char c = *p;
		if (is_class(c, C_QUOTED)) {
			if (c == '"')
				break;
			if (c == '\\' && p + 1 < end)
				c = *++p;
			else if (c == '\r' && p + 1 < end && p[1] == '\n')
				continue;
			if (c == '\n') {
				line++;
				line_start = (size_t)(p + 1 - s);
			}
		}
		out[o++] = c;
	}
	if (!out || p >= end) {
		lx->pos++;
		lx_error(lx, t, t->line, t->col, out ? "unterminated string" : "out of memory");
		return;
	}
	lx_commit(lx, o);
	lx->pos = (size_t)(p + 1 - s);
	lx->line = line;
	lx->line_start = line_start;
	t->type = T_STRING;
	t->s = out;
	t->len = o;
}

/* After "text:": [blanks] [#comment] CRLF. False (reported) when the line goes on. */
static bool lx_multiline_head(struct sv_lexer *lx, struct sv_token *t)
{
	const char *s = lx->src, *p = s + lx->pos, *end = s + lx->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '#') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl : end;
	} else if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
		p++;
	}
	lx->pos = (size_t)(p - s);
	if (p >= end || *p != '\n') {
		lx_error(lx, t, lx->line, lx_col(lx), "expected a line end after text:");
		return false;
	}
	lx_skip_to(lx, lx->pos + 1);
	return true;
}

/* The lines of a multi-line string up to "." CRLF; a leading dot of a line is removed.
 * Returns the text's length, or (size_t)-1 when the string is not closed (the lexer is
 * then at the end of the script). */
static size_t lx_multiline_body(struct sv_lexer *lx, char *out)
{
	const char *s = lx->src, *p = s + lx->pos, *end = s + lx->len;
	size_t o = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t content = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		const char *next = nl ? nl + 1 : end;
		if (content == 1 && p[0] == '.') {
			lx_skip_to(lx, (size_t)(next - s));
			return o;
		}
		size_t skip = content > 0 && p[0] == '.' ? 1 : 0;
		memcpy(out + o, p + skip, content - skip);
		o += content - skip;
		if (nl)
			out[o++] = '\n';
		p = next;
	}
	lx_skip_to(lx, lx->len);
	return (size_t)-1;
}

static void lx_multiline(struct sv_lexer *lx, struct sv_token *t)
{
	if (!lx_multiline_head(lx, t))
		return;
	char *out = lx_room(lx);
	if (!out) {
		lx_skip_to(lx, lx->len);
		lx_error(lx, t, t->line, t->col, "out of memory");
		return;
	}
	size_t n = lx_multiline_body(lx, out);
	if (n == (size_t)-1) {
		lx_error(lx, t, t->line, t->col, "unterminated multi-line string");
		return;
	}
	lx_commit(lx, n);
	t->type = T_STRING;
	t->s = out;
	t->len = n;
}

static void lx_number(struct sv_lexer *lx, struct sv_token *t)
{
	const char *p = lx->src + lx->pos, *end = lx->src + lx->len;
	uint64_t v = 0;
	bool overflow = false;
	for (; p < end && is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
	}
	int q = p < end ? *p | 0x20 : 0;
	unsigned shift = q == 'k' ? 10 : q == 'm' ? 20 : q == 'g' ? 30 : 0;
	if (shift) {
		p++;
		if (v > (UINT64_MAX >> shift))
			overflow = true;
		v <<= shift;
	}
	lx->pos = (size_t)(p - lx->src);
	if (p < end && is_class(*p, C_ALPHA)) {
		lx_error(lx, t, t->line, t->col, "invalid number");
	} else if (overflow || v > (uint64_t)INT64_MAX) {
		/* Pigeonhole's numbers are 64-bit; anything larger cannot mean what it says. */
		lx_error(lx, t, t->line, t->col, "number too large");
	} else {
		t->type = T_NUMBER;
		t->num = v;
	}
}

/* An identifier, or a tag's name when the lexer is past its ':'. */
static void lx_name(struct sv_lexer *lx, struct sv_token *t, enum sv_tok type)
{
	const char *start = lx->src + lx->pos, *p = start, *end = lx->src + lx->len;
	char *out = lx_room(lx);
	while (p < end && is_class(*p, C_IDENT))
		p++;
	size_t n = (size_t)(p - start);
	lx->pos += n;
	if (type == T_IDENT && n == 4 && p < end && *p == ':' && (start[0] | 0x20) == 't' &&
	    (start[1] | 0x20) == 'e' && (start[2] | 0x20) == 'x' && (start[3] | 0x20) == 't') {
		lx->pos++;
		lx_multiline(lx, t);
		return;
	}
	if (!out) {
		lx_error(lx, t, t->line, t->col, "out of memory");
		return;
	}
	memcpy(out, start, n);
	lx_commit(lx, n);
	t->type = type;
	t->s = out;
	t->len = n;
}

static void lx_unexpected(struct sv_lexer *lx, struct sv_token *t, int c)
{
	if (c == 0) {
		lx_error(lx, t, t->line, t->col, "NUL character in script");
		return;
	}
	if (c >= 32 && c < 127)
		sv_error(lx->diag, t->line, t->col, "unexpected character '%c'", c);
	else
		sv_error(lx->diag, t->line, t->col, "unexpected character 0x%02x", (unsigned)c);
	t->type = T_ERROR;
}

/* The token types of single-character tokens, T_EOF for the others. */
static enum sv_tok lx_punct(int c)
{
	switch (c) {
	case '[': return T_LBRACKET;
	case ']': return T_RBRACKET;
	case '(': return T_LPAREN;
	case ')': return T_RPAREN;
	case '{': return T_LBRACE;
	case '}': return T_RBRACE;
	case ',': return T_COMMA;
	case ';': return T_SEMI;
	default: return T_EOF;
	}
}

void sv_lex_next(struct sv_lexer *lx, struct sv_token *t)
{
	*t = (struct sv_token){ .type = T_EOF };
	if (!lx_skip_space(lx)) {
		*t = (struct sv_token){ .type = T_ERROR };
		return;
	}
	t->line = lx->line;
	t->col = lx_col(lx);
	if (lx->pos >= lx->len)
		return;
	int c = (unsigned char)lx->src[lx->pos];
	enum sv_tok pt = lx_punct(c);
	if (pt != T_EOF) {
		lx->pos++;
		t->type = pt;
	} else if (c == '"') {
		lx_quoted(lx, t);
	} else if (is_digit(c)) {
		lx_number(lx, t);
	} else if (c == ':' && lx->pos + 1 < lx->len && is_class(lx->src[lx->pos + 1], C_ALPHA)) {
		lx->pos++;
		lx_name(lx, t, T_TAG);
	} else if (is_class(c, C_ALPHA)) {
		lx_name(lx, t, T_IDENT);
	} else {
		lx_unexpected(lx, t, c);
	}
}
