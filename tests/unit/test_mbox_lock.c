/* Unit tests for mbox_lock: refusals (symlink, not regular, hard links, owner), creation,
 * the fcntl lock as others see it, the dotlock as liblockfile and dotlockfile(1) see it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <lockfile.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

extern char **environ;

static const char *dir;
static const char BOX[] = "From a@x Fri Sep 29 04:03:49 2017\nSubject: old\n\nold body\n\n";

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	mbox_set_shared_spool(false);
	th_cleanup();
}

TestSuite(mbox_lock, .init = setup, .fini = teardown);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Delivers a small message to path with the given owner check and lock timeout. */
static int deliver(const char *path, uid_t owner, gid_t group, int timeout, struct result *r)
{
	struct mbox_spool sp;
	static const char msg[] = "Subject: new\n\nnew body\n";
	cr_assert_eq(mbox_spool_open(&sp, dir, r), EX_OK, "%s", r->reason);
	cr_assert_eq(mbox_spool_write(&sp, msg, sizeof msg - 1, r), EX_OK);
	cr_assert_eq(mbox_spool_finish(&sp, r), EX_OK);
	struct mbox_delivery d = {
		.path = path, .owner = { owner, group }, .dotlock = true, .sender = "s@x",
		.arrival = 1506657829, .msg = &sp, .quoting = QUOTE_MBOXRD, .lock_timeout = timeout,
		.fsync = true,
	};
	int ex = mbox_append(&d, r);
	mbox_spool_close(&sp);
	return ex;
}

/* Same, with stderr (the log when log = stderr) captured into *logged (malloc'd). */
static int deliver_logged(const char *path, uid_t owner, struct result *r, char **logged)
{
	const char *log_path = th_path(dir, "stderr.log");
	fflush(stderr);
	int saved = dup(2), fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	int ex = deliver(path, owner, (gid_t)-1, 1, r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*logged = th_read(log_path, NULL);
	return ex;
}

/* A refused mailbox: temporary failure, the reason logged, the file untouched. */
static void check_refused(const char *path, uid_t owner, const char *why, const char *keep,
			  const char *keep_text)
{
	struct result r;
	char *logged;
	int ex = deliver_logged(path, owner, &r, &logged);
	cr_assert_eq(ex, EX_TEMPFAIL, "%s: ex %d (%s)", why, ex, r.reason);
	cr_assert(strstr(r.reason, why) != NULL, "reason: %s", r.reason);
	cr_assert(strstr(logged, "refusing mailbox") && strstr(logged, why), "not logged: '%s'", logged);
	free(logged);
	if (keep) {
		char *got = th_read(keep, NULL);
		cr_assert_str_eq(got, keep_text, "%s changed", keep);
		free(got);
	}
}

Test(mbox_lock, symlinked_mailbox_is_refused_and_its_target_untouched)
{
	const char *target = th_path(dir, "target"), *mb = th_path(dir, "alice");
	th_write(target, BOX);
	cr_assert_eq(symlink(target, mb), 0);
	check_refused(mb, (uid_t)-1, "symbolic link", target, BOX);
}

Test(mbox_lock, dangling_symlink_is_refused_not_followed_to_create)
{
	const char *target = th_path(dir, "planted"), *mb = th_path(dir, "alice");
	cr_assert_eq(symlink(target, mb), 0);
	check_refused(mb, (uid_t)-1, "symbolic link", NULL, NULL);
	cr_assert_eq(access(target, F_OK), -1, "a symlink's target must never be created");
}

Test(mbox_lock, fifo_directory_and_socket_are_refused)
{
	const char *fifo = th_path(dir, "fifo"), *sub = th_path(dir, "sub"), *sock = th_path(dir, "sock");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	check_refused(fifo, (uid_t)-1, "not a regular file", NULL, NULL);
	cr_assert_eq(mkdir(sub, 0700), 0);
	check_refused(sub, (uid_t)-1, "not a regular file", NULL, NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
	check_refused(sock, (uid_t)-1, "not a regular file", NULL, NULL);
	close(s);
}

Test(mbox_lock, hard_linked_mailbox_is_refused)
{
	const char *mb = th_path(dir, "alice"), *other = th_path(dir, "other");
	th_write(mb, BOX);
	cr_assert_eq(link(mb, other), 0);
	check_refused(mb, (uid_t)-1, "more than one hard link", mb, BOX);
}

Test(mbox_lock, mailbox_of_another_owner_is_refused)
{
	const char *mb = th_path(dir, "alice");
	th_write(mb, BOX);
	check_refused(mb, getuid() + 1, "owned by the wrong user", mb, BOX);
	struct result r;
	cr_assert_eq(deliver(mb, getuid(), (gid_t)-1, 1, &r), EX_OK, "the right owner: %s", r.reason);
}

Test(mbox_lock, missing_mailbox_is_created_0600_whatever_the_umask)
{
	struct result r;
	struct stat st;
	const char *mb = th_path(dir, "alice");
	mode_t old = umask(0);
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r), EX_OK, "%s", r.reason);
	umask(old);
	cr_assert_eq(stat(mb, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, geteuid());
}

Test(mbox_lock, root_creates_the_mailbox_owned_by_the_recipient_group_mail)
{
	if (geteuid() != 0) {
		cr_skip_test("needs root: chown of a new mailbox to the recipient (runs in CI as root)");
	}
	struct group *g = getgrnam("mail");
	gid_t gid = g ? g->gr_gid : 12;
	struct result r;
	struct stat st;
	const char *mb = th_path(dir, "alice");
	cr_assert_eq(deliver(mb, 4242, gid, 1, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(stat(mb, &st), 0);
	cr_assert_eq(st.st_uid, 4242);
	cr_assert_eq(st.st_gid, gid, "group %u, want %u (%s)", (unsigned)st.st_gid, (unsigned)gid,
		     g ? "mail" : "no mail group here, tested with gid 12");
	cr_assert_eq(st.st_mode & 07777, 0600);
	/* The owner check now holds the recipient to it. */
	cr_assert_eq(deliver(mb, 4242, gid, 1, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(deliver(mb, 4243, gid, 1, &r), EX_TEMPFAIL);
}

/* Exit status of a child that asks F_GETLK on path what a writer would meet. 0: a write
 * lock held by another process, 1: no lock, 2: error. Children never call cr_assert. */
static int child_getlk(const char *path)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0)
			_exit(2);
		_exit(fl.l_type == F_WRLCK ? 0 : 1);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Runs argv (searched in PATH) in the background; returns its pid. */
static pid_t spawn(char *const argv[])
{
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	cr_assert_eq(err, 0, "spawn %s: %s", argv[0], strerror(err));
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "status %d", status);
	return WEXITSTATUS(status);
}

static bool have_dotlockfile(void)
{
	return access("/usr/bin/dotlockfile", X_OK) == 0;
}

Test(mbox_lock, held_lock_is_seen_by_fcntl_liblockfile_and_dotlockfile)
{
	struct result r;
	struct mbox_lock lk;
	const char *mb = th_path(dir, "alice"), *dot = th_path(dir, "alice.lock");
	th_write(mb, BOX);
	cr_assert_eq(child_getlk(mb), 1, "nothing locked yet");
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 1, &lk, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(access(dot, F_OK), 0, "USER.lock next to the mailbox");
	cr_assert_eq(child_getlk(mb), 0, "another process sees the fcntl write lock");
	cr_assert_eq(lockfile_check(dot, L_PID), 0, "liblockfile sees a valid lock");
	if (have_dotlockfile()) {
		char *argv[] = { "dotlockfile", "-l", "-r", "0", "-p", (char *)dot, NULL };
		cr_assert_neq(wait_exit(spawn(argv)), 0, "dotlockfile (mailx) must not get the lock");
	}
	mbox_unlock(&lk);
	cr_assert_eq(access(dot, F_OK), -1, "dotlock removed");
	cr_assert_eq(child_getlk(mb), 1, "fcntl lock released");
}

Test(mbox_lock, fcntl_lock_held_elsewhere_is_a_bounded_temporary_failure)
{
	struct result r;
	const char *mb = th_path(dir, "alice");
	th_write(mb, BOX);
	int holder = th_hold_fcntl(mb);
	double t0 = now();
	int ex = deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r);
	double waited = now() - t0;
	th_release(holder);
	cr_assert_eq(ex, EX_TEMPFAIL, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.1", "%s", r.reason);
	cr_assert(strstr(r.reason, "mailbox locked") != NULL, "%s", r.reason);
	cr_assert(waited >= 0.9 && waited < 3.0, "waited %.2f s for a 1 s lock_timeout", waited);
	cr_assert_eq(access(th_path(dir, "alice.lock"), F_OK), -1, "our dotlock is not left behind");
	char *got = th_read(mb, NULL);
	cr_assert_str_eq(got, BOX);
	free(got);
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r), EX_OK, "after release: %s", r.reason);
}

/* Waits until path exists (a spawned locker got its lock), at most 5 s. */
static void wait_for_file(const char *path)
{
	for (int i = 0; i < 500 && access(path, F_OK) != 0; i++)
		usleep(10000);
	cr_assert_eq(access(path, F_OK), 0, "%s never appeared", path);
}

Test(mbox_lock, dotlockfile_holder_makes_delivery_wait_then_fail_temporarily, .timeout = 30)
{
	if (!have_dotlockfile())
		cr_skip_test("dotlockfile(1) not installed (Debian: liblockfile-bin)");
	struct result r;
	const char *mb = th_path(dir, "alice"), *dot = th_path(dir, "alice.lock");
	th_write(mb, BOX);
	/* dotlockfile runs "sleep 3" while it holds alice.lock, as mailx would while it reads. */
	char *argv[] = { "dotlockfile", "-l", "-r", "0", "-p", (char *)dot, "sleep", "3", NULL };
	double t0 = now();
	pid_t holder = spawn(argv);
	wait_for_file(dot);
	int ex = deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r);
	double waited = now() - t0;
	cr_assert_eq(ex, EX_TEMPFAIL, "%s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.1", "%s", r.reason);
	cr_assert(waited >= 0.9 && waited < 2.9, "gave up after %.2f s with lock_timeout 1", waited);
	cr_assert_eq(access(dot, F_OK), 0, "someone else's lock is never removed");
	char *got = th_read(mb, NULL);
	cr_assert_str_eq(got, BOX, "nothing written while locked");
	free(got);
	/* With a longer timeout the delivery waits for the holder and then goes through. */
	ex = deliver(mb, (uid_t)-1, (gid_t)-1, 20, &r);
	waited = now() - t0;
	cr_assert_eq(ex, EX_OK, "%s", r.reason);
	cr_assert(waited >= 2.5, "delivered after %.2f s while dotlockfile held the lock for 3 s", waited);
	cr_assert_eq(wait_exit(holder), 0);
	got = th_read(mb, NULL);
	cr_assert(strncmp(got, BOX, sizeof BOX - 1) == 0 && strstr(got, "new body\n\n"));
	free(got);
}

/* A pid that no process of this host has (forked and reaped). */
static pid_t dead_pid(void)
{
	pid_t dead = fork();
	cr_assert(dead >= 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	return dead;
}

Test(mbox_lock, stale_dotlocks_are_broken_by_liblockfile_rules)
{
	struct result r;
	const char *mb = th_path(dir, "alice"), *dot = th_path(dir, "alice.lock");
	char text[32];
	/* A lock holding the pid of a process that is gone: broken at once. */
	snprintf(text, sizeof text, "%ld\n", (long)dead_pid());
	th_write(dot, text);
	double t0 = now();
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 5, &r), EX_OK, "dead pid: %s", r.reason);
	cr_assert(now() - t0 < 2.0, "a dead holder's lock is broken without waiting");
	cr_assert_eq(access(dot, F_OK), -1);
	/* No pid and older than 5 minutes: stale. */
	th_write(dot, "");
	struct timeval old[2] = { { time(NULL) - 600, 0 }, { time(NULL) - 600, 0 } };
	cr_assert_eq(utimes(dot, old), 0);
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 5, &r), EX_OK, "old lock: %s", r.reason);
	cr_assert_eq(access(dot, F_OK), -1);
	/* No pid and fresh, or a live pid: valid, so a temporary failure. */
	th_write(dot, "");
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r), EX_TEMPFAIL, "fresh lock");
	snprintf(text, sizeof text, "%ld\n", (long)getpid());
	th_write(dot, text);
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r), EX_TEMPFAIL, "live holder");
	cr_assert_str_eq(r.dsn, "4.2.1");
	cr_assert_eq(access(dot, F_OK), 0);
}

/* The PID written in our own dotlock while mbox_lock holds it (0 = none). */
static long pid_in_held_lock(const char *mb, const char *dot)
{
	struct result r;
	struct mbox_lock lk;
	cr_assert_eq(mbox_lock(mb, MBOX_LOCK_WRITE, NULL, 1, &lk, &r), EX_OK, "%s", r.reason);
	char *text = th_read(dot, NULL);
	long pid = atol(text);
	free(text);
	mbox_unlock(&lk);
	return pid;
}

/* shared_spool = yes: another host's lock names a PID our kill(2) cannot see, so the PID
 * says nothing; only the age does (liblockfile without L_PID), and we write no PID. */
Test(mbox_lock, a_shared_spool_judges_dotlocks_by_age_only)
{
	struct result r;
	const char *mb = th_path(dir, "alice"), *dot = th_path(dir, "alice.lock");
	char text[32];
	th_write(mb, BOX);
	cr_assert_eq(pid_in_held_lock(mb, dot), (long)getpid(), "one host: the lock names us");
	mbox_set_shared_spool(true);
	cr_assert_eq(pid_in_held_lock(mb, dot), 0, "shared: no PID in the lock");
	/* A fresh lock naming a PID that is dead here (alive on its host): held. */
	snprintf(text, sizeof text, "%ld\n", (long)dead_pid());
	th_write(dot, text);
	int ex = deliver(mb, (uid_t)-1, (gid_t)-1, 1, &r);
	cr_assert_eq(ex, EX_TEMPFAIL, "another host's live lock was broken: %s", r.reason);
	cr_assert_str_eq(r.dsn, "4.2.1", "%s", r.reason);
	cr_assert_eq(access(dot, F_OK), 0, "another host's lock is never removed while fresh");
	/* An old lock naming a PID alive here (a dead host's lock, its PID reused): stale. */
	snprintf(text, sizeof text, "%ld\n", (long)getpid());
	th_write(dot, text);
	struct timeval old[2] = { { time(NULL) - 600, 0 }, { time(NULL) - 600, 0 } };
	cr_assert_eq(utimes(dot, old), 0);
	ex = deliver(mb, (uid_t)-1, (gid_t)-1, 5, &r);
	mbox_set_shared_spool(false);
	cr_assert_eq(ex, EX_OK, "a 10-minute-old lock is stale whatever PID it names: %s", r.reason);
	cr_assert_eq(access(dot, F_OK), -1);
}

/* ---- A planted lock name (security audit, finding 4): never blocks past the timeout ---- */

static size_t count_tmp_locks(const char *where)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "ls -a %s | grep -c '^\\.lk' || true", where);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%zu", &n), 1);
	pclose(p);
	return n;
}

Test(mbox_lock, a_fifo_at_the_lock_name_fails_at_once_and_leaves_no_temp_files, .timeout = 20)
{
	struct result r;
	const char *mb = th_path(dir, "victim");
	th_write(mb, BOX);
	cr_assert_eq(mkfifo(th_path(dir, "victim.lock"), 0666), 0);
	double t0 = now();
	cr_assert_eq(deliver(mb, (uid_t)-1, (gid_t)-1, 5, &r), EX_TEMPFAIL);
	cr_assert(now() - t0 < 5.5, "took %.1f s with a 5 s lock timeout", now() - t0);
	cr_assert_str_eq(r.dsn, "4.2.1");
	cr_assert(strstr(r.reason, "FIFO"), "the reason names it: %s", r.reason);
	cr_assert_eq(count_tmp_locks(dir), 0, "a .lk temporary file was left behind");
	char *after = th_read(mb, NULL);
	cr_assert_str_eq(after, BOX, "mailbox untouched");
	free(after);
}

/* A FIFO appearing and vanishing at the lock name, as fast as an attacker can: every
 * delivery still ends within its timeout and the spool is left clean. */
static void race_fifo(const char *spool, const char *mb, bool helper_mode)
{
	char lock[700];
	snprintf(lock, sizeof lock, "%s.lock", mb);
	pid_t racer = fork();
	cr_assert(racer >= 0);
	if (racer == 0) {
		for (;;) {
			mkfifo(lock, 0666);
			unlink(lock);
		}
	}
	int worst_ms = 0, tries = 30, ok = 0;
	for (int i = 0; i < tries; i++) {
		int status;
		double t0 = now();
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			struct result r;
			if (helper_mode && (setgid(61001) != 0 || setuid(61001) != 0))
				_exit(99);
			_exit(deliver(mb, helper_mode ? 61001 : (uid_t)-1, (gid_t)-1, 1, &r));
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		int ms = (int)((now() - t0) * 1000);
		worst_ms = ms > worst_ms ? ms : worst_ms;
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 99, "child status %d", status);
		ok += WEXITSTATUS(status) == EX_OK;
	}
	kill(racer, SIGKILL);
	waitpid(racer, NULL, 0);
	unlink(lock);
	cr_assert(worst_ms < 2500, "a delivery took %d ms with a 1 s lock timeout", worst_ms);
	cr_assert_eq(count_tmp_locks(spool), 0, "a .lk temporary file was left behind");
	cr_log_info("%d of %d deliveries got the lock, worst %d ms", ok, tries, worst_ms);
}

Test(mbox_lock, a_fifo_racing_at_the_lock_name_never_blocks_a_delivery, .timeout = 120)
{
	const char *mb = th_path(dir, "victim");
	th_write(mb, BOX);
	race_fifo(dir, mb, false);
}

Test(mbox_lock, the_dotlockfile_helper_is_bounded_too_in_a_root_mail_2775_spool, .timeout = 120)
{
	struct group *mail = getgrnam("mail");
	if (geteuid() != 0 || !mail)
		cr_skip_test("needs root and a mail group (a delivery as a user in a root:mail 2775 spool)");
	char spool[600];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	cr_assert_eq(mkdir(spool, 0755), 0);
	cr_assert_eq(chmod(dir, 0755) | chown(spool, 0, mail->gr_gid) | chmod(spool, 02775), 0);
	const char *mb = th_path(spool, "victim");
	th_write(mb, BOX);
	cr_assert_eq(chown(mb, 61001, mail->gr_gid) | chmod(mb, 0660), 0);
	/* Planted before: refused at once. */
	cr_assert_eq(mkfifo(th_path(spool, "victim.lock"), 0666), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct result r;
		if (setgid(61001) != 0 || setuid(61001) != 0)
			_exit(99);
		_exit(deliver(mb, 61001, (gid_t)-1, 2, &r) == EX_TEMPFAIL ? 0 : 1);
	}
	int status;
	double t0 = now();
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_assert(now() - t0 < 2.5);
	unlink(th_path(spool, "victim.lock"));
	race_fifo(spool, mb, true);
}

/* Runs what as uid 61001 (no groups) with shared_spool = yes; true when it returned 0. */
static bool as_shared_user(int (*what)(const char *mb, const char *dot), const char *mb, const char *dot)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(61001) != 0 || setuid(61001) != 0)
			_exit(99);
		mbox_set_shared_spool(true);
		_exit(what(mb, dot));
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int lock_names_no_pid(const char *mb, const char *dot)
{
	return pid_in_held_lock(mb, dot) != 0;
}

static int fresh_lock_is_honoured(const char *mb, const char *dot)
{
	struct result r;
	return !(deliver(mb, 61001, (gid_t)-1, 1, &r) == EX_TEMPFAIL && access(dot, F_OK) == 0);
}

/* The same rule through the setgid dotlockfile (a user's delivery in a root:mail 2775
 * spool): run without -p, it writes no PID and honours a fresh lock whatever PID it names. */
Test(mbox_lock, a_shared_spool_judges_by_age_through_the_helper_too, .timeout = 60)
{
	struct group *mail = getgrnam("mail");
	if (geteuid() != 0 || !mail || !have_dotlockfile())
		cr_skip_test("needs root, a mail group and dotlockfile(1) (a user's delivery in a root:mail 2775 spool)");
	char spool[600], text[32];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	cr_assert_eq(mkdir(spool, 0755), 0);
	cr_assert_eq(chmod(dir, 0755) | chown(spool, 0, mail->gr_gid) | chmod(spool, 02775), 0);
	const char *mb = th_path(spool, "victim"), *dot = th_path(spool, "victim.lock");
	th_write(mb, BOX);
	cr_assert_eq(chown(mb, 61001, mail->gr_gid) | chmod(mb, 0660), 0);
	cr_assert(as_shared_user(lock_names_no_pid, mb, dot), "the helper wrote a PID into the lock");
	snprintf(text, sizeof text, "%ld\n", (long)dead_pid());
	th_write(dot, text);
	cr_assert_eq(chmod(dot, 0644), 0);
	cr_assert(as_shared_user(fresh_lock_is_honoured, mb, dot), "a fresh lock naming a dead PID was broken");
}

Test(mbox_lock, a_user_without_a_mailbox_in_a_root_mail_spool_is_told_the_command, .timeout = 30)
{
	struct group *mail = getgrnam("mail");
	if (geteuid() != 0 || !mail)
		cr_skip_test("needs root and a mail group (a delivery as a user in a root:mail 2775 spool)");
	char spool[600];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	cr_assert_eq(mkdir(spool, 0755), 0);
	cr_assert_eq(chmod(dir, 0755) | chown(spool, 0, mail->gr_gid) | chmod(spool, 02775), 0);
	const char *mb = th_path(spool, "newuser");
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct result r;
		close(p[0]);
		if (setgid(61001) != 0 || setuid(61001) != 0)
			_exit(99);
		int ex = deliver(mb, 61001, mail->gr_gid, 2, &r);
		(void)!write(p[1], &r, sizeof r);
		_exit(ex);
	}
	close(p[1]);
	struct result r = { 0 };
	cr_assert_eq(read(p[0], &r, sizeof r), (ssize_t)sizeof r);
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EX_TEMPFAIL, "status %d", status);
	cr_assert_str_eq(r.dsn, "4.2.0");
	char want[900];
	snprintf(want, sizeof want, "install -m 0600 -o 61001 -g mail /dev/null %s", mb);
	cr_assert(strstr(r.reason, want), "the reason gives the command: %s", r.reason);
	cr_assert_null(strstr(r.reason, ".lock"), "not blamed on the lock file: %s", r.reason);
	cr_assert_eq(access(mb, F_OK), -1, "nothing created");
}
