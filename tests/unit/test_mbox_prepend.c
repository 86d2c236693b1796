/* Unit tests for mbox_prepend: order, creation, owner/mode kept, in-place fallback, refusals. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static const char *dir;

static const char old_box[] = "From a@x Fri Sep 29 04:03:11 2023\nSubject: old\n\nold body\n\n";
static const char new_msgs[] = "From b@x Fri Sep 29 04:03:12 2023\nSubject: new1\n\nnew one\n\n"
			       "From c@x Fri Sep 29 04:03:13 2023\nSubject: new2\n\nnew two\n\n";

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mbox_prepend, .init = setup, .fini = teardown);

static int prepend(const char *path, bool dotlock, int timeout, struct result *r)
{
	struct mbox_owner own = { getuid(), (gid_t)-1 };
	return mbox_prepend(path, &own, dotlock, timeout, new_msgs, strlen(new_msgs), true, r);
}

static char *concat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);
	cr_assert_not_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* The new messages come first, then every old byte; owner and mode are kept. */
Test(mbox_prepend, puts_messages_first_and_keeps_mode)
{
	const char *path = th_path(dir, "mbox");
	struct result r = { 0 };
	struct stat before, after;
	th_write(path, old_box);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(stat(path, &before), 0);
	cr_assert_eq(prepend(path, false, 5, &r), EX_OK, "%s", r.reason);
	char *want = concat(new_msgs, old_box), *got = th_read(path, NULL);
	cr_expect_str_eq(got, want);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(after.st_mode & 07777, 0640);
	cr_expect_eq(after.st_uid, before.st_uid);
	free(want);
	free(got);
}

/* No temporary file is left next to the mailbox; the index sees three whole messages. */
Test(mbox_prepend, leaves_no_temp_files_and_indexes)
{
	const char *path = th_path(dir, "mbox");
	struct result r = { 0 };
	struct mbox_index idx;
	th_write(path, old_box);
	cr_assert_eq(prepend(path, true, 5, &r), EX_OK, "%s", r.reason);
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		cr_expect(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "mbox"),
			  "left behind: %s", e->d_name);
	closedir(d);
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK);
	cr_assert_eq(idx.count, 3);
	cr_expect_str_eq(idx.msgs[0].subject, "new1");
	cr_expect_str_eq(idx.msgs[1].subject, "new2");
	cr_expect_str_eq(idx.msgs[2].subject, "old");
	mbox_index_close(&idx);
}

Test(mbox_prepend, creates_a_missing_mailbox)
{
	const char *path = th_path(dir, "fresh");
	struct result r = { 0 };
	struct stat st;
	cr_assert_eq(prepend(path, false, 5, &r), EX_OK, "%s", r.reason);
	char *got = th_read(path, NULL);
	cr_expect_str_eq(got, new_msgs);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 077, 0, "new mailbox must be private, mode %o", st.st_mode & 07777);
	free(got);
}

/* Runs prepend(path) as the owner of a read-only directory: as root in a child that
 * becomes uid 65534 (root ignores directory modes). Returns the exit code of mbox_prepend. */
static int prepend_unprivileged(const char *sub, const char *tmp, const char *path)
{
	struct result r = { 0 };
	if (geteuid() != 0) {
		cr_assert_eq(chmod(sub, 0500), 0);
		int ex = prepend(path, false, 5, &r);
		chmod(sub, 0700);
		return ex;
	}
	cr_assert_eq(chmod(dir, 0711), 0);   /* the test directory is private to root */
	cr_assert_eq(chown(sub, 65534, 65534) | chown(tmp, 65534, 65534) | chown(path, 65534, 65534), 0);
	cr_assert_eq(chmod(sub, 0500), 0);
	pid_t pid = fork();
	if (pid == 0) {   /* no cr_assert in the child */
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(99);
		_exit(prepend(path, false, 5, &r));
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	chmod(sub, 0700);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A directory the user cannot write (no rename possible): rewritten in place, same inode,
 * and the backup in tmp_dir is removed after success. */
Test(mbox_prepend, in_place_when_directory_is_read_only)
{
	char sub[512], tmp[512];
	snprintf(sub, sizeof sub, "%s/ro", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	mbox_set_tmp_dir(tmp);
	const char *path = th_path(sub, "mbox");
	struct stat before, after;
	th_write(path, old_box);
	cr_assert_eq(stat(path, &before), 0);
	int ex = prepend_unprivileged(sub, tmp, path);
	mbox_set_tmp_dir(NULL);
	cr_assert_eq(ex, EX_OK, "prepend as the unprivileged owner exited %d", ex);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(after.st_ino, before.st_ino);
	char *want = concat(new_msgs, old_box), *got = th_read(path, NULL);
	cr_expect_str_eq(got, want);
	DIR *d = opendir(tmp);
	struct dirent *e;
	while ((e = readdir(d)))
		cr_expect(e->d_name[0] == '.', "backup left in tmp_dir: %s", e->d_name);
	closedir(d);
	free(want);
	free(got);
}

/* A mailbox locked by someone else: temporary failure, file untouched. */
Test(mbox_prepend, locked_mailbox_is_a_temporary_failure)
{
	const char *path = th_path(dir, "spoolbox");
	struct result r = { 0 };
	th_write(path, old_box);
	th_write(th_path(dir, "spoolbox.lock"), "0\n");
	cr_assert_eq(prepend(path, true, 1, &r), EX_TEMPFAIL);
	char *got = th_read(path, NULL);
	cr_expect_str_eq(got, old_box);
	free(got);
}

/* A symlink in place of the mailbox is refused, its target untouched. */
Test(mbox_prepend, refuses_a_symlink)
{
	const char *target = th_path(dir, "target");
	struct result r = { 0 };
	th_write(target, old_box);
	cr_assert_eq(symlink(target, th_path(dir, "link")), 0);
	cr_assert_neq(prepend(th_path(dir, "link"), false, 1, &r), EX_OK);
	char *got = th_read(target, NULL);
	cr_expect_str_eq(got, old_box);
	free(got);
}

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static int prepend_big(void *arg)
{
	struct result r;
	return prepend(arg, false, 5, &r) != EX_OK;
}

/* Quit files read mail in front of a big ~/mbox: every old byte moves, through a fixed
 * window (it was the whole file mapped and read in). */
Test(mbox_prepend, a_big_mailbox_passes_through_a_fixed_window)
{
	const char *mb = th_path(dir, "mbox");
	long long size = th_big_mbox(mb, 12000, 4000);
	long grew = th_peak_growth_kib(nothing, prepend_big, (void *)mb);
	cr_assert_gt(grew, -1, "the prepend failed");
	cr_assert_lt(grew, 12 * 1024, "prepending to a %lld-byte mailbox grew the peak RSS by %ld KiB", size, grew);
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_open(mb, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 12002);
	cr_assert_str_eq(idx.msgs[0].subject, "new1");
	cr_assert_str_eq(idx.msgs[12001].subject, "m11999");
	mbox_index_close(&idx);
}
