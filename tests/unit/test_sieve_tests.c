/* Unit tests for the Sieve tests: address, envelope, exists, header, size, allof/anyof/not,
 * string, comparators, match types, relational, subaddress, index, body, date, regex. */
#include "tests/unit/test_sieve_util.h"
#include <ctype.h>

#define YES "discard\n"
#define NO "implicit keep\n"

/* "if TEST { discard; }" with the given require list, against msg. */
static void expect_test(const char *req, const char *test, const char *msg, bool want)
{
	char script[2048];
	snprintf(script, sizeof script, "require [%s]; if %s { discard; }", req, test);
	char *got = st_run(script, msg);
	cr_assert_str_eq(got, want ? YES : NO, "%s", test);
	free(got);
}

#define T(test, want) expect_test("\"fileinto\"", test, ST_MSG, want)

Test(sieve_test, header_match_types_and_comparators)
{
	T("header :is \"subject\" \"meeting on tuesday\"", true);
	T("header :comparator \"i;octet\" :is \"subject\" \"meeting on tuesday\"", false);
	T("header :comparator \"i;octet\" :is \"subject\" \"Meeting on Tuesday\"", true);
	T("header :contains \"subject\" \"ON TUE\"", true);
	T("header :contains \"subject\" \"\"", true);
	T("header :contains \"x-missing\" \"\"", false);
	T("header :matches \"subject\" \"Meeting*day\"", true);
	T("header :matches \"subject\" \"Meeting ?n*\"", true);
	T("header :matches \"subject\" \"Meeting\"", false);
	T("header :matches \"subject\" \"*\"", true);
	T("header :is [\"x-missing\", \"subject\"] [\"no\", \"Meeting on Tuesday\"]", true);
	T("header :is \"SUBJECT\" \"Meeting on Tuesday\"", true);
}

Test(sieve_test, matches_escapes_and_hostile_patterns)
{
	const char *msg = "Subject: a*b?c\\d\n\nx\n";
	expect_test("\"fileinto\"", "header :matches \"subject\" \"a\\\\*b\\\\?c\\\\\\\\d\"", msg, true);
	expect_test("\"fileinto\"", "header :matches \"subject\" \"a\\\\*b\\\\?c\\\\\\\\\"", msg, false);
	/* many stars against a long value stays linear per star: finishes, no match */
	char hdr[9000] = "Subject: ";
	for (int i = 0; i < 8000; i++)
		strcat(hdr, "a");
	strcat(hdr, "\n\nx\n");
	expect_test("\"fileinto\"", "header :matches \"subject\" \"*a*a*a*a*a*a*a*a*a*a*b\"", hdr, false);
}

Test(sieve_test, header_values_are_unfolded_and_decoded)
{
	/* unfolding removes the line break only (RFC 5322 2.2.3): two blanks stay */
	const char *msg = "Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus\n  Berlin\nX-Empty:\n\nbody\n";
	expect_test("\"fileinto\"", "header :is \"subject\" \"Grüße aus  Berlin\"", msg, true);
	expect_test("\"fileinto\"", "header :is \"x-empty\" \"\"", msg, true);
	expect_test("\"fileinto\"", "exists \"x-empty\"", msg, true);
}

Test(sieve_test, address_parts)
{
	T("address :all :is \"from\" \"alice@example.com\"", true);
	T("address :localpart :is \"from\" \"alice\"", true);
	T("address :domain :is \"cc\" \"example.net\"", true);
	T("address :domain :comparator \"i;octet\" :is \"cc\" \"example.net\"", false);
	T("address :is \"to\" \"carol+lists@example.org\"", true);
	T("address :contains \"from\" \"Example\"", true);      /* the display name is not compared */
	T("address :contains \"from\" \"Alice Ex\"", false);
}

Test(sieve_test, address_lists_groups_and_invalid)
{
	const char *msg = "To: undisclosed-recipients:;\n"
			  "Cc: team: \"Joe Q\" <joe@x.org>, ann@y.org;, (comment) eve@z.org\n"
			  "Bcc: \"a b\"@q.org\n"
			  "From: not an address\n"
			  "Reply-To: <@route.example:rt@example.com>\n\nx\n";
	expect_test("\"relational\", \"comparator-i;ascii-numeric\"",
		    "address :count \"eq\" :comparator \"i;ascii-numeric\" \"to\" \"0\"", msg, true);
	expect_test("\"relational\", \"comparator-i;ascii-numeric\"",
		    "address :count \"eq\" :comparator \"i;ascii-numeric\" \"cc\" \"3\"", msg, true);
	expect_test("\"fileinto\"", "address :domain :is \"cc\" \"z.org\"", msg, true);
	expect_test("\"fileinto\"", "address :localpart :is \"bcc\" \"a b\"", msg, true);
	/* an invalid address matches only with :all, as its text (RFC 5228 5.1) */
	expect_test("\"fileinto\"", "address :all :is \"from\" \"not an address\"", msg, true);
	expect_test("\"fileinto\"", "address :localpart :matches \"from\" \"*\"", msg, false);
	expect_test("\"fileinto\"", "address :all :is \"reply-to\" \"rt@example.com\"", msg, true);
}

Test(sieve_test, subaddress)
{
	const char *req = "\"subaddress\"";
	expect_test(req, "address :user :is \"to\" \"carol\"", ST_MSG, true);
	expect_test(req, "address :detail :is \"to\" \"lists\"", ST_MSG, true);
	expect_test(req, "address :detail :matches \"from\" \"*\"", ST_MSG, false);   /* no detail */
	expect_test(req, "address :detail :is \"to\" \"\"", "To: a+@b.c\n\nx\n", true);
	/* the first delimiter splits: user "a", detail "b+c" */
	expect_test(req, "address :detail :is \"to\" \"b+c\"", "To: a+b+c@d.e\n\nx\n", true);
}

Test(sieve_test, subaddress_delimiters_from_options)
{
	struct sieve_exec_opts xo = { .recipient_delimiter = "-+" };
	char *out = st_run_opts("require \"subaddress\"; if address :detail :is \"to\" \"x\" { discard; }",
				"To: a-x@b.c\n\nx\n", NULL, &xo);
	cr_assert_str_eq(out, YES);
	free(out);
}

Test(sieve_test, envelope)
{
	struct sieve_envelope env = { .sender = "owner-list@lists.example", .recipient = "bob+tag@example.org",
				      .orig_recipient = "robert+orig@example.org", .auth = "bob" };
	const char *s = "require [\"envelope\", \"subaddress\", \"fileinto\", \"variables\"];"
			"if envelope :domain :is \"from\" \"lists.example\" { fileinto \"f\"; }"
			"if envelope :detail :matches \"to\" \"*\" { fileinto \"d-${1}\"; }"
			"if envelope :is \"auth\" \"bob\" { fileinto \"auth\"; }";
	char *out = st_run_opts(s, ST_MSG, &env, NULL);
	/* envelope "to" is the original recipient when there is one, as in Pigeonhole */
	cr_assert_str_eq(out, "fileinto \"f\"\nfileinto \"d-orig\"\nfileinto \"auth\"\n");
	free(out);
	struct sieve_envelope null_sender = { .sender = "", .recipient = "bob@example.org" };
	s = "require [\"envelope\", \"fileinto\"];"
	    "if envelope :all :is \"from\" \"\" { fileinto \"null\"; }"
	    "if envelope :localpart :matches \"from\" \"*\" { fileinto \"never\"; }"
	    "if envelope :is \"to\" \"bob@example.org\" { fileinto \"to\"; }";
	out = st_run_opts(s, ST_MSG, &null_sender, NULL);
	cr_assert_str_eq(out, "fileinto \"null\"\nfileinto \"to\"\n");
	free(out);
}

Test(sieve_test, exists_allof_anyof_not)
{
	T("exists [\"from\", \"date\"]", true);
	T("exists [\"from\", \"x-missing\"]", false);
	T("allof (true, exists \"from\", not false)", true);
	T("allof (true, false)", false);
	T("anyof (false, false)", false);
	T("anyof (false, true)", true);
	T("not anyof (false, not true)", true);
	st_expect_error("if allof () { }", "expected a test, found ')'");
}

Test(sieve_test, short_circuit_keeps_match_variables)
{
	/* RFC 5229 3.2: the second test is never evaluated, ${1} still holds the first match */
	const char *s = "require [\"variables\", \"fileinto\"];"
			"if header :matches \"subject\" \"* on *\" { }"
			"if anyof (true, header :matches \"from\" \"*\") { fileinto \"${1}\"; }";
	st_expect(s, ST_MSG, "fileinto \"Meeting\"\n");
}

Test(sieve_test, relational_and_numeric)
{
	const char *req = "\"relational\", \"comparator-i;ascii-numeric\"";
	expect_test(req, "header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"6\"", ST_MSG, true);
	expect_test(req, "header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"10\"", ST_MSG, false);
	expect_test(req, "header :value \"eq\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"0007\"", ST_MSG, true);
	/* a value that is not a number is positive infinity (RFC 4790 9.1.1) */
	expect_test(req, "header :value \"gt\" :comparator \"i;ascii-numeric\" \"subject\" \"99999999999999999999\"", ST_MSG,
		    true);
	expect_test(req, "header :value \"eq\" :comparator \"i;ascii-numeric\" \"subject\" \"x\"", ST_MSG, true);
	expect_test(req, "header :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"2\"", ST_MSG, true);
	expect_test(req, "address :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\"", ST_MSG, true);
	expect_test(req, "header :value \"lt\" \"subject\" \"N\"", ST_MSG, true);
	expect_test(req, "header :value \"ge\" :comparator \"i;octet\" \"subject\" \"m\"", ST_MSG, false);
	expect_test(req, "header :value \"ne\" \"subject\" \"MEETING ON TUESDAY\"", ST_MSG, false);
	/* casemap orders after mapping to upper case (RFC 4790 9.2.1): "_" > "A" */
	expect_test(req, "header :value \"gt\" \"subject\" \"_\"", ST_MSG, false);
}

Test(sieve_test, index)
{
	const char *msg = "Received: one\nReceived: two\nReceived: three\n\nx\n";
	const char *req = "\"index\"";
	expect_test(req, "header :index 1 :is \"received\" \"one\"", msg, true);
	expect_test(req, "header :index 2 :is \"received\" \"two\"", msg, true);
	expect_test(req, "header :index 1 :last :is \"received\" \"three\"", msg, true);
	expect_test(req, "header :index 2 :is \"received\" \"one\"", msg, false);
	expect_test(req, "header :index 4 :matches \"received\" \"*\"", msg, false);
	st_expect_error("require \"index\"; if header :last \"received\" \"x\" { }", "':last' needs ':index'");
	st_expect_error("require \"index\"; if header :index 0 \"received\" \"x\" { }", "between 1 and");
}

Test(sieve_test, string_test)
{
	const char *req = "\"variables\", \"relational\", \"comparator-i;ascii-numeric\"";
	expect_test(req, "string :is \"abc\" \"ABC\"", ST_MSG, true);
	expect_test(req, "string :count \"eq\" :comparator \"i;ascii-numeric\" [\"a\", \"\", \"b\"] \"2\"", ST_MSG, true);
	expect_test(req, "string :matches \"${undefined}\" \"\"", ST_MSG, true);
}

Test(sieve_test, regex)
{
	const char *req = "\"regex\"";
	expect_test(req, "header :regex \"subject\" \"^Meet.*day$\"", ST_MSG, true);
	expect_test(req, "header :regex \"subject\" \"^meeting\"", ST_MSG, true);      /* casemap: caseless */
	expect_test(req, "header :regex :comparator \"i;octet\" \"subject\" \"^meeting\"", ST_MSG, false);
	expect_test(req, "header :regex \"subject\" \"[[:digit:]]\"", ST_MSG, false);
	/* UTF mode with i;ascii-casemap: '.' is one character */
	expect_test(req, "header :regex \"subject\" \"^Gr..e$\"", "Subject: Grüße\n\nx\n", true);
	expect_test(req, "header :regex :comparator \"i;octet\" \"subject\" \"^Gr..e$\"", "Subject: Grüße\n\nx\n", false);
	/* invalid UTF-8 in a message does not stop the match */
	expect_test(req, "header :regex \"subject\" \"b.d\"", "Subject: a\xff b\xfe d\n\nx\n", false);
	expect_test(req, "header :regex \"subject\" \"bad\"", "Subject: x\xff bad\n\nx\n", true);
	const char *vars = "require [\"regex\", \"variables\", \"fileinto\"];"
			   "if header :regex \"subject\" \"^(\\\\w+) on (\\\\w+)$\" { fileinto \"${0}|${1}|${2}|${3}\"; }";
	st_expect(vars, ST_MSG, "fileinto \"Meeting on Tuesday|Meeting|Tuesday|\"\n");
	/* a regex built from a variable is compiled at run time; a bad one fails the run */
	st_expect("require [\"regex\", \"variables\"]; set \"p\" \"(\"; if header :regex \"subject\" \"${p}\" { discard; }",
		  ST_MSG, "implicit keep\nerror test.sieve:1: invalid regular expression: missing closing parenthesis at offset 1\n");
}

Test(sieve_test, body_transforms)
{
	const char *mp = "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
			 "preamble MIME text\n--b1\nContent-Type: text/plain; charset=iso-8859-1\n"
			 "Content-Transfer-Encoding: quoted-printable\n\nSch=F6n und =\ngut\n"
			 "--b1\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n"
			 "PHA+SGVsbG8gPGI+V29ybGQ8L2I+PC9wPg==\n"
			 "--b1\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--b1--\nepilogue\n";
	const char *req = "\"body\"";
	expect_test(req, "body :raw :contains \"Sch=F6n\"", mp, true);
	expect_test(req, "body :content \"text/plain\" :contains \"Schön und gut\"", mp, true);
	expect_test(req, "body :content \"text/plain\" :contains \"=F6\"", mp, false);
	expect_test(req, "body :content \"text/html\" :contains \"<b>World</b>\"", mp, true);
	expect_test(req, "body :text :contains \"Hello World\"", mp, true);
	expect_test(req, "body :text :contains \"<b>\"", mp, false);
	expect_test(req, "body :content \"multipart\" :contains \"preamble MIME\"", mp, true);
	expect_test(req, "body :content \"multipart\" :contains \"epilogue\"", mp, true);
	expect_test(req, "body :content \"multipart\" :contains \"Sch\"", mp, false);
	expect_test(req, "body :content \"message/rfc822\" :contains \"Subject: inner\"", mp, true);
	expect_test(req, "body :content \"message/rfc822\" :contains \"inner body\"", mp, false);
	expect_test(req, "body :content \"text\" :contains \"inner body\"", mp, true);
	expect_test(req, "body :content \"text/\" :contains \"\"", mp, false);       /* RFC 5173 5.2 */
	expect_test(req, "body :content \"a/b/c\" :contains \"\"", mp, false);
	expect_test(req, "body :contains \"Schön\"", mp, true);                        /* :text default */
	/* a header-only message has no body: even "" does not match (RFC 5173 4) */
	expect_test(req, "body :raw :contains \"\"", "Subject: x\n", false);
	expect_test(req, "body :raw :is \"\"", "Subject: x\n\n", true);
}

Test(sieve_test, date_parts)
{
	const char *req = "\"date\", \"variables\", \"fileinto\"";
	expect_test(req, "date :originalzone \"date\" \"date\" \"2025-04-01\"", ST_MSG, true);
	expect_test(req, "date :zone \"+0000\" \"date\" \"hour\" \"08\"", ST_MSG, true);
	expect_test(req, "date :zone \"-1000\" \"date\" \"date\" \"2025-03-31\"", ST_MSG, true);
	expect_test(req, "date :originalzone \"date\" \"zone\" \"+0200\"", ST_MSG, true);
	expect_test(req, "date :originalzone \"date\" \"weekday\" \"2\"", ST_MSG, true);
	expect_test(req, "date :zone \"+0000\" \"date\" \"julian\" \"60766\"", ST_MSG, true);
	expect_test(req, "date :originalzone \"date\" \"iso8601\" \"2025-04-01T10:20:30+02:00\"", ST_MSG, true);
	expect_test(req, "date :zone \"+0000\" \"date\" \"iso8601\" \"2025-04-01T08:20:30Z\"", ST_MSG, true);
	expect_test(req, "date :originalzone \"date\" \"std11\" \"Tue, 01 Apr 2025 10:20:30 +0200\"", ST_MSG, true);
	expect_test(req, "date \"x-missing\" \"year\" \"2025\"", ST_MSG, false);
	/* calendar checks: no February 30th */
	expect_test(req, "date :originalzone \"date\" \"year\" \"2025\"", "Date: 30 Feb 2025 10:00 +0000\n\nx\n", false);
	expect_test(req, "date :originalzone \"date\" \"year\" \"2024\"", "Date: 29 Feb 2024 10:00 +0000\n\nx\n", true);
	/* obsolete zones and two-digit years (RFC 5322 4.3), Received after the ';' */
	expect_test(req, "date :zone \"+0000\" \"date\" \"time\" \"15:00:00\"", "Date: 1 Jan 99 10:00 EST\n\nx\n", true);
	expect_test(req, "date :originalzone \"received\" \"year\" \"2024\"",
		    "Received: from a by b; Fri, 5 Jan 2024 01:02:03 +0100 (CET)\n\nx\n", true);
}

Test(sieve_test, currentdate_uses_the_given_time)
{
	struct sieve_exec_opts xo = { .now = 1744000000 };   /* 2025-04-07T04:26:40Z */
	char *out = st_run_opts("require [\"date\", \"relational\"];"
				"if allof (currentdate :zone \"+0000\" \"date\" \"2025-04-07\","
				" currentdate :zone \"+0000\" :value \"ge\" \"hour\" \"04\") { discard; }",
				ST_MSG, NULL, &xo);
	cr_assert_str_eq(out, YES);
	free(out);
}

static int exists_cb(void *ctx, const char *folder, const char *path)
{
	(void)ctx;
	cr_assert_str_eq(folder, path);
	return strcmp(folder, "Lists/dev") == 0 ? 1 : strcmp(folder, "Broken") == 0 ? -1 : 0;
}

Test(sieve_test, mailboxexists_uses_the_callback)
{
	struct sieve_exec_opts xo = { .mailbox_exists = exists_cb };
	const char *s = "require [\"mailbox\", \"fileinto\"];"
			"if mailboxexists [\"INBOX\", \"Lists/dev\"] { fileinto \"yes\"; }"
			"if mailboxexists \"Nope\" { fileinto \"no\"; }"
			"if mailboxexists \"../escape\" { fileinto \"never\"; }";
	char *out = st_run_opts(s, ST_MSG, NULL, &xo);
	cr_assert_str_eq(out, "fileinto \"yes\"\n");
	free(out);
	out = st_run_opts("require \"mailbox\"; if mailboxexists \"Broken\" { discard; }", ST_MSG, NULL, &xo);
	cr_assert(strstr(out, "error test.sieve:1: cannot tell whether folder 'Broken' exists"), "%s", out);
	free(out);
}

/* Naive reference for :contains: ASCII case-insensitive unless octet. */
static bool naive_contains(const char *s, const char *k, bool octet)
{
	size_t sl = strlen(s), kl = strlen(k);
	for (size_t i = 0; i + kl <= sl; i++) {
		size_t j = 0;
		while (j < kl && (octet ? s[i + j] == k[j] : toupper((unsigned char)s[i + j]) == toupper((unsigned char)k[j])))
			j++;
		if (j == kl)
			return true;
	}
	return false;
}

/* Long bodies from a tiny alphabet, so a key's "rarest" byte is common and the search
 * meets many false candidates (the fallback to a full search), and keys cut from the text
 * at its start, its end and across it, in both comparators: :contains must agree with the
 * naive search every time. */
Test(sieve_test, body_contains_agrees_with_a_naive_search)
{
	static const char alpha[] = "aAb5 \n";
	unsigned seed = 7;
	for (int round = 0; round < 60; round++) {
		char body[1200], key[24], msg[1400];
		size_t blen = 300 + (size_t)round * 13;
		for (size_t i = 0; i < blen; i++) {
			seed = seed * 1103515245 + 12345;
			body[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		body[blen] = '\0';
		seed = seed * 1103515245 + 12345;
		size_t klen = 2 + (seed >> 16) % 12;
		/* the end case takes the body's last line end too: the key ends where the text does */
		size_t at = round % 3 == 0 ? 0 : round % 3 == 1 ? blen + 1 - klen : (seed >> 8) % (blen - klen);
		snprintf(msg, sizeof msg, "Subject: x\n\n%s\n", body);
		memcpy(key, msg + strlen("Subject: x\n\n") + at, klen);
		key[klen] = '\0';
		if (round % 4 == 3)
			key[klen / 2] = 'z';   /* most of these occur nowhere */
		char test[128];
		for (int octet = 0; octet < 2; octet++) {
			snprintf(test, sizeof test, "body :raw %s :contains \"%s\"",
				 octet ? ":comparator \"i;octet\"" : "", key);
			expect_test("\"body\"", test, msg, naive_contains(msg + strlen("Subject: x\n\n"), key, octet));
		}
	}
	/* 33 false candidates for the key's rarest byte, then the key one byte after the last:
	 * the full search that takes over must start right there */
	char many[160] = "Subject: x\n\n";
	memset(many + strlen(many), 'x', 70);
	memset(many + strlen(many), '5', 35);
	strcat(many, "b\n");
	expect_test("\"body\"", "body :raw :contains \"55b\"", many, true);
	expect_test("\"body\"", "body :raw :comparator \"i;octet\" :contains \"55B\"", many, false);
	/* the key's rarest byte is the text's last but one: a key that ends where the text ends */
	char tail[400] = "Subject: x\n\n";
	for (int i = 0; i < 100; i++)
		strcat(tail, "ab ");
	strcat(tail, "tail9\n");
	expect_test("\"body\"", "body :raw :contains \"TAIL9\n\"", tail, true);
	expect_test("\"body\"", "body :raw :contains \"TAIL9\n\n\"", tail, false);
}

/* Short values (header fields) are searched in place: the same agreement with the naive
 * search, keys at the start, the end and inside, and keys that occur nowhere. */
Test(sieve_test, header_contains_agrees_with_a_naive_search)
{
	static const char alpha[] = "aAbB5 ";
	unsigned seed = 11;
	for (int round = 0; round < 120; round++) {
		char subject[80], key[24], msg[160], test[160];
		size_t slen = 1 + (size_t)round % 70;
		for (size_t i = 0; i < slen; i++) {
			seed = seed * 1103515245 + 12345;
			subject[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		subject[0] = 'x';          /* no leading blank: the value is trimmed */
		subject[slen - 1] = 'y';
		subject[slen] = '\0';
		seed = seed * 1103515245 + 12345;
		size_t klen = 1 + (seed >> 16) % (slen < 8 ? slen : 8);
		size_t at = round % 3 == 0 ? 0 : round % 3 == 1 ? slen - klen : (seed >> 8) % (slen - klen + 1);
		memcpy(key, subject + at, klen);
		key[klen] = '\0';
		if (round % 4 == 3)
			key[klen / 2] = 'z';
		snprintf(msg, sizeof msg, "Subject: %s\n\nx\n", subject);
		for (int octet = 0; octet < 2; octet++) {
			snprintf(test, sizeof test, "header %s :contains \"subject\" \"%s\"",
				 octet ? ":comparator \"i;octet\"" : "", key);
			expect_test("\"fileinto\"", test, msg, naive_contains(subject, key, octet));
		}
	}
}
