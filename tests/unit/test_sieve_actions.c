/* Unit tests for Sieve actions and the result: implicit keep (RFC 5228 2.10.2), duplicate
 * elimination, :copy, reject conflicts (RFC 5429 2.4), imap4flags, folder names, the
 * before/personal/after sequence, and runtime failures ending in the implicit keep. */
#include "tests/unit/test_sieve_util.h"

Test(sieve_action, implicit_keep_rules)
{
	st_expect("keep;", ST_MSG, "keep\n");
	st_expect("discard;", ST_MSG, "discard\n");
	st_expect("redirect \"x@example.net\";", ST_MSG, "redirect \"x@example.net\"\n");
	st_expect("require \"copy\"; redirect :copy \"x@example.net\";", ST_MSG,
		  "redirect :copy \"x@example.net\"\nimplicit keep\n");
	st_expect("require \"fileinto\"; fileinto \"A\";", ST_MSG, "fileinto \"A\"\n");
	st_expect("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";", ST_MSG, "fileinto :copy \"A\"\nimplicit keep\n");
	st_expect("require \"reject\"; reject \"no\";", ST_MSG, "reject \"no\"\n");
	st_expect("require \"vacation\"; vacation :addresses \"bob@example.org\" \"away\";", ST_MSG,
		  "vacation :to \"alice@example.com\" :from \"bob@example.org\" :subject \"Auto: Meeting on Tuesday\" "
		  ":seconds 604800 :handle \"away<default-subject><default-from><NO-MIME>\" \"away\"\nimplicit keep\n");
	/* discard then keep: the explicit keep still delivers */
	st_expect("discard; keep;", ST_MSG, "discard\nkeep\n");
}

Test(sieve_action, duplicates_are_merged)
{
	st_expect("require \"fileinto\"; fileinto \"A\"; fileinto \"A\"; keep; keep;", ST_MSG, "fileinto \"A\"\nkeep\n");
	/* fileinto INBOX is the keep */
	st_expect("require \"fileinto\"; fileinto \"INBOX\"; keep; fileinto \"inbox\";", ST_MSG, "keep\n");
	st_expect("redirect \"a@b.c\"; redirect \"a@B.C\";", ST_MSG, "redirect \"a@b.c\"\n");
	/* local parts may be case-sensitive (RFC 5321 2.4): two mailboxes, as in Pigeonhole */
	st_expect("redirect \"a@b.c\"; redirect \"A@b.c\";", ST_MSG, "redirect \"a@b.c\"\nredirect \"A@b.c\"\n");
	/* a :copy and a plain one of the same target: the plain one cancels the implicit keep */
	st_expect("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\"; fileinto \"A\";", ST_MSG, "fileinto \"A\"\n");
	st_expect("require [\"fileinto\", \"copy\"]; fileinto :copy \"INBOX\";", ST_MSG, "keep\n");
}

Test(sieve_action, reject_conflicts_fail_to_implicit_keep)
{
	st_expect("require [\"reject\", \"fileinto\"]; fileinto \"A\"; reject \"no\";", ST_MSG,
		  "implicit keep\nerror test.sieve:1: reject/ereject conflicts with the delivery at line 1\n");
	st_expect("require \"reject\"; reject \"no\"; keep;", ST_MSG,
		  "implicit keep\nerror test.sieve:1: reject/ereject conflicts with the reject at line 1\n");
	st_expect("require \"reject\";\nreject \"a\";\nreject \"b\";", ST_MSG,
		  "implicit keep\nerror test.sieve:3: duplicate reject/ereject (the first at line 2)\n");
	st_expect("require [\"reject\", \"vacation\"]; vacation \"x\"; reject \"no\";", ST_MSG,
		  "implicit keep\nerror test.sieve:1: reject/ereject conflicts with the vacation at line 1\n");
	st_expect("require [\"ereject\"]; discard; ereject \"no\";", ST_MSG, "discard\nereject \"no\"\n");
}

Test(sieve_action, multiline_reject_reason)
{
	st_expect("require \"reject\"; reject text:\nline 1\nline 2\n.\n;", ST_MSG, "reject \"line 1\\nline 2\\n\"\n");
}

Test(sieve_action, imap4flags)
{
	st_expect("require \"imap4flags\"; addflag \"\\\\seen\"; addflag [\"\\\\Flagged foo\", \"FOO\"];", ST_MSG,
		  "implicit keep :flags \"\\\\Seen \\\\Flagged foo\"\n");
	st_expect("require \"imap4flags\"; setflag \"a b c\"; removeflag [\"B\", \"x\"]; keep;", ST_MSG,
		  "keep :flags \"a c\"\n");
	st_expect("require [\"imap4flags\", \"fileinto\"]; addflag \"x\"; fileinto :flags \"\\\\Deleted\" \"T\";"
		  " fileinto \"U\";",
		  ST_MSG, "fileinto :flags \"\\\\Deleted\" \"T\"\nfileinto :flags \"x\" \"U\"\n");
	/* flags an IMAP store cannot keep are dropped, never an error (RFC 5232 5) */
	st_expect("require \"imap4flags\"; keep :flags [\"\\\\Recent\", \"\\\\Bogus\", \"ok\", \"a(b\"];", ST_MSG,
		  "keep :flags \"ok\"\n");
	/* the last flag list wins when keeps are merged (RFC 5232 3) */
	st_expect("require \"imap4flags\"; keep :flags \"a\"; keep :flags \"b\";", ST_MSG, "keep :flags \"b\"\n");
	st_expect("require [\"imap4flags\", \"variables\"]; setflag \"v\" \"\\\\answered\"; addflag \"v\" \"k\";"
		  " if hasflag \"v\" \"K\" { keep :flags \"${v}\"; }",
		  ST_MSG, "keep :flags \"\\\\Answered k\"\n");
	st_expect("require \"imap4flags\"; addflag \"a b\"; if hasflag :contains \"b a\" { discard; }", ST_MSG,
		  "discard\n");
	st_expect("require [\"imap4flags\", \"relational\", \"comparator-i;ascii-numeric\"]; addflag \"a b A\";"
		  " if hasflag :count \"eq\" :comparator \"i;ascii-numeric\" \"2\" { discard; }",
		  ST_MSG, "discard\n");
}

Test(sieve_action, flags_to_mbox_status)
{
	const char *flags[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Label1", "work" };
	char st[8], xst[8], kw[64];
	sieve_flags_mbox(flags, 7, st, sizeof st, xst, sizeof xst, kw, sizeof kw);
	cr_assert_str_eq(st, "RO");
	cr_assert_str_eq(xst, "AFDT");
	cr_assert_str_eq(kw, "$Label1 work");
	sieve_flags_mbox(flags + 1, 1, st, sizeof st, xst, sizeof xst, kw, sizeof kw);
	cr_assert_str_eq(st, "");
	cr_assert_str_eq(xst, "A");
	cr_assert_str_eq(kw, "");
}

Test(sieve_action, folder_names)
{
	char out[256];
	const char *why;
	cr_assert_eq(sieve_folder_path("INBOX", out, sizeof out, &why), 1);
	cr_assert_eq(sieve_folder_path("inbox", out, sizeof out, &why), 1);
	cr_assert_eq(sieve_folder_path("Lists/dev", out, sizeof out, &why), 0);
	cr_assert_str_eq(out, "Lists/dev");
	cr_assert_eq(sieve_folder_path("Grüße", out, sizeof out, &why), 0);
	static const char *const bad[] = { "", "/abs", "../up", "a/../b", "a/..", "a//b", "a/", ".hidden",
					   "a/.forward", "tab\there", "INBOX/sub", "\xff\xfe", "esc\x1b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(sieve_folder_path(bad[i], out, sizeof out, &why), -1, "%s", bad[i]);
	cr_assert_eq(sieve_folder_path("../x", out, sizeof out, &why), -1);
	cr_assert_str_eq(why, "\"..\" level");
	cr_assert_eq(sieve_folder_path("a/.x", out, sizeof out, &why), -1);
	cr_assert_str_eq(why, "level starting with '.'");
}

Test(sieve_action, folder_from_message_text_cannot_escape)
{
	/* a hostile subject steering fileinto through a variable is refused at run time */
	const char *s = "require [\"fileinto\", \"variables\"];"
			"if header :matches \"subject\" \"*\" { fileinto \"${1}\"; }";
	st_expect(s, "Subject: ../../.ssh/authorized_keys\n\nx\n",
		  "implicit keep\nerror test.sieve:1: fileinto: invalid folder name '../../.ssh/authorized_keys': "
		  "\"..\" level\n");
	st_expect(s, "Subject: Lists/ok\n\nx\n", "fileinto \"Lists/ok\"\n");
}

Test(sieve_action, redirect_address_from_variables_is_checked)
{
	st_expect("require \"variables\"; set \"a\" \"x@y.z, evil@example.com\"; redirect \"${a}\";", ST_MSG,
		  "implicit keep\nerror test.sieve:1: redirect: invalid address 'x@y.z, evil@example.com'\n");
}

Test(sieve_action, failure_drops_the_failing_scripts_actions)
{
	st_expect("require \"fileinto\"; fileinto \"A\"; redirect \"a@x.y\"; redirect \"b@x.y\"; redirect \"c@x.y\";"
		  " redirect \"d@x.y\"; redirect \"e@x.y\";",
		  ST_MSG, "implicit keep\nerror test.sieve:1: too many redirects (limit 4)\n");
}

static struct sieve_script *compile_named(const char *name, const char *text)
{
	struct sieve_errors errs;
	struct sieve_script *s = sieve_compile_buffer(name, text, strlen(text), NULL, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	return s;
}

Test(sieve_action, sequence_runs_while_the_message_is_kept)
{
	struct sieve_script *s[3];
	s[0] = compile_named("before", "require [\"imap4flags\"]; addflag \"\\\\Seen\";");
	s[1] = compile_named("personal", "require \"fileinto\"; if header :contains \"subject\" \"x\" { fileinto \"X\"; }");
	s[2] = compile_named("after", "require \"fileinto\"; fileinto \"After\";");
	/* nothing cancels the implicit keep until the after script files it */
	char *out = st_run_many(s, 3, "Subject: no\n\nb\n", NULL, NULL);
	cr_assert_str_eq(out, "fileinto :flags \"\\\\Seen\" \"After\"\n");
	free(out);
	/* the personal script files the message: the after script does not run */
	out = st_run_many(s, 3, "Subject: x\n\nb\n", NULL, NULL);
	cr_assert_str_eq(out, "fileinto :flags \"\\\\Seen\" \"X\"\n");
	free(out);
	/* an explicit keep lets the sequence go on (Pigeonhole's rule) */
	struct sieve_script *k[2] = { compile_named("b", "keep;"), s[2] };
	out = st_run_many(k, 2, "Subject: x\n\nb\n", NULL, NULL);
	cr_assert_str_eq(out, "keep\nfileinto \"After\"\n");
	free(out);
	sieve_script_free(k[0]);
	/* a failing script keeps the earlier scripts' actions and adds the implicit keep */
	struct sieve_script *f[2] = { compile_named("c", "require [\"fileinto\", \"copy\"]; fileinto :copy \"C\";"), NULL };
	f[1] = compile_named("d", "require [\"fileinto\", \"variables\"]; fileinto \"D\"; set \"a\" \"bad\"; redirect \"${a}\";");
	out = st_run_many(f, 2, "Subject: x\n\nb\n", NULL, NULL);
	cr_assert_str_eq(out, "fileinto :copy \"C\"\nimplicit keep\nerror d:1: redirect: invalid address 'bad'\n");
	free(out);
	for (int i = 0; i < 3; i++)
		sieve_script_free(s[i]);
	sieve_script_free(f[0]);
	sieve_script_free(f[1]);
}

Test(sieve_action, null_entries_and_no_scripts)
{
	struct sieve_script *none[1] = { NULL };
	char *out = st_run_many(none, 1, ST_MSG, NULL, NULL);
	cr_assert_str_eq(out, "implicit keep\n");
	free(out);
}

Test(sieve_action, result_fields_for_delivery)
{
	struct sieve_script *s = compile_named("r", "require [\"fileinto\", \"mailbox\", \"imap4flags\"];"
						"fileinto :create :flags \"\\\\Seen\" \"Lists/dev\";");
	struct mbox_spool sp;
	st_spool(&sp, ST_MSG);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, NULL, NULL);
	cr_assert_eq(res->count, 1);
	const struct sieve_action *a = &res->actions[0];
	cr_assert_eq(a->kind, SIEVE_ACT_FILEINTO);
	cr_assert_str_eq(a->folder, "Lists/dev");
	cr_assert_str_eq(a->path, "Lists/dev");
	cr_assert(a->create && !a->copy && !a->implicit);
	cr_assert_eq(a->nflags, 1);
	cr_assert_str_eq(a->flags[0], "\\Seen");
	cr_assert_str_eq(a->script, "r");
	cr_assert_eq(a->line, 1);
	cr_assert(!res->failed);
	cr_assert_str_eq(res->error, "");
	sieve_result_free(res);
	mbox_spool_close(&sp);
	sieve_script_free(s);
}
