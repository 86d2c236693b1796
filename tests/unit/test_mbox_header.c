/* Unit tests for mbox/header.c: field iteration, unfolding, RFC 2047, address skinning. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mbox/header.h"

static const char HDRS[] =
	"From: \"Doe, John\" <john@example.org>\n"
	"Subject: a folded\n"
	"\tsubject line  \n"
	"X-Bad line without colon\n"
	"Content-Type : text/plain\r\n"
	"\n"
	"Body: not a header\n";

Test(header, iterates_fields_until_blank_line)
{
	struct hdr_field f;
	size_t pos = 0, n = 0;
	const char *names[] = { "From", "Subject", "", "Content-Type" };
	while (hdr_next(HDRS, sizeof HDRS - 1, &pos, &f)) {
		cr_assert(n < 4);
		cr_assert_eq(f.name_len, strlen(names[n]), "field %zu", n);
		cr_assert(strncmp(f.name, names[n], f.name_len) == 0);
		n++;
	}
	cr_assert_eq(n, 4);
	cr_assert_str_eq(HDRS + pos, "Body: not a header\n");
}

Test(header, find_is_case_insensitive_and_value_excludes_crlf)
{
	struct hdr_field f;
	cr_assert(hdr_find(HDRS, sizeof HDRS - 1, "content-TYPE", &f));
	cr_assert_eq(f.value_len, strlen("text/plain"));
	cr_assert(strncmp(f.value, "text/plain", f.value_len) == 0);
	cr_assert(!hdr_find(HDRS, sizeof HDRS - 1, "Body", &f), "body lines are not headers");
}

Test(header, unfold_joins_continuation_lines)
{
	struct hdr_field f;
	cr_assert(hdr_find(HDRS, sizeof HDRS - 1, "subject", &f));
	char *u = hdr_unfold(f.value, f.value_len);
	cr_assert_str_eq(u, "a folded\tsubject line");
	free(u);
}

static void check_decode(const char *in, const char *want)
{
	char *out = hdr_decode_2047(in, strlen(in));
	cr_assert_not_null(out);
	cr_assert_str_eq(out, want, "decode(%s)", in);
	free(out);
}

Test(header, rfc2047_b_and_q_with_charset_conversion)
{
	check_decode("=?UTF-8?B?w6TDtsO8?=", "\xc3\xa4\xc3\xb6\xc3\xbc");
	check_decode("=?iso-8859-1?q?caf=E9_au_lait?=", "caf\xc3\xa9 au lait");
	check_decode("Re: =?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?= tail", "Re: ab tail");
	/* A UTF-8 character split across two B words survives joining. */
	check_decode("=?UTF-8?B?w6?= =?UTF-8?B?Qg?=", "=?UTF-8?B?w6?= =?UTF-8?B?Qg?=");
	check_decode("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A4x?=", "\xc3\xa4x");
	check_decode("=?utf-8*en?Q?hi?=", "hi");
}

Test(header, rfc2047_invalid_input_left_alone)
{
	check_decode("=?bogus-charset-xyz?Q?abc?=", "=?bogus-charset-xyz?Q?abc?=");
	check_decode("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=");
	check_decode("=?UTF-8?Q?a=ZZ?=", "=?UTF-8?Q?a=ZZ?=");
	check_decode("=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=");
	check_decode("plain =?", "plain =?");
	check_decode("=?UTF-8?B?/w==?=", "=?UTF-8?B?/w==?=");   /* 0xff is not UTF-8 */
	check_decode("=?UTF-8?Q?a=0Ab?=", "a?b");              /* no decoded line breaks */
}

static void check_skin(const char *in, const char *want)
{
	char out[256];
	bool ok = hdr_skin_address(in, strlen(in), out, sizeof out);
	if (!want) {
		cr_assert(!ok, "skin(%s) should fail", in);
		return;
	}
	cr_assert(ok, "skin(%s)", in);
	cr_assert_str_eq(out, want, "skin(%s)", in);
}

Test(header, skin_address_forms)
{
	check_skin("John Doe <john@example.org>", "john@example.org");
	check_skin("john@example.org (John Doe)", "john@example.org");
	check_skin("  <john@example.org>  ", "john@example.org");
	check_skin("\"Evil <x@y>\" <real@example.org>", "real@example.org");
	check_skin("(a <comment>) bare@example.org", "bare@example.org");
	check_skin("a@b, c@d", "a@b");
	check_skin("<@relay.example:user@example.org>", "user@example.org");
	check_skin("", NULL);
	check_skin("()", NULL);
	char small[4];
	cr_assert(!hdr_skin_address("toolong@x", 9, small, sizeof small));
}

static void check_name(const char *in, const char *want)
{
	char *n = hdr_display_name(in, strlen(in));
	if (!want) {
		cr_assert_null(n, "name(%s) = %s", in, n);
		return;
	}
	cr_assert_not_null(n, "name(%s)", in);
	cr_assert_str_eq(n, want);
	free(n);
}

Test(header, display_name_forms)
{
	check_name("\"Doe, John\" <john@example.org>", "Doe, John");
	check_name("John \\\"JD\\\" Doe <j@x>", "John \"JD\" Doe");
	check_name("j@x (John Doe)", "John Doe");
	check_name("=?UTF-8?Q?J=C3=B6rg?= <j@x>", "J\xc3\xb6rg");
	check_name("<j@x>", NULL);
	check_name("j@x", NULL);
}
