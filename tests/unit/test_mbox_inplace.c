/* Unit tests for the in-place rewrite (mbox/inplace.c): a rewriter killed at any point of the
 * overwrite is undone by the next mbox_lock, byte for byte, keeping what another writer
 * appended after the kill; a backup that is missing or not the recorded one is never used. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

#define FOREIGN "From postfix@x Fri Sep 29 06:00:00 2023\nSubject: foreign\n\nappended by a writer " \
		"that knows nothing of the rewrite record\n\n"

/* A mailbox in a directory the rewriter cannot write (the production case: backup in tmp,
 * record in the xattr), or, with beside, in a writable one with the in-place path forced
 * (backup beside the mailbox); no_xattr puts the record in the fallback file. */
struct world {
	char sub[512], tmp[512], mb[600];
	bool beside, no_xattr;
};

static const char *dir;

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	char sub[600];
	snprintf(sub, sizeof sub, "%s/box", dir);
	chmod(sub, 0700);
	th_cleanup();
}

TestSuite(mbox_inplace, .init = setup, .fini = teardown);

/* Three messages of about 200 kB: a kill lands in the middle of a copy. Returns the text. */
static char *fill_box(const char *mb)
{
	char *s = malloc(3 * 200000 + 1000), *p = s;
	cr_assert_not_null(s);
	for (int i = 0; i < 3; i++) {
		p += sprintf(p, "From m%d@x Fri Sep 29 04:03:1%d 2023\nSubject: m%d\n\n", i, i, i);
		for (size_t k = 0; k < 200000; k++)
			p[k] = k % 80 == 79 ? '\n' : (char)('a' + (k / 80 + (size_t)i) % 26);
		p += 200000;
		p += sprintf(p, "\n\n");
	}
	*p = '\0';
	th_write(mb, s);
	return s;
}

static char *make_world(struct world *w, bool beside, bool no_xattr)
{
	memset(w, 0, sizeof *w);
	w->beside = beside;
	w->no_xattr = no_xattr;
	snprintf(w->sub, sizeof w->sub, "%s/box", dir);
	snprintf(w->tmp, sizeof w->tmp, "%s/tmp", dir);
	snprintf(w->mb, sizeof w->mb, "%s/alice", w->sub);
	cr_assert_eq(mkdir(w->sub, 0700), 0);
	cr_assert_eq(mkdir(w->tmp, 0700), 0);
	char *text = fill_box(w->mb);
	if (!beside && geteuid() == 0) {
		cr_assert_eq(chmod(dir, 0711), 0);
		cr_assert_eq(chown(w->sub, 65534, 65534) | chown(w->tmp, 65534, 65534) |
				     chown(w->mb, 65534, 65534), 0);
	}
	if (!beside)
		cr_assert_eq(chmod(w->sub, 0500), 0);
	return text;
}

/* What the rewrite is asked to do. */
enum op { SHRINK, GROW, PREPEND };

/* SHRINK: drop the second message, mark the others; GROW: keep all, add Status/X-Status. */
static const struct mbox_plan SHRINK_PLAN[3] = {
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD },
	{ .keep = false },
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_ANSWERED },
};
static const struct mbox_plan GROW_PLAN[3] = {
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD },
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_FLAGGED },
	{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_ANSWERED },
};
#define PREPENDED "From front@x Fri Sep 29 03:00:00 2023\nSubject: front\n\nput in front\n\n"

static int run_op(const char *mb, enum op op, bool dotlock, struct result *r)
{
	struct mbox_index idx;
	if (mbox_index_open(mb, &idx, r) != EX_OK)
		return r->ex;
	int ex;
	if (op == PREPEND)
		ex = mbox_prepend(mb, NULL, dotlock, 5, PREPENDED, strlen(PREPENDED), true, r);
	else
		ex = mbox_rewrite(&idx, op == SHRINK ? SHRINK_PLAN : GROW_PLAN, NULL, 5, dotlock, r);
	mbox_index_close(&idx);
	return ex;
}

/* The bytes op makes of text: done for real on a copy in a writable directory. */
static char *op_result(const char *text, enum op op, size_t *len)
{
	char scratch[600];
	struct result r;
	snprintf(scratch, sizeof scratch, "%s/scratch", dir);
	th_write(scratch, text);
	cr_assert_eq(run_op(scratch, op, true, &r), EX_OK, "%s", r.reason);
	char *out = th_read(scratch, len);
	unlink(scratch);
	return out;
}

/* Runs op on w in a child with the test hook env=val (MBOX_TEST_DIE_AFTER_BYTES counts the
 * bytes of all copies: S to the backup, the n new bytes to the backup, n over the mailbox;
 * MBOX_TEST_DIE_AT names a step of inplace.c). Returns the wait status. */
static int op_killed(const struct world *w, enum op op, const char *env, const char *val)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {   /* no cr_assert in the child */
		struct result r;
		if (!w->beside && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(99);
		mbox_set_tmp_dir(w->tmp);
		if (w->beside)
			setenv("MBOX_TEST_IN_PLACE", "1", 1);
		if (w->no_xattr)
			setenv("MBOX_TEST_NO_XATTR", "1", 1);
		setenv(env, val, 1);
		_exit(run_op(w->mb, op, w->beside, &r));
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void die_after(const struct world *w, enum op op, long long bytes)
{
	char n[32];
	snprintf(n, sizeof n, "%lld", bytes);
	int st = op_killed(w, op, "MBOX_TEST_DIE_AFTER_BYTES", n);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
}

static void die_at(const struct world *w, enum op op, const char *step)
{
	int st = op_killed(w, op, "MBOX_TEST_DIE_AT", step);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d at %s", st, step);
}

/* Postfix local(8) delivering once the dead rewriter's locks are gone: a plain append. */
static void foreign_append(const char *mb)
{
	int fd = open(mb, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, FOREIGN, strlen(FOREIGN)), (ssize_t)strlen(FOREIGN));
	close(fd);
}

/* What the next lock taker does: lock for writing (fcntl only, the directory may be
 * read-only), unlock. Without xattrs in the world, it finds no xattr store either: the
 * fallback file is read only where user xattrs do not work. */
static void next_lock(const struct world *w)
{
	struct mbox_lock lk;
	struct result r;
	if (w->no_xattr)
		setenv("MBOX_TEST_NO_XATTR", "1", 1);
	int ex = mbox_lock(w->mb, MBOX_LOCK_WRITE | MBOX_LOCK_NODOTLOCK, NULL, 5, &lk, &r);
	unsetenv("MBOX_TEST_NO_XATTR");
	cr_assert_eq(ex, EX_OK, "%s", r.reason);
	mbox_unlock(&lk);
}

static bool has_record(const struct world *w)
{
	char file[700];
	snprintf(file, sizeof file, "%s/.alice.mda-rewrite", w->sub);
	return getxattr(w->mb, "user.mda.rewrite", NULL, 0) >= 0 || access(file, F_OK) == 0;
}

/* The backup's path (there must be exactly one), or "" when there is none. */
static const char *backup_path(const struct world *w)
{
	static char found[1024];
	const char *where = w->beside ? w->sub : w->tmp;
	DIR *dh = opendir(where);
	struct dirent *e;
	cr_assert_not_null(dh);
	found[0] = '\0';
	while ((e = readdir(dh))) {
		bool is_backup = w->beside ? strncmp(e->d_name, ".alice.mda-backup.", 18) == 0
					   : strncmp(e->d_name, "mbox-rewrite.alice.", 19) == 0;
		if (!is_backup)
			continue;
		cr_assert_eq(found[0], '\0', "more than one backup in %s", where);
		snprintf(found, sizeof found, "%s/%s", where, e->d_name);
	}
	closedir(dh);
	return found;
}

static void check_bytes(const char *path, const char *want, size_t want_len)
{
	size_t len;
	char *got = th_read(path, &len);
	cr_assert_eq(len, want_len, "%s: %zu bytes, want %zu", path, len, want_len);
	cr_assert(memcmp(got, want, len) == 0, "%s: not the expected bytes", path);
	free(got);
}

/* before + FOREIGN when foreign, else before. */
static char *with_foreign(const char *before, bool foreign, size_t *len)
{
	char *s = malloc(strlen(before) + strlen(FOREIGN) + 1);
	cr_assert_not_null(s);
	sprintf(s, "%s%s", before, foreign ? FOREIGN : "");
	*len = strlen(s);
	return s;
}

/* The whole story: kill, maybe a foreign append, the next lock; then the mailbox holds the
 * pre-rewrite bytes (and the foreign message), and neither record nor backup is left. */
static void check_undone(const struct world *w, const char *before, bool foreign)
{
	size_t len;
	cr_assert(has_record(w), "the killed rewriter left its record");
	cr_assert_neq(backup_path(w)[0], '\0', "the killed rewriter left its backup");
	if (foreign)
		foreign_append(w->mb);
	next_lock(w);
	char *want = with_foreign(before, foreign, &len);
	check_bytes(w->mb, want, len);
	cr_assert(!has_record(w), "record removed");
	cr_assert_eq(backup_path(w)[0], '\0', "backup removed");
	free(want);
}

/* Bytes the hook counts before the overwrite of the mailbox starts. */
static long long overwrite_starts(const char *before, enum op op)
{
	size_t n;
	free(op_result(before, op, &n));
	return (long long)strlen(before) + (long long)n;
}

Test(mbox_inplace, killed_mid_overwrite_while_shrinking_is_undone)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_after(&w, SHRINK, overwrite_starts(before, SHRINK) + 100000);
	char *mixed = th_read(w.mb, NULL);
	cr_assert(strcmp(mixed, before) != 0, "the kill landed in the middle of the overwrite");
	free(mixed);
	check_undone(&w, before, false);
	free(before);
}

Test(mbox_inplace, killed_mid_overwrite_then_a_foreign_append_both_survive)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_after(&w, SHRINK, overwrite_starts(before, SHRINK) + 250000);
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_after_the_nul_mark_before_the_truncation)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_at(&w, SHRINK, "marked");
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_after_the_truncation_the_foreign_mail_follows_the_new_end)
{
	struct world w;
	size_t n;
	char *before = make_world(&w, false, false);
	char *after = op_result(before, SHRINK, &n);
	die_at(&w, SHRINK, "written");
	check_bytes(w.mb, after, n);      /* complete, truncated, record still there */
	check_undone(&w, before, true);
	free(after);
	free(before);
}

Test(mbox_inplace, killed_before_growing_the_file_the_foreign_mail_follows_the_old_end)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_at(&w, GROW, "growing");
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_after_growing_the_file_drops_the_zeros)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_at(&w, GROW, "grown");
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_mid_overwrite_while_growing_is_undone)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_after(&w, GROW, overwrite_starts(before, GROW) + 300000);
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_after_growing_and_writing_everything)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_at(&w, GROW, "written");
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_mid_prepend_is_undone)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_after(&w, PREPEND, overwrite_starts(before, PREPEND) + 400000);
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, killed_after_removing_the_record_the_rewrite_stands)
{
	struct world w;
	size_t n;
	char *before = make_world(&w, false, false);
	char *after = op_result(before, SHRINK, &n);
	die_at(&w, SHRINK, "cleared");
	cr_assert(!has_record(&w));
	next_lock(&w);
	check_bytes(w.mb, after, n);
	free(after);
	free(before);
}

Test(mbox_inplace, killed_while_writing_the_backup_leaves_the_mailbox_untouched)
{
	struct world w;
	char *before = make_world(&w, false, false);
	die_after(&w, SHRINK, 150000);
	cr_assert(!has_record(&w), "no record before the backup is complete");
	next_lock(&w);
	check_bytes(w.mb, before, strlen(before));
	free(before);
}

/* Kills the undo itself (in a child taking the lock), then lets the parent's lock finish it. */
static void undo_killed(const struct world *w, const char *env, const char *val)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct mbox_lock lk;
		struct result r;
		setenv(env, val, 1);
		_exit(mbox_lock(w->mb, MBOX_LOCK_WRITE | MBOX_LOCK_NODOTLOCK, NULL, 5, &lk, &r));
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "undo status %d (%s=%s)", st, env, val);
}

Test(mbox_inplace, a_killed_undo_is_finished_by_the_next_lock)
{
	struct world w;
	size_t len;
	char *before = make_world(&w, false, false);
	die_after(&w, GROW, overwrite_starts(before, GROW) + 300000);
	foreign_append(w.mb);
	undo_killed(&w, "MBOX_TEST_DIE_AT", "captured");   /* foreign bytes copied to the backup */
	undo_killed(&w, "MBOX_TEST_DIE_AFTER_BYTES", "200000");   /* mid copy back */
	foreign_append(w.mb);                               /* a second foreign delivery */
	undo_killed(&w, "MBOX_TEST_DIE_AT", "marked");      /* just before truncating */
	next_lock(&w);
	char *want = with_foreign(before, true, &len);
	char *want2 = malloc(len + strlen(FOREIGN) + 1);
	sprintf(want2, "%s%s", want, FOREIGN);
	check_bytes(w.mb, want2, strlen(want2));
	cr_assert(!has_record(&w));
	cr_assert_eq(backup_path(&w)[0], '\0');
	free(want2);
	free(want);
	free(before);
}

Test(mbox_inplace, backup_beside_the_mailbox_and_record_in_the_fallback_file)
{
	struct world w;
	char *before = make_world(&w, true, true);
	die_after(&w, SHRINK, overwrite_starts(before, SHRINK) + 100000);
	char file[700];
	snprintf(file, sizeof file, "%s/.alice.mda-rewrite", w.sub);
	cr_assert_eq(access(file, F_OK), 0, "record in the fallback file");
	cr_assert_eq(getxattr(w.mb, "user.mda.rewrite", NULL, 0), -1);
	check_undone(&w, before, true);
	free(before);
}

Test(mbox_inplace, grow_with_the_fallback_file_is_undone)
{
	struct world w;
	char *before = make_world(&w, true, true);
	die_at(&w, GROW, "grown");
	check_undone(&w, before, true);
	free(before);
}

/* After a kill mid-overwrite and a foreign append, spoils the backup with spoil(); the next
 * lock must leave the mailbox byte for byte as it is and keep the record. */
static void check_not_used(void (*spoil)(const char *backup))
{
	struct world w;
	size_t len;
	char *before = make_world(&w, false, false);
	die_after(&w, SHRINK, overwrite_starts(before, SHRINK) + 100000);
	foreign_append(w.mb);
	spoil(backup_path(&w));
	char *mixed = th_read(w.mb, &len);
	next_lock(&w);
	check_bytes(w.mb, mixed, len);
	cr_assert(has_record(&w), "the record stays for an administrator");
	next_lock(&w);                  /* and it stays so */
	check_bytes(w.mb, mixed, len);
	free(mixed);
	free(before);
}

static void spoil_remove(const char *b)
{
	cr_assert_eq(unlink(b), 0);
}

static void spoil_replace(const char *b)
{
	/* Same bytes, another file: not the one the rewriter wrote. */
	char other[1100];
	size_t len;
	char *text = th_read(b, &len);
	snprintf(other, sizeof other, "%s.other", b);
	th_write(other, text);
	cr_assert_eq(rename(other, b), 0);
	free(text);
}

static void spoil_edit(const char *b)
{
	int fd = open(b, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, "X", 1, 5000), 1);
	close(fd);
}

static void spoil_truncate(const char *b)
{
	cr_assert_eq(truncate(b, 1000), 0);
}

Test(mbox_inplace, a_missing_backup_is_not_used)
{
	check_not_used(spoil_remove);
}

Test(mbox_inplace, another_file_at_the_backup_path_is_not_used)
{
	check_not_used(spoil_replace);
}

Test(mbox_inplace, an_edited_backup_is_not_used)
{
	check_not_used(spoil_edit);
}

Test(mbox_inplace, a_short_backup_is_not_used)
{
	check_not_used(spoil_truncate);
}

Test(mbox_inplace, a_forged_record_is_not_used)
{
	struct world w;
	char forged[1200];
	char *before = make_world(&w, true, false);
	/* A record naming a file that exists but was never a backup of this mailbox. */
	snprintf(forged, sizeof forged, "1 w 0 10 10 0123456789abcdef 1 2 3 %s/scratch", dir);
	th_write(th_path(dir, "scratch"), "forged content\n");
	cr_assert_eq(setxattr(w.mb, "user.mda.rewrite", forged, strlen(forged), 0), 0);
	next_lock(&w);
	check_bytes(w.mb, before, strlen(before));
	cr_assert_eq(setxattr(w.mb, "user.mda.rewrite", "garbage", 7, 0), 0);
	next_lock(&w);
	check_bytes(w.mb, before, strlen(before));
	free(before);
}

Test(mbox_inplace, without_any_record_store_the_backup_holds_the_old_mailbox)
{
	struct world w;
	char *before = make_world(&w, false, true);   /* no xattr, directory not writable */
	die_after(&w, SHRINK, overwrite_starts(before, SHRINK) + 100000);
	cr_assert(!has_record(&w));
	char *backup = th_read(backup_path(&w), NULL);
	cr_assert(strncmp(backup, before, strlen(before)) == 0, "the backup starts with the old mailbox");
	free(backup);
	free(before);
}

Test(mbox_inplace, completed_rewrite_leaves_neither_record_nor_backup)
{
	struct world w;
	size_t n;
	char *before = make_world(&w, false, false);
	char *after = op_result(before, GROW, &n);
	int st = op_killed(&w, GROW, "MBOX_TEST_UNUSED", "1");   /* not killed */
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EX_OK, "status %d", st);
	check_bytes(w.mb, after, n);
	cr_assert(!has_record(&w));
	cr_assert_eq(backup_path(&w)[0], '\0');
	free(after);
	free(before);
}
