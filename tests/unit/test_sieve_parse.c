/* Unit tests for the Sieve lexer, parser and validator: what compiles, what does not, and
 * that every error reads FILE:LINE:COLUMN: message at the right place. */
#include "tests/unit/test_sieve_util.h"

Test(sieve_lexer, numbers_with_quantifiers)
{
	size_t size = strlen(ST_MSG);   /* 250 < size < 300 */
	cr_assert(size > 250 && size < 300, "%zu", size);
	st_expect("if size :over 1K { discard; }", ST_MSG, "implicit keep\n");
	st_expect("if size :under 1k { discard; }", ST_MSG, "discard\n");
	st_expect("if size :under 1M { discard; }", ST_MSG, "discard\n");
	st_expect("if size :over 1G { discard; }", ST_MSG, "implicit keep\n");
	st_expect("if size :over 250 { discard; }", ST_MSG, "discard\n");
	st_expect("if size :over 300 { discard; }", ST_MSG, "implicit keep\n");
	st_expect("if size :under 250 { discard; }", ST_MSG, "implicit keep\n");
}

Test(sieve_lexer, number_too_large)
{
	st_expect_error("if size :over 99999999999999999999 { discard; }", "test.sieve:1:15: number too large");
	st_expect_error("if size :over 17179869184G { discard; }", "number too large");
	st_expect_error("if size :over 12x { discard; }", "invalid number");
}

Test(sieve_lexer, quoted_string_escapes)
{
	/* \" and \\ are escapes; an undefined escape drops the backslash (RFC 5228 2.4.2) */
	st_expect("require \"fileinto\"; fileinto \"a\\\"b\\\\c\\d\";", ST_MSG, "fileinto \"a\\\"b\\\\cd\"\n");
	st_expect("require \"reject\"; reject \"two\r\nlines\";", ST_MSG, "reject \"two\\nlines\"\n");
}

Test(sieve_lexer, multiline_string_and_dot_stuffing)
{
	st_expect("require \"reject\"; reject text: # comment after text:\r\n"
		  "line one\r\n..dot\r\n.x\r\n.\r\n;",
		  ST_MSG, "reject \"line one\\n.dot\\nx\\n\"\n");
	st_expect("require \"reject\"; reject TEXT:\n.\n;", ST_MSG, "reject \"\"\n");
	st_expect_error("require \"reject\"; reject text:\nno end\n", "1:26: unterminated multi-line string");
	st_expect_error("require \"reject\"; reject text: x\n.\n;", "expected a line end after text:");
}

Test(sieve_lexer, comments)
{
	st_expect("# hash\n/* bracket\n comment */ discard; # trailing", ST_MSG, "discard\n");
	st_expect_error("discard; /* never closed", "1:10: unterminated comment");
	st_expect_error("discard; \"open", "1:10: unterminated string");
}

Test(sieve_lexer, bad_characters)
{
	st_expect_error("discard; @", "1:10: unexpected character '@'");
	char nul[] = "discard;\0discard;";
	struct sieve_errors errs;
	cr_assert_null(sieve_compile_buffer("test.sieve", nul, sizeof nul - 1, NULL, &errs));
	cr_assert(strstr(errs.text, "test.sieve:1:9: NUL character in script"), "%s", errs.text);
}

Test(sieve_parser, syntax_errors_have_line_and_column)
{
	st_expect_error("keep;\n  if true { discard; \n", "test.sieve:3:1: expected '}', found end of script");
	st_expect_error("keep;\n}", "test.sieve:2:1: expected a command, found '}'");
	st_expect_error("discard\n", "test.sieve:2:1: expected ';' or '{', found end of script");
	st_expect_error("if header :is [\"a\" \"b\"] \"c\" { }", "1:20: expected ',' or ']' in the string list");
	st_expect_error("if anyof(true; false) { }", "1:14: expected ',' or ')' in the test list");
	st_expect_error("if { }", "1:1: 'if' needs exactly one test");
	st_expect_error("[\"x\"];", "1:1: expected a command, found '['");
}

Test(sieve_parser, nesting_is_bounded)
{
	char buf[4096] = "";
	for (int i = 0; i < 100; i++)
		strcat(buf, "if true {");
	strcat(buf, "discard;");
	for (int i = 0; i < 100; i++)
		strcat(buf, "}");
	st_expect_error(buf, "nested too deeply (limit 64)");
	char tests[4096] = "if ";
	for (int i = 0; i < 200; i++)
		strcat(tests, "not ");
	strcat(tests, "true { discard; }");
	st_expect_error(tests, "nested too deeply");
}

Test(sieve_parser, empty_script_is_implicit_keep)
{
	st_expect("", ST_MSG, "implicit keep\n");
	st_expect("# only a comment\n", ST_MSG, "implicit keep\n");
}

Test(sieve_validate, unknown_commands_tests_tags)
{
	st_expect_error("frobnicate;", "test.sieve:1:1: unknown command 'frobnicate'");
	st_expect_error("if frob { }", "1:4: unknown test 'frob'");
	st_expect_error("if header :frob \"a\" \"b\" { }", "1:11: unknown tag ':frob' for 'header'");
	st_expect_error("if keep { }", "'keep' is a command, not a test");
	st_expect_error("true;", "'true' is a test, not a command");
	st_expect_error("keep \"x\";", "wrong number of arguments for 'keep'");
	st_expect_error("if header \"a\" { }", "wrong number of arguments for 'header'");
	st_expect_error("if size 10 { }", "'size' needs :over or :under");
	st_expect_error("if size :over :under 10 { }", "tag ':under' conflicts");
}

Test(sieve_validate, extensions_must_be_required)
{
	st_expect_error("fileinto \"x\";", "1:1: 'fileinto' requires the extension 'fileinto'");
	st_expect_error("if header :regex \"a\" \"b\" { }", "match type ':regex' requires the extension 'regex'");
	st_expect_error("if address :detail \"to\" \"b\" { }", "requires the extension 'subaddress'");
	st_expect_error("if header :count \"eq\" \"a\" \"1\" { }", "requires the extension 'relational'");
	st_expect_error("if header :comparator \"i;ascii-numeric\" \"a\" \"1\" { }",
			"requires the extension 'comparator-i;ascii-numeric'");
	st_expect_error("require \"vacation\"; vacation :seconds 10 \"x\";", "requires the extension 'vacation-seconds'");
	st_expect_error("require \"frobnication\";", "1:9: unknown extension 'frobnication'");
	/* require is only allowed at the start */
	st_expect_error("keep; require \"fileinto\";", "1:7: require must come before any other command");
	st_expect_error("if true { require \"fileinto\"; }", "require must come before");
}

Test(sieve_validate, disabled_extensions_are_unknown)
{
	struct sieve_compile_opts co = { .extensions = "-vacation -reject" };
	struct sieve_errors errs;
	cr_assert_null(st_compile("require \"vacation\";", &co, &errs));
	cr_assert(strstr(errs.text, "unknown extension 'vacation'"), "%s", errs.text);
	cr_assert_null(st_compile("require \"vacation-seconds\";", &co, &errs));
	struct sieve_script *s = st_compile("require \"fileinto\";", &co, &errs);
	cr_assert_not_null(s);
	sieve_script_free(s);
}

Test(sieve_validate, comparator_and_match_type_rules)
{
	st_expect_error("if header :comparator \"i;frob\" \"a\" \"b\" { }", "unknown comparator 'i;frob'");
	st_expect_error("if header :is :contains \"a\" \"b\" { }", "more than one match type");
	st_expect_error("if header :comparator \"i;octet\" :comparator \"i;octet\" \"a\" \"b\" { }",
			"more than one comparator");
	st_expect_error("require [\"relational\", \"comparator-i;ascii-numeric\"];"
			"if header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { }",
			"cannot be used with this match type");
	st_expect_error("require \"relational\"; if header :value \"gx\" \"a\" \"1\" { }", "invalid relational match 'gx'");
	st_expect_error("if address :all :domain \"to\" \"x\" { }", "more than one address part");
	st_expect_error("if header :is \"a\" :is \"b\" { }", "tag ':is' after positional arguments");
}

Test(sieve_validate, header_names)
{
	st_expect_error("if header \"sub ject\" \"x\" { }", "invalid header name 'sub ject'");
	st_expect_error("if exists \"subject:\" { }", "invalid header name 'subject:'");
	st_expect_error("if address \"subject\" \"x\" { }", "header 'subject' is not allowed for the address test");
	st_expect_error("require \"envelope\"; if envelope \"cc\" \"x\" { }", "unknown envelope part 'cc'");
}

Test(sieve_validate, control_structure)
{
	st_expect_error("elsif true { }", "'elsif' without a preceding 'if'");
	st_expect_error("keep; else { }", "'else' without a preceding 'if'");
	st_expect_error("if true { } else { } else { }", "'else' without a preceding 'if'");
	st_expect_error("if true;", "'if' needs a block");
	st_expect_error("stop { }", "'stop' takes no block");
	st_expect_error("if allof true { }", "'allof' needs a test list in ( )");
	st_expect("if false { discard; } elsif false { keep; } else { stop; } discard;", ST_MSG,
		  "implicit keep\n");
}

Test(sieve_validate, constant_arguments_are_checked)
{
	st_expect_error("require \"fileinto\"; fileinto \"../etc\";", "1:30: invalid folder name '../etc'");
	st_expect_error("require \"fileinto\"; fileinto \"/etc/passwd\";", "absolute path");
	st_expect_error("redirect \"not an address\";", "invalid redirect address");
	st_expect_error("require \"regex\"; if header :regex \"s\" \"(\" { }", "invalid regular expression");
	st_expect_error("require \"date\"; if date \"date\" \"century\" \"x\" { }", "unknown date part 'century'");
	st_expect_error("require \"date\"; if date :zone \"0200\" \"date\" \"year\" \"x\" { }", "invalid time zone '0200'");
	st_expect_error("require [\"encoded-character\", \"imap4flags\"]; keep :flags \"${unicode:D800}\";",
			"invalid unicode character");
}

Test(sieve_validate, variables_rules)
{
	st_expect_error("require \"variables\"; set \"1x\" \"v\";", "invalid variable name '1x'");
	st_expect_error("require \"variables\"; set :lower :upper \"a\" \"v\";", "two modifiers of the same precedence");
	st_expect_error("require \"variables\"; if string \"${foo.bar}\" \"\" { }", "unknown variable namespace 'foo'");
	st_expect_error("require \"imap4flags\"; setflag \"var\" \"x\";", "requires the extension 'variables'");
}

Test(sieve_validate, warnings_and_errors_are_bounded)
{
	struct sieve_errors errs;
	char buf[8192] = "";
	for (int i = 0; i < 100; i++)
		strcat(buf, "frob;\n");
	/* the first error stops the validation; the error list itself is bounded too */
	cr_assert_null(st_compile(buf, NULL, &errs));
	cr_assert_lt(errs.len, sizeof errs.text);
	char first[128];
	cr_assert_str_eq(sieve_errors_first(&errs, first, sizeof first), "test.sieve:1:1: unknown command 'frob'");
}

Test(sieve_validate, control_characters_in_messages_are_neutralised)
{
	/* a script cannot put a line break into a log line through its error text */
	st_expect_error("frob\x1b[31m;", "unexpected character 0x1b");
	st_expect_error("require \"fileinto\"; fileinto \"a\\\nb\";", "invalid folder name 'a?b'");
}

Test(sieve_validate, case_insensitive_identifiers)
{
	st_expect("IF HEADER :CONTAINS \"subject\" \"meeting\" { DISCARD; }", ST_MSG, "discard\n");
}

Test(sieve_validate, capability_list)
{
	const char *caps = sieve_capabilities();
	static const char *const want[] = { "fileinto", "reject", "ereject", "envelope", "encoded-character",
					    "copy", "body", "variables", "subaddress", "relational",
					    "comparator-i;ascii-numeric", "imap4flags", "vacation",
					    "vacation-seconds", "date", "index", "duplicate", "mailbox",
					    "include", "regex" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char script[128];
		snprintf(script, sizeof script, "require \"%s\";", want[i]);
		struct sieve_errors errs;
		struct sieve_script *s = st_compile(script, NULL, &errs);
		cr_assert_not_null(s, "%s: %s", want[i], errs.text);
		sieve_script_free(s);
		cr_assert(strstr(caps, want[i]), "%s", want[i]);
	}
}
