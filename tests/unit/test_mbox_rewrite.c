/* Unit tests for mbox_rewrite: kept/dropped/flagged messages, mail that arrived meanwhile,
 * locking, refusal of foreign changes, owner/mode, and crashes in the middle of a rewrite. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static const char *dir;

#define M1 "From a@x Fri Sep 29 04:03:11 2023\nSubject: one\n\nbody one\n\n"
#define M2 "From b@x Fri Sep 29 04:03:12 2023\nSubject: two\n\nFrom_ is quoted: >From x\nbody two\n\n"
#define M3 "From c@x Fri Sep 29 04:03:13 2023\nSubject: three\nStatus: O\n\nbody three\n\n"
#define M1_READ "From a@x Fri Sep 29 04:03:11 2023\nSubject: one\nStatus: RO\n\nbody one\n\n"
#define M3_ANSWERED "From c@x Fri Sep 29 04:03:13 2023\nSubject: three\nStatus: RO\nX-Status: A\n\nbody three\n\n"
#define LATE "From late@x Fri Sep 29 05:00:00 2023\nSubject: late\n\narrived while the reader had it open\n\n"

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	mbox_set_tmp_dir(NULL);
	th_cleanup();
}

TestSuite(mbox_rewrite, .init = setup, .fini = teardown);

static void append_raw(const char *path, const char *text)
{
	struct mbox_lock lk;
	struct result r;
	cr_assert_eq(mbox_lock(path, MBOX_LOCK_WRITE, NULL, 5, &lk, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(mbox_append_raw(&lk, text, strlen(text), true, &r), EX_OK, "%s", r.reason);
	mbox_unlock(&lk);
}

static void open_index(const char *path, struct mbox_index *idx)
{
	struct result r;
	cr_assert_eq(mbox_index_open(path, idx, &r), EX_OK, "%s", r.reason);
}

static void check_file(const char *path, const char *want)
{
	char *got = th_read(path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
}

/* Keep 1 marked read, drop 2, keep 3 answered. */
static const struct mbox_plan PLAN[3] = {
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD },
	{ .keep = false },
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD | MBOX_F_ANSWERED },
};

static int rewrite_dotlock(const struct mbox_index *idx, int timeout, bool dotlock, struct result *r)
{
	struct mbox_owner own = { (uid_t)-1, (gid_t)-1 };
	return mbox_rewrite(idx, PLAN, &own, timeout, dotlock, r);
}

static int rewrite(const struct mbox_index *idx, int timeout, struct result *r)
{
	return rewrite_dotlock(idx, timeout, true, r);
}

Test(mbox_rewrite, drops_flags_and_keeps_mail_that_arrived_meanwhile)
{
	const char *mb = th_path(dir, "alice");
	struct mbox_index idx;
	struct result r;
	th_write(mb, "junk before the first From_ line\n\n" M1 M2 M3);
	open_index(mb, &idx);
	cr_assert_eq(idx.count, 3);
	append_raw(mb, LATE);          /* mda delivers while the reader looks at the mailbox */
	cr_assert_eq(rewrite(&idx, 5, &r), EX_OK, "%s", r.reason);
	mbox_index_close(&idx);
	check_file(mb, "junk before the first From_ line\n\n" M1_READ M3_ANSWERED LATE);
	cr_assert_eq(access(th_path(dir, "alice.lock"), F_OK), -1, "dotlock released");
}

Test(mbox_rewrite, nothing_to_change_leaves_the_file_alone)
{
	const char *mb = th_path(dir, "alice");
	struct mbox_index idx;
	struct result r;
	struct stat before, after;
	th_write(mb, M1 M2);
	cr_assert_eq(stat(mb, &before), 0);
	open_index(mb, &idx);
	struct mbox_plan keep[2] = { { .keep = true }, { .keep = true } };
	cr_assert_eq(mbox_rewrite(&idx, keep, NULL, 5, true, &r), EX_OK, "%s", r.reason);
	mbox_index_close(&idx);
	cr_assert_eq(stat(mb, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino);
	check_file(mb, M1 M2);
}

Test(mbox_rewrite, waits_for_both_locks_and_fails_temporarily)
{
	const char *mb = th_path(dir, "alice"), *dot = th_path(dir, "alice.lock");
	struct mbox_index idx;
	struct result r;
	th_write(mb, M1 M2 M3);
	open_index(mb, &idx);
	int holder = th_hold_fcntl(mb);
	int ex = rewrite(&idx, 1, &r);
	th_release(holder);
	cr_assert_eq(ex, EX_TEMPFAIL, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.1", "%s", r.reason);
	check_file(mb, M1 M2 M3);
	th_write(dot, "");             /* a fresh dotlock of mailx */
	cr_assert_eq(rewrite(&idx, 1, &r), EX_TEMPFAIL, "%s", r.reason);
	check_file(mb, M1 M2 M3);
	unlink(dot);
	cr_assert_eq(rewrite(&idx, 1, &r), EX_OK, "%s", r.reason);
	check_file(mb, M1_READ M3_ANSWERED);
	mbox_index_close(&idx);
}

Test(mbox_rewrite, refuses_a_mailbox_changed_by_someone_else)
{
	const char *mb = th_path(dir, "alice");
	struct mbox_index idx;
	struct result r;
	th_write(mb, M1 M2 M3);
	open_index(mb, &idx);
	/* Same size, another sender in the second From_ line: rewritten behind our back. */
	char *changed = strdup(M1 M2 M3);
	changed[strlen(M1) + 5] = 'B';
	FILE *fp = fopen(mb, "r+");
	fputs(changed, fp);
	fclose(fp);
	cr_assert_eq(rewrite(&idx, 1, &r), EX_TEMPFAIL);
	cr_assert(strstr(r.reason, "changed by another program"), "%s", r.reason);
	check_file(mb, changed);
	/* Shorter than when it was read. */
	th_write(mb, M1);
	cr_assert_eq(rewrite(&idx, 1, &r), EX_TEMPFAIL);
	cr_assert(strstr(r.reason, "replaced or truncated"), "%s", r.reason);
	check_file(mb, M1);
	mbox_index_close(&idx);
	free(changed);
}

static void check_only_entry(const char *d, const char *name)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	cr_assert_not_null(dh);
	while ((e = readdir(dh)))
		cr_assert(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, name),
			  "left behind in %s: %s", d, e->d_name);
	closedir(dh);
}

Test(mbox_rewrite, rename_keeps_owner_and_mode_and_leaves_no_temp_file)
{
	const char *mb = th_path(dir, "alice");
	struct mbox_index idx;
	struct result r;
	struct stat before, after;
	th_write(mb, M1 M2 M3);
	cr_assert_eq(chmod(mb, 0640), 0);
	if (geteuid() == 0) {
		struct group *g = getgrnam("mail");
		cr_assert_eq(chown(mb, 4242, g ? g->gr_gid : 12), 0);
	}
	cr_assert_eq(stat(mb, &before), 0);
	open_index(mb, &idx);
	struct mbox_owner own = { before.st_uid, (gid_t)-1 };
	cr_assert_eq(mbox_rewrite(&idx, PLAN, &own, 5, true, &r), EX_OK, "%s", r.reason);
	mbox_index_close(&idx);
	cr_assert_eq(stat(mb, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "replaced by rename");
	cr_assert_eq(after.st_mode, before.st_mode);
	cr_assert_eq(after.st_uid, before.st_uid);
	cr_assert_eq(after.st_gid, before.st_gid);
	check_file(mb, M1_READ M3_ANSWERED);
	check_only_entry(dir, "alice");
}

/* Runs mbox_rewrite in a child killed by SIGKILL after die_after bytes (the test hook of
 * mbox/util.c). Returns the wait status. The in-place mode's crashes: test_mbox_inplace.c. */
static int rewrite_killed(const struct mbox_index *idx, long long die_after)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {   /* no cr_assert in the child */
		struct result r;
		char n[32];
		snprintf(n, sizeof n, "%lld", die_after);
		setenv("MBOX_TEST_DIE_AFTER_BYTES", n, 1);
		_exit(rewrite_dotlock(idx, 5, true, &r));
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Three 200 kB messages: large enough that a kill lands in the middle of a copy. */
static char *big_box(const char *mb)
{
	char *s = malloc(3 * 200000 + 1000), *p = s;
	cr_assert_not_null(s);
	for (int i = 0; i < 3; i++) {
		p += sprintf(p, "From m%d@x Fri Sep 29 04:03:1%d 2023\nSubject: m%d\n\n", i, i, i);
		memset(p, 'a' + i, 200000);
		for (size_t k = 79; k < 200000; k += 80)
			p[k] = '\n';
		p += 200000;
		p += sprintf(p, "\n\n");
	}
	*p = '\0';
	th_write(mb, s);
	return s;
}

Test(mbox_rewrite, killed_mid_rename_rewrite_leaves_the_old_mailbox_whole)
{
	const char *mb = th_path(dir, "alice");
	struct mbox_index idx;
	struct result r;
	char *text = big_box(mb);
	open_index(mb, &idx);
	int st = rewrite_killed(&idx, 150000);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
	check_file(mb, text);
	/* The dead rewriter's dotlock (its pid) and fcntl lock are gone: the next one works. */
	cr_assert_eq(rewrite(&idx, 5, &r), EX_OK, "%s", r.reason);
	mbox_index_close(&idx);
	open_index(mb, &idx);
	cr_assert_eq(idx.count, 2);
	cr_assert_eq(idx.msgs[1].flags, MBOX_F_READ | MBOX_F_OLD | MBOX_F_ANSWERED);
	mbox_index_close(&idx);
	free(text);
}

/* ---- memory: a rewrite streams the mailbox through a fixed window ---- */

#define BIG_MSGS 12000     /* 4 KB each: a 48 MB mailbox, 24 MB kept */

struct big_rewrite {
	const char *path;
	bool in_place;
	struct mbox_index idx;
	struct mbox_plan *plan;
};

/* Indexes the mailbox and plans the quit of a reader who deleted every other message and
 * read the rest (their Status is rewritten, so every kept header is rendered). */
static int big_prepare(void *arg)
{
	struct big_rewrite *b = arg;
	struct result r;
	if (mbox_index_open(b->path, &b->idx, &r) != EX_OK || b->idx.count != BIG_MSGS)
		return 1;
	b->plan = calloc(BIG_MSGS, sizeof *b->plan);
	if (!b->plan)
		return 1;
	for (int i = 0; i < BIG_MSGS; i++)
		b->plan[i] = (struct mbox_plan){ .keep = i % 2, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD };
	if (b->in_place)
		setenv("MBOX_TEST_IN_PLACE", "1", 1);
	return 0;
}

static int big_rewrite(void *arg)
{
	struct big_rewrite *b = arg;
	struct result r;
	struct mbox_owner own = { (uid_t)-1, (gid_t)-1 };
	return mbox_rewrite(&b->idx, b->plan, &own, 5, true, &r) != EX_OK;
}

/* Deleting half of a mailbox and writing back the rest needs memory for the plan and a fixed
 * window, not for the mailbox: the old rewrite mapped the whole file and read it all in (a
 * 50,000-message quit peaked at 132 MB, s-nail 13). Both modes: by rename and in place. */
static void check_big_rewrite(bool in_place)
{
	struct big_rewrite b = { .path = th_path(dir, in_place ? "inplace" : "renamed"), .in_place = in_place };
	long long size = th_big_mbox(b.path, BIG_MSGS, 4000);
	long grew = th_peak_growth_kib(big_prepare, big_rewrite, &b);
	cr_assert_gt(grew, -1, "the rewrite failed");
	cr_assert_lt(grew, 12 * 1024, "rewriting a %lld-byte mailbox grew the peak RSS by %ld KiB", size, grew);
	struct mbox_index idx;
	open_index(b.path, &idx);
	cr_assert_eq(idx.count, BIG_MSGS / 2);
	cr_assert_str_eq(idx.msgs[0].subject, "m1");
	cr_assert_str_eq(idx.msgs[BIG_MSGS / 2 - 1].subject, "m11999");
	cr_assert_eq(idx.msgs[BIG_MSGS / 2 - 1].flags, MBOX_F_READ | MBOX_F_OLD);
	mbox_index_close(&idx);
}

Test(mbox_rewrite, a_rewrite_by_rename_holds_a_fixed_window_not_the_mailbox)
{
	check_big_rewrite(false);
}

Test(mbox_rewrite, a_rewrite_in_place_holds_a_fixed_window_not_the_mailbox)
{
	check_big_rewrite(true);
}
