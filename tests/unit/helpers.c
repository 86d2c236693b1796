/* Test helpers shared by every unit test file. */
#include "tests/unit/helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[512];

const char *th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/mdatest.XXXXXX", base && *base ? base : "/tmp");
	cr_assert(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
	return tmpdir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	/* chmod follows symlinks: a test's symlink to /etc/passwd must not make it 0700. */
	if (flag != FTW_SL && flag != FTW_SLN)
		chmod(path, 0700);
	remove(path);
	return 0;
}

void th_cleanup(void)
{
	if (tmpdir[0] && !getenv("TH_KEEP"))
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

const char *th_path(const char *dir, const char *name)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

void th_write(const char *path, const char *data)
{
	FILE *fp = fopen(path, "w");
	cr_assert(fp != NULL, "open %s: %s", path, strerror(errno));
	cr_assert(fwrite(data, 1, strlen(data), fp) == strlen(data));
	cr_assert(fclose(fp) == 0);
}

char *th_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	cr_assert(fp != NULL, "open %s: %s", path, strerror(errno));
	cr_assert(fseek(fp, 0, SEEK_END) == 0);
	long n = ftell(fp);
	rewind(fp);
	char *buf = malloc((size_t)n + 1);
	cr_assert(buf != NULL);
	cr_assert(fread(buf, 1, (size_t)n, fp) == (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

void th_world(struct config *cfg, const char *dir)
{
	static const char *const users[] = { "alice", "bob", "carol" };
	struct passwd *me = getpwuid(getuid());
	char line[2048], home[1024];
	FILE *fp;

	cfg_defaults(cfg);
	snprintf(cfg->spool_dir, sizeof cfg->spool_dir, "%s/spool", dir);
	snprintf(cfg->tmp_dir, sizeof cfg->tmp_dir, "%s/tmp", dir);
	snprintf(cfg->aliases_file, sizeof cfg->aliases_file, "%s/aliases", dir);
	snprintf(cfg->aliases_db, sizeof cfg->aliases_db, "%s/aliases.db", dir);
	snprintf(cfg->passwd_file, sizeof cfg->passwd_file, "%s/passwd", dir);
	snprintf(cfg->log, sizeof cfg->log, "stderr");
	snprintf(cfg->hostname, sizeof cfg->hostname, "test.example");
	cfg->mail_group[0] = '\0';
	cfg->lock_timeout = 5;
	cr_assert(mkdir(cfg->spool_dir, 0775) == 0);
	cr_assert(mkdir(cfg->tmp_dir, 0700) == 0);
	cr_assert(mkdir(th_path(dir, "home"), 0755) == 0);
	fp = fopen(cfg->passwd_file, "w");
	cr_assert(fp != NULL);
	for (size_t i = 0; i <= sizeof users / sizeof users[0]; i++) {
		const char *name = i < 3 ? users[i] : (me ? me->pw_name : "self");
		snprintf(home, sizeof home, "%s/home/%s", dir, name);
		if (mkdir(home, 0755) != 0)
			cr_assert(errno == EEXIST);
		snprintf(line, sizeof line, "%s:x:%u:%u:%s:%s:/bin/sh\n", name, (unsigned)getuid(),
			 (unsigned)getgid(), name, home);
		fputs(line, fp);
	}
	fclose(fp);
}

int th_hold_fcntl(const char *path)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {   /* no cr_assert in the child */
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char ok = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
		(void)!write(p[1], &ok, 1);
		if (ok != 'y')
			_exit(1);
		for (;;)
			pause();
	}
	char ok = 0;
	ssize_t got = read(p[0], &ok, 1);
	close(p[0]);
	close(p[1]);
	if (got != 1 || ok != 'y')
		th_release(pid);   /* never leave a child behind (it holds Criterion's pipes) */
	cr_assert_eq(ok, 'y', "the lock holder could not lock %s", path);
	return pid;
}

void th_release(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

long long th_big_mbox(const char *path, int count, size_t size)
{
	struct stat st;
	size_t n = size > 100 ? size - 60 : 40;
	char *body = malloc(n);
	FILE *f = fopen(path, "w");
	cr_assert(body && f, "%s: %s", path, strerror(errno));
	memset(body, 'b', n);
	for (size_t k = 79; k < n; k += 80)
		body[k] = '\n';
	for (int i = 0; i < count; i++)
		fprintf(f, "From m%d@x Fri Sep 29 04:03:11 2023\nSubject: m%d\n\n%.*s\n\n", i, i, (int)n - 1, body);
	free(body);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(stat(path, &st), 0);
	return (long long)st.st_size;
}

static long th_maxrss_kib(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

long th_peak_growth_kib(int (*prepare)(void *arg), int (*measured)(void *arg), void *arg)
{
	int fds[2], status;
	long growth = -1;
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		long before, after;
		if (prepare(arg) != 0 || (before = th_maxrss_kib()) < 0 || measured(arg) != 0 ||
		    (after = th_maxrss_kib()) < 0)
			_exit(1);
		growth = after - before;
		_exit(write(fds[1], &growth, sizeof growth) == sizeof growth ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], &growth, sizeof growth) != sizeof growth)
		growth = -1;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? growth : -1;
}

int th_unprivileged(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
			_exit(254);
		_exit(fn(arg) & 0xff);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!WIFEXITED(status) || WEXITSTATUS(status) != 254, "could not become nobody");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
