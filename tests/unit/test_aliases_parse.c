/* Unit tests for aliases/parse.c: aliases(5) syntax, every FILE:LINE error, the item tokenizer
 * shared with .forward and :include:, and alias_print quoting. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aliases/aliases.h"

#define MAX_ENTRIES 16

struct got {
	size_t n;
	char name[MAX_ENTRIES][ALIAS_NAME_MAX + 1];
	char *value[MAX_ENTRIES];
	unsigned long line[MAX_ENTRIES];
};

static struct got got;
static char *errtext;
static struct alias_parse_stats stats;

static int collect(void *ctx, const struct alias_entry *e, struct result *r)
{
	struct got *g = ctx;
	(void)r;
	if (g->n == MAX_ENTRIES)
		return -1;
	snprintf(g->name[g->n], sizeof g->name[0], "%s", e->name);
	g->value[g->n] = strdup(e->value);
	g->line[g->n++] = e->line;
	return 0;
}

/* Parses text as file "src" and collects entries, messages and stats; returns the status. */
static int parse_len(const char *text, size_t len)
{
	struct result r;
	size_t errlen;
	for (size_t i = 0; i < got.n; i++)
		free(got.value[i]);
	memset(&got, 0, sizeof got);
	free(errtext);
	FILE *in = fmemopen((void *)text, len, "r");
	FILE *err = open_memstream(&errtext, &errlen);
	cr_assert(in && err);
	int rc = alias_parse_stream(in, "src", collect, &got, err, &stats, &r);
	fclose(in);
	fclose(err);
	return rc;
}

static int parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static void fini(void)
{
	for (size_t i = 0; i < got.n; i++)
		free(got.value[i]);
	memset(&got, 0, sizeof got);
	free(errtext);
	errtext = NULL;
}

TestSuite(aliases_parse, .fini = fini);

Test(aliases_parse, entries_comments_blank_lines)
{
	cr_assert_eq(parse("# a comment\n\npostmaster: root\n  # indented comment\nabuse:alice , bob\n"), EX_OK);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.name[0], "postmaster");
	cr_assert_str_eq(got.value[0], "root");
	cr_assert_eq(got.line[0], 3);
	cr_assert_str_eq(got.name[1], "abuse");
	cr_assert_str_eq(got.value[1], "alice , bob");
	cr_assert_eq(got.line[1], 5);
	cr_assert_eq(stats.entries, 2);
	cr_assert_eq(stats.bad, 0);
	cr_assert_str_eq(errtext, "");
}

Test(aliases_parse, continuation_lines_join_with_one_space)
{
	/* A comment or blank line inside an entry does not end it (Postfix behaviour). */
	cr_assert_eq(parse("staff: alice,\n\tbob,\n     carol\n# note\n\n  dave\nnext: x\n"), EX_OK);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.value[0], "alice, bob, carol dave");
	cr_assert_eq(got.line[0], 1);
	cr_assert_str_eq(got.name[1], "next");
	cr_assert_eq(got.line[1], 7);
}

Test(aliases_parse, names_are_lowercased_and_trimmed)
{
	cr_assert_eq(parse("PostMaster : Root\n"), EX_OK);
	cr_assert_str_eq(got.name[0], "postmaster");
	cr_assert_str_eq(got.value[0], "Root", "values keep their case (commands, paths)");
}

Test(aliases_parse, quoted_names_and_values)
{
	cr_assert_eq(parse("\"Mail Team\": alice\n\"a\\\"b\" : \"|/usr/bin/prog -x, y\", bob\n"), EX_OK);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.name[0], "mail team");
	cr_assert_str_eq(got.name[1], "a\"b");
	cr_assert_str_eq(got.value[1], "\"|/usr/bin/prog -x, y\", bob");
}

Test(aliases_parse, crlf_line_ends)
{
	cr_assert_eq(parse("a: b\r\n\tc\r\n"), EX_OK);
	cr_assert_str_eq(got.value[0], "b c");
}

Test(aliases_parse, last_line_without_newline)
{
	cr_assert_eq(parse("a: b"), EX_OK);
	cr_assert_eq(got.n, 1);
	cr_assert_str_eq(got.value[0], "b");
}

Test(aliases_parse, all_value_kinds_accepted)
{
	cr_assert_eq(parse("a: bob, bob@example.org, |/bin/cat, /tmp/file, :include:/etc/list, \\bob\n"
			   "gone: error:5.1.1 This user has left\n"), EX_OK);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(stats.bad, 0);
}

/* One bad entry among good ones: the message, its line, and the good ones kept. */
static void assert_bad(const char *text, const char *expect)
{
	parse(text);
	cr_assert_eq(stats.bad, 1, "%s: bad=%lu, messages: %s", text, stats.bad, errtext);
	cr_assert(strstr(errtext, expect) != NULL, "expected \"%s\" in \"%s\"", expect, errtext);
	cr_assert_eq(got.n, 2, "the good entries around the bad one survive: %s", errtext);
	cr_assert_str_eq(got.name[0], "first");
	cr_assert_str_eq(got.name[1], "last");
}

Test(aliases_parse, error_missing_colon)
{
	assert_bad("first: a\n\nno colon here\nlast: b\n", "src:3: missing colon after alias name\n");
}

Test(aliases_parse, error_empty_name)
{
	assert_bad("first: a\n: nobody\nlast: b\n", "src:2: empty alias name\n");
}

Test(aliases_parse, error_unterminated_quote_in_name)
{
	assert_bad("first: a\n\"open name: x\nlast: b\n", "src:2: unterminated quote in alias name\n");
}

Test(aliases_parse, error_unterminated_quote_in_value)
{
	assert_bad("first: a\nq: \"|/bin/cat\nlast: b\n", "src:2: alias q: unterminated quote\n");
}

Test(aliases_parse, error_white_space_in_name)
{
	assert_bad("first: a\ntwo words: x\nlast: b\n", "src:2: white space in alias name (quote the name)\n");
}

Test(aliases_parse, error_line_too_long)
{
	size_t n = ALIAS_LINE_MAX + 100;
	char *text = malloc(n + 64);
	int off = sprintf(text, "first: a\nlong: ");
	memset(text + off, 'x', n);
	strcpy(text + off + n, "\n\tmore\nlast: b\n");
	assert_bad(text, "src:2: line too long\n");
	free(text);
}

Test(aliases_parse, line_just_under_the_limit_is_fine)
{
	size_t n = ALIAS_LINE_MAX - 10;
	char *text = malloc(n + 16);
	int off = sprintf(text, "ok: ");
	for (size_t i = (size_t)off; i < n; i++)   /* many short items: only the line is long */
		text[i] = i % 10 == 9 ? ',' : 'x';
	strcpy(text + n, "\n");
	cr_assert_eq(parse(text), EX_OK);
	cr_assert_eq(stats.bad, 0, "%s", errtext);
	cr_assert_eq(got.n, 1);
	free(text);
}

Test(aliases_parse, error_entry_too_long_through_continuations)
{
	size_t lines = ALIAS_VALUE_MAX / 4000 + 2;
	char *text = malloc(lines * 4002 + 64);
	char *p = text + sprintf(text, "first: a\nhuge: x\n");
	for (size_t i = 0; i < lines; i++) {
		*p++ = '\t';
		memset(p, 'y', 3999);
		p += 3999;
		*p++ = '\n';
	}
	strcpy(p, "last: b\n");
	parse(text);
	cr_assert_eq(stats.bad, 1, "%s", errtext);
	cr_assert(strstr(errtext, ": alias entry too long\n") != NULL, "%s", errtext);
	cr_assert(strncmp(errtext, "src:", 4) == 0);
	cr_assert_eq(got.n, 2);
	free(text);
}

Test(aliases_parse, error_nul_byte)
{
	static const char text[] = "first: a\nnul: x\0y\nlast: b\n";
	parse_len(text, sizeof text - 1);
	cr_assert_eq(stats.bad, 1);
	cr_assert(strstr(errtext, "src:2: NUL byte in line\n") != NULL, "%s", errtext);
	cr_assert_eq(got.n, 2);
}

Test(aliases_parse, error_continuation_without_name)
{
	parse("  orphan, line\nfirst: a\nlast: b\n");
	cr_assert_eq(stats.bad, 1);
	cr_assert(strstr(errtext, "src:1: continuation line without an alias name\n") != NULL, "%s", errtext);
	cr_assert_eq(got.n, 2);
}

Test(aliases_parse, error_missing_value)
{
	assert_bad("first: a\nempty:   \nlast: b\n", "src:2: missing alias value\n");
}

Test(aliases_parse, error_reserved_sentinel_name)
{
	assert_bad("first: a\n@: @\nlast: b\n", "src:2: alias name @ is reserved\n");
}

Test(aliases_parse, error_name_too_long)
{
	char text[ALIAS_NAME_MAX + 64];
	char name[ALIAS_NAME_MAX + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(text, sizeof text, "first: a\n%s: x\nlast: b\n", name);
	assert_bad(text, "src:2: alias name too long\n");
}

Test(aliases_parse, error_control_character_in_name)
{
	assert_bad("first: a\n\"bell\a\": x\nlast: b\n", "src:2: control character in alias name\n");
}

Test(aliases_parse, error_bad_items_in_value)
{
	assert_bad("first: a\nc: alice, |\nlast: b\n", "src:2: alias c: empty command\n");
	assert_bad("first: a\ni: :include:relative/list\nlast: b\n", "src:2: alias i: :include: needs an absolute path\n");
	assert_bad("first: a\nbs: \\\nlast: b\n", "src:2: alias bs: empty name after backslash\n");
}

Test(aliases_parse, bad_entry_skips_its_continuation_lines)
{
	parse("first: a\nbad line\n\tstill bad\nlast: b\n");
	cr_assert_eq(stats.bad, 1, "%s", errtext);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.value[1], "b");
}

Test(aliases_parse, errors_report_the_entry_line_not_the_continuation)
{
	parse("first: a\n\nbroken\n\tmore\n\tand more\nlast: b\n");
	cr_assert(strstr(errtext, "src:3: ") != NULL, "%s", errtext);
}

Test(aliases_parse, no_error_stream_is_fine)
{
	struct result r;
	struct alias_parse_stats st;
	FILE *in = fmemopen((void *)"x\ny: z\n", 7, "r");
	memset(&got, 0, sizeof got);
	cr_assert_eq(alias_parse_stream(in, "src", collect, &got, NULL, &st, &r), EX_OK);
	fclose(in);
	cr_assert_eq(st.bad, 1);
	cr_assert_eq(got.n, 1);
}

static int stop_at_second(void *ctx, const struct alias_entry *e, struct result *r)
{
	int *n = ctx;
	(void)e;
	if (++*n == 2)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "disk full"), -1;
	return 0;
}

Test(aliases_parse, callback_failure_stops_the_parse)
{
	struct result r;
	struct alias_parse_stats st;
	int n = 0;
	FILE *in = fmemopen((void *)"a: b\nc: d\ne: f\n", 15, "r");
	cr_assert_eq(alias_parse_stream(in, "src", stop_at_second, &n, NULL, &st, &r), EX_TEMPFAIL);
	fclose(in);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(r.reason, "disk full");
}

/* ---- Items ---- */

static struct alias_item item;

static void next_ok(const char **p, bool lines, enum alias_item_kind kind, const char *text)
{
	const char *err = NULL;
	int rc = alias_next_item(p, lines, &item, &err);
	cr_assert_eq(rc, 1, "expected %s, got rc %d (%s)", text, rc, err ? err : "");
	cr_assert_eq(item.kind, kind, "%s: kind %d", text, item.kind);
	cr_assert_str_eq(item.text, text);
}

static void at_end(const char **p, bool lines)
{
	const char *err;
	cr_assert_eq(alias_next_item(p, lines, &item, &err), 0, "left: %s", *p);
}

Test(aliases_items, kinds)
{
	const char *p = "bob, Bob+Ext, bob@example.org, |/usr/bin/prog -x, /var/log/file, "
			":include:/etc/list, \\bob, \"|/bin/echo a, b\", \"/tmp/with space\"";
	next_ok(&p, false, AI_LOCAL, "bob");
	next_ok(&p, false, AI_LOCAL, "Bob+Ext");
	next_ok(&p, false, AI_REMOTE, "bob@example.org");
	next_ok(&p, false, AI_COMMAND, "/usr/bin/prog -x");
	next_ok(&p, false, AI_FILE, "/var/log/file");
	next_ok(&p, false, AI_INCLUDE, "/etc/list");
	next_ok(&p, false, AI_NOALIAS, "bob");
	next_ok(&p, false, AI_COMMAND, "/bin/echo a, b");
	next_ok(&p, false, AI_FILE, "/tmp/with space");
	at_end(&p, false);
}

Test(aliases_items, error_items)
{
	const char *p = "error:5.1.1 This user has left, error:4.2.1 try later, ERROR:gone, error:";
	next_ok(&p, false, AI_ERROR, "This user has left");
	cr_assert_str_eq(item.dsn, "5.1.1");
	next_ok(&p, false, AI_ERROR, "try later");
	cr_assert_str_eq(item.dsn, "4.2.1");
	next_ok(&p, false, AI_ERROR, "gone");
	cr_assert_str_eq(item.dsn, "5.0.0", "no status code: a generic permanent failure");
	next_ok(&p, false, AI_ERROR, "delivery refused by the administrator");
	at_end(&p, false);
}

Test(aliases_items, quoted_backslash_escapes)
{
	const char *p = "\"|/bin/echo \\\"hi\\\"\"";
	next_ok(&p, false, AI_COMMAND, "/bin/echo \"hi\"");
}

Test(aliases_items, empty_items_are_skipped)
{
	const char *p = " , ,\"\", bob ,,";
	next_ok(&p, false, AI_LOCAL, "bob");
	at_end(&p, false);
}

Test(aliases_items, lines_mode_newlines_and_comments)
{
	const char *p = "# my forward\n\\me\nme@elsewhere.example, |/usr/bin/vacation me\n  # trailing\n/home/me/archive\n";
	next_ok(&p, true, AI_NOALIAS, "me");
	next_ok(&p, true, AI_REMOTE, "me@elsewhere.example");
	next_ok(&p, true, AI_COMMAND, "/usr/bin/vacation me");
	next_ok(&p, true, AI_FILE, "/home/me/archive");
	at_end(&p, true);
}

Test(aliases_items, newline_is_not_a_separator_in_alias_values)
{
	/* Joined continuation lines never hold newlines; a stray one is a control character. */
	const char *p = "a\nb";
	const char *err;
	cr_assert_eq(alias_next_item(&p, false, &item, &err), -1);
	cr_assert_str_eq(err, "control character in item");
}

Test(aliases_items, quote_across_lines_is_unterminated)
{
	const char *p = "\"|/bin/cat\nbob\n";
	const char *err;
	cr_assert_eq(alias_next_item(&p, true, &item, &err), -1);
	cr_assert_str_eq(err, "unterminated quote");
	next_ok(&p, true, AI_LOCAL, "bob");   /* resynchronised at the next line */
}

Test(aliases_items, item_too_long)
{
	char *big = malloc(ALIAS_ITEM_MAX + 64);
	memset(big, 'x', ALIAS_ITEM_MAX + 10);
	strcpy(big + ALIAS_ITEM_MAX + 10, ", bob");
	const char *p = big, *err;
	cr_assert_eq(alias_next_item(&p, false, &item, &err), -1);
	cr_assert_str_eq(err, "item too long");
	next_ok(&p, false, AI_LOCAL, "bob");
	free(big);
}

Test(aliases_items, value_check)
{
	const char *err;
	cr_assert_eq(alias_value_check("a, b@c, |x, /f", &err), 0);
	cr_assert_eq(alias_value_check("a, \"open", &err), -1);
	cr_assert_str_eq(err, "unterminated quote");
}

/* ---- Printing ---- */

static char *printed(const char *name, const char *value)
{
	char *buf;
	size_t len;
	FILE *fp = open_memstream(&buf, &len);
	alias_print(fp, name, value);
	fclose(fp);
	return buf;
}

Test(aliases_print, plain_and_quoted_names_parse_back)
{
	char *a = printed("postmaster", "root");
	cr_assert_str_eq(a, "postmaster: root\n");
	char *b = printed("mail team", "alice, \"|/bin/cat\"");
	cr_assert_str_eq(b, "\"mail team\": alice, \"|/bin/cat\"\n");
	char *c = printed("a\"b:c", "x");
	cr_assert_str_eq(c, "\"a\\\"b:c\": x\n");
	char *d = printed("#hash", "x");
	cr_assert_str_eq(d, "\"#hash\": x\n");
	char all[512];
	snprintf(all, sizeof all, "%s%s%s%s", a, b, c, d);
	cr_assert_eq(parse(all), EX_OK);
	cr_assert_eq(got.n, 4, "%s", errtext);
	cr_assert_str_eq(got.name[1], "mail team");
	cr_assert_str_eq(got.name[2], "a\"b:c");
	cr_assert_str_eq(got.name[3], "#hash");
	free(a);
	free(b);
	free(c);
	free(d);
}

/* A value joined from continuation lines may be longer than one physical line may be: it is
 * printed folded (at spaces the join gives back) and parses back to the very same value. */
Test(aliases_print, long_value_is_folded_and_parses_back_the_same)
{
	size_t n = 3 * ALIAS_LINE_MAX;
	char *value = malloc(n + 1), *p = value;
	while ((size_t)(p - value) < n - 40)
		p += sprintf(p, "user%05zu@example.org, ", (size_t)(p - value));
	strcpy(p, "#notacomment, \"|cmd  two  spaces\"");
	char *text = printed("biglist", value);
	for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
		cr_assert_lt((size_t)(nl - line), ALIAS_LINE_MAX, "a printed line is too long");
	cr_assert_eq(parse(text), EX_OK);
	cr_assert_eq(got.n, 1, "%s", errtext);
	cr_assert_str_eq(got.value[0], value);
	free(text);
	free(value);
}
