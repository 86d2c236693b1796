/* Unit tests for mda/deliver: hand-built actions (mailbox, file, command, forward), command
 * environment and timeout, sendmail argv, result ranking, retry memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/quota.h"
#include "common/result.h"
#include "mbox/mbox.h"
#include "mda/deliver.h"
#include "mda/stdin_mode.h"
#include "tests/unit/helpers.h"

static struct config cfg;
static const char *dir;
static char out_dir[1024];
static struct deliver_ctx ctx;
static struct envelope env;

/* As root the command actions must run as someone else (root gets mailbox delivery only),
 * so the world becomes traversable and the output directory writable for nobody. */
static uid_t run_uid(void)
{
	return geteuid() == 0 ? 65534 : getuid();
}

static void setup(void)
{
	dir = th_tmpdir();
	th_world(&cfg, dir);
	chmod(dir, 0755);
	snprintf(out_dir, sizeof out_dir, "%s/out", dir);
	cr_assert(mkdir(out_dir, 0777) == 0);
	chmod(out_dir, 0777);
	memset(&ctx, 0, sizeof ctx);
	ctx.cfg = &cfg;
	snprintf(ctx.hostname, sizeof ctx.hostname, "test.example");
	memset(&env, 0, sizeof env);
	snprintf(env.sender, sizeof env.sender, "sender@example.org");
	snprintf(env.queue_id, sizeof env.queue_id, "TESTQ");
	env.arrival = time(NULL);
	clock_gettime(CLOCK_REALTIME, &env.started);
}

static void teardown(void)
{
	deliver_message_reset(&ctx);
	th_cleanup();
}

static void spool_of(struct mbox_spool *sp, const char *text)
{
	struct result r;
	cr_assert_eq(mbox_spool_open(sp, cfg.tmp_dir, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(mbox_spool_write(sp, text, strlen(text), &r), EX_OK);
	cr_assert_eq(mbox_spool_finish(sp, &r), EX_OK);
}

/* The users and failures hand-made actions point at (an expansion keeps them in its store). */
static struct action_user users[16];
static char homes[16][1100];
static struct action_status failures[4];
static unsigned n_users, n_failures;

static struct action make_action(enum action_kind kind, const char *target, const char *user, uid_t uid)
{
	struct action a = { .kind = kind };
	struct action_user *u = &users[n_users++ % 16];
	char *home = homes[(n_users - 1) % 16];
	a.target = target;
	a.recipient = user;
	a.orig_recipient = user;
	a.chain = user;
	snprintf(home, sizeof homes[0], "%s/home/%s", dir, user);
	*u = (struct action_user){ .name = user, .home = home, .shell = "/bin/sh", .uid = uid,
				   .gid = uid == getuid() ? getgid() : (gid_t)uid };
	a.runas = u;
	return a;
}

/* Makes a an ACT_BOUNCE with this failure. */
static void make_bounce(struct action *a, int ex, const char *dsn, const char *reason)
{
	struct action_status *s = &failures[n_failures++ % 4];
	s->ex = ex;
	snprintf(s->dsn, sizeof s->dsn, "%s", dsn);
	s->reason = reason;
	a->kind = ACT_BOUNCE;
	a->target = NULL;
	a->status = s;
}

static int deliver(struct action *v, size_t n, const char *text, struct result *r)
{
	struct mbox_spool sp;
	struct action_list l = { v, n, NULL };
	spool_of(&sp, text);
	int rc = deliver_to_recipient(&ctx, &env, "alice", &l, &sp, r);
	mbox_spool_close(&sp);
	deliver_message_reset(&ctx);   /* each call is a message of its own */
	return rc;
}

static const char *out(const char *name)
{
	return th_path(out_dir, name);
}

/* A container's init may never reap orphans: a zombie is dead enough. */
static bool is_zombie(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static const char msg[] = "Subject: test\n\nhello\n";

Test(deliver, mailbox_gets_from_line_and_trace_headers_in_order, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	char *box = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_assert(strncmp(box, "From sender@example.org ", 24) == 0, "%s", box);
	cr_assert(strstr(box, "\nReturn-Path: <sender@example.org>\nDelivered-To: alice@test.example\nSubject: test\n\nhello\n")
		  != NULL, "%s", box);
	free(box);
}

Test(deliver, command_gets_clean_environment_and_message, .init = setup, .fini = teardown)
{
	struct result r;
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "env | sort > %s; cat > %s; id -u > %s; pwd > %s", out("env"), out("msg"), out("uid"),
		 out("pwd"));
	setenv("LEAK_ME", "secret", 1);
	struct action a = make_action(ACT_COMMAND, cmd, "alice", run_uid());
	a.extension = "box";
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	char *e = th_read(out("env"), NULL);
	cr_assert(strstr(e, "LEAK_ME") == NULL, "%s", e);
	cr_assert(strstr(e, "PATH=/usr/bin:/bin\n") != NULL, "%s", e);
	cr_assert(strstr(e, "SENDER=sender@example.org\n") != NULL, "%s", e);
	cr_assert(strstr(e, "RECIPIENT=alice@test.example\n") != NULL, "%s", e);
	cr_assert(strstr(e, "LOCAL=alice\n") != NULL, "%s", e);
	cr_assert(strstr(e, "DOMAIN=test.example\n") != NULL, "%s", e);
	cr_assert(strstr(e, "EXTENSION=box\n") != NULL, "%s", e);
	cr_assert(strstr(e, "USER=alice\n") != NULL && strstr(e, "LOGNAME=alice\n") != NULL, "%s", e);
	cr_assert(strstr(e, "ORIGINAL_RECIPIENT=alice@test.example\n") != NULL, "%s", e);
	cr_assert(strstr(e, "HOME=") != NULL && strstr(e, "SHELL=/bin/sh\n") != NULL, "%s", e);
	char *m = th_read(out("msg"), NULL);
	cr_assert(strncmp(m, "From sender@example.org ", 24) == 0, "%s", m);
	cr_assert(strstr(m, "\nReturn-Path: <sender@example.org>\nDelivered-To: alice@test.example\nSubject: test\n\nhello\n"),
		  "%s", m);
	char *u = th_read(out("uid"), NULL);
	cr_assert_eq((uid_t)atol(u), run_uid(), "ran as %s", u);
	char *p = th_read(out("pwd"), NULL);
	cr_assert(strstr(p, "/home/alice") != NULL, "%s", p);
	free(e);
	free(m);
	free(u);
	free(p);
}

Test(deliver, command_exit_codes_are_classified, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_COMMAND, "echo 'spam filter broke' >&2; exit 75", "alice", run_uid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL);
	cr_assert_str_eq(r.dsn, "4.3.0");
	a.target = "exit 71";
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL);
	a.target = "echo 'no such list' >&2; echo second line >&2; exit 1";
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_UNAVAILABLE);
	cr_assert_str_eq(r.dsn, "5.3.0");
	cr_assert(strstr(r.reason, "no such list") != NULL, "%s", r.reason);
	cr_assert(strstr(r.reason, "second line") == NULL, "only the first stderr line: %s", r.reason);
	a.target = "kill -9 $$";
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL, "a signal is temporary: %s", r.reason);
	a.target = "exec 0<&-; exit 0";
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "not reading stdin is fine: %s", r.reason);
}

Test(deliver, command_timeout_kills_the_process_group, .init = setup, .fini = teardown)
{
	struct result r;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", out("pid"));
	cfg.command_timeout = 1;
	struct action a = make_action(ACT_COMMAND, cmd, "alice", run_uid());
	time_t t0 = time(NULL);
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL);
	cr_assert(time(NULL) - t0 < 10);
	cr_assert(strstr(r.reason, "time limit") != NULL, "%s", r.reason);
	char *p = th_read(out("pid"), NULL);
	pid_t pid = (pid_t)atol(p);
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = (kill(pid, 0) != 0 && errno == ESRCH) || is_zombie(pid);
		if (!gone)
			usleep(10000);
	}
	cr_assert(gone, "background child %d of the command survived", (int)pid);
	free(p);
}

Test(deliver, forward_runs_sendmail_directly_with_delivered_to, .init = setup, .fini = teardown)
{
	struct result r;
	char script[2048];
	snprintf(script, sizeof script, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done > %s\ncat > %s\n", out("argv"),
		 out("stdin"));
	th_write(th_path(dir, "sendmail.sh"), script);
	chmod(th_path(dir, "sendmail.sh"), 0755);
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s/sendmail.sh", dir);
	struct action a = make_action(ACT_FORWARD, "friend@remote.example; rm -rf /", "alice", run_uid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	char *argv = th_read(out("argv"), NULL);
	cr_assert_str_eq(argv, "[-oi]\n[-f]\n[sender@example.org]\n[--]\n[friend@remote.example; rm -rf /]\n");
	char *in = th_read(out("stdin"), NULL);
	cr_assert_str_eq(in, "Delivered-To: alice@test.example\nSubject: test\n\nhello\n");
	free(argv);
	free(in);
	env.sender[0] = '\0';
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	argv = th_read(out("argv"), NULL);
	cr_assert(strstr(argv, "[-f]\n[<>]\n") != NULL, "null sender stays null: %s", argv);
	free(argv);
}

Test(deliver, missing_sendmail_is_temporary, .init = setup, .fini = teardown)
{
	struct result r;
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s/nonexistent", dir);
	struct action a = make_action(ACT_FORWARD, "friend@remote.example", "alice", run_uid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL, "%s", r.reason);
}

Test(deliver, root_gets_mailbox_delivery_only, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_COMMAND, "true", "alice", 0);
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL);
	cr_assert(strstr(r.reason, "as root") != NULL, "%s", r.reason);
}

/* Delivers a's command for bob as the calling user; 0 when refused as it must be. */
static int another_users_command(void *arg)
{
	struct result r;
	struct action *a = arg;
	int rc = deliver(a, 1, msg, &r);
	return rc == EX_TEMPFAIL && strstr(r.reason, "without root") ? 0 : 100 + rc;
}

/* Without root mda cannot become bob: running his .forward command with our rights would hand
 * him our account (as root the test drops to nobody for this). */
Test(deliver, without_root_another_users_command_is_not_run, .init = setup, .fini = teardown)
{
	const char *flag = out("should-not-exist");
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "touch %s", flag);
	uid_t me = geteuid() == 0 ? 65534 : getuid();
	struct action a = make_action(ACT_COMMAND, cmd, "bob", me + 1);
	cr_assert(chmod(cfg.tmp_dir, 01777) == 0);
	cr_assert_eq(th_unprivileged(another_users_command, &a), 0, "refused with 4.7.1 'without root'");
	cr_assert(access(flag, F_OK) != 0, "the command did not run");
}

Test(deliver, file_action_appends_without_dotlock, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_FILE, out("saved"), "alice", run_uid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	char *box = th_read(out("saved"), NULL);
	cr_assert(strstr(box, "hello\n\nFrom sender@example.org ") != NULL, "%s", box);
	cr_assert(access(th_path(out_dir, "saved.lock"), F_OK) != 0);
	struct stat st;
	cr_assert(stat(out("saved"), &st) == 0);
	cr_assert_eq(st.st_uid, run_uid(), "written as the user, not root");
	free(box);
}

Test(deliver, temporary_failure_wins_over_permanent, .init = setup, .fini = teardown)
{
	struct result r;
	struct action v[3] = {
		make_action(ACT_BOUNCE, NULL, "alice", run_uid()),
		make_action(ACT_COMMAND, "exit 75", "alice", run_uid()),
		make_action(ACT_MAILBOX, "alice", "alice", getuid()),
	};
	make_bounce(&v[0], EX_NOUSER, "5.1.1", "no such list member");
	cr_assert_eq(deliver(v, 3, msg, &r), EX_TEMPFAIL);
	cr_assert(access(th_path(cfg.spool_dir, "alice"), F_OK) == 0, "the good action still ran");
	struct action b = v[0];
	cr_assert_eq(deliver(&b, 1, msg, &r), EX_NOUSER);
}

Test(deliver, retry_does_not_deliver_twice, .init = setup, .fini = teardown)
{
	struct result r;
	struct mbox_spool sp;
	char cmd[1024];
	/* Fails until the flag file exists. */
	snprintf(cmd, sizeof cmd, "test -e %s || exit 75; cat > %s", out("flag"), out("cmdmsg"));
	struct action v[2] = {
		make_action(ACT_MAILBOX, "alice", "alice", getuid()),
		make_action(ACT_COMMAND, cmd, "alice", run_uid()),
	};
	struct action_list l = { v, 2, NULL };
	spool_of(&sp, msg);
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt == 2)
			th_write(out("flag"), "");
		cr_assert_eq(deliver_memo_begin(&ctx, &env, &sp, &r), EX_OK, "%s", r.reason);
		int rc = deliver_to_recipient(&ctx, &env, "alice", &l, &sp, &r);
		deliver_memo_end(&ctx, rc != EX_OK && res_is_temp(&r));
		deliver_message_reset(&ctx);   /* each attempt is a run of its own */
		cr_assert_eq(rc, attempt < 2 ? EX_TEMPFAIL : EX_OK, "attempt %d: %s", attempt, r.reason);
	}
	mbox_spool_close(&sp);
	char *box = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	size_t froms = 0;
	for (const char *p = box; (p = strstr(p, "Return-Path:")); p++)
		froms++;
	cr_assert_eq(froms, 1, "mailbox delivered once over three attempts: %s", box);
	cr_assert(access(out("cmdmsg"), F_OK) == 0);
	free(box);
	/* A different message to the same recipient is not suppressed. */
	spool_of(&sp, "Subject: other\n\nnew\n");
	cr_assert_eq(deliver_memo_begin(&ctx, &env, &sp, &r), EX_OK);
	cr_assert_eq(deliver_to_recipient(&ctx, &env, "alice", &l, &sp, &r), EX_OK, "%s", r.reason);
	deliver_memo_end(&ctx, false);
	mbox_spool_close(&sp);
	box = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_assert(strstr(box, "Subject: other") != NULL);
	free(box);
}

/* What a planted retry state must not do: block (FIFO), be believed (foreign owner, loose
 * mode, symlink), or stop the delivery. Returns the delivery's exit status. */
static int deliver_with_planted_state(void)
{
	struct result r;
	struct mbox_spool sp;
	struct action v[1] = { make_action(ACT_MAILBOX, "alice", "alice", getuid()) };
	struct action_list l = { v, 1, NULL };
	spool_of(&sp, msg);
	alarm(20);    /* a blocking open fails the test instead of hanging it */
	cr_assert_neq(deliver_memo_begin(&ctx, &env, &sp, &r), EX_OK, "the plant is refused");
	int rc = deliver_to_recipient(&ctx, &env, "alice", &l, &sp, &r);
	deliver_memo_end(&ctx, true);
	alarm(0);
	mbox_spool_close(&sp);
	return rc;
}

static const char *state_dir(void)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/mda-retry.%u", cfg.tmp_dir, (unsigned)geteuid());
	return path;
}

Test(deliver, a_symlink_at_the_retry_state_is_refused, .init = setup, .fini = teardown)
{
	th_write(out("target"), "not a state file\n");
	cr_assert(symlink(out("target"), state_dir()) == 0);
	cr_assert_eq(deliver_with_planted_state(), EX_OK);
	char *t = th_read(out("target"), NULL);
	cr_assert_str_eq(t, "not a state file\n", "nothing written through the link");
	free(t);
}

Test(deliver, a_fifo_at_the_retry_state_neither_blocks_nor_stops_delivery, .init = setup, .fini = teardown)
{
	cr_assert_eq(mkfifo(state_dir(), 0666), 0);
	cr_assert_eq(deliver_with_planted_state(), EX_OK);
	cr_assert(access(th_path(cfg.spool_dir, "alice"), F_OK) == 0, "delivered");
}

Test(deliver, a_fifo_or_loose_file_inside_the_retry_directory_is_refused, .init = setup, .fini = teardown)
{
	char file[1300];
	cr_assert_eq(mkdir(state_dir(), 0700), 0);
	snprintf(file, sizeof file, "%s/state", state_dir());
	cr_assert_eq(mkfifo(file, 0600), 0);
	cr_assert_eq(deliver_with_planted_state(), EX_OK);
	unlink(file);
	th_write(file, "");
	cr_assert_eq(chmod(file, 0666), 0);
	cr_assert_eq(deliver_with_planted_state(), EX_OK);
}

Test(deliver, a_retry_directory_open_to_others_is_refused, .init = setup, .fini = teardown)
{
	cr_assert_eq(mkdir(state_dir(), 0700), 0);
	cr_assert_eq(chmod(state_dir(), 01777), 0);
	cr_assert_eq(deliver_with_planted_state(), EX_OK);
}

Test(deliver, final_address_keeps_the_mta_domain)
{
	struct deliver_ctx c = { .hostname = "host.example" };
	char out_addr[64];
	cr_assert(deliver_final_address(&c, "bob", NULL, out_addr, sizeof out_addr));
	cr_assert_str_eq(out_addr, "bob@host.example");
	cr_assert(deliver_final_address(&c, "bob", "localhost", out_addr, sizeof out_addr));
	cr_assert_str_eq(out_addr, "bob@localhost");
	cr_assert(deliver_final_address(&c, "bob@x.example", "localhost", out_addr, sizeof out_addr));
	cr_assert_str_eq(out_addr, "bob@x.example");
	cr_assert(!deliver_final_address(&c, "a-very-long-local-part-that-does-not-fit-in-the-buffer", NULL, out_addr, 16));
}

/* ---- expansion_limit across the recipients of one message ---- */

/* alice forwards to n remote addresses; an engine-backed context for deliver_prepare. */
static void forwarding_alice(struct deliver_ctx *c, int n, int limit)
{
	char text[4096] = "", path[1200];
	struct result r;
	for (int i = 0; i < n; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "a%d@remote.example\n", i);
	snprintf(path, sizeof path, "%s/home/alice/.forward", dir);
	th_write(path, text);
	cfg.expansion_limit = limit;
	cr_assert_eq(deliver_init(c, &cfg, &r), EX_OK, "%s", r.reason);
}

Test(deliver, a_message_holds_at_most_expansion_limit_destinations, .init = setup, .fini = teardown)
{
	struct deliver_ctx c;
	struct action_list first, second, third;
	struct result r;
	forwarding_alice(&c, 3, 5);
	cr_assert_eq(deliver_prepare(&c, "alice", &first, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(first.n, 3);
	/* Alone it fits: the client may send it in its next transaction (LMTP 452, stdin 75). */
	cr_assert_eq(deliver_prepare(&c, "alice+again", &second, &r), EX_TEMPFAIL);
	cr_assert_str_eq(r.dsn, "4.5.3");
	cr_assert_eq(res_reply_code(&r), 452);
	cr_assert_eq(mda_exit_code(&r), EX_TEMPFAIL);
	cr_assert(strstr(r.reason, "expansion_limit 5") != NULL, "%s", r.reason);
	cr_assert_eq(second.n, 0);
	deliver_release(&c, &first);   /* the transaction ended */
	cr_assert_eq(deliver_prepare(&c, "alice+again", &third, &r), EX_OK, "%s", r.reason);
	deliver_release(&c, &third);
	cr_assert_eq(c.held, 0);
	deliver_cleanup(&c);
}

Test(deliver, a_recipient_alone_over_expansion_limit_fails_permanently, .init = setup, .fini = teardown)
{
	struct deliver_ctx c;
	struct action_list l;
	struct result r;
	forwarding_alice(&c, 3, 2);
	cr_assert_eq(deliver_prepare(&c, "alice", &l, &r), EX_UNAVAILABLE);
	cr_assert_str_eq(r.dsn, "5.2.4");
	cr_assert_eq(res_reply_code(&r) / 100, 5, "permanent: no retry can help");
	cr_assert_eq(mda_exit_code(&r), EX_UNAVAILABLE);
	cr_assert_eq(c.held, 0, "a refused recipient holds nothing");
	deliver_cleanup(&c);
}

/* ---- Once per destination per message ---- */

static size_t count_status_sent(const char *log)
{
	size_t n = 0;
	for (const char *p = log; (p = strstr(p, "status=sent")); p++)
		n++;
	return n;
}

static size_t lines_in(const char *path)
{
	size_t n = 0;
	char *text = access(path, F_OK) == 0 ? th_read(path, NULL) : NULL;
	for (const char *p = text; p && (p = strchr(p, '\n')); p++)
		n++;
	free(text);
	return n;
}

static size_t copies(const char *user)
{
	size_t n = 0;
	char *box = access(th_path(cfg.spool_dir, user), F_OK) == 0 ? th_read(th_path(cfg.spool_dir, user), NULL) : NULL;
	for (const char *p = box; p && (p = strstr(p, "Return-Path:")); p++)
		n++;
	free(box);
	return n;
}

/* Delivers the spool to one recipient's actions with the log captured; returns r->ex. */
static int deliver_logged(const char *rcpt, struct action *v, size_t n, const struct mbox_spool *sp,
			  struct result *r, char **log)
{
	const char *path = th_path(dir, "deliver.log");
	struct action_list l = { v, n, NULL };
	fflush(stderr);
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	int rc = deliver_to_recipient(&ctx, &env, rcpt, &l, sp, r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*log = th_read(path, NULL);
	return rc;
}

/* RCPT alice and RCPT team (alice, bob, and alice's vacation-like command) in one message. */
Test(deliver, each_destination_gets_a_message_once_whichever_recipients_lead_there, .init = setup, .fini = teardown)
{
	struct result r;
	struct mbox_spool sp;
	char cmd[1200], *log;
	snprintf(cmd, sizeof cmd, "echo ran >> %s", out("runs"));
	struct action alice[2] = {
		make_action(ACT_MAILBOX, "alice", "alice", getuid()),
		make_action(ACT_COMMAND, cmd, "alice", run_uid()),
	};
	struct action team[3] = {
		make_action(ACT_MAILBOX, "alice", "alice", getuid()),
		make_action(ACT_COMMAND, cmd, "alice", run_uid()),
		make_action(ACT_MAILBOX, "bob", "bob", getuid()),
	};
	spool_of(&sp, msg);
	cr_assert_eq(deliver_logged("alice", alice, 2, &sp, &r, &log), EX_OK, "%s", r.reason);
	free(log);
	cr_assert_eq(deliver_logged("team", team, 3, &sp, &r, &log), EX_OK, "every destination reached: %s", r.reason);
	cr_assert_eq(copies("alice"), 1, "alice's mailbox got two copies");
	cr_assert_eq(copies("bob"), 1);
	cr_assert_eq(lines_in(out("runs")), 1, "the command ran twice");
	cr_assert(strstr(log, "to=<alice@test.example>, relay=local, expansion=mda, duplicate of mailbox alice in "
			      "this message, not delivered again (first copy: sent)") != NULL, "%s", log);
	cr_assert_eq(count_status_sent(log), 1, "only bob's copy is a delivery: %s", log);
	free(log);
	/* The next message is a message of its own. */
	deliver_message_reset(&ctx);
	cr_assert_eq(deliver_logged("team", team, 3, &sp, &r, &log), EX_OK, "%s", r.reason);
	free(log);
	mbox_spool_close(&sp);
	cr_assert_eq(copies("alice"), 2);
	cr_assert_eq(lines_in(out("runs")), 2);
}

/* The command "CMD >> out/runs; TAIL" for rcpt1, then for rcpt2, in one message; each must
 * end with its want; returns the second delivery's log (malloc'd). */
static char *command_for_two(const char *cmd_head, const char *tail, const char *rcpt1, const char *rcpt2,
			     int want1, int want2)
{
	struct result r;
	struct mbox_spool sp;
	char cmd[1200], *log;
	snprintf(cmd, sizeof cmd, "%s >> %s%s", cmd_head, out("runs"), tail);
	struct action a = make_action(ACT_COMMAND, cmd, rcpt1, run_uid());
	struct action b = make_action(ACT_COMMAND, cmd, rcpt2, run_uid());
	spool_of(&sp, msg);
	cr_assert_eq(deliver_logged(rcpt1, &a, 1, &sp, &r, &log), want1, "%s", r.reason);
	free(log);
	cr_assert_eq(deliver_logged(rcpt2, &b, 1, &sp, &r, &log), want2, "%s", r.reason);
	mbox_spool_close(&sp);
	return log;
}

Test(deliver, a_duplicate_gets_the_first_copys_failure_not_a_new_try, .init = setup, .fini = teardown)
{
	char *log = command_for_two("echo ran", "; exit 75", "alice", "alice", EX_TEMPFAIL, EX_TEMPFAIL);
	cr_assert(strstr(log, "(first copy: deferred)") != NULL, "%s", log);
	free(log);
	cr_assert_eq(lines_in(out("runs")), 1, "the command was tried again for the duplicate");
}

Test(deliver, same_command_for_another_recipient_is_another_destination, .init = setup, .fini = teardown)
{
	/* An alias command names its recipient in $RECIPIENT: list1's run is not list2's. */
	free(command_for_two("echo $RECIPIENT", "", "list1", "list2", EX_OK, EX_OK));
	cr_assert_eq(lines_in(out("runs")), 2);
}

/* ---- quotas (mailbox_size_limit, quota_file, quota_warning) and biff ---- */
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include "mda/expand.h"

static off_t spool_size(const char *user)
{
	struct stat st;
	return stat(th_path(cfg.spool_dir, user), &st) == 0 ? st.st_size : -1;
}

Test(deliver, a_message_past_the_limit_is_refused_and_the_mailbox_left_as_it_was, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	off_t one = spool_size("alice");
	/* Exactly room for a second copy: it fits; a third does not, and permanently. */
	cfg.mailbox_size_limit = 2 * one;
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "limit = size after: fits (%s)", r.reason);
	cr_assert_eq(spool_size("alice"), 2 * one);
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_CANTCREAT, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "5.2.2");
	cr_assert_eq(res_reply_code(&r), 552);
	cr_assert_eq(spool_size("alice"), 2 * one, "the refused message left nothing");
	cfg.quota_full_tempfail = true;
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_TEMPFAIL, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.2");
	cr_assert_eq(res_reply_code(&r), 452);
	cr_assert_eq(spool_size("alice"), 2 * one);
}

Test(deliver, a_user_line_in_quota_file_beats_mailbox_size_limit, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	struct action b = make_action(ACT_MAILBOX, "bob", "bob", getuid());
	cfg.mailbox_size_limit = 10;
	snprintf(cfg.quota_file, sizeof cfg.quota_file, "%s/quota", dir);
	th_write(cfg.quota_file, "alice 0\n");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "alice has no limit: %s", r.reason);
	cr_assert_eq(deliver(&b, 1, msg, &r), EX_CANTCREAT, "bob has the default 10 bytes");
	th_write(cfg.quota_file, "alice 0\nbob oops\n");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_CONFIG, "a bad quota_file line stops delivery");
	cr_assert(strstr(r.reason, "quota:2: ") != NULL, "%s", r.reason);
}

static size_t count_in(const char *user, const char *needle)
{
	char *box = th_read(th_path(cfg.spool_dir, user), NULL);
	size_t n = 0;
	for (const char *p = box; p && (p = strstr(p, needle)); p++)
		n++;
	free(box);
	return n;
}

Test(deliver, crossing_a_warning_percentage_leaves_one_warning, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	off_t one = spool_size("alice");
	/* 20 copies fill it: the 8th reaches 40%. */
	cfg.mailbox_size_limit = 20 * one;
	snprintf(cfg.quota_warning, sizeof cfg.quota_warning, "40 100");
	cr_assert_eq(quota_check_config(&cfg, &r), EX_OK, "%s", r.reason);
	for (int i = 2; i <= 7; i++)
		cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(count_in("alice", "\nFrom MAILER-DAEMON "), 0, "35%%: no warning yet");
	off_t before = spool_size("alice");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	cr_assert_eq(count_in("alice", "\nFrom MAILER-DAEMON "), 1, "the 40%% crossing warns");
	cr_assert_eq(count_in("alice", "Your mailbox is 40% full"), 1);
	cr_assert_eq(count_in("alice", "\nReturn-Path: <>\nDelivered-To: alice\n"), 1, "from the null sender");
	cr_assert_gt(spool_size("alice"), before + one, "the warning is in the mailbox");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	cr_assert_eq(count_in("alice", "\nFrom MAILER-DAEMON "), 1, "still over 40%%: no second warning");
}

Test(deliver, a_full_mailbox_is_refused_at_rcpt_time, .init = setup, .fini = teardown)
{
	struct result r;
	struct action_list l;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	ctx.expander = expand_new(&cfg);
	cr_assert_not_null(ctx.expander);
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	cfg.mailbox_size_limit = spool_size("alice") + 1;
	cr_assert_eq(deliver_prepare(&ctx, "alice@test.example", &l, &r), EX_OK, "one byte of room: %s", r.reason);
	deliver_release(&ctx, &l);
	cfg.mailbox_size_limit = spool_size("alice");
	cr_assert_eq(deliver_prepare(&ctx, "alice@test.example", &l, &r), EX_CANTCREAT, "full: refused");
	cr_assert_str_eq(r.dsn, "5.2.2");
	cr_assert(strstr(r.reason, "mailbox full") != NULL, "%s", r.reason);
	cfg.quota_full_tempfail = true;
	cr_assert_eq(deliver_prepare(&ctx, "alice@test.example", &l, &r), EX_TEMPFAIL);
	cr_assert_str_eq(r.dsn, "4.2.2");
	cr_assert_eq(ctx.held, 0, "a refused recipient holds no destinations");
	cr_assert_eq(deliver_prepare(&ctx, "bob@test.example", &l, &r), EX_OK, "bob has no mailbox yet: %s", r.reason);
	deliver_release(&ctx, &l);
	expand_free(ctx.expander);
	ctx.expander = NULL;
}

Test(deliver, each_mailbox_delivery_sends_one_comsat_datagram, .init = setup, .fini = teardown)
{
	struct result r;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	char port[16], got[512], want[1200];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	snprintf(port, sizeof port, "%u", ntohs(sa.sin_port));
	setenv("MDA_TEST_BIFF_PORT", port, 1);
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	struct action f = make_action(ACT_FILE, out("file"), "alice", run_uid());
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	off_t first = spool_size("alice");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	cr_assert_eq(deliver(&f, 1, msg, &r), EX_OK, "%s", r.reason);
	cfg.biff = false;
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	unsetenv("MDA_TEST_BIFF_PORT");
	const char *path = th_path(cfg.spool_dir, "alice");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 2000), 1, "datagram %d", i + 1);
		ssize_t n = recv(fd, got, sizeof got - 1, 0);
		got[n > 0 ? n : 0] = '\0';
		snprintf(want, sizeof want, "alice@%lld:%s", i ? (long long)first : 0LL, path);
		cr_assert_str_eq(got, want, "user@offset:mailbox");
	}
	cr_assert_eq(poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 300), 0,
		     "no datagram for a file delivery, none with biff = no");
	close(fd);
}

/* ---- SMTPUTF8 local parts: an alias may have one, a mailbox name never does ---- */
#include "aliases/aliases.h"

Test(deliver, a_utf8_local_part_reaches_its_alias_and_is_553_without_one, .init = setup, .fini = teardown)
{
	struct result r;
	struct action_list l;
	struct alias_compile_stats st;
	th_write(cfg.aliases_file, "j\xc3\xbcrgen: alice\n");
	cr_assert_eq(alias_compile(cfg.aliases_file, cfg.aliases_db, NULL, &st, &r), EX_OK, "%s", r.reason);
	ctx.expander = expand_new(&cfg);
	cr_assert_not_null(ctx.expander);
	cr_assert_eq(deliver_prepare(&ctx, "j\xc3\xbcrgen@test.example", &l, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.v[0].target, "alice");
	deliver_release(&ctx, &l);
	cr_assert_eq(deliver_prepare(&ctx, "m\xc3\xbcller@test.example", &l, &r), EX_NOUSER);
	cr_assert_str_eq(r.dsn, "5.6.7");
	cr_assert_eq(res_reply_code(&r), 553);
	cr_assert(strstr(r.reason, "non-ASCII") != NULL, "%s", r.reason);
	cr_assert_eq(deliver_prepare(&ctx, "mueller@test.example", &l, &r), EX_NOUSER, "ASCII: 5.1.1 as before");
	cr_assert_str_eq(r.dsn, "5.1.1");
	expand_free(ctx.expander);
	ctx.expander = NULL;
}

Test(deliver, quota_scope_all_counts_the_folders_too, .init = setup, .fini = teardown)
{
	struct result r;
	struct action a = make_action(ACT_MAILBOX, "alice", "alice", getuid());
	char folders[1200], big[3001];
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK);
	off_t one = spool_size("alice");
	snprintf(folders, sizeof folders, "%s/home/alice/Mail", dir);
	cr_assert(mkdir(folders, 0700) == 0 && mkdir(th_path(folders, "lists"), 0700) == 0);
	memset(big, 'x', 3000);
	big[3000] = '\0';
	th_write(th_path(folders, "lists/linux"), big);      /* 3000 bytes in a folder */
	cr_assert(symlink("/etc/passwd", th_path(folders, "link")) == 0);   /* not followed */
	snprintf(cfg.mail_folder_dir, sizeof cfg.mail_folder_dir, "~/Mail");
	cfg.mailbox_size_limit = 3000 + 2 * one;
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "spool only: room for many (%s)", r.reason);
	snprintf(cfg.quota_scope, sizeof cfg.quota_scope, "all");
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_CANTCREAT, "the folder's 3000 bytes leave no room for a third copy");
	cr_assert_str_eq(r.dsn, "5.2.2");
	cr_assert_eq(spool_size("alice"), 2 * one);
	cfg.mailbox_size_limit = 3000 + 3 * one;
	cr_assert_eq(deliver(&a, 1, msg, &r), EX_OK, "exactly the room for it: %s", r.reason);
}
