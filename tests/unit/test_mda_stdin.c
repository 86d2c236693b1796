/* Unit tests for mda's stdin mode: the MTA's envelope block, sender/recipient choice, exit
 * codes, loop detection against the caller's own Delivered-To, whole runs into a test world. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "common/config.h"
#include "common/result.h"
#include "mda/stdin_mode.h"
#include "tests/unit/helpers.h"

static struct config cfg;
static const char *dir;

static void clear_env(void)
{
	static const char *const names[] = { "SENDER", "RECIPIENT", "ORIGINAL_RECIPIENT", "LOCAL", "DOMAIN",
					     "EXTENSION", "USER", "LOGNAME", "MAIL_CONFIG", "LOCAL_PART",
					     "MESSAGE_ID", "QUALIFY_DOMAIN" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unsetenv(names[i]);
}

static void setup(void)
{
	dir = th_tmpdir();
	th_world(&cfg, dir);
	clear_env();
}

static void teardown(void)
{
	th_cleanup();
}

/* Runs stdin mode on input; returns the exit code, the stderr text in *err_out (malloc'd). */
static int run(const char *input, const char *sender, const char *orig, const char *rcpt, char **err_out)
{
	const char *in_path = th_path(dir, "input");
	th_write(in_path, input);
	int fd = open(in_path, O_RDONLY);
	cr_assert(fd >= 0);
	char *rcpts[1] = { (char *)rcpt };
	struct mda_stdin_opts o = { .sender = sender, .orig_rcpt = orig, .rcpts = rcpts, .n_rcpts = rcpt ? 1 : 0 };
	FILE *err = tmpfile();
	cr_assert(err != NULL);
	int rc = mda_stdin_run(&cfg, &o, fd, err);
	close(fd);
	long n = ftell(err);
	rewind(err);
	char *text = calloc(1, (size_t)n + 1);
	cr_assert(fread(text, 1, (size_t)n, err) == (size_t)n);
	fclose(err);
	if (err_out)
		*err_out = text;
	else
		free(text);
	return rc;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char *mailbox(const char *user)
{
	return th_read(th_path(cfg.spool_dir, user), NULL);
}

static const char postfix_input[] =
	"From sender@example.org  Mon Nov 23 05:53:19 2026\n"
	"Return-Path: <sender@example.org>\n"
	"X-Original-To: alice@localhost\n"
	"Delivered-To: alice@localhost\n"
	"Received: by mda-test.localdomain (Postfix, from userid 0)\n"
	"Subject: hi\n"
	"\n"
	"body line\n";

Test(mda_block, postfix_block_is_recognised_whole)
{
	struct mda_block b;
	mda_block_parse(postfix_input, strlen(postfix_input), &b);
	cr_assert(b.has_from && b.has_return_path && b.has_orig_to && b.has_delivered_to);
	cr_assert_str_eq(b.from_sender, "sender@example.org");
	cr_assert_str_eq(b.return_path, "sender@example.org");
	cr_assert_str_eq(b.orig_to, "alice@localhost");
	cr_assert_str_eq(b.delivered_to, "alice@localhost");
	cr_assert_eq(b.length, (size_t)(strstr(postfix_input, "Received:") - postfix_input));
}

Test(mda_block, plain_message_has_no_block)
{
	const char *in = "Delivered-To: alice@test.example\nSubject: x\n\nbody\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert_eq(b.length, 0, "a Delivered-To without From_/Return-Path before it is the message's");
	cr_assert(!b.has_delivered_to);
}

Test(mda_block, return_path_only)
{
	const char *in = "Return-Path: <>\nSubject: x\n\nbody\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert(b.has_return_path);
	cr_assert_str_eq(b.return_path, "");
	cr_assert_eq(b.length, strlen("Return-Path: <>\n"));
}

Test(mda_block, mboxo_from_line_first)
{
	const char *in = "From MAILER-DAEMON Mon Nov 23 05:53:19 2026\nSubject: x\n\nbody\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert(b.has_from);
	cr_assert_str_eq(b.from_sender, "", "MAILER-DAEMON is the null sender");
	cr_assert_eq(b.length, (size_t)(strchr(in, '\n') - in + 1));
}

Test(mda_block, second_delivered_to_belongs_to_the_message)
{
	const char *in = "From a@b Mon Nov 23 05:53:19 2026\nReturn-Path: <a@b>\nDelivered-To: alice@x\n"
			 "Delivered-To: alice@x\nSubject: x\n\nbody\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert_eq(b.length, (size_t)(strstr(in, "Delivered-To: alice@x\nSubject") - in));
}

Test(mda_block, folded_field_ends_the_block)
{
	const char *in = "From a@b Mon Nov 23 05:53:19 2026\nReturn-Path: <a@b>\nDelivered-To: alice@x\n"
			 " (folded)\nSubject: x\n\nbody\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert(!b.has_delivered_to);
	cr_assert_eq(b.length, (size_t)(strstr(in, "Delivered-To") - in));
}

Test(mda_block, crlf_block)
{
	const char *in = "From a@b Mon Nov 23 05:53:19 2026\r\nReturn-Path: <a@b>\r\nSubject: x\r\n\r\nbody\r\n";
	struct mda_block b;
	mda_block_parse(in, strlen(in), &b);
	cr_assert_str_eq(b.return_path, "a@b");
	cr_assert_str_eq(b.from_sender, "a@b");
}

Test(mda_sender, flag_beats_environment_beats_block, .init = setup, .fini = teardown)
{
	struct mda_block b;
	char out[256];
	struct mda_stdin_opts o = { 0 };
	mda_block_parse(postfix_input, strlen(postfix_input), &b);
	mda_choose_sender(&o, &b, out, sizeof out);
	cr_assert_str_eq(out, "sender@example.org");
	setenv("SENDER", "", 1);
	mda_choose_sender(&o, &b, out, sizeof out);
	cr_assert_str_eq(out, "", "SENDER= is Postfix's null sender");
	o.sender = "<flag@example.org>";
	mda_choose_sender(&o, &b, out, sizeof out);
	cr_assert_str_eq(out, "flag@example.org");
	unsetenv("SENDER");
	memset(&b, 0, sizeof b);
	o.sender = NULL;
	mda_choose_sender(&o, &b, out, sizeof out);
	cr_assert(out[0] != '\0', "falls back to the invoking user");
}

Test(mda_recipient, postfix_environment, .init = setup, .fini = teardown)
{
	char out[256];
	setenv("USER", "root", 1);
	setenv("RECIPIENT", "MDATEST+ext@localhost", 1);
	setenv("LOCAL", "mdatest+ext", 1);
	setenv("DOMAIN", "localhost", 1);
	cr_assert(mda_env_recipient(&cfg, out, sizeof out));
	cr_assert_str_eq(out, "mdatest+ext@localhost", "LOCAL wins over USER (root runs as nobody)");
	unsetenv("LOCAL");
	cr_assert(mda_env_recipient(&cfg, out, sizeof out));
	cr_assert_str_eq(out, "MDATEST+ext@localhost");
	unsetenv("RECIPIENT");
	setenv("EXTENSION", "box", 1);
	cr_assert(mda_env_recipient(&cfg, out, sizeof out));
	cr_assert_str_eq(out, "root+box");
}

Test(mda_exit, codes_follow_sysexits_and_what_mtas_retry)
{
	struct result r = res_ok(NULL);
	cr_assert_eq(mda_exit_code(&r), 0);
	res_set(&r, EX_TEMPFAIL, "4.2.1", "locked");
	cr_assert_eq(mda_exit_code(&r), 75);
	res_set(&r, EX_NOUSER, "5.1.1", "unknown");
	cr_assert_eq(mda_exit_code(&r), 67);
	res_set(&r, EX_DATAERR, "5.4.6", "loop");
	cr_assert_eq(mda_exit_code(&r), 65);
	res_set(&r, EX_UNAVAILABLE, "5.3.0", "command said no");
	cr_assert_eq(mda_exit_code(&r), 69);
	res_set(&r, EX_CONFIG, "5.3.5", "bad config");
	cr_assert_eq(mda_exit_code(&r), 75, "configuration trouble must defer, not bounce");
	/* A policy refusal is permanent everywhere: 5.7.1 in the log, 550 over LMTP, 77 here. */
	res_set(&r, EX_NOPERM, "5.7.1", "command delivery is disabled");
	cr_assert_eq(mda_exit_code(&r), 77);
	res_set(&r, EX_NOPERM, "4.7.1", "permission trouble an administrator can fix");
	cr_assert_eq(mda_exit_code(&r), 75, "a temporary status code must defer, not bounce");
	res_set(&r, EX_OSERR, "4.3.0", "fork");
	cr_assert_eq(mda_exit_code(&r), 75);
	/* expansion_limit: over it alone bounces, over it with the recipients before it retries. */
	res_set(&r, EX_UNAVAILABLE, "5.2.4", "more than 50000 destinations");
	cr_assert_eq(mda_exit_code(&r), 69);
	res_set(&r, EX_TEMPFAIL, "4.5.3", "send it in another transaction");
	cr_assert_eq(mda_exit_code(&r), 75);
	/* root's mailbox: the mail waits in the MTA's queue until root is aliased. */
	res_set(&r, EX_TEMPFAIL, "4.3.5", "alias root to a person in /etc/aliases");
	cr_assert_eq(mda_exit_code(&r), 75);
}

Test(mda_stdin, postfix_block_gives_one_set_of_trace_headers, .init = setup, .fini = teardown)
{
	char *err;
	int rc = run(postfix_input, NULL, NULL, "alice", &err);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	char *box = mailbox("alice");
	cr_assert_eq(count(box, "From "), 1, "%s", box);
	cr_assert(strncmp(box, "From sender@example.org ", 24) == 0, "%s", box);
	cr_assert_eq(count(box, "Return-Path:"), 1, "%s", box);
	cr_assert_eq(count(box, "Delivered-To:"), 1, "%s", box);
	cr_assert_eq(count(box, "X-Original-To:"), 1, "%s", box);
	cr_assert(strstr(box, "Return-Path: <sender@example.org>\nX-Original-To: alice@localhost\n"
			      "Delivered-To: alice@test.example\nReceived:") != NULL, "%s", box);
	cr_assert(strstr(box, "\nbody line\n") != NULL);
	free(box);
	free(err);
}

Test(mda_stdin, caller_delivered_to_is_not_a_loop_but_one_below_is, .init = setup, .fini = teardown)
{
	char *err;
	const char *looped = "From sender@example.org  Mon Nov 23 05:53:19 2026\n"
			     "Return-Path: <sender@example.org>\n"
			     "Delivered-To: alice@test.example\n"
			     "Received: by somewhere\n"
			     "Delivered-To: alice@test.example\n"
			     "Subject: again\n\nbody\n";
	cr_assert_eq(run(postfix_input, NULL, NULL, "alice", NULL), 0);
	char *before = mailbox("alice");
	int rc = run(looped, NULL, NULL, "alice", &err);
	cr_assert_eq(rc, 65, "rc %d", rc);
	cr_assert(strncmp(err, "5.4.6 ", 6) == 0, "%s", err);
	char *after = mailbox("alice");
	cr_assert_str_eq(before, after, "a loop leaves the mailbox alone");
	free(before);
	free(after);
	free(err);
}

Test(mda_stdin, plain_message_without_block, .init = setup, .fini = teardown)
{
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@example.org", NULL, "bob", NULL), 0);
	char *box = mailbox("bob");
	cr_assert(strncmp(box, "From s@example.org ", 19) == 0, "%s", box);
	cr_assert(strstr(box, "\nReturn-Path: <s@example.org>\nDelivered-To: bob@test.example\nSubject: x\n") != NULL,
		  "%s", box);
	cr_assert_eq(count(box, "X-Original-To:"), 0, "no X-Original-To when it says nothing new");
	free(box);
}

Test(mda_stdin, original_recipient_from_flag, .init = setup, .fini = teardown)
{
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@example.org", "list@example.org", "bob", NULL), 0);
	char *box = mailbox("bob");
	cr_assert(strstr(box, "X-Original-To: list@example.org\nDelivered-To: bob@test.example\n") != NULL, "%s", box);
	free(box);
}

Test(mda_stdin, recipient_domain_from_the_mta_is_kept, .init = setup, .fini = teardown)
{
	setenv("LOCAL", "carol", 1);
	setenv("DOMAIN", "localhost", 1);
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@example.org", NULL, NULL, NULL), 0);
	char *box = mailbox("carol");
	cr_assert(strstr(box, "Delivered-To: carol@localhost\n") != NULL, "%s", box);
	free(box);
}

Test(mda_stdin, unknown_user_is_67, .init = setup, .fini = teardown)
{
	char *err;
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "nosuchuser", &err), 67);
	cr_assert(strncmp(err, "5.1.1 ", 6) == 0, "%s", err);
	free(err);
}

Test(mda_stdin, path_in_user_name_is_refused, .init = setup, .fini = teardown)
{
	char *err;
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "../../etc/passwd", &err), 67);
	cr_assert(strstr(err, "invalid user name") != NULL, "%s", err);
	free(err);
}

Test(mda_stdin, crlf_input_is_stored_with_lf, .init = setup, .fini = teardown)
{
	cr_assert_eq(run("Subject: x\r\n\r\nline1\r\nline2\r\n", "s@x", NULL, "alice", NULL), 0);
	char *box = mailbox("alice");
	cr_assert(strchr(box, '\r') == NULL, "%s", box);
	cr_assert(strstr(box, "line1\nline2\n") != NULL);
	free(box);
}

Test(mda_stdin, too_big_message_is_refused_permanently, .init = setup, .fini = teardown)
{
	char *err;
	cfg.message_size_limit = 10;
	cr_assert_eq(run("Subject: x\n\nhello world, longer than ten\n", "s@x", NULL, "alice", &err), 65);
	cr_assert(strncmp(err, "5.3.4 ", 6) == 0, "%s", err);
	cr_assert(access(th_path(cfg.spool_dir, "alice"), F_OK) != 0);
	free(err);
}

/* Stdin mode in the caller's process, its stderr into dir/err: the part of the test that runs
 * as nobody (th_unprivileged: no cr_assert in here). */
static int deliver_alice_quietly(void *arg)
{
	(void)arg;
	char *rcpts[1] = { "alice" };
	struct mda_stdin_opts o = { .sender = "s@x", .rcpts = rcpts, .n_rcpts = 1 };
	int fd = open(th_path(dir, "input"), O_RDONLY);
	FILE *err = fopen(th_path(dir, "err"), "w");
	if (fd < 0 || !err)
		return 250;
	int rc = mda_stdin_run(&cfg, &o, fd, err);
	fclose(err);
	close(fd);
	return rc;
}

/* As Postfix runs mailbox_command: as the recipient, who may not write the spool directory
 * (as root the test drops to nobody: root writes anywhere). */
Test(mda_stdin, unwritable_spool_defers_and_leaves_nothing, .init = setup, .fini = teardown)
{
	th_write(th_path(dir, "input"), "Subject: x\n\nhello\n");
	cr_assert(chmod(dir, 0777) == 0 && chmod(cfg.tmp_dir, 01777) == 0 && chmod(cfg.spool_dir, 0555) == 0);
	int rc = th_unprivileged(deliver_alice_quietly, NULL);
	char *err = th_read(th_path(dir, "err"), NULL);
	cr_assert_eq(rc, 75, "%s", err);
	cr_assert(err[0] == '4', "%s", err);
	cr_assert(access(th_path(cfg.spool_dir, "alice"), F_OK) != 0, "no mailbox made");
	chmod(cfg.spool_dir, 0755);
	free(err);
}

Test(mda_stdin, second_message_appends, .init = setup, .fini = teardown)
{
	cr_assert_eq(run("Subject: one\n\nfirst\n", "s@x", NULL, "alice", NULL), 0);
	cr_assert_eq(run("Subject: two\n\nFrom me\n", "s@x", NULL, "alice", NULL), 0);
	char *box = mailbox("alice");
	cr_assert_eq(count(box, "\nFrom "), 1, "body From quoted, one separator: %s", box);
	cr_assert(strstr(box, "\n>From me\n") != NULL, "%s", box);
	free(box);
}

Test(mda_stdin, delivered_to_keeps_the_extension, .init = setup, .fini = teardown)
{
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "alice+lists@localhost", NULL), 0);
	char *box = mailbox("alice");
	cr_assert(strstr(box, "\nDelivered-To: alice+lists@localhost\n") != NULL, "%s", box);
	cr_assert(strstr(box, "X-Original-To") == NULL, "%s", box);
	free(box);
}

/* ---- Who expands: the MTA (expansion = mta) or mda ---- */

static bool exists(const char *user)
{
	return access(th_path(cfg.spool_dir, user), F_OK) == 0;
}

/* run() with the log lines (stderr) captured into *log (malloc'd). */
static int run_logged(const char *input, const char *sender, const char *rcpt, char **log)
{
	const char *path = th_path(dir, "log");
	fflush(stderr);
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	int rc = run(input, sender, NULL, rcpt, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*log = th_read(path, NULL);
	return rc;
}

/* What Postfix's local(8) gives mailbox_command after it expanded bob's ~/.forward
 * ("carol, \bob"): it delivers carol itself and calls mda for bob alone. */
static void postfix_local_environment(const char *local)
{
	char rcpt[128];
	snprintf(rcpt, sizeof rcpt, "%s@localhost", local);
	setenv("LOCAL", local, 1);
	setenv("DOMAIN", "localhost", 1);
	setenv("RECIPIENT", rcpt, 1);
	setenv("ORIGINAL_RECIPIENT", rcpt, 1);
	setenv("SENDER", "sender@example.org", 1);
	setenv("MAIL_CONFIG", "/etc/postfix", 1);
	setenv("USER", local, 1);
}

static void bob_forwards_to_carol(void)
{
	const char *fwd = th_path(dir, "home/bob/.forward");
	th_write(fwd, "carol, \\bob\n");
	chmod(fwd, 0644);
}

Test(mda_stdin, postfix_local_environment_means_the_mta_has_expanded, .init = setup, .fini = teardown)
{
	char *err;
	bob_forwards_to_carol();
	/* An aliases database mda cannot read (the MTA's, or garbage) and a source beside it:
	 * with expansion = mda this defers; behind Postfix it must not matter. */
	th_write(cfg.aliases_file, "bob: carol\n");
	th_write(cfg.aliases_db, "this is not a GDBM database, it is somebody else's file\n");
	postfix_local_environment("bob");
	cr_assert_not_null(mda_mta_environment());
	int rc = run_logged("Subject: x\n\nhello\n", NULL, NULL, &err);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert(exists("bob"), "bob's mailbox");
	cr_assert(!exists("carol"), "mda expanded bob's .forward again behind Postfix");
	cr_assert(strstr(err, "relay=local, expansion=mta,") != NULL, "%s", err);
	free(err);
}

Test(mda_stdin, without_an_mta_environment_mda_expands, .init = setup, .fini = teardown)
{
	char *err;
	bob_forwards_to_carol();
	cr_assert_null(mda_mta_environment());
	int rc = run_logged("Subject: x\n\nhello\n", "sender@example.org", "bob", &err);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert(exists("bob") && exists("carol"));
	cr_assert(strstr(err, "relay=local, expansion=mda,") != NULL, "%s", err);
	free(err);
}

Test(mda_stdin, exim_pipe_environment_means_mta, .init = setup, .fini = teardown)
{
	bob_forwards_to_carol();
	setenv("LOCAL_PART", "bob", 1);
	setenv("DOMAIN", "localhost", 1);
	setenv("MESSAGE_ID", "1tXyZq-000Abc-3D", 1);
	setenv("QUALIFY_DOMAIN", "localhost", 1);
	cr_assert_str_eq(mda_mta_environment(), "Exim");
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "bob", NULL), 0);
	cr_assert(exists("bob") && !exists("carol"));
}

Test(mda_stdin, the_configuration_beats_the_environment, .init = setup, .fini = teardown)
{
	bob_forwards_to_carol();
	postfix_local_environment("bob");
	cfg.expansion = EXPANSION_MDA;   /* -o expansion=mda */
	cr_assert_eq(run("Subject: x\n\nhello\n", NULL, NULL, NULL, NULL), 0);
	cr_assert(exists("carol"), "expansion = mda reads the .forward whatever the environment");
	unlink(th_path(cfg.spool_dir, "carol"));
	unsetenv("MAIL_CONFIG");
	unsetenv("LOCAL");
	unsetenv("RECIPIENT");
	cfg.expansion = EXPANSION_MTA;   /* the mailbox_transport daemon's setting, here in stdin mode */
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "bob", NULL), 0);
	cr_assert(!exists("carol"));
}

Test(mda_stdin, mta_expansion_strips_the_extension_and_knows_unknown_users, .init = setup, .fini = teardown)
{
	char *err;
	cfg.expansion = EXPANSION_MTA;
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "bob+lists@localhost", NULL), 0);
	char *box = mailbox("bob");
	cr_assert(strstr(box, "\nDelivered-To: bob+lists@localhost\n") != NULL, "%s", box);
	free(box);
	cr_assert_eq(run("Subject: x\n\nhello\n", "s@x", NULL, "nosuchuser", &err), 67);
	cr_assert(strncmp(err, "5.1.1 ", 6) == 0, "%s", err);
	free(err);
}

Test(mda_stdin, mail_for_root_waits_for_an_alias_in_both_expansions, .init = setup, .fini = teardown)
{
	char *err;
	cfg.passwd_file[0] = '\0';   /* the system's user database, where root is uid 0 */
	for (int mode = EXPANSION_MDA; mode <= EXPANSION_MTA; mode++) {
		cfg.expansion = (enum cfg_expansion)mode;
		int rc = run("Subject: x\n\nhello\n", "s@x", NULL, "root", &err);
		cr_assert_eq(rc, 75, "mode %d: rc %d: %s", mode, rc, err);
		cr_assert(strncmp(err, "4.3.5 ", 6) == 0, "%s", err);
		cr_assert(strstr(err, "alias root to a person in /etc/aliases") != NULL, "%s", err);
		cr_assert(!exists("root"), "a mailbox for root was written");
		free(err);
	}
}

Test(mda_stdin, expansion_key_takes_auto_mda_mta_only)
{
	struct config c;
	struct result r;
	cfg_defaults(&c);
	cr_assert_eq(c.expansion, EXPANSION_AUTO);
	cr_assert_eq(cfg_set_option(&c, "expansion=mta", &r), EX_OK);
	cr_assert_eq(c.expansion, EXPANSION_MTA);
	cr_assert_eq(cfg_set_option(&c, "expansion=mda", &r), EX_OK);
	cr_assert_eq(c.expansion, EXPANSION_MDA);
	cr_assert_neq(cfg_set_option(&c, "expansion=postfix", &r), EX_OK);
	cr_assert(strstr(r.reason, "expected auto, mda or mta") != NULL, "%s", r.reason);
}

/* Runs stdin mode for several recipients on input; returns the exit code. */
static int run_many(const char *input, char **rcpts, size_t n)
{
	const char *in_path = th_path(dir, "input");
	th_write(in_path, input);
	int fd = open(in_path, O_RDONLY);
	struct mda_stdin_opts o = { .sender = "s@x", .rcpts = rcpts, .n_rcpts = n };
	FILE *err = tmpfile();
	int rc = mda_stdin_run(&cfg, &o, fd, err);
	close(fd);
	fclose(err);
	return rc;
}

Test(mda_stdin, recipients_of_one_run_share_their_destinations, .init = setup, .fini = teardown)
{
	/* `mda -- alice team`: team is alice and bob; alice's mailbox gets the message once. */
	th_write(cfg.aliases_file, "team: alice, bob\n");
	struct alias_compile_stats st;
	struct result r;
	cr_assert_eq(alias_compile(cfg.aliases_file, cfg.aliases_db, NULL, &st, &r), EX_OK, "%s", r.reason);
	char *rcpts[2] = { "alice", "team" };
	cr_assert_eq(run_many("Subject: x\n\nhello\n", rcpts, 2), 0);
	char *a = mailbox("alice"), *b = mailbox("bob");
	cr_assert_eq(count(a, "Subject: x"), 1, "%s", a);
	cr_assert_eq(count(b, "Subject: x"), 1, "%s", b);
	free(a);
	free(b);
}

Test(mda_stdin, a_retry_after_4_5_3_counts_only_what_is_left, .init = setup, .fini = teardown)
{
	struct alias_compile_stats st;
	struct result r;
	char *rcpts[2] = { "l1", "l2" };
	th_write(cfg.aliases_file, "l1: alice, bob, carol\nl2: alice, bob\n");
	cr_assert_eq(alias_compile(cfg.aliases_file, cfg.aliases_db, NULL, &st, &r), EX_OK, "%s", r.reason);
	cfg.expansion_limit = 4;
	cr_assert_eq(run_many("Subject: x\n\nhello\n", rcpts, 2), 75, "l2 does not fit with l1's three");
	/* The MTA retries the same message: l1's three were delivered and no longer count. */
	cr_assert_eq(run_many("Subject: x\n\nhello\n", rcpts, 2), 0, "the retry met the same count again");
	for (const char *const *u = (const char *const[]){ "alice", "bob", "carol", NULL }; *u; u++) {
		char *box = mailbox(*u);
		cr_assert_eq(count(box, "Subject: x"), 1, "%s: %s", *u, box);
		free(box);
	}
}
