/* Unit tests for the trust rules of the recovery machinery (mbox/journal.c, mbox/inplace.c):
 * rewrite records, append journals and backups that someone else planted beside a mailbox
 * are never acted on. Each test plants what the security audit planted and checks that the
 * mailbox and every file the plant names are byte for byte unchanged. The owner checks
 * need a second uid and run as root only (tests/torture/sec_recovery.sh does the same
 * attacks as a real second user); the rest run as anyone. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#define OTHER_UID 61002
#define VICTIM_UID 61001
#define BOX "From a@x Fri Sep 29 04:03:10 2023\nSubject: one\n\nfirst\n\n" \
	    "From b@x Fri Sep 29 04:03:11 2023\nSubject: two\n\nsecond\n\n"
#define TARGET "the victim's other file, e.g. ~/.profile\n"

static const char *dir;

static void setup(void)
{
	dir = th_tmpdir();
	alarm(20);   /* a plant that blocks must fail the test, not hang it */
}

static void teardown(void)
{
	alarm(0);
	unsetenv("MBOX_TEST_NO_XATTR");
	th_cleanup();
}

TestSuite(mbox_trust, .init = setup, .fini = teardown);

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static void stat_of(const char *path, struct stat *st)
{
	cr_assert_eq(stat(path, st), 0, "stat %s", path);
}

/* The rewrite record the audit wrote by hand: our bytes are [0, HI), put back TARGET's
 * first len bytes (hash right), from the file T named by dev/ino and path. */
static void forged_rewrite_text(const char *target, char *out, size_t size)
{
	struct stat t;
	stat_of(target, &t);
	size_t len = strlen(TARGET);
	snprintf(out, size, "1 w %zu %zu %zu %016" PRIx64 " %ju %ju 1 %s", strlen(BOX), strlen(BOX), len,
		 fnv(TARGET, len), (uintmax_t)t.st_dev, (uintmax_t)t.st_ino, target);
}

/* Writes "<mbox dev> <mbox ino> TEXT" to the fallback file of kind suffix, with mode. */
static const char *plant_file(const char *mb, const char *suffix, const char *text, mode_t mode)
{
	static char file[700];
	char line[1500];
	struct stat m;
	stat_of(mb, &m);
	snprintf(file, sizeof file, "%s/.mbox.%s", dir, suffix);
	snprintf(line, sizeof line, "%ju %ju %s\n", (uintmax_t)m.st_dev, (uintmax_t)m.st_ino, text);
	th_write(file, line);
	cr_assert_eq(chmod(file, mode), 0);
	return file;
}

static void lock_once(const char *mb)
{
	struct mbox_lock lk;
	struct result r;
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 5, &lk, &r), EX_OK, "%s", r.reason);
	mbox_unlock(&lk);
}

static void check_same(const char *path, const char *want)
{
	size_t len;
	char *got = th_read(path, &len);
	cr_assert_eq(len, strlen(want), "%s changed size: %zu bytes", path, len);
	cr_assert(memcmp(got, want, len) == 0, "%s changed", path);
	free(got);
}

/* A mailbox and the file the plant aims at, both ours (the audit's victim). */
static const char *victim(const char **target)
{
	static char m[600], t[600];     /* th_path's buffers are reused by later calls */
	snprintf(m, sizeof m, "%s", th_path(dir, "mbox"));
	th_write(m, BOX);
	snprintf(t, sizeof t, "%s/profile", dir);
	th_write(t, TARGET);
	*target = t;
	return m;
}

Test(mbox_trust, a_record_file_beside_a_mailbox_with_xattrs_is_never_read)
{
	const char *target, *mb = victim(&target);
	char text[1200];
	forged_rewrite_text(target, text, sizeof text);
	plant_file(mb, "mda-rewrite", text, 0600);
	lock_once(mb);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(target, TARGET);
}

Test(mbox_trust, a_record_file_others_can_write_is_ignored_without_xattrs)
{
	const char *target, *mb = victim(&target);
	char text[1200];
	forged_rewrite_text(target, text, sizeof text);
	setenv("MBOX_TEST_NO_XATTR", "1", 1);
	plant_file(mb, "mda-rewrite", text, 0666);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(target, TARGET);
	plant_file(mb, "mda-journal", "5 99999999 1", 0622);
	lock_once(mb);
	check_same(mb, BOX);
}

Test(mbox_trust, a_trusted_record_naming_a_file_that_is_no_backup_is_not_used)
{
	/* Even a record the owner's own process could have written (or an xattr set by someone
	 * who can write the mailbox) may not point the undo at any other file of the owner. */
	const char *target, *mb = victim(&target);
	char text[1200];
	forged_rewrite_text(target, text, sizeof text);
	cr_assert_eq(setxattr(mb, "user.mda.rewrite", text, strlen(text), 0), 0);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(target, TARGET);
	cr_assert_eq(access(target, F_OK), 0, "the named file was not removed");
}

Test(mbox_trust, a_backup_with_the_right_name_but_loose_mode_is_not_used)
{
	const char *target, *mb = victim(&target);
	char text[1200], backup[700];
	snprintf(backup, sizeof backup, "%s/.mbox.mda-backup.AbCdEf", dir);
	th_write(backup, TARGET);
	cr_assert_eq(chmod(backup, 0644), 0);
	forged_rewrite_text(backup, text, sizeof text);
	cr_assert_eq(setxattr(mb, "user.mda.rewrite", text, strlen(text), 0), 0);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(backup, TARGET);
}

Test(mbox_trust, a_fifo_at_the_record_path_does_not_block)
{
	const char *target, *mb = victim(&target);
	char file[700];
	setenv("MBOX_TEST_NO_XATTR", "1", 1);
	snprintf(file, sizeof file, "%s/.mbox.mda-rewrite", dir);
	cr_assert_eq(mkfifo(file, 0600), 0);
	snprintf(file, sizeof file, "%s/.mbox.mda-journal", dir);
	cr_assert_eq(mkfifo(file, 0600), 0);
	lock_once(mb);     /* the alarm of setup() fails the test if this blocks */
	check_same(mb, BOX);
}

/* ---- As root: the same plants owned by another user ---- */

Test(mbox_trust, a_record_file_owned_by_another_user_is_ignored)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to plant a file owned by another uid");
	const char *target, *mb = victim(&target);
	char text[1200], backup[700];
	/* Everything else right: a backup-named file of the right hash, a 0600 record. */
	snprintf(backup, sizeof backup, "%s/.mbox.mda-backup.AbCdEf", dir);
	th_write(backup, TARGET);
	cr_assert_eq(chmod(backup, 0600), 0);
	forged_rewrite_text(backup, text, sizeof text);
	setenv("MBOX_TEST_NO_XATTR", "1", 1);
	const char *file = plant_file(mb, "mda-rewrite", text, 0600);
	cr_assert_eq(chown(file, OTHER_UID, OTHER_UID), 0);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(backup, TARGET);
}

/* The audit's setting: a sticky world-writable spool, the victim (VICTIM_UID) unable to
 * remove the attacker's (OTHER_UID) plant; the victim's deliveries run in a child as the
 * victim. Returns the mailbox path. */
static const char *sticky_spool_victim(void)
{
	static char spool[600], mb[700];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(mb, sizeof mb, "%s/mbox", spool);
	cr_assert_eq(mkdir(spool, 0755), 0);
	cr_assert_eq(chmod(dir, 0755) | chmod(spool, 01777), 0);
	th_write(mb, BOX);
	cr_assert_eq(chown(mb, VICTIM_UID, VICTIM_UID) | chmod(mb, 0600), 0);
	return mb;
}

static void victim_delivers_and_locks(const char *mb, bool no_xattr)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {   /* no cr_assert in the child: exit codes say what failed */
		struct mbox_spool sp;
		struct mbox_lock lk;
		struct result r;
		if (setgid(VICTIM_UID) != 0 || setuid(VICTIM_UID) != 0)
			_exit(90);
		if (no_xattr)
			setenv("MBOX_TEST_NO_XATTR", "1", 1);
		if (mbox_spool_open(&sp, "/tmp", &r) != EX_OK ||
		    mbox_spool_write(&sp, "Subject: three\n\nthird\n", 22, &r) != EX_OK ||
		    mbox_spool_finish(&sp, &r) != EX_OK)
			_exit(91);
		struct mbox_delivery d = { .path = mb, .owner = { VICTIM_UID, (gid_t)-1 }, .dotlock = true,
					   .sender = "c@x", .arrival = 1506657829, .msg = &sp,
					   .lock_timeout = 5, .fsync = true };
		if (mbox_append(&d, &r) != EX_OK)
			_exit(92);
		for (int i = 0; i < 2; i++) {
			if (mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 5, &lk, &r) != EX_OK)
				_exit(93);
			mbox_unlock(&lk);
		}
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "victim's child: status %d", st);
}

static void check_journal_plant_in_sticky_spool(bool no_xattr)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to act as two users");
	const char *mb = sticky_spool_victim();
	char file[800], text[64];
	snprintf(file, sizeof file, "%.*s/.mbox.mda-journal", (int)(strrchr(mb, '/') - mb), mb);
	snprintf(text, sizeof text, "%zu 99999999 1", strlen(BOX));
	struct stat m;
	stat_of(mb, &m);
	char line[200];
	snprintf(line, sizeof line, "%ju %ju %s\n", (uintmax_t)m.st_dev, (uintmax_t)m.st_ino, text);
	th_write(file, line);
	cr_assert_eq(chown(file, OTHER_UID, OTHER_UID) | chmod(file, 0644), 0);
	victim_delivers_and_locks(mb, no_xattr);
	char *after = th_read(mb, NULL);
	cr_assert(strstr(after, "Subject: three\n"), "the message delivered with exit 0 is gone");
	free(after);
}

Test(mbox_trust, a_journal_planted_in_a_sticky_spool_cannot_take_a_delivery_away)
{
	check_journal_plant_in_sticky_spool(false);
}

Test(mbox_trust, a_journal_planted_in_a_sticky_spool_without_xattrs_is_ignored)
{
	check_journal_plant_in_sticky_spool(true);
}

Test(mbox_trust, a_backup_owned_by_another_user_is_not_used)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to plant a file owned by another uid");
	const char *target, *mb = victim(&target);
	char text[1200], backup[700];
	snprintf(backup, sizeof backup, "%s/.mbox.mda-backup.AbCdEf", dir);
	th_write(backup, TARGET);
	cr_assert_eq(chmod(backup, 0600), 0);
	cr_assert_eq(chown(backup, OTHER_UID, OTHER_UID), 0);
	forged_rewrite_text(backup, text, sizeof text);
	cr_assert_eq(setxattr(mb, "user.mda.rewrite", text, strlen(text), 0), 0);
	lock_once(mb);
	check_same(mb, BOX);
	check_same(backup, TARGET);
}
