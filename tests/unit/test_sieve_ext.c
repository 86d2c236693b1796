/* Unit tests for the stateful and file-based parts of libsieve: variables, vacation's rules
 * and memory, duplicate, sieve_commit, the reply message, include from files, the trust rule
 * on script files, sieve_compile_dir and sieve_script_is_current. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/helpers.h"
#include "tests/unit/test_sieve_util.h"

static const char *dir;

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(sieve_ext, .init = setup, .fini = teardown);

Test(sieve_ext, variables_and_modifiers)
{
	st_expect("require [\"variables\", \"fileinto\"];"
		  "set :upper \"a\" \"mixed\"; set :lowerfirst \"b\" \"ABC\"; set :length \"c\" \"Grüße\";"
		  "set :quotewildcard \"d\" \"*?\\\\\"; set :upper :lowerfirst \"e\" \"xyz\";"
		  "fileinto \"${a}-${b}-${c}-${d}-${e}\";",
		  ST_MSG, "fileinto \"MIXED-aBC-5-\\\\*\\\\?\\\\\\\\-xYZ\"\n");
	/* names are case-insensitive; unknown ones are empty; ${1x} is not a reference */
	st_expect("require [\"variables\", \"fileinto\"]; set \"Name\" \"v\"; fileinto \"${NAME}${nope}${1x}\";",
		  ST_MSG, "fileinto \"v${1x}\"\n");
	/* values are bounded by max_string (truncated, RFC 5229 3) */
	char big[6000] = "require [\"variables\", \"reject\"]; set \"a\" \"";
	for (int i = 0; i < 5000; i++)
		strcat(big, "x");
	strcat(big, "\"; set \"b\" \"${a}${a}\"; reject \"${b}\";");
	struct sieve_errors errs;
	struct sieve_script *s = st_compile(big, NULL, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	char *out = st_run_many(&s, 1, ST_MSG, NULL, NULL);
	cr_assert_eq(strlen(out), strlen("reject \"\"\n") + 4096, "%zu", strlen(out));
	free(out);
	sieve_script_free(s);
}

Test(sieve_ext, variables_without_the_extension_are_literal)
{
	st_expect("require \"fileinto\"; fileinto \"${x}\";", ST_MSG, "fileinto \"${x}\"\n");
}

Test(sieve_ext, encoded_character)
{
	st_expect("require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex: 41 42}${unicode:263A}${hex:zz}\";",
		  ST_MSG, "fileinto \"AB\xe2\x98\xba${hex:zz}\"\n");
	st_expect("require \"fileinto\"; fileinto \"${hex:41}\";", ST_MSG, "fileinto \"${hex:41}\"\n");
}

static const struct sieve_envelope bob = {
	.sender = "alice@example.com", .recipient = "bob@example.org", .user = "bob",
};

static char *vacation(const char *msg, const struct sieve_envelope *env, const struct sieve_exec_opts *xo)
{
	return st_run_opts("require \"vacation\"; vacation :handle \"h\" \"away\";", msg, env ? env : &bob, xo);
}

Test(sieve_ext, vacation_answers_only_when_rfc5230_allows)
{
	char *out = vacation(ST_MSG, NULL, NULL);
	cr_assert(strstr(out, "vacation :to \"alice@example.com\" :from \"bob@example.org\" :subject \"Auto: Meeting on "
			      "Tuesday\" :seconds 604800 :handle \"h\" \"away\"\n"), "%s", out);
	free(out);
	static const struct { const char *hdr, *why; } cases[] = {
		{ "Auto-Submitted: auto-generated\n", "Auto-Submitted message" },
		{ "List-Id: <dev.example.org>\n", "mailing list message" },
		{ "Precedence: bulk\n", "bulk, list or junk precedence" },
		{ "Precedence: junk\n", "bulk, list or junk precedence" },
		{ "X-Auto-Response-Suppress: OOF\n", "X-Auto-Response-Suppress" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s%s", cases[i].hdr, ST_MSG);
		out = vacation(msg, NULL, NULL);
		cr_assert(strstr(out, cases[i].why), "%s: %s", cases[i].hdr, out);
		cr_assert(strstr(out, "# not sent"), "%s", out);
		free(out);
	}
	out = vacation("Auto-Submitted: no\nTo: bob@example.org\n\nx\n", NULL, NULL);
	cr_assert(!strstr(out, "not sent"), "%s", out);
	free(out);
	static const char *const senders[] = { "", "MAILER-DAEMON@example.com", "owner-dev@lists.example",
					       "dev-request@lists.example", "bob@example.org" };
	for (size_t i = 0; i < sizeof senders / sizeof senders[0]; i++) {
		struct sieve_envelope env = bob;
		env.sender = senders[i];
		out = vacation(ST_MSG, &env, NULL);
		cr_assert(strstr(out, "# not sent"), "sender '%s': %s", senders[i], out);
		free(out);
	}
	/* not addressed to the user: neither the recipient nor :addresses in To/Cc/Bcc */
	out = vacation("To: someone@else.example\n\nx\n", NULL, NULL);
	cr_assert(strstr(out, "# not sent: not addressed to the user"), "%s", out);
	free(out);
	out = st_run_opts("require \"vacation\"; vacation :addresses \"alias@example.org\" \"away\";",
			  "To: Alias <ALIAS@example.org>\n\nx\n", &bob, NULL);
	cr_assert(strstr(out, ":from \"alias@example.org\""), "%s", out);
	cr_assert(!strstr(out, "not sent"), "%s", out);
	free(out);
}

Test(sieve_ext, vacation_periods)
{
	st_expect_error("require \"vacation\"; vacation :days 1 :days 2 \"x\";", "conflicts");
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	char *out = st_run_opts("require \"vacation-seconds\"; vacation :seconds 10 \"x\";", ST_MSG, &bob, NULL);
	cr_assert(strstr(out, ":seconds 86400 "), "%s", out);   /* raised to the minimum */
	free(out);
	lim.vacation_min_period = 0;
	lim.vacation_max_period = 3600;
	struct sieve_exec_opts xo = { .limits = &lim };
	out = st_run_opts("require \"vacation-seconds\"; vacation :seconds 10 \"x\";", ST_MSG, &bob, &xo);
	cr_assert(strstr(out, ":seconds 10 "), "%s", out);
	free(out);
	out = st_run_opts("require \"vacation\"; vacation :days 30 \"x\";", ST_MSG, &bob, &xo);
	cr_assert(strstr(out, ":seconds 3600 "), "%s", out);
	free(out);
}

Test(sieve_ext, vacation_memory_and_commit)
{
	char state[1100];
	snprintf(state, sizeof state, "%s/state.db", dir);
	struct sieve_exec_opts xo = { .state_path = state, .state_owner = geteuid(), .now = 1000000 };
	struct sieve_errors errs;
	struct sieve_script *s = st_compile("require \"vacation\"; vacation :days 2 \"away\";", NULL, &errs);
	struct mbox_spool sp;
	st_spool(&sp, ST_MSG);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	cr_assert(res->actions[0].vacation->send);
	char why[256];
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), 0, "%s", why);
	sieve_result_free(res);
	/* answered within the period: not again, for the same sender in any case */
	struct sieve_envelope upper = bob;
	upper.sender = "ALICE@example.com";
	xo.now += 86400;
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &upper, &xo);
	cr_assert(!res->actions[0].vacation->send);
	cr_assert_str_eq(res->actions[0].vacation->why, "already answered");
	sieve_result_free(res);
	/* after the period it answers again */
	xo.now += 2 * 86400;
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	cr_assert(res->actions[0].vacation->send);
	/* a caller that failed to send clears send: nothing is remembered */
	res->actions[0].vacation->send = false;
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), 0, "%s", why);
	sieve_result_free(res);
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	cr_assert(res->actions[0].vacation->send);
	sieve_result_free(res);
	mbox_spool_close(&sp);
	sieve_script_free(s);
	struct stat st;
	cr_assert_eq(stat(state, &st), 0);
	cr_assert_eq(st.st_mode & 077, 0, "state file mode %o", st.st_mode);
}

Test(sieve_ext, state_file_must_be_trusted)
{
	char state[1100];
	snprintf(state, sizeof state, "%s/state.db", dir);
	th_write(state, "");
	chmod(state, 0666);
	struct sieve_exec_opts xo = { .state_path = state, .state_owner = geteuid(), .now = 1000 };
	struct sieve_errors errs;
	struct sieve_script *s = st_compile("require \"duplicate\"; if duplicate { discard; }", NULL, &errs);
	struct mbox_spool sp;
	st_spool(&sp, ST_MSG);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	char why[256];
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), -1);
	cr_assert(strstr(why, "writable by group or others"), "%s", why);
	sieve_result_free(res);
	/* a symlink planted at the name is never followed */
	unlink(state);
	char target[1100];
	snprintf(target, sizeof target, "%s/victim", dir);
	th_write(target, "precious");
	cr_assert_eq(symlink(target, state), 0);
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), -1);
	sieve_result_free(res);
	char *data = th_read(target, NULL);
	cr_assert_str_eq(data, "precious");
	free(data);
	mbox_spool_close(&sp);
	sieve_script_free(s);
}

Test(sieve_ext, duplicate)
{
	char state[1100];
	snprintf(state, sizeof state, "%s/dup.db", dir);
	struct sieve_exec_opts xo = { .state_path = state, .state_owner = geteuid(), .now = 5000 };
	const char *script = "require [\"duplicate\", \"fileinto\"];"
			     "if duplicate { fileinto \"dup\"; }"
			     "if duplicate :header \"subject\" :seconds 100 :last { fileinto \"dup-subject\"; }"
			     "if duplicate { fileinto \"again\"; }";
	struct sieve_errors errs;
	struct sieve_script *s = st_compile(script, NULL, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	struct mbox_spool sp;
	st_spool(&sp, ST_MSG);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	char *out = st_print(res);
	/* the first sighting is new; testing the same ID again in the same run is a duplicate */
	cr_assert_str_eq(out, "fileinto \"again\"\n");
	free(out);
	char why[256];
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), 0, "%s", why);
	sieve_result_free(res);
	xo.now += 50;
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	out = st_print(res);
	cr_assert_str_eq(out, "fileinto \"dup\"\nfileinto \"dup-subject\"\nfileinto \"again\"\n");
	free(out);
	cr_assert_eq(sieve_commit(res, &xo, why, sizeof why), 0, "%s", why);
	sieve_result_free(res);
	/* :seconds 100 with :last was refreshed at 5050: still a duplicate at 5140, gone at 5200 */
	xo.now = 5140;
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	out = st_print(res);
	cr_assert(strstr(out, "dup-subject"), "%s", out);
	free(out);
	sieve_result_free(res);
	xo.now = 5200;
	res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, &xo);
	out = st_print(res);
	cr_assert(!strstr(out, "dup-subject") && strstr(out, "fileinto \"dup\""), "%s", out);
	free(out);
	sieve_result_free(res);
	mbox_spool_close(&sp);
	sieve_script_free(s);
	/* no Message-ID: nothing to track, never a duplicate */
	st_expect("require \"duplicate\"; if duplicate { discard; } if duplicate { discard; }", "Subject: x\n\nb\n",
		  "implicit keep\n");
}

Test(sieve_ext, vacation_reply_message)
{
	struct sieve_errors errs;
	struct sieve_script *s = st_compile("require \"vacation\"; vacation :subject \"Weg: Grüße\\r\\nBcc: x@y\" \"I am away.\";",
					    NULL, &errs);
	struct mbox_spool sp;
	st_spool(&sp, "References: <a@b>\n" ST_MSG);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &bob, NULL);
	const struct sieve_action *a = &res->actions[0];
	cr_assert_eq(a->kind, SIEVE_ACT_VACATION);
	size_t len;
	char *msg = sieve_vacation_message(a, "mx.example.org", 1744000000, &len);
	cr_assert_not_null(msg);
	cr_assert_eq(strlen(msg), len);
	cr_assert(strstr(msg, "\nFrom: bob@example.org\n"), "%s", msg);
	cr_assert(strstr(msg, "\nTo: <alice@example.com>\n"), "%s", msg);
	cr_assert(strstr(msg, "\nIn-Reply-To: <meeting-1@example.com>\n"), "%s", msg);
	cr_assert(strstr(msg, "\nReferences: <a@b> <meeting-1@example.com>\n"), "%s", msg);
	cr_assert(strstr(msg, "\nAuto-Submitted: auto-replied"), "%s", msg);
	cr_assert(strstr(msg, "@mx.example.org>\n"), "%s", msg);
	cr_assert(strstr(msg, "\n\nI am away.\n"), "%s", msg);
	/* a subject with a line break cannot add a header: it is one encoded Subject */
	cr_assert(strstr(msg, "Subject: =?UTF-8?B?"), "%s", msg);
	cr_assert_null(strstr(msg, "\nBcc:"), "%s", msg);
	free(msg);
	sieve_result_free(res);
	mbox_spool_close(&sp);
	sieve_script_free(s);
}

/* ------------------------------------------------------------------ files */

static void write_script(const char *name, const char *text, mode_t mode)
{
	const char *p = th_path(dir, name);
	th_write(p, text);
	chmod(p, mode);
}

Test(sieve_ext, compile_file_and_includes)
{
	mkdir(th_path(dir, "global"), 0755);
	write_script("main.sieve", "require [\"include\", \"fileinto\"];\ninclude \"sub\";\ninclude :global \"g\";\n", 0644);
	write_script("sub.sieve", "require \"fileinto\"; fileinto \"from-sub\";", 0644);
	write_script("global/g.sieve", "require \"fileinto\"; fileinto \"from-global\";", 0644);
	char gdir[1100];
	snprintf(gdir, sizeof gdir, "%s/global", dir);
	struct sieve_compile_opts co = { .check_owner = true, .owner = geteuid(), .global_dir = gdir };
	struct sieve_errors errs;
	struct sieve_script *s = sieve_compile_file(th_path(dir, "main.sieve"), &co, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	cr_assert(sieve_script_is_current(s));
	char *out = st_run_many(&s, 1, ST_MSG, NULL, NULL);
	cr_assert_str_eq(out, "fileinto \"from-sub\"\nfileinto \"from-global\"\n");
	free(out);
	/* an included file that changes makes the program stale */
	sleep(0);
	write_script("sub.sieve", "require \"fileinto\"; fileinto \"changed\";", 0644);
	cr_assert(!sieve_script_is_current(s));
	sieve_script_free(s);
}

Test(sieve_ext, include_errors)
{
	write_script("loop.sieve", "require \"include\"; include \"loop2\";", 0644);
	write_script("loop2.sieve", "require \"include\"; include \"loop\";", 0644);
	struct sieve_errors errs;
	cr_assert_null(sieve_compile_file(th_path(dir, "loop.sieve"), NULL, &errs));
	cr_assert(strstr(errs.text, "includes itself"), "%s", errs.text);
	write_script("bad.sieve", "require \"include\";\ninclude \"broken\";", 0644);
	write_script("broken.sieve", "frob;", 0644);
	cr_assert_null(sieve_compile_file(th_path(dir, "bad.sieve"), NULL, &errs));
	cr_assert(strstr(errs.text, "/broken.sieve:1:1: unknown command 'frob'"), "%s", errs.text);
	cr_assert(strstr(errs.text, "/bad.sieve:2:9: include: script 'broken' has errors"), "%s", errs.text);
	write_script("opt.sieve", "require \"include\"; include :optional \"absent\"; include :global \"x\";", 0644);
	cr_assert_null(sieve_compile_file(th_path(dir, "opt.sieve"), NULL, &errs));
	cr_assert(strstr(errs.text, "no global script directory is configured"), "%s", errs.text);
	cr_assert_null(strstr(errs.text, "absent"), "%s", errs.text);
	st_expect_error("require \"include\"; include \"../x\";", "invalid script name '../x'");
	/* a chain deeper than the limit */
	for (int i = 0; i < 12; i++) {
		char name[32], text[128];
		snprintf(name, sizeof name, "d%d.sieve", i);
		snprintf(text, sizeof text, "require \"include\"; include \"d%d\";", i + 1);
		write_script(name, text, 0644);
	}
	write_script("d12.sieve", "keep;", 0644);
	cr_assert_null(sieve_compile_file(th_path(dir, "d0.sieve"), NULL, &errs));
	cr_assert(strstr(errs.text, "nested too deeply (limit 10)"), "%s", errs.text);
}

Test(sieve_ext, trust_rule_on_script_files)
{
	struct sieve_compile_opts co = { .check_owner = true, .owner = geteuid() };
	struct sieve_errors errs;
	write_script("gw.sieve", "keep;", 0664);
	errno = 0;
	cr_assert_null(sieve_compile_file(th_path(dir, "gw.sieve"), &co, &errs));
	cr_assert_eq(errno, EPERM);
	cr_assert(strstr(errs.text, "gw.sieve: not used: writable by group or others"), "%s", errs.text);
	write_script("ok.sieve", "keep;", 0644);
	struct sieve_script *s = sieve_compile_file(th_path(dir, "ok.sieve"), &co, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	sieve_script_free(s);
	/* a symlink is not followed, a FIFO does not block */
	cr_assert_eq(symlink(th_path(dir, "ok.sieve"), th_path(dir, "link.sieve")), 0);
	cr_assert_null(sieve_compile_file(th_path(dir, "link.sieve"), &co, &errs));
	cr_assert(strstr(errs.text, "a symbolic link"), "%s", errs.text);
	cr_assert_eq(mkfifo(th_path(dir, "fifo.sieve"), 0644), 0);
	cr_assert_null(sieve_compile_file(th_path(dir, "fifo.sieve"), &co, &errs));
	cr_assert(strstr(errs.text, "not a regular file"), "%s", errs.text);
	errno = 0;
	cr_assert_null(sieve_compile_file(th_path(dir, "missing.sieve"), &co, &errs));
	cr_assert_eq(errno, ENOENT);
	if (geteuid() == 0) {
		cr_assert_eq(chown(th_path(dir, "ok.sieve"), 1234, 1234), 0);
		cr_assert_null(sieve_compile_file(th_path(dir, "ok.sieve"), &co, &errs));
		cr_assert(strstr(errs.text, "owned by uid 1234"), "%s", errs.text);
		co.owner = 1234;
		s = sieve_compile_file(th_path(dir, "ok.sieve"), &co, &errs);
		cr_assert_not_null(s, "%s", errs.text);
		sieve_script_free(s);
	}
}

Test(sieve_ext, compile_dir_in_order)
{
	mkdir(th_path(dir, "before.d"), 0755);
	write_script("before.d/20-b.sieve", "require \"fileinto\"; fileinto :copy \"B\";", 0644);
	write_script("before.d/10-a.sieve", "require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";", 0644);
	write_script("before.d/ignored.txt", "frob;", 0644);
	write_script("before.d/.hidden.sieve", "frob;", 0644);
	struct sieve_script *list[8];
	size_t n;
	struct sieve_errors errs;
	sieve_errors_clear(&errs);
	char d[1100];
	snprintf(d, sizeof d, "%s/before.d", dir);
	int failed = sieve_compile_dir(d, NULL, list, 8, &n, &errs);
	/* 20-b uses :copy without require: it fails, 10-a is kept */
	cr_assert_eq(failed, 1);
	cr_assert_eq(n, 1);
	cr_assert(strstr(sieve_script_name(list[0]), "10-a.sieve"));
	cr_assert(strstr(errs.text, "20-b.sieve:1:30: tag ':copy' requires the extension 'copy'"), "%s", errs.text);
	sieve_script_free(list[0]);
	cr_assert_eq(sieve_compile_dir(th_path(dir, "nope"), NULL, list, 8, &n, &errs), -1);
}
