/* Unit tests for mbox_append: quoting round trip, separators, rollback, kill -9 repair, races. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static const char *dir;

static void setup(void)
{
	dir = th_tmpdir();
	setenv("TZ", "UTC", 1);
	tzset();
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mbox_append, .init = setup, .fini = teardown);

static int deliver_q(const char *path, const char *sender, const char *msg, size_t len,
		     enum mbox_quoting q, const char *headers, struct result *r)
{
	struct mbox_spool sp;
	cr_assert_eq(mbox_spool_open(&sp, dir, r), EX_OK, "%s", r->reason);
	cr_assert_eq(mbox_spool_write(&sp, msg, len, r), EX_OK);
	cr_assert_eq(mbox_spool_finish(&sp, r), EX_OK);
	struct mbox_delivery d = {
		.path = path, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true, .sender = sender,
		.arrival = 1506657829, .headers = headers, .msg = &sp, .quoting = q,
		.lock_timeout = 5, .fsync = true,
	};
	int ex = mbox_append(&d, r);
	mbox_spool_close(&sp);
	return ex;
}

static int deliver(const char *path, const char *msg, struct result *r)
{
	return deliver_q(path, "sender@example.org", msg, strlen(msg), QUOTE_MBOXRD, NULL, r);
}

/* Removes one '>' from lines matching ^>+From  (mboxrd reading). */
static char *unquote_rd(const char *p, size_t n, size_t *out_len)
{
	char *out = malloc(n + 1);
	size_t o = 0;
	bool bol = true;
	for (size_t i = 0; i < n; i++) {
		if (bol && p[i] == '>') {
			size_t j = i;
			while (j < n && p[j] == '>')
				j++;
			if (n - j >= 5 && memcmp(p + j, "From ", 5) == 0)
				i++;   /* drop one '>' */
		}
		out[o++] = p[i];
		bol = p[i] == '\n';
	}
	*out_len = o;
	return out;
}

static const char TRICKY[] =
	"Subject: tricky\n"
	"\n"
	"From the first body line\n"
	">From once\n"
	">>>From thrice\n"
	"\n"
	"From after a blank line\n"
	"From \n"
	"last line without newline >From";

Test(mbox_append, mboxrd_round_trip_gives_back_the_original_bytes)
{
	struct result r;
	const char *mb = th_path(dir, "mbox");
	cr_assert_eq(deliver(mb, TRICKY, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(deliver(mb, TRICKY, &r), EX_OK, "%s", r.reason);
	struct mbox_index idx;
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct mbox_msg *m = &idx.msgs[i];
		size_t len;
		char *back = unquote_rd(idx.map + m->headers, (size_t)(m->content_end - m->headers), &len);
		/* The appender added the missing final newline; everything else is the original. */
		cr_assert_eq(len, sizeof TRICKY, "msg %zu: %zu bytes", i, len);
		cr_assert(memcmp(back, TRICKY, sizeof TRICKY - 1) == 0);
		cr_assert_eq(back[len - 1], '\n');
		free(back);
		cr_assert_str_eq(m->subject, "tricky");
		cr_assert_str_eq(m->envelope_sender, "sender@example.org");
		cr_assert_eq(m->from_date, 1506657829);
	}
	mbox_index_close(&idx);
}

Test(mbox_append, file_size_is_exactly_the_predicted_size)
{
	struct result r;
	struct mbox_spool sp;
	const char *mb = th_path(dir, "mbox");
	cr_assert_eq(mbox_spool_open(&sp, dir, &r), EX_OK);
	mbox_spool_write(&sp, TRICKY, sizeof TRICKY - 1, &r);
	mbox_spool_finish(&sp, &r);
	char from[128];
	int fl = mbox_from_line(from, sizeof from, "s@x", 1506657829);
	const char *hdrs = "Return-Path: <s@x>\nDelivered-To: alice\n";
	for (int q = QUOTE_MBOXRD; q <= QUOTE_MBOXO; q++) {
		struct mbox_delivery d = { .path = mb, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true,
					   .sender = "s@x", .arrival = 1506657829, .headers = hdrs,
					   .msg = &sp, .quoting = (enum mbox_quoting)q, .lock_timeout = 5 };
		unlink(mb);
		cr_assert_eq(mbox_append(&d, &r), EX_OK, "%s", r.reason);
		struct stat st;
		cr_assert_eq(stat(mb, &st), 0);
		cr_assert_eq(st.st_size, fl + (off_t)strlen(hdrs) + mbox_spool_mbox_size(&sp, (enum mbox_quoting)q));
		cr_assert_eq(st.st_mode & 07777, 0600);
	}
	mbox_spool_close(&sp);
}

Test(mbox_append, mboxo_quotes_only_bare_from_lines)
{
	struct result r;
	const char *mb = th_path(dir, "mbox");
	const char *msg = "A: b\n\nFrom x\n>From y\n";
	cr_assert_eq(deliver_q(mb, "s@x", msg, strlen(msg), QUOTE_MBOXO, NULL, &r), EX_OK);
	char *got = th_read(mb, NULL);
	cr_assert_str_eq(got, "From s@x Fri Sep 29 04:03:49 2017\nA: b\n\n>From x\n>From y\n\n");
	free(got);
}

Test(mbox_append, empty_sender_missing_newline_and_headers)
{
	struct result r;
	const char *mb = th_path(dir, "mbox");
	const char *msg = "Subject: x\r\n\r\nno final newline";
	cr_assert_eq(deliver_q(mb, "", msg, strlen(msg), QUOTE_MBOXRD, "Delivered-To: a\n", &r), EX_OK);
	char *got = th_read(mb, NULL);
	cr_assert_str_eq(got, "From MAILER-DAEMON Fri Sep 29 04:03:49 2017\nDelivered-To: a\n"
			      "Subject: x\n\nno final newline\n\n");
	free(got);
}

Test(mbox_append, foreign_mailbox_without_separator_gets_one)
{
	struct result r;
	const char *mb = th_path(dir, "mbox");
	const char *starts[] = { "From a Fri Sep 29 04:03:49 2017\nA: 1\n\nbody",
				 "From a Fri Sep 29 04:03:49 2017\nA: 1\n\nbody\n", "\n" };
	for (size_t t = 0; t < 3; t++) {
		th_write(mb, starts[t]);
		cr_assert_eq(deliver(mb, "B: 2\n\nsecond\n", &r), EX_OK);
		struct mbox_index idx;
		cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
		cr_assert_eq(idx.count, t < 2 ? 2 : 1, "case %zu: %zu", t, idx.count);
		const struct mbox_msg *m = &idx.msgs[idx.count - 1];
		cr_assert_eq(m->content_end - m->headers, 13);
		cr_assert(memcmp(idx.map + m->headers, "B: 2\n\nsecond\n", 13) == 0);
		if (t < 2) {
			const struct mbox_msg *f = &idx.msgs[0];
			cr_assert(memcmp(idx.map + f->body, "body\n", 5) == 0);
		}
		mbox_index_close(&idx);
	}
}

Test(mbox_append, append_raw_on_a_held_lock)
{
	struct result r;
	struct mbox_lock lk;
	const char *mb = th_path(dir, "mbox");
	th_write(mb, "From a Fri Sep 29 04:03:49 2017\nA: 1\n\nbody\n");
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 2, &lk, &r), EX_OK, "%s", r.reason);
	const char raw[] = "From b Fri Sep 29 04:03:49 2017\nB: 2\n\nx\n\n";
	cr_assert_eq(mbox_append_raw(&lk, raw, sizeof raw - 1, true, &r), EX_OK, "%s", r.reason);
	mbox_unlock(&lk);
	mbox_unlock(&lk);
	char *got = th_read(mb, NULL);
	cr_assert_str_eq(got, "From a Fri Sep 29 04:03:49 2017\nA: 1\n\nbody\n\n"
			      "From b Fri Sep 29 04:03:49 2017\nB: 2\n\nx\n\n");
	free(got);
}

/* Runs fn in a child; returns its wait status. The child reports its result over a pipe. */
static int in_child(void (*fn)(const char *), const char *mb, struct result *r)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 100);
		fn(mb);
		_exit(0);
	}
	close(p[1]);
	memset(r, 0, sizeof *r);
	ssize_t got = read(p[0], r, sizeof *r);
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (got != (ssize_t)sizeof *r)
		r->ex = -1;
	return status;
}

static char *big_message(size_t n)
{
	char *m = malloc(n + 1);
	memcpy(m, "Subject: big\n\n", 14);
	for (size_t i = 14; i < n; i++)
		m[i] = i % 64 == 63 ? '\n' : (i % 64 == 0 ? 'F' : 'x');
	m[n] = '\0';
	return m;
}

/* Children must not call cr_assert (Criterion only accepts reports from the test process), so
 * they spool and append by hand and report the result over fd 100. `limit_fsize` applies
 * RLIMIT_FSIZE after spooling: only the mailbox append should hit it. */
static void child_deliver_big_limited(const char *mb, bool limit_fsize)
{
	struct result r;
	struct mbox_spool sp;
	char *m = big_message(300 * 1000);
	if (mbox_spool_open(&sp, dir, &r) || mbox_spool_write(&sp, m, strlen(m), &r) ||
	    mbox_spool_finish(&sp, &r))
		_exit(2);
	if (limit_fsize) {
		struct rlimit rl = { 20000, 20000 };
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	struct mbox_delivery d = {
		.path = mb, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true,
		.sender = "sender@example.org", .arrival = 1506657829, .msg = &sp,
		.quoting = QUOTE_MBOXRD, .lock_timeout = 5, .fsync = true,
	};
	mbox_append(&d, &r);
	mbox_spool_close(&sp);
	(void)!write(100, &r, sizeof r);
}

static void child_deliver_big(const char *mb)
{
	child_deliver_big_limited(mb, false);
}

static void child_fsize_limited(const char *mb)
{
	child_deliver_big_limited(mb, true);
}

Test(mbox_append, real_write_failure_rolls_back_exactly)
{
	struct result r;
	const char *mb = th_path(dir, "mbox");
	char *old = big_message(10000);
	size_t old_len;
	th_write(mb, "From a Fri Sep 29 04:03:49 2017\n");
	FILE *fp = fopen(mb, "a");
	fputs(old, fp);
	fclose(fp);
	char *before = th_read(mb, &old_len);
	int status = in_child(child_fsize_limited, mb, &r);
	cr_assert(WIFEXITED(status), "child died: %d", status);
	cr_assert_eq(r.ex, EX_TEMPFAIL, "ex %d: %s", r.ex, r.reason);
	cr_assert_str_eq(r.dsn, "4.2.2", "%s", r.reason);
	size_t len;
	char *after = th_read(mb, &len);
	cr_assert_eq(len, old_len);
	cr_assert(memcmp(before, after, len) == 0);
	cr_assert_eq(getxattr(mb, "user.mda.append", NULL, 0), -1, "journal removed");
	free(old);
	free(before);
	free(after);
}

static void child_die_half(const char *mb)
{
	setenv("MBOX_TEST_DIE_AFTER_BYTES", "150000", 1);
	child_deliver_big(mb);
}

static void child_die_after_data(const char *mb)
{
	setenv("MBOX_TEST_DIE_AFTER_BYTES", "999999999", 1);
	child_deliver_big(mb);
}

static off_t file_size(const char *p)
{
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

static void check_kill9_repair(bool file_journal)
{
	struct result r;
	struct mbox_lock lk;
	struct mbox_index idx;
	const char *mb = th_path(dir, "mbox");
	if (file_journal)
		setenv("MBOX_TEST_NO_XATTR", "1", 1);
	cr_assert_eq(deliver(mb, "A: 1\n\nfirst\n", &r), EX_OK);
	off_t p = file_size(mb);
	int status = in_child(child_die_half, mb, &r);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
	cr_assert_eq(file_size(mb), p + 150000, "half a message is there");
	/* A reader without the lock does not see the torn bytes. */
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 1);
	cr_assert_eq(idx.size, p);
	mbox_index_close(&idx);
	/* The next lock taker repairs. */
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 2, &lk, &r), EX_OK, "%s", r.reason);
	mbox_unlock(&lk);
	cr_assert_eq(file_size(mb), p);
	cr_assert_eq(access(th_path(dir, ".mbox.mda-journal"), F_OK), -1);
	cr_assert_eq(getxattr(mb, "user.mda.append", NULL, 0), -1);
	cr_assert_eq(deliver(mb, "A: 2\n\nsecond\n", &r), EX_OK);
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 2);
	mbox_index_close(&idx);
}

Test(mbox_append, kill9_mid_message_is_repaired_by_next_lock_xattr)
{
	check_kill9_repair(false);
}

Test(mbox_append, kill9_mid_message_is_repaired_by_next_lock_journal_file)
{
	check_kill9_repair(true);
	unsetenv("MBOX_TEST_NO_XATTR");
}

Test(mbox_append, kill9_after_all_data_keeps_the_message)
{
	struct result r;
	struct mbox_lock lk;
	struct mbox_index idx;
	const char *mb = th_path(dir, "mbox");
	cr_assert_eq(deliver(mb, "A: 1\n\nfirst\n", &r), EX_OK);
	int status = in_child(child_die_after_data, mb, &r);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	off_t s = file_size(mb);
	cr_assert(getxattr(mb, "user.mda.append", NULL, 0) > 0, "journal left behind");
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 2, &lk, &r), EX_OK);
	mbox_unlock(&lk);
	cr_assert_eq(file_size(mb), s, "complete append kept");
	cr_assert_eq(getxattr(mb, "user.mda.append", NULL, 0), -1, "journal removed");
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 2);
	cr_assert_str_eq(idx.msgs[1].subject, "big");
	mbox_index_close(&idx);
}

Test(mbox_append, torn_tail_followed_by_foreign_mail_is_kept)
{
	struct result r;
	struct mbox_lock lk;
	const char *mb = th_path(dir, "mbox");
	cr_assert_eq(deliver(mb, "A: 1\n\nfirst\n", &r), EX_OK);
	int status = in_child(child_die_half, mb, &r);
	cr_assert(WIFSIGNALED(status));
	/* A writer that knows no journal (another MDA) appends after the torn bytes. */
	FILE *fp = fopen(mb, "a");
	fputs("\n\nFrom other Fri Sep 29 04:03:49 2017\nB: 2\n\nforeign\n\n", fp);
	fclose(fp);
	off_t s = file_size(mb);
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 2, &lk, &r), EX_OK);
	mbox_unlock(&lk);
	cr_assert_eq(file_size(mb), s, "never truncate someone else's mail");
}

static void child_deliver_many(const char *tag)
{
	struct result r;
	char msg[256];
	const char *mb = th_path(dir, "mbox");
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(msg, sizeof msg, "Subject: %s %d\n\nFrom %s\nbody %s %d\n", tag, i, tag, tag, i);
		struct mbox_spool sp;
		if (mbox_spool_open(&sp, dir, &r) || mbox_spool_write(&sp, msg, (size_t)n, &r) ||
		    mbox_spool_finish(&sp, &r))
			_exit(2);
		struct mbox_delivery d = { .path = mb, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true,
					   .sender = tag, .arrival = 1506657829, .msg = &sp,
					   .quoting = QUOTE_MBOXRD, .lock_timeout = 30, .fsync = false };
		if (mbox_append(&d, &r) != EX_OK)
			_exit(3);
		mbox_spool_close(&sp);
	}
	_exit(0);
}

Test(mbox_append, two_processes_1000_messages_each_do_not_interleave, .timeout = 120)
{
	const char *mb = th_path(dir, "mbox");
	pid_t kids[2];
	const char *tags[2] = { "alpha", "beta" };
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		cr_assert(kids[k] >= 0);
		if (kids[k] == 0)
			child_deliver_many(tags[k]);
	}
	for (int k = 0; k < 2; k++) {
		int status;
		cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: %d", k, status);
	}
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 2000);
	int next[2] = { 0, 0 };
	for (size_t i = 0; i < idx.count; i++) {
		const struct mbox_msg *m = &idx.msgs[i];
		int k = strcmp(m->envelope_sender, "alpha") == 0 ? 0 : 1;
		char want[256];
		int n = snprintf(want, sizeof want, "Subject: %s %d\n\n>From %s\nbody %s %d\n", tags[k],
				 next[k], tags[k], tags[k], next[k]);
		cr_assert_eq(m->content_end - m->headers, n, "message %zu", i);
		cr_assert(memcmp(idx.map + m->headers, want, (size_t)n) == 0, "message %zu", i);
		next[k]++;
	}
	cr_assert_eq(next[0], 1000);
	cr_assert_eq(next[1], 1000);
	mbox_index_close(&idx);
}

/* A tiny tmpfs of its own, in a private mount namespace of this test process (Criterion runs
 * each test in its own process), so nothing outlives the test. False when not possible. */
static bool mount_tiny_tmpfs(const char *where)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return false;
	cr_assert_eq(mkdir(where, 0700), 0);
	return mount("tmpfs", where, "tmpfs", 0, "size=64k,mode=0700") == 0;
}

Test(mbox_append, enospc_on_a_full_filesystem_rolls_back_to_the_exact_bytes)
{
	const char *tiny = th_path(dir, "tiny");
	if (!mount_tiny_tmpfs(tiny))
		cr_skip_test("needs root to mount a 64 KiB tmpfs (real ENOSPC); "
			     "real_write_failure_rolls_back_exactly covers the unprivileged case");
	struct result r;
	const char *mb = th_path(tiny, "alice");
	char *old = big_message(20000);
	cr_assert_eq(deliver(mb, old, &r), EX_OK, "%s", r.reason);
	size_t old_len, len;
	char *before = th_read(mb, &old_len);
	char *huge = big_message(300 * 1000);
	cr_assert_eq(deliver(mb, huge, &r), EX_TEMPFAIL, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.2", "%s", r.reason);
	cr_assert(strstr(r.reason, "No space left on device") != NULL, "%s", r.reason);
	char *after = th_read(mb, &len);
	cr_assert_eq(len, old_len, "truncated back to %zu bytes, not %zu", old_len, len);
	cr_assert(memcmp(before, after, len) == 0, "the original bytes are back");
	cr_assert_eq(getxattr(mb, "user.mda.append", NULL, 0), -1, "no journal left");
	cr_assert_eq(access(th_path(tiny, ".alice.mda-journal"), F_OK), -1, "no journal file left");
	/* The space is given back: a message that fits still goes in. */
	cr_assert_eq(deliver(mb, "Subject: small\n\nfits\n", &r), EX_OK, "%s", r.reason);
	umount2(tiny, MNT_DETACH);
	free(old);
	free(huge);
	free(before);
	free(after);
}

/* What the streaming child reports. */
struct stream_report {
	struct result r;
	long rss_growth_kib;    /* peak RSS after the delivery minus before it */
	off_t expected_size;    /* From_ line + mbox form of the spool */
};

#define HUGE_MESSAGE (200L * 1024 * 1024)

/* Spools and appends a 200 MiB CRLF message (every 16th line starting "From ") 64 KiB at a
 * time and reports over fd 100. The child never holds the message: only chunk buffers. */
static void child_stream_huge(const char *mb)
{
	struct stream_report rep = { .rss_growth_kib = -1 };
	struct rusage ru;
	struct mbox_spool sp;
	static char chunk[64 * 1024];
	getrusage(RUSAGE_SELF, &ru);
	long rss0 = ru.ru_maxrss;
	for (size_t i = 0; i < sizeof chunk; i += 64) {
		memset(chunk + i, 'x', 62);
		if (i % (16 * 64) == 0)
			memcpy(chunk + i, "From ", 5);
		memcpy(chunk + i + 62, "\r\n", 2);
	}
	if (mbox_spool_open(&sp, dir, &rep.r) || mbox_spool_write(&sp, "Subject: huge\r\n\r\n", 17, &rep.r))
		_exit(2);
	for (long done = 0; done < HUGE_MESSAGE; done += (long)sizeof chunk)
		if (mbox_spool_write(&sp, chunk, sizeof chunk, &rep.r))
			_exit(2);
	if (mbox_spool_finish(&sp, &rep.r))
		_exit(2);
	struct mbox_delivery d = {
		.path = mb, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true, .sender = "big@x",
		.arrival = 1506657829, .msg = &sp, .quoting = QUOTE_MBOXRD, .lock_timeout = 5,
		.fsync = false,
	};
	char from[128];
	rep.expected_size = mbox_from_line(from, sizeof from, "big@x", 1506657829) +
			    mbox_spool_mbox_size(&sp, QUOTE_MBOXRD);
	mbox_append(&d, &rep.r);
	mbox_spool_close(&sp);
	getrusage(RUSAGE_SELF, &ru);
	rep.rss_growth_kib = ru.ru_maxrss - rss0;
	(void)!write(100, &rep, sizeof rep);
	_exit(0);
}

Test(mbox_append, a_200_mib_message_is_streamed_not_held_in_memory, .timeout = 120)
{
	const char *mb = th_path(dir, "mbox");
	struct stream_report rep;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 100);
		child_stream_huge(mb);
	}
	close(p[1]);
	ssize_t got = read(p[0], &rep, sizeof rep);
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_eq(got, (ssize_t)sizeof rep);
	cr_assert_eq(rep.r.ex, EX_OK, "%s", rep.r.reason);
	struct stat st;
	cr_assert_eq(stat(mb, &st), 0);
	cr_assert_eq(st.st_size, rep.expected_size);
	/* 200 MiB of CRLF lines become LF lines, one '>' per 16th line: the size says so. */
	off_t lines = HUGE_MESSAGE / 64;
	cr_assert_eq(st.st_size, 36 + 15 + (HUGE_MESSAGE - lines) + lines / 16 + 1);
	cr_assert(rep.rss_growth_kib < 16 * 1024, "peak RSS grew by %ld KiB for a 200 MiB message",
		  rep.rss_growth_kib);
	/* The tail is the last line and the blank separator. */
	char tail[66];
	int fd = open(mb, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail), (ssize_t)sizeof tail);
	close(fd);
	cr_assert(memcmp(tail + 2, "xxxxxxxx", 8) == 0 && memcmp(tail + 63, "x\n\n", 3) == 0);
}

/* ---- mailbox_size_limit (quota) ---- */

static int deliver_limited(const char *path, off_t limit, bool tempfail, struct mbox_sizes *sz, struct result *r)
{
	static const char msg[] = "Subject: q\n\nquota body\n";
	struct mbox_spool sp;
	cr_assert_eq(mbox_spool_open(&sp, dir, r), EX_OK);
	cr_assert_eq(mbox_spool_write(&sp, msg, sizeof msg - 1, r), EX_OK);
	cr_assert_eq(mbox_spool_finish(&sp, r), EX_OK);
	struct mbox_delivery d = {
		.path = path, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = true, .sender = "s@x",
		.arrival = 1506657829, .msg = &sp, .lock_timeout = 5, .fsync = true,
		.size_limit = limit, .limit_tempfail = tempfail, .sizes = sz,
	};
	int ex = mbox_append(&d, r);
	mbox_spool_close(&sp);
	return ex;
}

static off_t fsize(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : 0;
}

Test(mbox_append, size_limit_at_minus_one_exact_and_plus_one_bytes)
{
	struct result r;
	struct mbox_sizes sz;
	const char *probe = th_path(dir, "probe"), *mb = th_path(dir, "box");
	cr_assert_eq(deliver_limited(probe, 0, false, NULL, &r), EX_OK);
	off_t one = fsize(probe);        /* bytes one message takes in an empty mailbox */
	cr_assert_eq(deliver_limited(mb, one - 1, false, &sz, &r), EX_CANTCREAT, "limit - 1 refused");
	cr_assert_str_eq(r.dsn, "5.2.2");
	cr_assert(strstr(r.reason, "mailbox full"), "%s", r.reason);
	cr_assert_eq(fsize(mb), 0, "refused without touching the mailbox");
	cr_assert_eq(deliver_limited(mb, one, false, &sz, &r), EX_OK, "exactly the limit fits: %s", r.reason);
	cr_assert_eq(sz.before, 0);
	cr_assert_eq(sz.after, one);
	cr_assert_eq(fsize(mb), one);
	/* A second one needs one more message's worth (plus the separator already there). */
	off_t before = fsize(mb);
	cr_assert_eq(deliver_limited(mb, 2 * one - 1, true, &sz, &r), EX_TEMPFAIL, "quota_full_tempfail");
	cr_assert_str_eq(r.dsn, "4.2.2");
	cr_assert_eq(fsize(mb), before, "untouched");
	cr_assert_eq(deliver_limited(mb, 2 * one + 1, false, &sz, &r), EX_OK, "limit + 1 fits");
	cr_assert_eq(sz.before, one);
	cr_assert_eq(sz.after, fsize(mb));
}

Test(mbox_append, concurrent_deliveries_race_for_the_last_bytes_under_the_lock, .timeout = 60)
{
	struct result r;
	const char *probe = th_path(dir, "probe"), *mb = th_path(dir, "box");
	cr_assert_eq(deliver_limited(probe, 0, false, NULL, &r), EX_OK);
	off_t one = fsize(probe);
	/* Room for exactly three messages; eight writers try at once, each twice. */
	off_t limit = 3 * one + 2;
	int ok = 0, full = 0;
	pid_t kids[8];
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		cr_assert(kids[i] >= 0);
		if (kids[i] == 0) {
			int mine = 0;
			for (int k = 0; k < 2; k++)
				mine += deliver_limited(mb, limit, false, NULL, &r) == EX_OK;
			_exit(mine);
		}
	}
	for (int i = 0; i < 8; i++) {
		int st;
		cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
		cr_assert(WIFEXITED(st));
		ok += WEXITSTATUS(st);
		full += 2 - WEXITSTATUS(st);
	}
	cr_assert_eq(ok, 3, "%d deliveries fit a limit with room for 3", ok);
	cr_assert_eq(full, 13);
	cr_assert_leq(fsize(mb), limit, "the limit held: %jd > %jd", (intmax_t)fsize(mb), (intmax_t)limit);
	struct mbox_index idx;
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 3);
	mbox_index_close(&idx);
}
