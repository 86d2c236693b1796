/* Unit tests for mda/expand.c: aliases and .forward recursion, \user, self-reference, loops and
 * the depth limit, unknown users, owner-NAME, address extensions, privileges per source,
 * allow_commands/allow_files, de-duplication, error: bounces, and the long-lived database
 * handle of LMTP mode. As root the users get their own uids (1001...) so privilege choices are
 * visible; unprivileged they all share the running uid and the owner-specific checks skip. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "common/config.h"
#include "common/log.h"
#include "mda/expand.h"
#include "tests/unit/helpers.h"

#define NOBODY_UID 65534

static struct config cfg;
static const char *dir;
static struct expander *ex;
static struct action_list out;
static struct result res;

static const char *const users[] = { "alice", "bob", "carol", "joe" };

static bool root(void)
{
	return geteuid() == 0;
}

static uid_t uid_of(const char *name)
{
	for (unsigned i = 0; i < sizeof users / sizeof users[0]; i++)
		if (strcmp(users[i], name) == 0)
			return root() ? 1001 + i : getuid();
	return NOBODY_UID;
}

static const char *home_of(const char *name)
{
	static char buf[1100];
	snprintf(buf, sizeof buf, "%s/home/%s", dir, name);
	return buf;
}

static void setup(void)
{
	dir = th_tmpdir();
	chmod(dir, 0755);
	th_world(&cfg, dir);
	FILE *fp = fopen(cfg.passwd_file, "w");
	for (unsigned i = 0; i < sizeof users / sizeof users[0]; i++) {
		uid_t u = uid_of(users[i]);
		mkdir(home_of(users[i]), 0755);
		if (root())
			cr_assert_eq(chown(home_of(users[i]), u, u), 0);
		fprintf(fp, "%s:x:%u:%u::%s:/bin/sh\n", users[i], (unsigned)u, (unsigned)u, home_of(users[i]));
	}
	fprintf(fp, "nobody:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", NOBODY_UID, NOBODY_UID);
	fclose(fp);
	log_init("test", "stderr");
	memset(&out, 0, sizeof out);
	ex = NULL;
}

static void teardown(void)
{
	action_list_free(&out);
	expand_free(ex);
	th_cleanup();
}

TestSuite(expand, .init = setup, .fini = teardown);

static void aliases(const char *text)
{
	struct alias_compile_stats st;
	struct result r;
	th_write(cfg.aliases_file, text);
	cr_assert_eq(alias_compile(cfg.aliases_file, cfg.aliases_db, NULL, &st, &r), EX_OK, "%s", r.reason);
}

static void forward_file(const char *user, const char *text)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/.forward", home_of(user));
	th_write(path, text);
	chmod(path, 0644);
	if (root())
		cr_assert_eq(chown(path, uid_of(user), uid_of(user)), 0);
}

static int expand(const char *rcpt)
{
	action_list_free(&out);
	if (!ex)
		ex = expand_new(&cfg);
	cr_assert_not_null(ex);
	return expand_recipient(ex, rcpt, &out, &res);
}

static void expand_ok(const char *rcpt)
{
	int rc = expand(rcpt);
	cr_assert_eq(rc, EX_OK, "%s: %s", rcpt, res.reason);
}

/* The one action of this kind and target; fails when there is none or several. */
static const struct action *find(enum action_kind kind, const char *target)
{
	const struct action *hit = NULL;
	for (size_t i = 0; i < out.n; i++) {
		const struct action *a = &out.v[i];
		if (a->kind == kind && (!target || (a->target && strcmp(a->target, target) == 0))) {
			cr_assert_null(hit, "two actions %d %s", kind, target ? target : "");
			hit = a;
		}
	}
	cr_assert_not_null(hit, "no action %d %s among %zu", kind, target ? target : "(any)", out.n);
	return hit;
}

static size_t count(enum action_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < out.n; i++)
		n += out.v[i].kind == kind;
	return n;
}

/* ---- Users and aliases ---- */

Test(expand, plain_user_gets_the_mailbox)
{
	expand_ok("alice");
	cr_assert_eq(out.n, 1);
	const struct action *a = find(ACT_MAILBOX, "alice");
	cr_assert_str_eq(a->runas->name, "alice");
	cr_assert_eq(a->runas->uid, uid_of("alice"));
	cr_assert_str_eq(a->orig_recipient, "alice");
	cr_assert_null(a->extension);
	cr_assert_null(a->sender);
}

Test(expand, domain_is_dropped_and_case_ignored)
{
	expand_ok("Alice@Test.Example");
	find(ACT_MAILBOX, "alice");
	cr_assert_str_eq(out.v[0].orig_recipient, "Alice@Test.Example");
}

Test(expand, unknown_user_is_nouser_5_1_1)
{
	cr_assert_eq(expand("mallory"), EX_NOUSER);
	cr_assert_str_eq(res.dsn, "5.1.1");
	cr_assert(strstr(res.reason, "unknown user: mallory") != NULL, "%s", res.reason);
	cr_assert_eq(out.n, 0);
}

Test(expand, aliases_recurse)
{
	aliases("staff: alice, team\nteam: bob, carol\n");
	expand_ok("staff");
	cr_assert_eq(out.n, 3);
	find(ACT_MAILBOX, "alice");
	const struct action *c = find(ACT_MAILBOX, "carol");
	cr_assert_str_eq(c->orig_recipient, "staff", "X-Original-To is the envelope recipient");
	char chain[EXPAND_CHAIN_TEXT_MAX];
	action_chain(c, chain, sizeof chain);
	cr_assert(strstr(chain, "staff -> staff -> team -> carol") != NULL ||
		  strstr(chain, "team -> carol") != NULL, "chain: %s", chain);
}

Test(expand, unknown_user_inside_a_list_bounces_only_that_branch)
{
	aliases("list: alice, mallory\n");
	expand_ok("list");
	find(ACT_MAILBOX, "alice");
	const struct action *b = find(ACT_BOUNCE, NULL);
	cr_assert_eq(b->status->ex, EX_NOUSER);
	cr_assert_str_eq(b->status->dsn, "5.1.1");
	cr_assert(strstr(b->status->reason, "mallory") != NULL);
}

Test(expand, remote_addresses_are_forwarded)
{
	aliases("out: someone@example.org\n");
	expand_ok("out");
	cr_assert_eq(out.n, 1);
	find(ACT_FORWARD, "someone@example.org");
}

Test(expand, error_alias_bounces_with_its_text)
{
	aliases("gone: error:5.1.1 This user has left the company\nlater: error:4.2.1 busy\n");
	expand_ok("gone");
	const struct action *b = find(ACT_BOUNCE, NULL);
	cr_assert_str_eq(b->status->dsn, "5.1.1");
	cr_assert_eq(b->status->ex, EX_NOUSER);
	cr_assert_str_eq(b->status->reason, "This user has left the company");
	expand_ok("later");
	b = find(ACT_BOUNCE, NULL);
	cr_assert_str_eq(b->status->dsn, "4.2.1");
	cr_assert_eq(b->status->ex, EX_TEMPFAIL);
}

Test(expand, duplicates_are_delivered_once)
{
	aliases("all: alice, alice, team, \\bob\nteam: alice, bob\n");
	expand_ok("all");
	cr_assert_eq(count(ACT_MAILBOX), 2, "alice and bob once each, got %zu", out.n);
	find(ACT_MAILBOX, "alice");
	find(ACT_MAILBOX, "bob");
}

/* ---- Self-reference, \user, loops, depth ---- */

Test(expand, alias_naming_itself_delivers_to_its_mailbox)
{
	aliases("joe: joe, joe@elsewhere.example\n");
	expand_ok("joe");
	cr_assert_eq(out.n, 2);
	find(ACT_MAILBOX, "joe");
	find(ACT_FORWARD, "joe@elsewhere.example");
}

Test(expand, backslash_user_skips_aliases)
{
	aliases("bob: carol\nlist: \\bob\n");
	expand_ok("list");
	cr_assert_eq(out.n, 1);
	find(ACT_MAILBOX, "bob");
}

Test(expand, true_alias_loop_names_the_chain)
{
	aliases("a: b\nb: c\nc: a\n");
	cr_assert_eq(expand("a"), EX_DATAERR);
	cr_assert_str_eq(res.dsn, "5.4.6");
	cr_assert(strstr(res.reason, "alias loop") != NULL, "%s", res.reason);
	cr_assert(strstr(res.reason, "a -> b -> c -> a") != NULL, "%s", res.reason);
}

Test(expand, depth_limit_names_the_chain)
{
	char text[4096] = "";
	for (int i = 1; i <= 25; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "l%d: l%d\n", i, i + 1);
	strcat(text, "l26: alice\n");
	aliases(text);
	cr_assert_eq(expand("l1"), EX_DATAERR);
	cr_assert_str_eq(res.dsn, "5.4.6");
	cr_assert(strstr(res.reason, "deeper than 20 levels") != NULL, "%s", res.reason);
	cr_assert(strstr(res.reason, "l1 -> l2 -> l3") != NULL, "%s", res.reason);
	expand_free(ex);
	ex = NULL;
	cfg.expansion_depth = 30;
	expand_ok("l1");
	find(ACT_MAILBOX, "alice");
}

/* ---- .forward ---- */

Test(expand, forward_recurses_through_aliases)
{
	aliases("team: bob, carol\n");
	forward_file("alice", "# to the team\nteam\n");
	expand_ok("alice");
	cr_assert_eq(out.n, 2);
	find(ACT_MAILBOX, "bob");
	find(ACT_MAILBOX, "carol");
}

Test(expand, forward_keep_a_copy_with_backslash)
{
	forward_file("alice", "\\alice, alice@elsewhere.example\n");
	expand_ok("alice");
	cr_assert_eq(out.n, 2);
	find(ACT_MAILBOX, "alice");
	find(ACT_FORWARD, "alice@elsewhere.example");
}

Test(expand, forward_naming_its_own_user_is_the_mailbox)
{
	forward_file("alice", "alice\nbob\n");
	expand_ok("alice");
	cr_assert_eq(out.n, 2);
	find(ACT_MAILBOX, "alice");
	find(ACT_MAILBOX, "bob");
}

Test(expand, forward_loop_between_users)
{
	forward_file("alice", "bob\n");
	forward_file("bob", "alice\n");
	cr_assert_eq(expand("alice"), EX_DATAERR);
	cr_assert_str_eq(res.dsn, "5.4.6");
	cr_assert(strstr(res.reason, "loop") != NULL, "%s", res.reason);
	cr_assert(strstr(res.reason, "alice -> bob -> alice") != NULL, "%s", res.reason);
}

Test(expand, ignored_forward_means_mailbox_delivery)
{
	char path[1200];
	forward_file("alice", "bob\n");
	snprintf(path, sizeof path, "%s/.forward", home_of("alice"));
	chmod(path, 0666);
	expand_ok("alice");
	cr_assert_eq(out.n, 1);
	find(ACT_MAILBOX, "alice");
}

Test(expand, empty_forward_means_mailbox_delivery)
{
	forward_file("alice", "# nothing\n\n");
	expand_ok("alice");
	cr_assert_eq(out.n, 1);
	find(ACT_MAILBOX, "alice");
}

/* ---- owner-NAME, extensions ---- */

Test(expand, owner_alias_becomes_the_envelope_sender)
{
	aliases("list: alice, sub\nsub: bob\nowner-list: carol\nother: carol\n");
	expand_ok("list");
	cr_assert_str_eq(find(ACT_MAILBOX, "alice")->sender, "owner-list@test.example");
	cr_assert_str_eq(find(ACT_MAILBOX, "bob")->sender, "owner-list@test.example",
			 "inherited by nested lists");
	expand_ok("other");
	cr_assert_null(find(ACT_MAILBOX, "carol")->sender);
}

Test(expand, extension_kept_for_the_user)
{
	expand_ok("alice+folder");
	const struct action *a = find(ACT_MAILBOX, "alice");
	cr_assert_str_eq(a->extension, "folder");
	cr_assert_str_eq(a->orig_recipient, "alice+folder");
}

Test(expand, extension_lookup_order_full_then_base)
{
	aliases("sales+vip: carol\nsales: bob\n");
	expand_ok("sales+vip");
	cr_assert_eq(out.n, 1);
	find(ACT_MAILBOX, "carol");
	expand_ok("sales+other");
	cr_assert_eq(out.n, 1);
	cr_assert_str_eq(find(ACT_MAILBOX, "bob")->extension, "other");
}

Test(expand, no_delimiter_no_extensions)
{
	cfg.recipient_delimiter[0] = '\0';
	cr_assert_eq(expand("alice+folder"), EX_NOUSER);
}

Test(expand, other_delimiter)
{
	snprintf(cfg.recipient_delimiter, sizeof cfg.recipient_delimiter, "-");
	expand_ok("alice-folder");
	cr_assert_str_eq(find(ACT_MAILBOX, "alice")->extension, "folder");
}

/* ---- Privileges ---- */

Test(expand, alias_commands_run_as_default_privs_when_root_owns_the_db)
{
	aliases("prog: \"|/bin/cat > /dev/null\", /tmp/archive\n");
	if (!root())
		cr_skip_test("the database is root-owned only when the tests run as root");
	expand_ok("prog");
	const struct action *c = find(ACT_COMMAND, "/bin/cat > /dev/null");
	cr_assert_str_eq(c->runas->name, "nobody");
	cr_assert_eq(c->runas->uid, NOBODY_UID);
	cr_assert_eq(find(ACT_FILE, "/tmp/archive")->runas->uid, NOBODY_UID);
}

Test(expand, alias_commands_run_as_the_db_owner)
{
	aliases("prog: |/bin/true\n");
	if (root())
		cr_assert_eq(chown(cfg.aliases_db, uid_of("bob"), uid_of("bob")), 0);
	expand_ok("prog");
	const struct action *c = find(ACT_COMMAND, "/bin/true");
	cr_assert_eq(c->runas->uid, root() ? uid_of("bob") : getuid());
}

Test(expand, forward_commands_run_as_the_user)
{
	forward_file("alice", "|/usr/bin/vacation alice\n/tmp/alice-archive\n");
	expand_ok("alice");
	cr_assert_eq(out.n, 2);
	if (uid_of("alice") == 0)
		cr_skip_test("unprivileged as root? cannot happen");
	const struct action *c = find(ACT_COMMAND, "/usr/bin/vacation alice");
	cr_assert_str_eq(c->runas->name, "alice");
	cr_assert_eq(c->runas->uid, uid_of("alice"));
	cr_assert_eq(find(ACT_FILE, "/tmp/alice-archive")->runas->uid, uid_of("alice"));
}

Test(expand, include_commands_run_as_the_include_owner)
{
	char list[1200], text[1400];
	snprintf(list, sizeof list, "%s/list.txt", dir);
	th_write(list, "|/bin/true\ncarol\n");
	if (root())
		cr_assert_eq(chown(list, uid_of("carol"), uid_of("carol")), 0);
	snprintf(text, sizeof text, "lst: :include:%s\n", list);
	aliases(text);
	expand_ok("lst");
	find(ACT_MAILBOX, "carol");
	cr_assert_eq(find(ACT_COMMAND, "/bin/true")->runas->uid, root() ? uid_of("carol") : getuid());
}

Test(expand, root_owned_include_runs_as_default_privs)
{
	char list[1200], text[1400];
	if (!root())
		cr_skip_test("needs root to have a root-owned include file");
	snprintf(list, sizeof list, "%s/list.txt", dir);
	th_write(list, "|/bin/true\n");
	snprintf(text, sizeof text, "lst: :include:%s\n", list);
	aliases(text);
	cr_assert_eq(chown(cfg.aliases_db, uid_of("bob"), uid_of("bob")), 0);
	expand_ok("lst");
	cr_assert_eq(find(ACT_COMMAND, "/bin/true")->runas->uid, NOBODY_UID);
}

Test(expand, allow_commands_and_allow_files_off)
{
	aliases("prog: |/bin/true, /tmp/file, alice\n");
	cfg.allow_commands = false;
	expand_ok("prog");
	find(ACT_MAILBOX, "alice");
	const struct action *b = find(ACT_BOUNCE, NULL);
	cr_assert_str_eq(b->status->dsn, "5.7.1");
	cr_assert(strstr(b->status->reason, "allow_commands = no") != NULL, "%s", b->status->reason);
	find(ACT_FILE, "/tmp/file");
	cfg.allow_commands = true;
	cfg.allow_files = false;
	expand_ok("prog");
	find(ACT_COMMAND, "/bin/true");
	b = find(ACT_BOUNCE, NULL);
	cr_assert(strstr(b->status->reason, "allow_files = no") != NULL, "%s", b->status->reason);
}

Test(expand, allow_commands_off_applies_to_forward_too)
{
	forward_file("alice", "|/bin/true\n");
	cfg.allow_commands = false;
	expand_ok("alice");
	cr_assert_eq(count(ACT_COMMAND), 0);
	find(ACT_BOUNCE, NULL);
}

/* ---- The database handle (LMTP mode: one expander, many recipients) ---- */

/* Descriptors of this process open on the aliases database file (by inode). */
static int db_fds(ino_t *ino)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat sb;
	int n = 0;
	char link[300], target[1200];
	while ((e = readdir(d))) {
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, cfg.aliases_db, strlen(cfg.aliases_db)) == 0 &&
		    (target[strlen(cfg.aliases_db)] == '\0' || target[strlen(cfg.aliases_db)] == ' ') &&
		    stat(link, &sb) == 0) {
			*ino = sb.st_ino;
			n++;
		}
	}
	closedir(d);
	return n;
}

Test(expand, database_kept_open_and_reopened_when_replaced)
{
	ino_t first, again, fresh;
	struct stat sb;
	aliases("list: alice\n");
	expand_ok("list");
	find(ACT_MAILBOX, "alice");
	cr_assert_eq(db_fds(&first), 1, "the database stays open after the recipient");
	expand_ok("list");
	cr_assert_eq(db_fds(&again), 1, "not opened a second time");
	cr_assert_eq(first, again);
	aliases("list: bob\n");
	stat(cfg.aliases_db, &sb);
	expand_ok("list");
	find(ACT_MAILBOX, "bob");
	cr_assert_eq(db_fds(&fresh), 1, "the old handle was closed");
	cr_assert_eq(fresh, sb.st_ino);
}

/* Overwrites the database in place with garbage of the same size and puts the mtime back:
 * an expander that re-opened it now would fail, one that kept its handle does not notice. */
static void scribble_over_db_keeping_identity(void)
{
	struct stat sb;
	cr_assert_eq(stat(cfg.aliases_db, &sb), 0);
	char *junk = malloc((size_t)sb.st_size);
	memset(junk, 'x', (size_t)sb.st_size);
	FILE *fp = fopen(cfg.aliases_db, "r+");
	cr_assert_eq(fwrite(junk, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
	fclose(fp);
	free(junk);
	struct timespec times[2] = { sb.st_atim, sb.st_mtim };
	cr_assert_eq(utimensat(AT_FDCWD, cfg.aliases_db, times, 0), 0);
}

Test(expand, unchanged_database_is_not_reopened)
{
	aliases("list: alice\n");
	expand_ok("list");
	scribble_over_db_keeping_identity();
	expand_ok("list");   /* served by the handle (and GDBM's cache) opened for the first one */
	find(ACT_MAILBOX, "alice");
	expand_free(ex);
	ex = NULL;
	cr_assert_eq(expand("list"), EX_TEMPFAIL, "a fresh open does see the garbage");
}

Test(expand, missing_database_with_a_source_file_is_temporary)
{
	th_write(cfg.aliases_file, "list: alice\n");
	cr_assert_eq(expand("alice"), EX_TEMPFAIL);
	cr_assert(strstr(res.reason, "run newaliases") != NULL, "%s", res.reason);
}

Test(expand, no_aliases_at_all_is_fine)
{
	expand_ok("bob");
	find(ACT_MAILBOX, "bob");
}

Test(expand, incomplete_database_is_temporary)
{
	aliases("list: alice\n");
	th_write(cfg.aliases_db, "garbage that is not a database, long enough to be read\n");
	cr_assert_eq(expand("list"), EX_TEMPFAIL);
	cr_assert_str_eq(res.dsn, "4.3.0");
}

/* ---- Whose rights lists are read with ---- */

static int saved_stderr = -1;
static char logpath[1200];

/* Sends the log (stderr) to a file until log_text() gives it back. */
static void log_capture(void)
{
	snprintf(logpath, sizeof logpath, "%s/expand.log", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
}

static char *log_text(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	return th_read(logpath, NULL);
}

/* True when text appears in any action's target, recipient, chain or bounce reason. */
static bool in_actions(const char *text)
{
	for (size_t i = 0; i < out.n; i++) {
		const struct action *a = &out.v[i];
		char chain[EXPAND_CHAIN_TEXT_MAX];
		if ((a->target && strcasestr(a->target, text)) || strcasestr(a->recipient, text) ||
		    strcasestr(action_chain(a, chain, sizeof chain), text) ||
		    (a->status && strcasestr(a->status->reason, text)))
			return true;
	}
	return false;
}

/* A 0700 root directory holding a 0644 file: what /root/readable.txt is. */
static const char *root_only_file(const char *content)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/rootonly", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/rootonly/readable.txt", dir);
	th_write(path, content);
	chmod(path, 0644);
	return path;
}

Test(expand, include_in_a_root_only_directory_is_not_read_for_a_user)
{
	char text[2600], path_missing[1200];
	if (!root())
		cr_skip_test("needs root (an unprivileged mda cannot read /root either way)");
	const char *path = root_only_file("Victim-Secret-Line\nsecret-two@victim.example\n|/bin/true\n");
	snprintf(path_missing, sizeof path_missing, "%s/rootonly/missing.txt", dir);
	snprintf(text, sizeof text, ":include:%s\n:include:%s\n", path, path_missing);
	forward_file("alice", text);
	log_capture();
	expand_ok("alice");
	char *log = log_text();
	cr_assert(!in_actions("secret"), "the file's content reached the actions");
	cr_assert(strcasestr(log, "secret") == NULL, "the file's content reached the log: %s", log);
	free(log);
	cr_assert_eq(out.n, 2, "two failed branches, nothing else: %zu actions", out.n);
	char want[1500];
	for (int i = 0; i < 2; i++) {
		const struct action *b = &out.v[i];
		cr_assert_eq(b->kind, ACT_BOUNCE);
		/* Missing or there: both are what alice herself gets from ls. */
		snprintf(want, sizeof want, "cannot open :include: file %s: Permission denied", i ? path_missing : path);
		cr_assert_str_eq(b->status->reason, want);
		cr_assert_eq(b->status->ex, EX_UNAVAILABLE);
	}
	cr_assert_eq(geteuid(), 0, "root again after the reading");
	cr_assert_eq(getegid(), 0);
}

Test(expand, alias_include_is_read_as_default_privs_when_root_owns_the_db)
{
	char list[1200], text[2600];
	if (!root())
		cr_skip_test("the database is root-owned only when the tests run as root");
	snprintf(list, sizeof list, "%s/private-list", dir);
	th_write(list, "alice\nbob\n");
	chmod(list, 0600);   /* root's: nobody may read it */
	snprintf(text, sizeof text, "lst: :include:%s\nopen: :include:%s.open\n", list, list);
	aliases(text);
	expand_ok("lst");
	cr_assert_eq(count(ACT_MAILBOX), 0);
	cr_assert(strstr(find(ACT_BOUNCE, NULL)->status->reason, "Permission denied") != NULL);
	snprintf(text, sizeof text, "%s.open", list);
	th_write(text, "alice\nbob\n");   /* 0644: default_privs may read it */
	expand_ok("open");
	cr_assert_eq(count(ACT_MAILBOX), 2);
}

Test(expand, without_an_unprivileged_default_privs_root_reads_no_include)
{
	char list[1200], text[1400];
	if (!root())
		cr_skip_test("the database is root-owned only when the tests run as root");
	snprintf(list, sizeof list, "%s/list", dir);
	th_write(list, "alice\n");
	snprintf(text, sizeof text, "lst: :include:%s\n", list);
	aliases(text);
	snprintf(cfg.default_privs, sizeof cfg.default_privs, "no-such-user");
	expand_ok("lst");
	const struct action *b = find(ACT_BOUNCE, NULL);
	cr_assert_str_eq(b->status->dsn, "4.3.5", "the administrator's to fix: %s", b->status->reason);
	cr_assert(strstr(b->status->reason, "default_privs") != NULL, "%s", b->status->reason);
	cr_assert_eq(count(ACT_MAILBOX), 0);
}

Test(expand, nested_include_is_read_as_the_including_files_owner)
{
	char outer[1200], inner[1200], text[1400];
	if (!root())
		cr_skip_test("needs root for files of several owners");
	snprintf(inner, sizeof inner, "%s/home/carol/inner", dir);
	th_write(inner, "bob\n");
	chmod(inner, 0600);
	cr_assert_eq(chown(inner, uid_of("carol"), uid_of("carol")), 0);
	snprintf(outer, sizeof outer, "%s/outer", dir);
	snprintf(text, sizeof text, ":include:%s\n", inner);
	th_write(outer, text);
	cr_assert_eq(chown(outer, uid_of("carol"), uid_of("carol")), 0);
	snprintf(text, sizeof text, ":include:%s\n", outer);
	forward_file("alice", text);
	expand_ok("alice");
	find(ACT_MAILBOX, "bob");   /* carol's outer list may name carol's private inner one */
}

Test(expand, forward_only_root_could_read_is_not_read)
{
	char path[1200];
	if (!root())
		cr_skip_test("needs root to make a .forward the user cannot read");
	forward_file("alice", "secret-forward@elsewhere.example\n");
	snprintf(path, sizeof path, "%s/.forward", home_of("alice"));
	cr_assert_eq(chown(path, 0, 0), 0);
	chmod(path, 0600);
	expand_ok("alice");
	cr_assert_eq(out.n, 1);
	find(ACT_MAILBOX, "alice");   /* as if there were none: alice cannot read it */
	chmod(home_of("alice"), 0700);
	chmod(path, 0644);
	expand_ok("alice");
	find(ACT_FORWARD, "secret-forward@elsewhere.example");   /* a home only alice may enter */
}

Test(expand, bad_entries_of_an_include_are_named_by_file_and_line)
{
	char list[1200], text[1400], want[1400];
	snprintf(list, sizeof list, "%s/home/alice/list", dir);
	th_write(list, "bob\n\nno-such-person\n# comment\n\"unterminated\nbad@\n");
	if (root())
		cr_assert_eq(chown(list, uid_of("alice"), uid_of("alice")), 0);
	snprintf(text, sizeof text, ":include:%s\n", list);
	forward_file("alice", text);
	log_capture();
	expand_ok("alice");
	char *log = log_text();
	find(ACT_MAILBOX, "bob");
	cr_assert_eq(count(ACT_BOUNCE), 2);
	cr_assert(!in_actions("no-such-person") && !in_actions("bad@"), "an include's text is not quoted");
	snprintf(want, sizeof want, "unknown user at %s:3", list);
	cr_assert_str_eq(out.v[1].status->reason, want);
	snprintf(want, sizeof want, "bad address at %s:6", list);
	cr_assert_str_eq(out.v[2].status->reason, want);
	snprintf(want, sizeof want, "skipping a bad entry at %s:5: unterminated quote", list);
	cr_assert(strstr(log, want) != NULL, "%s", log);
	cr_assert(strstr(log, "unterminated\"") == NULL && strstr(log, "\"unterminated") == NULL, "%s", log);
	free(log);
}

/* ---- Size: the expansion limit and the memory of a big list ---- */

static void remote_list(const char *path, size_t n, size_t *bytes)
{
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		int len = fprintf(fp, "member%06zu@list.example.org\n", i);
		*bytes += (size_t)len;   /* the address and its NUL */
	}
	cr_assert_eq(fclose(fp), 0);
	if (root())
		cr_assert_eq(chown(path, uid_of("alice"), uid_of("alice")), 0);
}

static void include_forward(const char *user, const char *list)
{
	char text[1400];
	snprintf(text, sizeof text, ":include:%s\n", list);
	forward_file(user, text);
}

Test(expand, more_destinations_than_expansion_limit_fail_permanently)
{
	size_t bytes;
	const char *list = th_path(home_of("alice"), "list");
	remote_list(list, 4, &bytes);
	include_forward("alice", list);
	cfg.expansion_limit = 4;
	expand_ok("alice");
	cr_assert_eq(count(ACT_FORWARD), 4);
	cfg.expansion_limit = 3;
	cr_assert_eq(expand("alice"), EX_UNAVAILABLE);
	cr_assert_str_eq(res.dsn, "5.2.4");   /* RFC 3463 mailing list expansion problem */
	cr_assert_eq(res_reply_code(&res), 550, "a permanent RCPT reply an LMTP client bounces");
	cr_assert(strstr(res.reason, "more than 3 destinations (expansion_limit)") != NULL, "%s", res.reason);
	cr_assert_eq(out.n, 0, "nothing is kept of a refused recipient");
}

Test(expand, duplicates_do_not_count_against_the_limit)
{
	aliases("all: a@x.example, a@x.example, b@x.example, team\nteam: a@x.example, b@x.example\n");
	cfg.expansion_limit = 2;
	expand_ok("all");
	cr_assert_eq(out.n, 2);
}

/* The heap bytes a size check below counts. Not built under AddressSanitizer, whose
 * allocator reports no use to mallinfo2 (and a skipped test's message is a leak in
 * Criterion's runner, which fails make check-asan). */
#if !defined(__SANITIZE_ADDRESS__)
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* 49,000 remote addresses in an :include: of a .forward: what a session holds per RCPT. */
Test(expand, a_big_include_costs_under_300_bytes_per_destination)
{
	const size_t n = 49000;
	size_t bytes;
	const char *list = th_path(home_of("alice"), "list");
	remote_list(list, n, &bytes);
	include_forward("alice", list);
	expand_ok("alice");   /* warm up: the database handle, stdio, the user lookup */
	action_list_free(&out);
	size_t before = heap_in_use();
	cr_assert_eq(expand_recipient(ex, "alice", &out, &res), EX_OK, "%s", res.reason);
	size_t held = heap_in_use() - before;
	cr_assert_eq(count(ACT_FORWARD), n);
	if (held == 0)
		cr_skip_test("the allocator does not report its use (ASan?)");
	double per = ((double)held - (double)bytes) / (double)n;
	cr_log_info("%zu destinations hold %zu bytes: %.1f bytes each beyond the address", n, held, per);
	fprintf(stderr, "expand: %zu destinations hold %zu bytes: %.1f bytes each plus the address\n", n, held, per);
	cr_assert_lt(held, n * 300 + bytes, "%.1f bytes per destination beyond the address", per);
}
#endif

/* ---- expansion = mta: the named user's mailbox, nothing else ---- */

static int mailbox_only(const char *rcpt)
{
	action_list_free(&out);
	if (!ex)
		ex = expand_new(&cfg);
	cr_assert_not_null(ex);
	return expand_mailbox(ex, rcpt, &out, &res);
}

Test(expand, mta_expansion_is_the_mailbox_without_aliases_or_forward)
{
	aliases("alice: bob\n");
	forward_file("alice", "carol\n");
	/* Whatever the aliases database is now (the MTA's, garbage), it is never opened. */
	th_write(cfg.aliases_db, "not a database of ours\n");
	cr_assert_eq(mailbox_only("Alice+Lists@test.example"), EX_OK, "%s", res.reason);
	cr_assert_eq(out.n, 1);
	const struct action *a = find(ACT_MAILBOX, "alice");
	cr_assert_str_eq(a->extension, "lists");
	cr_assert_str_eq(a->orig_recipient, "Alice+Lists@test.example");
	cr_assert_eq(a->runas->uid, uid_of("alice"));
	cr_assert_eq(mailbox_only("mallory"), EX_NOUSER);
	cr_assert_str_eq(res.dsn, "5.1.1");
	cr_assert_eq(mailbox_only("../etc"), EX_NOUSER);
	cr_assert_str_eq(res.dsn, "5.1.3");
	cr_assert_eq(expand("alice"), EX_TEMPFAIL, "the full expansion does read the database");
}

Test(expand, root_is_refused_until_aliased)
{
	cfg.passwd_file[0] = '\0';   /* the system's users: root is uid 0 there */
	cr_assert_eq(mailbox_only("root"), EX_TEMPFAIL);
	cr_assert_str_eq(res.dsn, "4.3.5");
	cr_assert(strstr(res.reason, "alias root to a person in /etc/aliases and run newaliases") != NULL, "%s",
		  res.reason);
	cr_assert_eq(expand("root"), EX_TEMPFAIL);
	cr_assert(strstr(res.reason, "alias root to a person in /etc/aliases and run mda-newaliases") != NULL,
		  "%s", res.reason);
	cr_assert_eq(out.n, 0);
	/* Reached through a list: that branch waits, the rest of the list is not lost. */
	aliases("admins: \\root\n");
	expand_ok("admins");
	const struct action *b = find(ACT_BOUNCE, NULL);
	cr_assert_str_eq(b->status->dsn, "4.3.5");
	cr_assert_eq(count(ACT_MAILBOX), 0);
	/* Aliased to a person, root's mail goes there. */
	aliases("root: nobody\n");
	expand_ok("root");
	find(ACT_MAILBOX, "nobody");
}
