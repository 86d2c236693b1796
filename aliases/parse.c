/* aliases(5) parser and the item tokenizer shared by aliases values, .forward and :include:. */
#include "aliases/aliases.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Physical lines ---- */

/* Reads one line (without the newline) into buf. Returns 1, or 0 at EOF with nothing read.
 * *too_long is set (and the rest of the line discarded) when it does not fit; *has_nul when
 * the line holds a NUL byte, which no text tool could have meant. */
static int read_line(FILE *fp, char *buf, size_t cap, size_t *len, bool *too_long, bool *has_nul)
{
	size_t n = 0;
	int c = EOF;
	*too_long = *has_nul = false;
	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (c == '\0')
			*has_nul = true;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			*too_long = true;
	}
	if (c == EOF && n == 0 && !*too_long)
		return 0;
	if (n > 0 && buf[n - 1] == '\r')   /* files edited on other systems */
		n--;
	buf[n] = '\0';
	*len = n;
	return 1;
}

static bool blank_or_comment(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' || *s == '#';
}

/* ---- One logical entry ---- */

struct entry_buf {
	char *s;
	size_t len, cap;
	unsigned long line;
	bool active;      /* an entry is being collected */
	bool bad;         /* already reported; skip its continuation lines */
};

static void report(FILE *errfp, const char *fname, unsigned long line, const char *msg,
		   struct alias_parse_stats *st)
{
	st->bad++;
	if (errfp)
		fprintf(errfp, "%s:%lu: %s\n", fname, line, msg);
}

static int ebuf_append(struct entry_buf *e, const char *s, size_t n)
{
	if (e->len + n + 2 > ALIAS_VALUE_MAX)
		return -1;
	if (e->len + n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap : 1024;
		while (cap < e->len + n + 2)
			cap *= 2;
		char *p = realloc(e->s, cap);
		if (!p)
			return -1;
		e->s = p;
		e->cap = cap;
	}
	memcpy(e->s + e->len, s, n);
	e->len += n;
	e->s[e->len] = '\0';
	return 0;
}

/* Strips blanks, and a CR at the end too: "a, b\r\r" from a DOS file keeps one CR after
 * read_line, and a stored value ending in CR would not survive newaliases -p and back. */
static char *trim(char *s)
{
	char *end;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Splits "name: value" in place. Returns NULL or what is wrong. */
static const char *split_entry(char *s, char **name, char **value)
{
	char *colon;
	if (*s == '"') {
		char *w = s, *r = s + 1;
		for (; *r && *r != '"'; r++) {
			if (*r == '\\' && r[1])
				r++;
			*w++ = *r;
		}
		if (*r != '"')
			return "unterminated quote in alias name";
		*w = '\0';
		colon = r + 1;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		if (*colon != ':')
			return "missing colon after alias name";
		*name = s;
	} else {
		colon = strchr(s, ':');
		if (!colon)
			return "missing colon after alias name";
		*colon = '\0';
		*name = trim(s);
		if ((*name)[strcspn(*name, " \t")] != '\0')
			return "white space in alias name (quote the name)";
	}
	*value = trim(colon + 1);
	return NULL;
}

static const char *check_name(char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "empty alias name";
	if (n > ALIAS_NAME_MAX)
		return "alias name too long";
	if (strcmp(name, "@") == 0)
		return "alias name @ is reserved";
	for (char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in alias name";
		*p = (char)tolower((unsigned char)*p);
	}
	return NULL;
}

static int value_items(const char *value, const char **err);

/* Parses a collected entry and hands it to fn. Returns 0, or -1 when fn asked to stop. */
static int finish_entry(struct entry_buf *e, const char *fname, alias_entry_fn fn, void *ctx,
			FILE *errfp, struct alias_parse_stats *st, struct result *r)
{
	char *name, *value;
	const char *err;
	bool was_active = e->active, was_bad = e->bad;
	e->active = e->bad = false;
	if (!was_active || was_bad)
		return 0;
	err = split_entry(e->s, &name, &value);
	if (!err)
		err = check_name(name);
	if (err) {
		report(errfp, fname, e->line, err, st);
		return 0;
	}
	int items = value_items(value, &err);
	if (items == 0) {    /* "name:", "name: ,", "name: \"\"": nothing to deliver to */
		report(errfp, fname, e->line, "missing alias value", st);
		return 0;
	}
	if (items < 0) {
		char msg[320];
		snprintf(msg, sizeof msg, "alias %.200s: %s", name, err);
		report(errfp, fname, e->line, msg, st);
		return 0;
	}
	struct alias_entry ent = { name, value, strlen(name), strlen(value), e->line };
	st->entries++;
	return fn(ctx, &ent, r) == 0 ? 0 : -1;
}

int alias_parse_stream(FILE *fp, const char *fname, alias_entry_fn fn, void *ctx, FILE *errfp,
		       struct alias_parse_stats *st, struct result *r)
{
	static char line[ALIAS_LINE_MAX + 2];
	struct entry_buf e = { 0 };
	unsigned long lineno = 0;
	size_t len;
	bool too_long, has_nul;
	int rc = EX_OK;

	memset(st, 0, sizeof *st);
	while (rc == EX_OK && read_line(fp, line, sizeof line - 1, &len, &too_long, &has_nul)) {
		lineno++;
		bool cont = line[0] == ' ' || line[0] == '\t';
		if (!too_long && !has_nul && blank_or_comment(line))
			continue;   /* comments and blank lines never end an entry (Postfix) */
		if (!cont && finish_entry(&e, fname, fn, ctx, errfp, st, r) != 0) {
			rc = r->ex;
			break;
		}
		if (cont && !e.active) {
			report(errfp, fname, lineno, "continuation line without an alias name", st);
			continue;
		}
		if (!cont) {
			e.active = true;
			e.line = lineno;
			e.len = 0;
		}
		if (e.bad)
			continue;
		const char *err = too_long ? "line too long" : has_nul ? "NUL byte in line" : NULL;
		size_t skip = cont ? strspn(line, " \t") : 0;
		if (!err && ebuf_append(&e, cont ? " " : "", cont ? 1 : 0) == 0 &&
		    ebuf_append(&e, line + skip, len - skip) == 0)
			continue;
		report(errfp, fname, lineno, err ? err : "alias entry too long", st);
		e.bad = true;
	}
	if (rc == EX_OK && ferror(fp))
		rc = res_errno(r, errno ? errno : EIO, false, "%s: read error", fname);
	if (rc == EX_OK && finish_entry(&e, fname, fn, ctx, errfp, st, r) != 0)
		rc = r->ex;
	free(e.s);
	return rc;
}

/* ---- Items ---- */

static const char *skip_separators(const char *s, bool lines)
{
	for (;;) {
		while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!(lines && *s == '#'))
			return s;
		while (*s && *s != '\n')   /* comment to the end of its line */
			s++;
	}
}

/* Copies one raw item (quotes removed, escapes applied inside quotes) into out. */
static const char *scan_item(const char **p, bool lines, char *out, size_t cap, bool *quoted)
{
	const char *s = *p, *err = NULL;
	bool inq = false;
	size_t n = 0;
	*quoted = false;
	for (; *s; s++) {
		if (!inq && (*s == ',' || (lines && *s == '\n')))
			break;
		if (*s == '"') {
			inq = !inq;
			*quoted = true;
			continue;
		}
		if (inq && *s == '\\' && s[1])
			s++;
		if (inq && *s == '\n') {
			err = "unterminated quote";
			break;
		}
		if ((unsigned char)*s < 0x20 && *s != '\t' && !err)
			err = "control character in item";
		if (n + 1 < cap)
			out[n++] = *s;
		else if (!err)
			err = "item too long";
	}
	if (inq && !err)
		err = "unterminated quote";
	while (*s && *s != ',' && *s != '\n')   /* resynchronise after an error */
		s++;
	out[n] = '\0';
	*p = s;
	return err;
}

static bool parse_dsn(const char *s, char *dsn, size_t cap, const char **rest)
{
	const char *p = s;
	if ((*p != '4' && *p != '5') || p[1] != '.')
		return false;
	p += 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = strspn(p, "0123456789");
		if (digits < 1 || digits > 3)
			return false;
		p += digits;
		if (part == 0 && *p++ != '.')
			return false;
	}
	if (*p && *p != ' ' && *p != '\t')
		return false;
	if ((size_t)(p - s) >= cap)
		return false;
	memcpy(dsn, s, (size_t)(p - s));
	dsn[p - s] = '\0';
	*rest = p;
	return true;
}

static void shift_text(struct alias_item *it, size_t skip)
{
	char *t = it->text + skip;
	while (*t == ' ' || *t == '\t')
		t++;
	memmove(it->text, t, strlen(t) + 1);
}

/* Decides the kind from the text. Returns NULL or what is wrong. */
static const char *classify(struct alias_item *it)
{
	const char *rest;
	it->dsn[0] = '\0';
	if (it->text[0] == '|') {
		it->kind = AI_COMMAND;
		shift_text(it, 1);
		return it->text[0] ? NULL : "empty command";
	}
	if (it->text[0] == '/') {
		it->kind = AI_FILE;
		return NULL;
	}
	if (strncasecmp(it->text, ":include:", 9) == 0) {
		it->kind = AI_INCLUDE;
		shift_text(it, 9);
		return it->text[0] == '/' ? NULL : ":include: needs an absolute path";
	}
	if (strncasecmp(it->text, "error:", 6) == 0) {
		it->kind = AI_ERROR;
		shift_text(it, 6);
		if (parse_dsn(it->text, it->dsn, sizeof it->dsn, &rest))
			shift_text(it, (size_t)(rest - it->text));
		else
			snprintf(it->dsn, sizeof it->dsn, "5.0.0");
		if (!it->text[0])
			snprintf(it->text, sizeof it->text, "delivery refused by the administrator");
		return NULL;
	}
	if (it->text[0] == '\\') {
		it->kind = AI_NOALIAS;
		shift_text(it, 1);
		return it->text[0] ? NULL : "empty name after backslash";
	}
	it->kind = strchr(it->text, '@') ? AI_REMOTE : AI_LOCAL;
	return NULL;
}

int alias_next_item(const char **p, bool lines, struct alias_item *it, const char **err)
{
	bool quoted;
	for (;;) {
		*p = skip_separators(*p, lines);
		if (**p == '\0')
			return 0;
		*err = scan_item(p, lines, it->text, sizeof it->text, &quoted);
		if (*err)
			return -1;
		char *t = it->text;
		size_t n = strlen(t);
		while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = '\0';
		if (n == 0)
			continue;   /* "" or a lone quote pair: nothing to deliver to */
		*err = classify(it);
		return *err ? -1 : 1;
	}
}

/* How many items the value holds, or -1 with the first problem in *err. */
static int value_items(const char *value, const char **err)
{
	static struct alias_item it;   /* 4 KB: keep it off the stack of deep callers */
	const char *p = value;
	int rc, n = 0;
	while ((rc = alias_next_item(&p, false, &it, err)) == 1)
		n++;
	return rc < 0 ? -1 : n;
}

int alias_value_check(const char *value, const char **err)
{
	return value_items(value, err) < 0 ? -1 : 0;
}

static bool name_needs_quotes(const char *name)
{
	return name[0] == '#' || name[strcspn(name, " \t:\"\\")] != '\0';
}

/* A value joined from continuation lines can be longer than ALIAS_LINE_MAX; printed, it is
 * folded again at a space the parser's join gives back: a single space between characters
 * that are neither blanks nor a CR that read_line would drop at the end of a line, nor a '#'
 * that would make the continuation a comment line. */
#define ALIAS_PRINT_WIDTH 4096

static bool fold_point(const char *v, size_t k)
{
	return k > 0 && v[k] == ' ' && v[k + 1] != '\0' && !strchr(" \t#", v[k + 1]) &&
	       !strchr(" \t\r", v[k - 1]);
}

/* The last fold point in (from, from + ALIAS_PRINT_WIDTH], else the first one after it, else 0. */
static size_t next_fold(const char *v, size_t from, size_t len)
{
	size_t k = from + ALIAS_PRINT_WIDTH < len ? from + ALIAS_PRINT_WIDTH : len;
	for (size_t i = k; i > from; i--)
		if (fold_point(v, i))
			return i;
	for (size_t i = k; i < len; i++)
		if (fold_point(v, i))
			return i;
	return 0;
}

static void print_value(FILE *fp, const char *v)
{
	size_t len = strlen(v), start = 0, k;
	while (len - start > ALIAS_PRINT_WIDTH && (k = next_fold(v, start, len)) != 0) {
		fprintf(fp, "%.*s\n\t", (int)(k - start), v + start);
		start = k + 1;
	}
	fprintf(fp, "%s\n", v + start);
}

void alias_print(FILE *fp, const char *name, const char *value)
{
	if (!name_needs_quotes(name)) {
		fprintf(fp, "%s: ", name);
	} else {
		fputc('"', fp);
		for (const char *s = name; *s; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', fp);
			fputc(*s, fp);
		}
		fputs("\": ", fp);
	}
	print_value(fp, value);
}
