/* The Sieve lexer (RFC 5228 section 8.1): identifiers, tags, numbers with K/M/G, quoted and
 * multi-line strings, comments. Line ends may be CRLF or LF; strings keep LF only. */
#include "sieve/internal.h"

#include <string.h>
#include <strings.h>

void sv_lex_init(struct sv_lexer *lx, const char *src, size_t len, struct sv_arena *a, struct sv_diag *d)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->arena = a;
	lx->diag = d;
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

static int lx_peek(const struct sv_lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static void lx_advance(struct sv_lexer *lx)
{
	if (lx->pos >= lx->len)
		return;
	if (lx->src[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static struct sv_token lx_error(struct sv_lexer *lx, unsigned line, unsigned col, const char *msg)
{
	sv_error(lx->diag, line, col, "%s", msg);
	struct sv_token t = { .type = T_ERROR, .line = line, .col = col };
	return t;
}

/* Skips blanks, line ends and both kinds of comments. False on an unterminated comment. */
static bool lx_skip_space(struct sv_lexer *lx)
{
	for (;;) {
		int c = lx_peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx_advance(lx);
		} else if (c == '#') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
				lx_advance(lx);
		} else if (c == '/' && lx_peek(lx, 1) == '*') {
			unsigned line = lx->line, col = lx->col;
			lx_advance(lx);
			lx_advance(lx);
			while (lx->pos < lx->len && !(lx_peek(lx, 0) == '*' && lx_peek(lx, 1) == '/'))
				lx_advance(lx);
			if (lx->pos >= lx->len) {
				lx_error(lx, line, col, "unterminated comment");
				return false;
			}
			lx_advance(lx);
			lx_advance(lx);
		} else {
			return true;
		}
	}
}

/* A quoted string: \" and \\ are escapes, any other backslash is dropped (RFC 5228 2.4.2). */
static struct sv_token lx_quoted(struct sv_lexer *lx)
{
	unsigned line = lx->line, col = lx->col;
	lx_advance(lx);
	size_t start = lx->pos, end = start;
	bool closed = false;
	while (end < lx->len) {
		if (lx->src[end] == '\\' && end + 1 < lx->len)
			end += 2;
		else if (lx->src[end] == '"') {
			closed = true;
			break;
		} else
			end++;
	}
	if (!closed)
		return lx_error(lx, line, col, "unterminated string");
	char *out = sv_alloc(lx->arena, end - start + 1);
	if (!out)
		return lx_error(lx, line, col, "out of memory");
	size_t o = 0;
	while (lx->pos < end) {
		char c = lx->src[lx->pos];
		if (c == '\\') {
			lx_advance(lx);
			c = lx->src[lx->pos];
		} else if (c == '\r' && lx->pos + 1 < end && lx->src[lx->pos + 1] == '\n') {
			lx_advance(lx);
			continue;
		}
		out[o++] = c;
		lx_advance(lx);
	}
	lx_advance(lx);   /* the closing quote */
	out[o] = '\0';
	struct sv_token t = { .type = T_STRING, .line = line, .col = col, .s = out, .len = o };
	return t;
}

/* "text:" [blanks] [#comment] CRLF, lines, "." CRLF; a leading dot of a line is removed. */
static struct sv_token lx_multiline(struct sv_lexer *lx, unsigned line, unsigned col)
{
	while (lx_peek(lx, 0) == ' ' || lx_peek(lx, 0) == '\t')
		lx_advance(lx);
	if (lx_peek(lx, 0) == '#') {
		while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
			lx_advance(lx);
	} else if (lx_peek(lx, 0) == '\r' && lx_peek(lx, 1) == '\n') {
		lx_advance(lx);
	}
	if (lx_peek(lx, 0) != '\n')
		return lx_error(lx, lx->line, lx->col, "expected a line end after text:");
	lx_advance(lx);
	struct sv_buf b = { 0 };
	bool closed = false;
	while (lx->pos < lx->len) {
		const char *p = lx->src + lx->pos;
		const char *nl = memchr(p, '\n', lx->len - lx->pos);
		size_t n = nl ? (size_t)(nl - p) : lx->len - lx->pos;
		size_t content = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		if (content == 1 && p[0] == '.') {
			closed = true;
			for (size_t i = 0; i < n + (nl ? 1 : 0); i++)
				lx_advance(lx);
			break;
		}
		size_t skip = content > 0 && p[0] == '.' ? 1 : 0;
		sv_buf_add(&b, p + skip, content - skip);
		if (nl)
			sv_buf_add(&b, "\n", 1);
		for (size_t i = 0; i < n + (nl ? 1 : 0); i++)
			lx_advance(lx);
	}
	if (!closed || b.oom) {
		sv_buf_free(&b);
		return lx_error(lx, line, col, closed ? "out of memory" : "unterminated multi-line string");
	}
	char *out = sv_strndup(lx->arena, b.p ? b.p : "", b.len);
	size_t len = b.len;
	sv_buf_free(&b);
	if (!out)
		return lx_error(lx, line, col, "out of memory");
	struct sv_token t = { .type = T_STRING, .line = line, .col = col, .s = out, .len = len };
	return t;
}

static struct sv_token lx_number(struct sv_lexer *lx)
{
	unsigned line = lx->line, col = lx->col;
	uint64_t v = 0;
	bool overflow = false;
	while (is_digit(lx_peek(lx, 0))) {
		unsigned d = (unsigned)(lx_peek(lx, 0) - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
		lx_advance(lx);
	}
	int q = lx_peek(lx, 0);
	unsigned shift = 0;
	if (q == 'K' || q == 'k')
		shift = 10;
	else if (q == 'M' || q == 'm')
		shift = 20;
	else if (q == 'G' || q == 'g')
		shift = 30;
	if (shift) {
		lx_advance(lx);
		if (v > (UINT64_MAX >> shift))
			overflow = true;
		v <<= shift;
	}
	if (is_alpha(lx_peek(lx, 0)))
		return lx_error(lx, line, col, "invalid number");
	/* Pigeonhole's numbers are 64-bit; anything larger cannot mean what it says. */
	if (overflow || v > (uint64_t)INT64_MAX)
		return lx_error(lx, line, col, "number too large");
	struct sv_token t = { .type = T_NUMBER, .line = line, .col = col, .num = v };
	return t;
}

struct sv_token sv_lex_next(struct sv_lexer *lx)
{
	struct sv_token t = { .type = T_EOF };
	if (!lx_skip_space(lx)) {
		t.type = T_ERROR;
		return t;
	}
	t.line = lx->line;
	t.col = lx->col;
	int c = lx_peek(lx, 0);
	if (c < 0)
		return t;
	static const char punct[] = "[](){},;";
	static const enum sv_tok ptok[] = { T_LBRACKET, T_RBRACKET, T_LPAREN, T_RPAREN,
					   T_LBRACE,   T_RBRACE,   T_COMMA,  T_SEMI };
	const char *pp = c ? strchr(punct, c) : NULL;
	if (pp) {
		lx_advance(lx);
		t.type = ptok[pp - punct];
		return t;
	}
	if (c == '"')
		return lx_quoted(lx);
	if (is_digit(c))
		return lx_number(lx);
	if (c == ':' && is_alpha(lx_peek(lx, 1))) {
		lx_advance(lx);
		size_t start = lx->pos;
		while (is_alpha(lx_peek(lx, 0)) || is_digit(lx_peek(lx, 0)))
			lx_advance(lx);
		t.type = T_TAG;
		t.s = sv_strndup(lx->arena, lx->src + start, lx->pos - start);
		t.len = lx->pos - start;
		return t.s ? t : lx_error(lx, t.line, t.col, "out of memory");
	}
	if (is_alpha(c)) {
		size_t start = lx->pos;
		while (is_alpha(lx_peek(lx, 0)) || is_digit(lx_peek(lx, 0)))
			lx_advance(lx);
		size_t n = lx->pos - start;
		if (n == 4 && strncasecmp(lx->src + start, "text", 4) == 0 && lx_peek(lx, 0) == ':') {
			lx_advance(lx);
			return lx_multiline(lx, t.line, t.col);
		}
		t.type = T_IDENT;
		t.s = sv_strndup(lx->arena, lx->src + start, n);
		t.len = n;
		return t.s ? t : lx_error(lx, t.line, t.col, "out of memory");
	}
	if (c == 0)
		return lx_error(lx, t.line, t.col, "NUL character in script");
	if (c >= 32 && c < 127)
		sv_error(lx->diag, t.line, t.col, "unexpected character '%c'", c);
	else
		sv_error(lx->diag, t.line, t.col, "unexpected character 0x%02x", (unsigned)c);
	t.type = T_ERROR;
	return t;
}
