/* Unit tests of Sieve at delivery: each action as mda carries it out (stdin mode and LMTP),
 * the implicit keep after every kind of failure, the trust rule against another user's
 * plants, and the LMTP session's cache of compiled scripts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "mbox/mbox.h"
#include "mda/lmtp.h"
#include "mda/stdin_mode.h"
#include "tests/unit/helpers.h"

static struct config cfg;
static const char *dir;
static char home[1024], out_dir[1024];
/* alice runs as a uid of her own when the tests run as root, so privileges really drop. */
static uid_t alice_uid;

static const char msg1[] =
	"From: Bob <bob@example.org>\n"
	"To: alice@test.example\n"
	"Subject: hello\n"
	"Message-ID: <m1@example.org>\n"
	"\n"
	"body\n";

static void write_passwd(void)
{
	FILE *fp = fopen(cfg.passwd_file, "w");
	cr_assert(fp != NULL);
	fprintf(fp, "alice:x:%u:%u:alice:%s:/bin/sh\n", (unsigned)alice_uid, (unsigned)alice_uid, home);
	fprintf(fp, "bob:x:%u:%u:bob:%s/home/bob:/bin/sh\n", (unsigned)alice_uid, (unsigned)alice_uid, dir);
	fclose(fp);
}

/* sendmail_path: records each call's arguments and input in out_dir/sent.N. */
static void fake_sendmail(int status)
{
	char text[2048];
	snprintf(text, sizeof text, "#!/bin/sh\nf=%s/sent.$$\n{ echo \"ARGS: $*\"; cat; } >\"$f\"\nexit %d\n", out_dir,
		 status);
	th_write(cfg.sendmail_path, text);
	chmod(cfg.sendmail_path, 0755);
}

static void setup(void)
{
	dir = th_tmpdir();
	th_world(&cfg, dir);
	chmod(dir, 0755);
	alice_uid = geteuid() == 0 ? 4242 : getuid();
	snprintf(home, sizeof home, "%s/home/alice", dir);
	snprintf(out_dir, sizeof out_dir, "%s/out", dir);
	cr_assert(mkdir(out_dir, 0777) == 0);
	chmod(out_dir, 0777);
	chmod(cfg.spool_dir, 01777);
	chmod(cfg.tmp_dir, 01777);
	cr_assert(chown(home, alice_uid, alice_uid) == 0 || geteuid() != 0);
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s/sendmail", dir);
	write_passwd();
	fake_sendmail(0);
	unsetenv("RECIPIENT");
	unsetenv("LOCAL");
	unsetenv("SENDER");
	unsetenv("ORIGINAL_RECIPIENT");
	log_init("test", "stderr");
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mda_sieve, .init = setup, .fini = teardown);

/* A file of alice's, 0644 unless mode says otherwise. */
static void alice_file(const char *path, const char *text, mode_t mode)
{
	th_write(path, text);
	cr_assert(chmod(path, mode) == 0);
	if (geteuid() == 0)
		cr_assert(chown(path, alice_uid, alice_uid) == 0);
}

static void script(const char *text)
{
	alice_file(th_path(home, ".dovecot.sieve"), text, 0644);
}

/* Stdin mode for rcpt; the exit code, stderr's status line in *err, the log in *log. */
static int deliver(const char *text, const char *sender, const char *rcpt, char **err, char **log)
{
	const char *in_path = th_path(dir, "input"), *log_path = th_path(dir, "log");
	th_write(in_path, text);
	int fd = open(in_path, O_RDONLY);
	cr_assert(fd >= 0);
	char *rcpts[1] = { (char *)rcpt };
	struct mda_stdin_opts o = { .sender = sender, .rcpts = rcpts, .n_rcpts = 1 };
	const char *err_path = th_path(dir, "status");
	FILE *errf = fopen(err_path, "w");
	fflush(stderr);
	int saved = dup(2), lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(lfd, 2);
	close(lfd);
	int rc = mda_stdin_run(&cfg, &o, fd, errf);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	fclose(errf);
	char *e = th_read(err_path, NULL), *l = th_read(log_path, NULL);
	if (err)
		*err = e;
	else
		free(e);
	if (log)
		*log = l;
	else
		free(l);
	return rc;
}

static int deliver1(const char *text, char **log)
{
	return deliver(text, "bob@example.org", "alice", NULL, log);
}

/* A mailbox's messages as the mail reader indexes them (0 when there is no file). */
static size_t messages(const char *path, struct mbox_index *idx)
{
	struct result r;
	cr_assert_eq(mbox_index_open(path, idx, &r), EX_OK, "%s", r.reason);
	return idx->count;
}

static size_t count_in(const char *path)
{
	struct mbox_index idx;
	size_t n = messages(path, &idx);
	mbox_index_close(&idx);
	return n;
}

static const char *spool(void)
{
	return th_path(cfg.spool_dir, "alice");
}

static const char *folder(const char *name)
{
	static char buf[2048];
	snprintf(buf, sizeof buf, "%s/mail/%s", home, name);
	return buf;
}

/* The sendmail calls made, in out_dir/sent.*; their texts joined into *all (may be NULL). */
static size_t sent(char **all)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cat %s/sent.* 2>/dev/null", out_dir);
	FILE *p = popen(cmd, "r");
	char buf[65536];
	size_t len = fread(buf, 1, sizeof buf - 1, p);
	buf[len] = '\0';
	pclose(p);
	size_t n = 0;
	for (const char *s = buf; (s = strstr(s, "ARGS: ")); s += 6)
		n++;
	if (all)
		*all = strdup(buf);
	return n;
}

/* ---- actions ---- */

Test(mda_sieve, no_script_delivers_as_before)
{
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(spool()), 1);
	cr_assert_eq(access(th_path(home, "mail"), F_OK), -1, "no folder directory without a script");
}

Test(mda_sieve, keep_goes_to_the_spool_mailbox)
{
	char *log;
	script("keep;\n");
	cr_assert_eq(deliver1(msg1, &log), 0, "%s", log);
	cr_assert_eq(count_in(spool()), 1);
	cr_assert(strstr(log, "status=sent (sieve: keep in mailbox"), "%s", log);
	free(log);
}

Test(mda_sieve, fileinto_with_flags_reaches_a_folder_the_reader_sees_flagged)
{
	char *log;
	script("require [\"fileinto\", \"imap4flags\", \"mailbox\"];\n"
	       "fileinto :create :flags [\"\\\\Seen\", \"\\\\Answered\", \"\\\\Flagged\"] \"Lists/dev\";\n");
	cr_assert_eq(deliver1(msg1, &log), 0, "%s", log);
	struct mbox_index idx;
	cr_assert_eq(messages(folder("Lists/dev"), &idx), 1, "%s", log);
	unsigned want = MBOX_F_READ | MBOX_F_OLD | MBOX_F_ANSWERED | MBOX_F_FLAGGED;
	cr_assert_eq(idx.msgs[0].flags & want, want, "flags %#x", idx.msgs[0].flags);
	cr_assert_str_eq(idx.msgs[0].subject, "hello");
	mbox_index_close(&idx);
	cr_assert_eq(access(spool(), F_OK), -1, "fileinto cancels the implicit keep");
	struct stat st;
	cr_assert(lstat(folder("Lists"), &st) == 0 && (st.st_mode & 077) == 0 && st.st_uid == alice_uid);
	cr_assert(lstat(folder("Lists/dev"), &st) == 0 && st.st_uid == alice_uid);
	free(log);
}

Test(mda_sieve, fileinto_inbox_is_the_spool_and_flags_stick)
{
	script("require [\"fileinto\", \"imap4flags\"];\naddflag \"\\\\Deleted\";\nfileinto \"inbox\";\n");
	cr_assert_eq(deliver1(msg1, NULL), 0);
	struct mbox_index idx;
	cr_assert_eq(messages(spool(), &idx), 1);
	cr_assert(idx.msgs[0].flags & MBOX_F_DELETED);
	mbox_index_close(&idx);
}

Test(mda_sieve, folder_directory_may_be_a_symlink_of_the_user)
{
	const char *elsewhere = th_path(dir, "disk2");
	cr_assert(mkdir(elsewhere, 0700) == 0);
	cr_assert(symlink(elsewhere, th_path(home, "mail")) == 0);
	if (geteuid() == 0)
		cr_assert(chown(elsewhere, alice_uid, alice_uid) == 0 &&
			  lchown(th_path(home, "mail"), alice_uid, alice_uid) == 0);
	script("require \"fileinto\";\nfileinto \"Spam\";\n");
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(th_path(elsewhere, "Spam")), 1, "filed through the user's own link");
	cr_assert_eq(access(spool(), F_OK), -1);
}

Test(mda_sieve, fileinto_a_deeper_folder_needs_create)
{
	char *log;
	script("require \"fileinto\";\nfileinto \"Lists/dev\";\n");
	cr_assert_eq(deliver1(msg1, &log), 0);
	cr_assert_eq(count_in(spool()), 1, "kept: the folder's directory does not exist");
	cr_assert(strstr(log, ".dovecot.sieve:2: fileinto \"Lists/dev\""), "%s", log);
	cr_assert(strstr(log, "message kept in the mailbox"), "%s", log);
	free(log);
}

Test(mda_sieve, redirect_keeps_the_sender_and_adds_delivered_to)
{
	char *all;
	script("redirect \"carol@example.net\";\n");
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(sent(&all), 1);
	cr_assert(strstr(all, "ARGS: -oi -f bob@example.org -- carol@example.net\n"), "%s", all);
	cr_assert(strstr(all, "\nDelivered-To: alice@test.example\nFrom: Bob"), "%s", all);
	cr_assert_eq(access(spool(), F_OK), -1, "redirect cancels the implicit keep");
	free(all);
}

Test(mda_sieve, redirect_of_a_bounce_keeps_the_null_sender)
{
	char *all;
	script("require \"copy\";\nredirect :copy \"carol@example.net\";\n");
	cr_assert_eq(deliver(msg1, "", "alice", NULL, NULL), 0);
	cr_assert_eq(sent(&all), 1);
	cr_assert(strstr(all, "ARGS: -oi -f <> -- carol@example.net\n"), "%s", all);
	cr_assert_eq(count_in(spool()), 1, ":copy keeps");
	free(all);
}

Test(mda_sieve, a_message_back_from_its_redirect_is_a_loop)
{
	char looped[1024];
	snprintf(looped, sizeof looped, "Delivered-To: alice@test.example\n%s", msg1);
	script("redirect \"carol@example.net\";\n");
	cr_assert_eq(deliver1(looped, NULL), EX_DATAERR);
	cr_assert_eq(sent(NULL), 0);
}

Test(mda_sieve, reject_bounces_with_the_reason)
{
	char *err;
	script("require \"reject\";\nreject \"I do not want this.\nReally.\";\n");
	cr_assert_eq(deliver(msg1, "bob@example.org", "alice", &err, NULL), EX_NOPERM);
	cr_assert(strncmp(err, "5.7.1 rejected by the recipient's Sieve filter: I do not want this.\n", 68) == 0,
		  "%s", err);
	cr_assert_eq(access(spool(), F_OK), -1);
	cr_assert_eq(sent(NULL), 0, "the MTA bounces, mda sends nothing");
	free(err);
}

Test(mda_sieve, ereject_too)
{
	char *err;
	script("require \"ereject\";\nereject \"no\";\n");
	cr_assert_eq(deliver(msg1, "bob@example.org", "alice", &err, NULL), EX_NOPERM);
	cr_assert(strstr(err, "5.7.1 rejected by the recipient's Sieve filter: no"), "%s", err);
	free(err);
}

Test(mda_sieve, discard_delivers_nothing)
{
	char *log;
	script("discard;\n");
	cr_assert_eq(deliver1(msg1, &log), 0);
	cr_assert_eq(access(spool(), F_OK), -1);
	cr_assert(strstr(log, "status=sent (sieve: discarded (") && strstr(log, ".dovecot.sieve:1)"), "%s", log);
	free(log);
}

static const char vacation_script[] =
	"require \"vacation\";\nvacation :days 1 :subject \"away\" \"I am away.\";\n";

Test(mda_sieve, vacation_answers_once_from_the_null_sender)
{
	char *all;
	char second[1024];
	script(vacation_script);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	snprintf(second, sizeof second, "%s", msg1);
	memcpy(strstr(second, "<m1@"), "<m2@", 4);
	cr_assert_eq(deliver1(second, NULL), 0);
	cr_assert_eq(count_in(spool()), 2, "vacation keeps");
	cr_assert_eq(sent(&all), 1, "one reply for two messages from bob: %s", all);
	cr_assert(strstr(all, "ARGS: -oi -f <> -- bob@example.org\n"), "%s", all);
	cr_assert(strstr(all, "\nAuto-Submitted: auto-replied"), "%s", all);
	cr_assert(strstr(all, "\nIn-Reply-To: <m1@example.org>\n"), "%s", all);
	cr_assert(strstr(all, "\nSubject: away\n"), "%s", all);
	struct stat st;
	cr_assert(stat(th_path(home, ".mda-sieve.db"), &st) == 0 && st.st_uid == alice_uid && (st.st_mode & 077) == 0);
	free(all);
}

Test(mda_sieve, vacation_never_answers_a_list)
{
	char listed[1024];
	snprintf(listed, sizeof listed, "List-Id: <dev.example.org>\n%s", msg1);
	script(vacation_script);
	cr_assert_eq(deliver1(listed, NULL), 0);
	cr_assert_eq(sent(NULL), 0);
	cr_assert_eq(count_in(spool()), 1);
}

Test(mda_sieve, a_failed_reply_is_not_remembered)
{
	char *log;
	fake_sendmail(1);
	script(vacation_script);
	cr_assert_eq(deliver1(msg1, &log), 0, "the delivery stands");
	cr_assert(strstr(log, "vacation reply to bob@example.org not sent"), "%s", log);
	free(log);
	fake_sendmail(0);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(sent(NULL), 2, "the second message is answered: the first reply was not recorded");
}

Test(mda_sieve, duplicate_discards_the_second_copy)
{
	script("require \"duplicate\";\nif duplicate { discard; stop; }\n");
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(spool()), 1);
}

Test(mda_sieve, before_and_after_scripts_of_the_administrator)
{
	const char *before = th_path(dir, "before.sieve"), *after = th_path(dir, "after.d");
	th_write(before, "require [\"fileinto\", \"copy\"];\nfileinto :copy \"Archive\";\n");
	cr_assert(mkdir(after, 0755) == 0);
	th_write(th_path(after, "10.sieve"), "require \"fileinto\";\nfileinto \"After\";\n");
	chmod(before, 0644);
	chmod(th_path(after, "10.sieve"), 0644);
	snprintf(cfg.sieve_before, sizeof cfg.sieve_before, "%s", before);
	snprintf(cfg.sieve_after, sizeof cfg.sieve_after, "%s", after);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(folder("Archive")), 1);
	cr_assert_eq(count_in(folder("After")), 1, "no user script: the after script runs");
	script("require \"fileinto\";\nfileinto \"Mine\";\n");
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(folder("Archive")), 2);
	cr_assert_eq(count_in(folder("Mine")), 1);
	cr_assert_eq(count_in(folder("After")), 1, "the user's fileinto ends the implicit keep: no after script");
	cr_assert_eq(access(spool(), F_OK), -1);
}

/* ---- failures: always the implicit keep, one log line naming the place ---- */

static void assert_kept_with(const char *log, const char *what)
{
	cr_assert_eq(count_in(spool()), 1, "%s", log);
	cr_assert(strstr(log, what), "wanted \"%s\" in:\n%s", what, log);
	cr_assert(strstr(log, "status=sent"), "%s", log);
}

/* Delivers msg1 and asserts the implicit keep with what in the log. */
static void assert_delivery_keeps(const char *what)
{
	char *log;
	cr_assert_eq(deliver1(msg1, &log), 0);
	assert_kept_with(log, what);
	free(log);
}

/* The same under a script of alice's with this text and mode. */
static void assert_script_keeps(const char *text, mode_t mode, const char *what)
{
	alice_file(th_path(home, ".dovecot.sieve"), text, mode);
	assert_delivery_keeps(what);
}

Test(mda_sieve, compile_error_keeps)
{
	assert_script_keeps("require \"fileinto\";\n\nfileinto \"x\"\n", 0644, ".dovecot.sieve:4:1: expected");
}

Test(mda_sieve, runtime_failure_keeps)
{
	assert_script_keeps("require [\"fileinto\", \"variables\"];\nset \"f\" \"../../etc\";\nfileinto \"${f}\";\n",
			    0644, ".dovecot.sieve:3:");
}

Test(mda_sieve, action_limit_keeps)
{
	cfg.sieve_max_redirects = 1;
	assert_script_keeps("redirect \"a@example.net\";\nredirect \"b@example.net\";\n", 0644, ".dovecot.sieve:2:");
	cr_assert_eq(sent(NULL), 0);
}

Test(mda_sieve, folder_that_cannot_be_made_keeps)
{
	snprintf(cfg.mail_folder_dir, sizeof cfg.mail_folder_dir, "~/plain-file/mail");
	alice_file(th_path(home, "plain-file"), "x", 0644);
	assert_script_keeps("require \"fileinto\";\nfileinto \"Spam\";\n", 0644, ".dovecot.sieve:2: fileinto \"Spam\"");
}

Test(mda_sieve, failed_redirect_keeps)
{
	fake_sendmail(1);
	assert_script_keeps("redirect \"carol@example.net\";\n", 0644, ".dovecot.sieve:1: redirect to carol@example.net failed");
}

Test(mda_sieve, busy_folder_defers_like_the_spool)
{
	char *err;
	cfg.lock_timeout = 1;
	script("require \"fileinto\";\nfileinto \"Spam\";\n");
	cr_assert(mkdir(th_path(home, "mail"), 0700) == 0);
	alice_file(folder("Spam"), "", 0600);
	if (geteuid() == 0)
		cr_assert(chown(th_path(home, "mail"), alice_uid, alice_uid) == 0);
	int holder = th_hold_fcntl(folder("Spam"));
	int rc = deliver(msg1, "bob@example.org", "alice", &err, NULL);
	th_release(holder);
	cr_assert_eq(rc, EX_TEMPFAIL, "%s", err);
	cr_assert(strncmp(err, "4.2.1 ", 6) == 0, "%s", err);
	cr_assert_eq(access(spool(), F_OK), -1, "nothing kept: the MTA retries the whole delivery");
	free(err);
}

Test(mda_sieve, unsafe_script_is_ignored)
{
	assert_script_keeps("discard;\n", 0664, "not used (unsafe)");
}

/* ---- the trust rule against another user (nobody) who can write alice's home ---- */

static void open_home_to_others(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the attacker is a second user (nobody)");
	cr_assert(chmod(home, 01777) == 0);
}

static int plant_script(void *arg)
{
	FILE *fp = fopen(th_path(home, ".dovecot.sieve"), "w");
	(void)arg;
	if (!fp || fputs("discard;\n", fp) < 0 || fclose(fp) != 0)
		return 1;
	return chmod(th_path(home, ".dovecot.sieve"), 0644) == 0 ? 0 : 2;
}

Test(mda_sieve, script_planted_by_another_user_is_not_run)
{
	open_home_to_others();
	cr_assert_eq(th_unprivileged(plant_script, NULL), 0);
	assert_delivery_keeps("not used (unsafe)");

}

static int plant_symlink(void *arg)
{
	return symlink(arg, th_path(home, ".dovecot.sieve")) == 0 ? 0 : 1;
}

Test(mda_sieve, symlink_planted_to_a_script_of_alice_is_not_followed)
{
	open_home_to_others();
	const char *target = th_path(dir, "alices-other.sieve");
	alice_file(target, "discard;\n", 0644);
	cr_assert_eq(th_unprivileged(plant_symlink, (void *)target), 0);
	assert_delivery_keeps("not used (unsafe)");

}

static int plant_fifo(void *arg)
{
	(void)arg;
	return mkfifo(th_path(home, ".dovecot.sieve"), 0644) == 0 ? 0 : 1;
}

Test(mda_sieve, fifo_planted_as_the_script_cannot_stall_delivery, .timeout = 20)
{
	open_home_to_others();
	cr_assert_eq(th_unprivileged(plant_fifo, NULL), 0);
	assert_delivery_keeps("not used");
}

static int plant_folder_dir(void *arg)
{
	const char *evil = arg;
	if (mkdir(evil, 0777) != 0 || chmod(evil, 0777) != 0)
		return 1;
	return symlink(evil, th_path(home, "mail")) == 0 ? 0 : 2;
}

Test(mda_sieve, folder_directory_planted_by_another_user_is_refused)
{
	open_home_to_others();
	script("require \"fileinto\";\nfileinto \"Spam\";\n");
	const char *evil = th_path(out_dir, "evil");
	cr_assert_eq(th_unprivileged(plant_folder_dir, (void *)evil), 0);
	assert_delivery_keeps("fileinto \"Spam\"");
	cr_assert_eq(access(th_path(evil, "Spam"), F_OK), -1, "nothing written where nobody can read it");
}

static int plant_include(void *arg)
{
	(void)arg;
	if (mkdir(th_path(home, "sieve"), 0755) != 0)
		return 1;
	FILE *fp = fopen(th_path(home, "sieve/inc.sieve"), "w");
	if (!fp || fputs("discard;\n", fp) < 0 || fclose(fp) != 0)
		return 2;
	return 0;
}

Test(mda_sieve, include_planted_by_another_user_is_not_run)
{
	open_home_to_others();
	script("require \"include\";\ninclude :personal \"inc\";\n");
	cr_assert_eq(th_unprivileged(plant_include, NULL), 0);
	assert_delivery_keeps("not used");
}

/* ---- LMTP: per-recipient replies after DATA, the session's cache ---- */

struct lmtp_conn {
	pid_t pid;
	int to;
	FILE *from;
};

static void lmtp_open(struct lmtp_conn *c)
{
	const char *conf = th_path(dir, "lmtp.conf"), *log = th_path(dir, "lmtp.log");
	FILE *fp = fopen(conf, "w");
	cr_assert(fp != NULL);
	cfg_dump(&cfg, fp);
	fclose(fp);
	int in[2], out[2];
	cr_assert(pipe(in) == 0 && pipe(out) == 0);
	c->pid = fork();
	cr_assert(c->pid >= 0);
	if (c->pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(lfd, 2);
		close(in[1]);
		close(out[0]);
		struct mda_invocation inv = { .conf_path = conf };
		_exit(lmtp_serve_stdio(&inv, in[0], out[1]));
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = fdopen(out[0], "r");
}

/* Sends text, reads n final reply lines (continuation lines skipped); the last n joined. */
static char *lmtp_say(struct lmtp_conn *c, const char *text, int n)
{
	static char replies[4096];
	char line[1024];
	size_t len = 0;
	if (text[0])
		cr_assert(write(c->to, text, strlen(text)) == (ssize_t)strlen(text));
	replies[0] = '\0';
	while (n > 0 && fgets(line, sizeof line, c->from)) {
		if (strlen(line) < 4 || line[3] != ' ')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		len += (size_t)snprintf(replies + len, sizeof replies - len, "%s%s", len ? "|" : "", line);
		n--;
	}
	cr_assert_eq(n, 0, "session ended early: %s", replies);
	return replies;
}

static void lmtp_start(struct lmtp_conn *c)
{
	lmtp_open(c);
	lmtp_say(c, "", 1);
	lmtp_say(c, "LHLO test\r\n", 1);
}

static void lmtp_close(struct lmtp_conn *c)
{
	lmtp_say(c, "QUIT\r\n", 1);
	close(c->to);
	fclose(c->from);
	waitpid(c->pid, NULL, 0);
}

/* One transaction of msg (LF lines, no dot-stuffing needed) to rcpts; the replies after DATA. */
static const char *lmtp_message(struct lmtp_conn *c, const char *const *rcpts, int n, const char *msg)
{
	char buf[8192], cmd[300];
	size_t len = 0;
	lmtp_say(c, "MAIL FROM:<bob@example.org>\r\n", 1);
	for (int i = 0; i < n; i++) {
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", rcpts[i]);
		cr_assert(strncmp(lmtp_say(c, cmd, 1), "250 ", 4) == 0);
	}
	lmtp_say(c, "DATA\r\n", 1);
	for (const char *p = msg; *p && len + 3 < sizeof buf; p++) {
		if (*p == '\n')
			buf[len++] = '\r';
		buf[len++] = *p;
	}
	buf[len] = '\0';
	snprintf(buf + len, sizeof buf - len, ".\r\n");
	return lmtp_say(c, buf, n);
}

Test(mda_sieve, lmtp_reject_refuses_only_that_recipient)
{
	struct lmtp_conn c;
	const char *rcpts[] = { "alice@test.example", "bob@test.example" };
	script("require \"reject\";\nreject \"not here\";\n");
	lmtp_start(&c);
	char replies[4096];
	snprintf(replies, sizeof replies, "%s", lmtp_message(&c, rcpts, 2, msg1));
	lmtp_close(&c);
	cr_assert(strncmp(replies, "550 5.7.1 ", 10) == 0, "%s", replies);
	cr_assert(strstr(replies, "not here|250 2.0.0 "), "%s", replies);
	cr_assert_eq(access(spool(), F_OK), -1);
	cr_assert_eq(count_in(th_path(cfg.spool_dir, "bob")), 1);
}

/* Rewrites alice's script in place; with same_stamp its size and mtime stay as they were. */
static void rewrite_script(const char *text, bool same_stamp)
{
	const char *path = th_path(home, ".dovecot.sieve");
	struct stat st;
	cr_assert(stat(path, &st) == 0);
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	if (!same_stamp)
		ts[1].tv_sec += 2;
	cr_assert(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

Test(mda_sieve, lmtp_session_keeps_a_script_until_it_changes)
{
	struct lmtp_conn c;
	const char *rcpts[] = { "alice@test.example" };
	script("require \"fileinto\";\nfileinto \"AAAA\";\n");
	lmtp_start(&c);
	cr_assert(strncmp(lmtp_message(&c, rcpts, 1, msg1), "250 ", 4) == 0);
	rewrite_script("require \"fileinto\";\nfileinto \"BBBB\";\n", true);
	lmtp_message(&c, rcpts, 1, msg1);
	cr_assert_eq(count_in(folder("AAAA")), 2, "same path, inode, size and mtime: the compiled script is used");
	rewrite_script("require \"fileinto\";\nfileinto \"BBBB\";\n", false);
	lmtp_message(&c, rcpts, 1, msg1);
	cr_assert_eq(count_in(folder("BBBB")), 1, "a new mtime: compiled again");
	rewrite_script("require \"fileinto\";\nfileinto \"CCCCCC\";\n", true);
	lmtp_message(&c, rcpts, 1, msg1);
	cr_assert_eq(count_in(folder("CCCCCC")), 1, "another size: compiled again");
	cr_assert(unlink(th_path(home, ".dovecot.sieve")) == 0);
	lmtp_message(&c, rcpts, 1, msg1);
	cr_assert_eq(count_in(spool()), 1, "script removed: plain delivery");
	lmtp_close(&c);
}

Test(mda_sieve, lmtp_session_sees_a_changed_include)
{
	struct lmtp_conn c;
	const char *rcpts[] = { "alice@test.example" };
	const char *sdir = th_path(home, "sieve");
	cr_assert(mkdir(sdir, 0755) == 0);
	if (geteuid() == 0)
		cr_assert(chown(sdir, alice_uid, alice_uid) == 0);
	alice_file(th_path(home, "sieve/inc.sieve"), "require \"fileinto\";\nfileinto \"One\";\n", 0644);
	script("require \"include\";\ninclude :personal \"inc\";\n");
	lmtp_start(&c);
	lmtp_message(&c, rcpts, 1, msg1);
	alice_file(th_path(home, "sieve/inc.sieve"), "require \"fileinto\";\nfileinto \"Other\";\n", 0644);
	lmtp_message(&c, rcpts, 1, msg1);
	lmtp_close(&c);
	cr_assert_eq(count_in(folder("One")), 1);
	cr_assert_eq(count_in(folder("Other")), 1);
}

/* ---- the compiled script kept on disk (stdin mode run as the user, sieve_cache) ---- */

/* Stdin mode as alice herself, as an MTA runs a mailbox_command (a child that becomes alice
 * when the tests run as root): the exit code. */
static int deliver_as_alice(void)
{
	const char *in_path = th_path(dir, "input");
	th_write(in_path, msg1);
	fflush(stderr);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(alice_uid, alice_uid, alice_uid) != 0 ||
				       setresuid(alice_uid, alice_uid, alice_uid) != 0))
			_exit(99);
		int fd = open(in_path, O_RDONLY), null = open("/dev/null", O_WRONLY);
		FILE *errf = fopen("/dev/null", "w");
		if (fd < 0 || null < 0 || !errf)
			_exit(98);
		dup2(null, 2);
		char *rcpts[1] = { "alice" };
		struct mda_stdin_opts o = { .sender = "bob@example.org", .rcpts = rcpts, .n_rcpts = 1 };
		_exit(mda_stdin_run(&cfg, &o, fd, errf));
	}
	int st;
	cr_assert(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *compiled(void)
{
	return th_path(home, ".mda-sieve.bin");
}

Test(mda_sieve, stdin_mode_keeps_the_compiled_script_until_it_changes)
{
	script("require \"fileinto\";\nfileinto \"AAAA\";\n");
	cr_assert_eq(deliver_as_alice(), 0);
	cr_assert_eq(count_in(folder("AAAA")), 1);
	struct stat st;
	cr_assert(stat(compiled(), &st) == 0, "no compiled script kept");
	cr_assert(st.st_uid == alice_uid && (st.st_mode & 0777) == 0600);
	rewrite_script("require \"fileinto\";\nfileinto \"BBBB\";\n", true);
	cr_assert_eq(deliver_as_alice(), 0);
	cr_assert_eq(count_in(folder("AAAA")), 2, "same inode, size and mtime: the kept program is used");
	rewrite_script("require \"fileinto\";\nfileinto \"BBBB\";\n", false);
	cr_assert_eq(deliver_as_alice(), 0);
	cr_assert_eq(count_in(folder("BBBB")), 1, "a new mtime: compiled again");
	cr_assert_eq(deliver_as_alice(), 0);
	cr_assert_eq(count_in(folder("BBBB")), 2);
}

/* A root process delivering to alice has more than alice's rights: it never believes a file
 * alice could have written, and writes none for her. */
Test(mda_sieve, a_root_delivery_never_uses_the_users_compiled_script)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: a delivery with more rights than the user");
	script("require \"fileinto\";\nfileinto \"AAAA\";\n");
	cr_assert_eq(deliver_as_alice(), 0);
	cr_assert(access(compiled(), F_OK) == 0);
	rewrite_script("require \"fileinto\";\nfileinto \"BBBB\";\n", true);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(count_in(folder("BBBB")), 1, "root compiled the script itself");
	cr_assert(unlink(compiled()) == 0);
	cr_assert_eq(deliver1(msg1, NULL), 0);
	cr_assert_eq(access(compiled(), F_OK), -1, "root wrote a compiled script into alice's home");
}
