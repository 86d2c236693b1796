/* Unit tests for forward/forward.c: which ~/.forward files are read and which are ignored (and
 * why), and the :include: file rules. As root the user is uid 1001 and a stranger uid 1002;
 * unprivileged, the user is the running uid and the cases needing another owner are skipped. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privs.h"
#include "forward/forward.h"
#include "tests/unit/helpers.h"

#define USER_UID 1001
#define STRANGER_UID 1002

static const char *dir;
static struct user_info user;
static char fwd[1200], logpath[1200];
static int saved_stderr = -1;

static bool root(void)
{
	return geteuid() == 0;
}

static void own(const char *path, uid_t uid)
{
	if (root())
		cr_assert_eq(lchown(path, uid, uid), 0, "chown %s: %s", path, strerror(errno));
}

static void setup(void)
{
	dir = th_tmpdir();
	chmod(dir, 0755);
	memset(&user, 0, sizeof user);
	snprintf(user.name, sizeof user.name, "alice");
	user.uid = root() ? USER_UID : getuid();
	user.gid = root() ? USER_UID : getgid();
	snprintf(user.home, sizeof user.home, "%s/alice", dir);
	cr_assert_eq(mkdir(user.home, 0755), 0);
	own(user.home, user.uid);
	snprintf(fwd, sizeof fwd, "%s/.forward", user.home);
	/* Capture the log: the reason a .forward is ignored must be written down. */
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	log_init("test", "stderr");
}

static void teardown(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	th_cleanup();
}

TestSuite(forward, .init = setup, .fini = teardown);

static void write_forward(const char *text, mode_t mode, uid_t owner)
{
	th_write(fwd, text);
	chmod(fwd, mode);
	own(fwd, owner);
}

static enum fwd_status read_fwd(char **content)
{
	struct result r;
	enum fwd_status s = fwd_read(&user, content, &r);
	cr_assert_neq(s, FWD_ERROR, "%s", r.reason);
	return s;
}

static void assert_ignored(const char *why)
{
	char *content = (char *)"unset";
	cr_assert_eq(read_fwd(&content), FWD_IGNORED);
	cr_assert_null(content);
	fflush(stderr);
	char *log = th_read(logpath, NULL);
	cr_assert(strstr(log, why) != NULL, "log should say \"%s\": %s", why, log);
	free(log);
}

Test(forward, found)
{
	char *content;
	write_forward("\\alice, alice@elsewhere.example\n", 0644, user.uid);
	cr_assert_eq(read_fwd(&content), FWD_FOUND);
	cr_assert_str_eq(content, "\\alice, alice@elsewhere.example\n");
	free(content);
}

Test(forward, absent_file_and_absent_home_are_plain_mailbox_delivery)
{
	char *content;
	cr_assert_eq(read_fwd(&content), FWD_NONE);
	snprintf(user.home, sizeof user.home, "%s/nohome", dir);
	cr_assert_eq(read_fwd(&content), FWD_NONE);
}

Test(forward, root_owned_forward_is_accepted)
{
	char *content;
	if (!root())
		cr_skip_test("needs root to give the .forward to root");
	write_forward("bob\n", 0644, 0);
	cr_assert_eq(read_fwd(&content), FWD_FOUND);
	free(content);
}

Test(forward, not_a_regular_file)
{
	cr_assert_eq(mkdir(fwd, 0755), 0);
	own(fwd, user.uid);
	assert_ignored("ignoring .forward of user alice: not a regular file");
}

Test(forward, fifo_is_not_a_regular_file)
{
	cr_assert_eq(mkfifo(fwd, 0644), 0);
	own(fwd, user.uid);
	assert_ignored("ignoring .forward of user alice: not a regular file");
}

Test(forward, group_writable)
{
	write_forward("bob\n", 0664, user.uid);
	assert_ignored("ignoring .forward of user alice: group or world writable");
}

Test(forward, world_writable)
{
	write_forward("bob\n", 0646, user.uid);
	assert_ignored("ignoring .forward of user alice: group or world writable");
}

Test(forward, owned_by_someone_else)
{
	if (!root())
		cr_skip_test("needs root to give the .forward to another user");
	write_forward("bob\n", 0644, STRANGER_UID);
	assert_ignored("ignoring .forward of user alice: owned by someone else");
}

Test(forward, symlink_to_a_file_the_user_owns)
{
	char target[1300], *content;
	snprintf(target, sizeof target, "%s/real-forward", user.home);
	th_write(target, "bob\n");
	own(target, user.uid);
	cr_assert_eq(symlink(target, fwd), 0);
	own(fwd, user.uid);
	cr_assert_eq(read_fwd(&content), FWD_FOUND);
	cr_assert_str_eq(content, "bob\n");
	free(content);
}

Test(forward, symlink_to_a_place_the_user_does_not_own)
{
	char target[1300];
	if (!root())
		cr_skip_test("needs root to make a file owned by someone else");
	snprintf(target, sizeof target, "%s/not-yours", dir);
	th_write(target, "bob\n");
	own(target, STRANGER_UID);
	cr_assert_eq(symlink(target, fwd), 0);
	own(fwd, user.uid);
	assert_ignored("ignoring .forward of user alice: symlink to a place the user does not own");
}

Test(forward, symlink_to_a_root_file_is_not_the_users)
{
	if (!root())
		cr_skip_test("needs root: unprivileged, /etc/passwd's owner is someone else anyway");
	cr_assert_eq(symlink("/etc/passwd", fwd), 0);
	own(fwd, user.uid);
	assert_ignored("symlink to a place the user does not own");
}

Test(forward, dangling_symlink)
{
	cr_assert_eq(symlink("/nonexistent/forward", fwd), 0);
	own(fwd, user.uid);
	char *content;
	cr_assert_eq(read_fwd(&content), FWD_NONE, "a dangling link is as good as no .forward");
}

Test(forward, too_large)
{
	char *big = malloc(FWD_SIZE_MAX + 10);
	memset(big, 'a', FWD_SIZE_MAX + 9);
	big[FWD_SIZE_MAX + 9] = '\0';
	write_forward(big, 0644, user.uid);
	free(big);
	assert_ignored("larger than 64 KB");
}

Test(forward, home_group_writable)
{
	write_forward("bob\n", 0644, user.uid);
	chmod(user.home, 0775);
	assert_ignored("ignoring home directory of user alice: group or world writable");
}

Test(forward, home_world_writable_even_sticky)
{
	write_forward("bob\n", 0644, user.uid);
	chmod(user.home, 01777);
	assert_ignored("ignoring home directory of user alice: group or world writable");
}

Test(forward, home_owned_by_someone_else)
{
	if (!root())
		cr_skip_test("needs root to give the home directory to another user");
	write_forward("bob\n", 0644, user.uid);
	own(user.home, STRANGER_UID);
	assert_ignored("ignoring home directory of user alice: owned by someone else");
}

Test(forward, home_is_a_file)
{
	char home[900];
	snprintf(home, sizeof home, "%s/homefile", dir);
	th_write(home, "x");
	own(home, user.uid);
	snprintf(user.home, sizeof user.home, "%s", home);
	assert_ignored("ignoring home directory of user alice: not a directory");
}

Test(forward, relative_home)
{
	snprintf(user.home, sizeof user.home, "relative/home");
	assert_ignored("ignoring home directory of user alice: not an absolute path");
}

Test(forward, home_symlink_to_own_directory)
{
	char link[900], *content;
	write_forward("bob\n", 0644, user.uid);
	snprintf(link, sizeof link, "%s/homelink", dir);
	cr_assert_eq(symlink(user.home, link), 0);
	snprintf(user.home, sizeof user.home, "%s", link);
	cr_assert_eq(read_fwd(&content), FWD_FOUND);
	free(content);
}

/* ---- :include: ---- */

/* An include named by for_user's .forward (NULL: by an alias), read with for_user's rights
 * (ours for an alias here). */
static int read_include(const char *path, const struct user_info *for_user, char **content, uid_t *owner,
			struct result *r)
{
	struct fwd_include_req q = { .path = path, .reader = for_user, .for_user = for_user,
				     .max = FWD_INCLUDE_SIZE_MAX };
	return fwd_read_include(&q, content, owner, r);
}

Test(forward, include_ok_reports_the_owner)
{
	char path[1300], *content;
	uid_t owner = 12345;
	struct result r;
	snprintf(path, sizeof path, "%s/list", dir);
	th_write(path, "alice\nbob\n");
	own(path, user.uid);
	cr_assert_eq(read_include(path, NULL, &content, &owner, &r), EX_OK, "%s", r.reason);
	cr_assert_str_eq(content, "alice\nbob\n");
	cr_assert_eq(owner, user.uid);
	free(content);
}

Test(forward, include_failures)
{
	char path[1300], *content;
	uid_t owner;
	struct result r;
	snprintf(path, sizeof path, "%s/list", dir);
	cr_assert_eq(read_include("relative/list", NULL, &content, &owner, &r), EX_DATAERR);
	cr_assert_eq(read_include(path, NULL, &content, &owner, &r), EX_UNAVAILABLE);
	cr_assert(strstr(r.reason, "cannot open :include: file") != NULL, "%s", r.reason);
	th_write(path, "alice\n");
	chmod(path, 0666);
	cr_assert_eq(read_include(path, NULL, &content, &owner, &r), EX_NOPERM);
	cr_assert_str_eq(r.dsn, "5.7.1");
	cr_assert(strstr(r.reason, "group or world writable") != NULL, "%s", r.reason);
	chmod(path, 0644);
	cr_assert_eq(mkdir(th_path(dir, "listdir"), 0755), 0);
	cr_assert_eq(read_include(th_path(dir, "listdir"), NULL, &content, &owner, &r), EX_NOPERM);
	cr_assert(strstr(r.reason, "not a regular file") != NULL, "%s", r.reason);
}

Test(forward, include_from_a_forward_must_be_the_users_or_world_readable)
{
	char path[1300], *content;
	uid_t owner;
	struct result r;
	if (!root())
		cr_skip_test("needs root to make a file owned by someone else");
	snprintf(path, sizeof path, "%s/private-list", dir);
	th_write(path, "alice\n");
	chmod(path, 0640);
	own(path, STRANGER_UID);
	cr_assert_eq(read_include(path, &user, &content, &owner, &r), EX_UNAVAILABLE, "%s", r.reason);
	cr_assert(strstr(r.reason, "Permission denied") != NULL, "read with the user's rights: %s", r.reason);
	/* Read with rights the user lacks (mda not root, but not the user either): still refused. */
	struct fwd_include_req q = { .path = path, .for_user = &user, .max = FWD_INCLUDE_SIZE_MAX };
	cr_assert_eq(fwd_read_include(&q, &content, &owner, &r), EX_NOPERM);
	cr_assert(strstr(r.reason, "not the user's and not world-readable") != NULL, "%s", r.reason);
	chmod(path, 0644);
	cr_assert_eq(read_include(path, &user, &content, &owner, &r), EX_OK);
	cr_assert_eq(owner, STRANGER_UID);
	free(content);
}

/* ---- Read with the user's rights ---- */

Test(forward, include_in_a_root_only_directory_tells_nothing_about_it)
{
	char closed[1300], there[1400], missing[1400], want[1500], *content = NULL;
	uid_t owner;
	struct result r;
	if (!root())
		cr_skip_test("needs root: the attack is root reading for a user");
	snprintf(closed, sizeof closed, "%s/closed", dir);
	cr_assert_eq(mkdir(closed, 0700), 0);
	snprintf(there, sizeof there, "%s/readable.txt", closed);
	snprintf(missing, sizeof missing, "%s/missing.txt", closed);
	th_write(there, "victim-secret-line\n");
	chmod(there, 0644);
	cr_assert_eq(read_include(there, &user, &content, &owner, &r), EX_UNAVAILABLE);
	cr_assert_null(content);
	snprintf(want, sizeof want, "cannot open :include: file %s: Permission denied", there);
	cr_assert_str_eq(r.reason, want);
	cr_assert_eq(read_include(missing, &user, &content, &owner, &r), EX_UNAVAILABLE);
	snprintf(want, sizeof want, "cannot open :include: file %s: Permission denied", missing);
	cr_assert_str_eq(r.reason, want, "a missing file looks the same as one that is there");
	fflush(stderr);
	char *log = th_read(logpath, NULL);
	cr_assert(strstr(log, "victim-secret") == NULL, "%s", log);
	free(log);
}

Test(forward, forward_is_read_with_the_users_rights)
{
	char *content = (char *)"unset";
	if (!root())
		cr_skip_test("needs root to make a .forward only root can read");
	write_forward("victim@elsewhere.example\n", 0600, 0);
	assert_ignored("Permission denied");
	cr_assert_eq(geteuid(), 0);
	chmod(user.home, 0700);
	chmod(fwd, 0644);
	cr_assert_eq(read_fwd(&content), FWD_FOUND, "a home only the user may enter is fine");
	free(content);
}

struct ids {
	uid_t euid;
	gid_t egid;
	int ngroups;
	gid_t groups[4];
};

static int record_ids(void *arg)
{
	struct ids *ids = arg;
	ids->euid = geteuid();
	ids->egid = getegid();
	ids->ngroups = getgroups(4, ids->groups);
	return 42;
}

Test(forward, privs_call_as_switches_and_restores_every_id)
{
	struct ids in, before, after;
	struct result r;
	if (!root())
		cr_skip_test("only root switches");
	record_ids(&before);
	cr_assert_eq(privs_call_as(USER_UID, STRANGER_UID, record_ids, &in, &r), 42, "fn's value comes back");
	cr_assert_eq(in.euid, USER_UID);
	cr_assert_eq(in.egid, STRANGER_UID);
	cr_assert_eq(in.ngroups, 1);
	cr_assert_eq(in.groups[0], STRANGER_UID);
	record_ids(&after);
	cr_assert_eq(after.euid, 0);
	cr_assert_eq(after.egid, before.egid);
	cr_assert_eq(after.ngroups, before.ngroups);
	cr_assert_eq(getuid(), 0, "the real uid never changed");
	cr_assert_eq(privs_call_as(0, 0, record_ids, &in, &r), 42);
	cr_assert_eq(in.euid, 0, "uid 0 is no switch");
}
