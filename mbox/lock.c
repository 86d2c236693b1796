/* Mailbox locking as Postfix local(8), mail.local and mailx do it: dotlock, then fcntl. */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <lockfile.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* liblockfile's stale test for a dotlock that names a PID (L_PID) is kill(PID, 0), which
 * answers for this host's processes only: on a spool other hosts lock too it removes their
 * live locks and honours dead ones. Its manual says not to use it there; without L_PID it
 * writes no PID and judges a lock by its age alone (5 minutes). */
static bool lock_shared_spool;

void mbox_set_shared_spool(bool shared)
{
	lock_shared_spool = shared;
}

static double lock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps the next backoff step (10 ms doubling to 250 ms), never past the deadline.
 * Returns false when the deadline has passed. */
static bool lock_backoff(double deadline, long *step_ms)
{
	double left = deadline - lock_now();
	if (left <= 0)
		return false;
	long ms = *step_ms;
	if ((double)ms / 1000.0 > left)
		ms = (long)(left * 1000.0) + 1;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	*step_ms = *step_ms * 2 > 250 ? 250 : *step_ms * 2;
	return true;
}

/* A refusal is temporary on purpose: an administrator fixes the mailbox, the MTA retries. */
static int lock_refuse(struct result *r, const char *path, const char *why)
{
	log_msg(LOG_WARNING, "%s: refusing mailbox: %s", path, why);
	return res_set(r, EX_TEMPFAIL, "4.2.0", "mailbox %s refused: %s", path, why);
}

/* What liblockfile cannot survive at the lock's name: it makes a dotlock by link(2), so a
 * real one is always a plain file, and it reads the PID of one that exists with a blocking
 * open(2), which never returns on a FIFO someone planted (a sticky world-writable spool lets
 * anyone create SPOOL/victim.lock). NULL when the name is free or a plain file. */
static const char *lock_name_planted(const char *lock_path)
{
	struct stat st;
	if (lstat(lock_path, &st) != 0 || S_ISREG(st.st_mode))
		return NULL;
	return S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISLNK(st.st_mode) ? "a symbolic link"
	       : S_ISDIR(st.st_mode) ? "a directory" : "not a regular file";
}

static void lock_alarm(int sig)
{
	(void)sig;   /* only there to interrupt a blocking open(2) inside liblockfile */
}

/* lockfile_create with a deadline: a FIFO that appears at the name between our check and
 * liblockfile's open would block it; SIGALRM (no SA_RESTART, unblocked for the call) makes
 * that open fail with EINTR, and liblockfile then gives up this try and removes its
 * temporary .lk file itself. */
static int lock_create_bounded(const char *lock_path, double deadline)
{
	struct sigaction sa = { .sa_handler = lock_alarm }, old_sa;
	struct itimerval it = { { 0, 0 }, { 0, 0 } }, old_it, off = { { 0, 0 }, { 0, 0 } };
	sigset_t alrm, old_mask;
	double left = deadline - lock_now();
	if (left < 0.05)
		left = 0.05;
	it.it_value.tv_sec = (time_t)left;
	it.it_value.tv_usec = (suseconds_t)((left - (double)(time_t)left) * 1e6);
	sigemptyset(&sa.sa_mask);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigaction(SIGALRM, &sa, &old_sa);
	sigprocmask(SIG_UNBLOCK, &alrm, &old_mask);
	setitimer(ITIMER_REAL, &it, &old_it);
	int rc = lockfile_create(lock_path, 0, lock_shared_spool ? 0 : L_PID);
	int err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	setitimer(ITIMER_REAL, &old_it, NULL);
	errno = err;
	return rc;
}

/* Where the spool is not ours to write (Debian's root:mail 2775 and mail not set-id),
 * liblockfile runs its setgid helper dotlockfile and waits for it without any limit; we run
 * the same helper the same way (-p: the lock names our PID, its parent; not on a shared
 * spool) but with a deadline, ending it with SIGTERM (it then removes its temporary file)
 * and SIGKILL. */
static bool lock_needs_helper(const char *lock_path)
{
	char dir[CFG_PATH_MAX + 8];
	if (geteuid() == 0 || !mbox_dirname(lock_path, dir, sizeof dir))
		return false;
	return faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) != 0 && errno == EACCES;
}

/* Waits for the helper until the deadline. A pidfd becomes readable the moment the child
 * exits, so poll(2) wakes at once (a sleep-and-WNOHANG loop collected a 1 ms helper after
 * ~3 ms, twice per delivery); without pidfds (kernels before 5.3) we poll in short naps. */
static bool lock_child_wait(pid_t pid, int *status, double deadline)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long ms = 1;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			if (pfd >= 0)
				close(pfd);
			return true;
		}
		double left = deadline - lock_now();
		if (left <= 0) {
			if (pfd >= 0)
				close(pfd);
			return false;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			poll(&p, 1, (int)(left * 1000) + 1);
			continue;
		}
		struct timespec ts = { 0, ms * 1000000L };
		nanosleep(&ts, NULL);
		ms = ms < 32 ? ms * 2 : 32;
	}
}

static int lock_helper_bounded(const char *op, const char *lock_path, double deadline)
{
	int status = 0;
	pid_t pid = fork();
	if (pid < 0)
		return L_ERROR;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		setpgid(0, 0);
		char *argv[] = { "dotlockfile", (char *)op, "-r", "0", "-q", "-p", (char *)lock_path, NULL };
		if (lock_shared_spool) {   /* no -p: no PID in the lock, nor a PID test */
			argv[5] = (char *)lock_path;
			argv[6] = NULL;
		}
		execv(MBOX_DOTLOCK_HELPER, argv);
		_exit(L_ERROR);
	}
	if (lock_child_wait(pid, &status, deadline))
		return WIFEXITED(status) ? WEXITSTATUS(status) : L_ERROR;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	if (!lock_child_wait(pid, &status, lock_now() + 0.5)) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return L_MAXTRYS;
}

static int lock_dotlock(struct mbox_lock *lk, double deadline, struct result *r)
{
	long step = 10;
	lk->helper = lock_needs_helper(lk->lock_path);
	for (;;) {
		const char *planted = lock_name_planted(lk->lock_path);
		if (planted) {
			log_msg(LOG_WARNING, "%s: lock file is %s, not a lock mda or mailx would make; "
				"remove it (mail for this mailbox waits until then)", lk->lock_path, planted);
			return res_set(r, EX_TEMPFAIL, "4.2.1", "mailbox locked: %s is %s", lk->lock_path, planted);
		}
		/* retries 0: liblockfile's own retry loop sleeps 5 s and more; ours is finer.
		 * L_PID lets liblockfile remove the lock of a dead process at once (one host only). */
		int rc = lk->helper ? lock_helper_bounded("-l", lk->lock_path, deadline)
				    : lock_create_bounded(lk->lock_path, deadline);
		if (rc == L_SUCCESS) {
			lk->dotlocked = true;
			return EX_OK;
		}
		if (rc != L_MAXTRYS) {
			int err = errno;
			log_msg(LOG_WARNING, "%s: cannot create lock file (liblockfile error %d)",
				lk->lock_path, rc);
			return res_errno(r, err ? err : EAGAIN, false, "cannot create lock file %s",
					 lk->lock_path);
		}
		if (!lock_backoff(deadline, &step))
			return res_set(r, EX_TEMPFAIL, "4.2.1", "mailbox locked: %s is held",
				       lk->lock_path);
	}
}

/* Opens the mailbox without following symlinks, creating it when asked. */
static int lock_open(struct mbox_lock *lk, int flags, const struct mbox_owner *owner,
		     struct result *r)
{
	int mode = (flags & MBOX_LOCK_WRITE) ? O_RDWR : O_RDONLY;
	int base = mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	for (int tries = 0; tries < 10; tries++) {
		lk->fd = open(lk->path, base);
		if (lk->fd >= 0)
			return EX_OK;
		if (errno == ELOOP)
			return lock_refuse(r, lk->path, "it is a symbolic link");
		/* A directory (EISDIR) or socket (ENXIO) fails open for writing before fstat. */
		if (errno == EISDIR || errno == ENXIO)
			return lock_refuse(r, lk->path, "it is not a regular file");
		if (errno != ENOENT || !(flags & MBOX_LOCK_CREATE))
			return res_errno(r, errno, false, "cannot open mailbox %s", lk->path);
		lk->fd = open(lk->path, base | O_CREAT | O_EXCL, 0600);
		if (lk->fd >= 0) {
			if (geteuid() == 0 && owner && owner->uid != (uid_t)-1 &&
			    fchown(lk->fd, owner->uid, owner->gid) != 0) {
				int err = errno;
				unlink(lk->path);
				close(lk->fd);
				lk->fd = -1;
				return res_errno(r, err, false, "cannot chown new mailbox %s", lk->path);
			}
			return EX_OK;
		}
		if (errno != EEXIST)
			return res_errno(r, errno, false, "cannot create mailbox %s", lk->path);
		/* Someone created it between our two opens: open theirs. */
	}
	return res_set(r, EX_TEMPFAIL, "4.2.0", "mailbox %s keeps appearing and vanishing", lk->path);
}

/* The checks every writer of /var/mail makes: a plain file, one link, the right owner,
 * and the path still naming the file we opened (defeats rename/link races). A file that
 * no longer has the name (a reader's quit renamed its rewrite over it just after our open)
 * sets *again: the caller opens the new one, as it does when that happens during the lock
 * wait; refusing would defer a delivery for an ordinary rewrite. */
static int lock_check(struct mbox_lock *lk, const struct mbox_owner *owner, struct result *r, bool *again)
{
	struct stat st, lst;
	*again = false;
	if (fstat(lk->fd, &st) != 0)
		return res_errno(r, errno, false, "cannot stat mailbox %s", lk->path);
	if (!S_ISREG(st.st_mode))
		return lock_refuse(r, lk->path, "it is not a regular file");
	if (st.st_nlink == 0 || lstat(lk->path, &lst) != 0 || lst.st_dev != st.st_dev || lst.st_ino != st.st_ino) {
		*again = true;
		return res_set(r, EX_TEMPFAIL, "4.2.1", "mailbox locked: %s keeps being replaced", lk->path);
	}
	if (st.st_nlink != 1)
		return lock_refuse(r, lk->path, "it has more than one hard link");
	if (owner && owner->uid != (uid_t)-1 && st.st_uid != owner->uid)
		return lock_refuse(r, lk->path, "it is owned by the wrong user");
	lk->dev = st.st_dev;
	lk->ino = st.st_ino;
	return EX_OK;
}

/* Open file description locks conflict with the classic fcntl locks of Postfix and mailx,
 * but are not dropped when this process closes some other descriptor of the same file
 * (the well-known POSIX lock trap, e.g. mbox_index_open inside a locked section). */
static int lock_fcntl_try(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EINVAL && fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	return errno;
}

static int lock_fcntl(struct mbox_lock *lk, int flags, double deadline, struct result *r)
{
	short type = (flags & MBOX_LOCK_WRITE) ? F_WRLCK : F_RDLCK;
	long step = 10;
	for (;;) {
		int err = lock_fcntl_try(lk->fd, type);
		if (err == 0)
			return EX_OK;
		if (err != EAGAIN && err != EACCES && err != EINTR)
			return res_errno(r, err, false, "cannot lock mailbox %s", lk->path);
		if (!lock_backoff(deadline, &step))
			return res_set(r, EX_TEMPFAIL, "4.2.1", "mailbox locked: %s is in use",
				       lk->path);
	}
}

static void lock_close_fd(struct mbox_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
}

/* Opens, checks and fcntl-locks; retries when a rewriter renamed a new file over the path
 * while we waited for the lock on the old one. */
static int lock_open_locked(struct mbox_lock *lk, int flags, const struct mbox_owner *owner,
			    double deadline, struct result *r)
{
	for (;;) {
		struct stat st;
		bool again = false;
		if (lock_open(lk, flags, owner, r) != EX_OK || lock_check(lk, owner, r, &again) != EX_OK ||
		    lock_fcntl(lk, flags, deadline, r) != EX_OK) {
			lock_close_fd(lk);
			if (!again || lock_now() > deadline)
				return r->ex;
			continue;
		}
		if (lstat(lk->path, &st) == 0 && st.st_dev == lk->dev && st.st_ino == lk->ino)
			return EX_OK;
		lock_close_fd(lk);
		if (lock_now() > deadline)
			return res_set(r, EX_TEMPFAIL, "4.2.1", "mailbox locked: %s keeps being replaced",
				       lk->path);
	}
}

/* A missing mailbox in a spool we may not write (Debian's root:mail 2775 behind Postfix's
 * mailbox_command, which runs us as the user: useradd made no mailbox): nothing we can do
 * fixes it, so say exactly what the administrator must run, before liblockfile and its
 * helper fail with a lock-file error that blames the wrong thing. */
static bool lock_cannot_create(struct mbox_lock *lk, const struct mbox_owner *owner, struct result *r)
{
	char dir[CFG_PATH_MAX], user[64], group[64];
	struct stat st;
	if (geteuid() == 0 || lstat(lk->path, &st) == 0 || errno != ENOENT || !mbox_dirname(lk->path, dir, sizeof dir) ||
	    faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) == 0)
		return false;
	uid_t uid = owner && owner->uid != (uid_t)-1 ? owner->uid : geteuid();
	gid_t gid = owner && owner->gid != (gid_t)-1 ? owner->gid : getegid();
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid(gid);
	if (pw)
		snprintf(user, sizeof user, "%s", pw->pw_name);
	else
		snprintf(user, sizeof user, "%u", (unsigned)uid);
	if (gr)
		snprintf(group, sizeof group, "%s", gr->gr_name);
	else
		snprintf(group, sizeof group, "%u", (unsigned)gid);
	log_msg(LOG_WARNING, "%s: no mailbox, and %s cannot create one in %s; create it with: install -m 0600 "
		"-o %s -g %s /dev/null %s", lk->path, user, dir, user, group, lk->path);
	res_set(r, EX_TEMPFAIL, "4.2.0", "mailbox %s does not exist; create it: install -m 0600 -o %s -g %s /dev/null %s",
		lk->path, user, group, lk->path);
	return true;
}

int mbox_lock(const char *path, int flags, const struct mbox_owner *owner, int timeout,
	      struct mbox_lock *lk, struct result *r)
{
	memset(lk, 0, sizeof *lk);
	lk->fd = -1;
	if (snprintf(lk->path, sizeof lk->path, "%s", path) >= (int)sizeof lk->path ||
	    snprintf(lk->lock_path, sizeof lk->lock_path, "%s.lock", path) >= (int)sizeof lk->lock_path)
		return res_set(r, EX_TEMPFAIL, "4.2.0", "mailbox path too long");
	double deadline = lock_now() + (timeout > 0 ? timeout : 0);
	if ((flags & MBOX_LOCK_CREATE) && lock_cannot_create(lk, owner, r))
		return r->ex;
	if (!(flags & MBOX_LOCK_NODOTLOCK) && lock_dotlock(lk, deadline, r) != EX_OK)
		return r->ex;
	if (lock_open_locked(lk, flags, owner, deadline, r) != EX_OK) {
		mbox_unlock(lk);
		return r->ex;
	}
	if (flags & MBOX_LOCK_WRITE) {
		/* An interrupted rewrite first: it puts back the file a torn append may follow. */
		int err = mbox_inplace_recover(lk->fd, lk->path);
		if (err) {
			mbox_unlock(lk);
			return res_errno(r, err, false, "cannot undo an interrupted rewrite of %s", path);
		}
		err = mbox_journal_recover(lk->fd, lk->path);
		if (err) {
			mbox_unlock(lk);
			return res_errno(r, err, false, "cannot repair torn tail of %s", path);
		}
	}
	*r = res_ok("locked");
	return EX_OK;
}

void mbox_unlock(struct mbox_lock *lk)
{
	if (lk->fd >= 0) {
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
		if (fcntl(lk->fd, F_OFD_SETLK, &fl) != 0)
			fcntl(lk->fd, F_SETLK, &fl);
		close(lk->fd);
		lk->fd = -1;
	}
	if (lk->dotlocked && lk->helper)
		lock_helper_bounded("-u", lk->lock_path, lock_now() + 10);
	else if (lk->dotlocked)
		lockfile_remove(lk->lock_path);
	lk->dotlocked = false;
}
