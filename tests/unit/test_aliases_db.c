/* Unit tests for aliases/db.c: compile round trip, the on-disk convention (NUL-terminated keys
 * and values, the `@` sentinel), atomic replacement, owner/mode, failures, duplicates. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "tests/unit/helpers.h"

static const char *dir;
static char src[1024], db[1024];
static char *errtext;
static FILE *errfp;
static size_t errlen;
static struct alias_compile_stats st;

static void setup(void)
{
	dir = th_tmpdir();
	snprintf(src, sizeof src, "%s/aliases", dir);
	snprintf(db, sizeof db, "%s/aliases.db", dir);
	errfp = open_memstream(&errtext, &errlen);
}

static void teardown(void)
{
	if (errfp)
		fclose(errfp);
	free(errtext);
	errfp = NULL;
	errtext = NULL;
	th_cleanup();
}

TestSuite(aliases_db, .init = setup, .fini = teardown);

static int compile(const char *text, struct result *r)
{
	if (text)
		th_write(src, text);
	int rc = alias_compile(src, db, errfp, &st, r);
	fflush(errfp);
	return rc;
}

static char *lookup(const char *name)
{
	struct alias_db *d;
	struct result r;
	char *v = NULL;
	cr_assert_eq(alias_db_open(db, &d, &r), EX_OK, "%s", r.reason);
	int rc = alias_db_lookup(d, name, &v, &r);
	cr_assert_geq(rc, 0, "%s", r.reason);
	alias_db_close(d);
	return v;
}

/* No leftover temporary files beside the database. */
static void assert_no_temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		cr_assert(strstr(e->d_name, ".tmp") == NULL, "left behind: %s", e->d_name);
	closedir(d);
}

Test(aliases_db, round_trip_and_stats)
{
	struct result r;
	cr_assert_eq(compile("postmaster: root\nStaff: alice, bob\n\"mail team\": carol\n", &r), EX_OK, "%s", r.reason);
	cr_assert_eq(st.aliases, 3);
	cr_assert_eq(st.bad, 0);
	cr_assert_eq(st.duplicates, 0);
	cr_assert_eq(st.longest, strlen("alice, bob"));
	cr_assert_eq(st.total, strlen("postmaster") + 4 + strlen("staff") + 10 + strlen("mail team") + 5);
	char *v = lookup("staff");
	cr_assert_str_eq(v, "alice, bob");
	free(v);
	v = lookup("mail team");
	cr_assert_str_eq(v, "carol");
	free(v);
	cr_assert_null(lookup("Staff"), "lookups are exact: callers lowercase");
	cr_assert_null(lookup("nobody"));
	assert_no_temp_files();
}

static void count_entry(void *ctx, const char *name, const char *value)
{
	int *n = ctx;
	cr_assert_str_neq(name, "@", "the sentinel is not an alias");
	cr_assert(strlen(value) > 0);
	(*n)++;
}

Test(aliases_db, foreach_skips_the_sentinel)
{
	struct result r;
	struct alias_db *d;
	int n = 0;
	cr_assert_eq(compile("a: b\nc: d\ne: f\n", &r), EX_OK);
	cr_assert_eq(alias_db_open(db, &d, &r), EX_OK);
	cr_assert_eq(alias_db_foreach(d, count_entry, &n, &r), EX_OK);
	alias_db_close(d);
	cr_assert_eq(n, 3);
}

Test(aliases_db, keys_values_and_sentinel_are_nul_terminated)
{
	struct result r;
	cr_assert_eq(compile("postmaster: root\n", &r), EX_OK);
	GDBM_FILE g = gdbm_open(db, 0, GDBM_READER | GDBM_NOLOCK, 0, NULL);
	cr_assert_not_null(g);
	datum k = { "postmaster", 11 }, v = gdbm_fetch(g, k);
	cr_assert_not_null(v.dptr, "key stored with its NUL (sendmail/Postfix convention)");
	cr_assert_eq(v.dsize, 5);
	cr_assert_eq(memcmp(v.dptr, "root", 5), 0);
	free(v.dptr);
	datum bare = { "postmaster", 10 };
	cr_assert_eq(gdbm_exists(g, bare), 0, "no key without the NUL");
	datum at = { "@", 2 };
	v = gdbm_fetch(g, at);
	cr_assert_not_null(v.dptr, "the @ sentinel marks a complete database");
	cr_assert_eq(v.dsize, 2);
	cr_assert_eq(memcmp(v.dptr, "@", 2), 0);
	free(v.dptr);
	gdbm_close(g);
}

Test(aliases_db, database_without_sentinel_is_refused_as_temporary)
{
	struct result r;
	struct alias_db *d;
	GDBM_FILE g = gdbm_open(db, 0, GDBM_NEWDB, 0644, NULL);
	datum k = { "a", 2 }, v = { "b", 2 };
	cr_assert_eq(gdbm_store(g, k, v, GDBM_INSERT), 0);
	gdbm_close(g);
	cr_assert_eq(alias_db_open(db, &d, &r), EX_TEMPFAIL);
	cr_assert_str_eq(r.dsn, "4.3.0");
	cr_assert(strstr(r.reason, "no @ sentinel") != NULL, "%s", r.reason);
	cr_assert_null(d);
}

Test(aliases_db, missing_and_corrupt_databases)
{
	struct result r;
	struct alias_db *d;
	cr_assert_eq(alias_db_open(db, &d, &r), EX_NOINPUT);
	th_write(db, "this is not a gdbm file at all, just text that is long enough\n");
	cr_assert_eq(alias_db_open(db, &d, &r), EX_CONFIG, "not ours: a configuration matter");
	cr_assert_str_eq(r.dsn, "4.3.5");
	cr_assert(strstr(r.reason, "not mda's GDBM aliases"), "%s", r.reason);
	cr_assert_null(d);
}

Test(aliases_db, values_are_not_trusted_to_be_terminated)
{
	struct result r;
	struct alias_db *d;
	char *v;
	GDBM_FILE g = gdbm_open(db, 0, GDBM_NEWDB, 0644, NULL);
	datum at = { "@", 2 }, k = { "raw", 4 }, val = { "abc", 3 };   /* value without its NUL */
	gdbm_store(g, at, at, GDBM_INSERT);
	gdbm_store(g, k, val, GDBM_INSERT);
	gdbm_close(g);
	cr_assert_eq(alias_db_open(db, &d, &r), EX_OK);
	cr_assert_eq(alias_db_lookup(d, "raw", &v, &r), 1);
	cr_assert_str_eq(v, "abc");
	free(v);
	alias_db_close(d);
}

Test(aliases_db, atomic_replace_while_a_reader_holds_the_old_one)
{
	struct result r;
	struct alias_db *old, *new;
	struct stat before, after;
	char *v;
	cr_assert_eq(compile("list: alice\n", &r), EX_OK);
	cr_assert_eq(alias_db_open(db, &old, &r), EX_OK);
	stat(db, &before);
	cr_assert_eq(compile("list: bob\nother: carol\n", &r), EX_OK);
	stat(db, &after);
	cr_assert_neq(before.st_ino, after.st_ino, "a new file was renamed into place");
	cr_assert_eq(alias_db_lookup(old, "list", &v, &r), 1, "the old reader still works");
	cr_assert_str_eq(v, "alice");
	free(v);
	cr_assert_eq(alias_db_lookup(old, "other", &v, &r), 0);
	cr_assert_eq(alias_db_open(db, &new, &r), EX_OK);
	cr_assert_eq(alias_db_lookup(new, "list", &v, &r), 1);
	cr_assert_str_eq(v, "bob");
	free(v);
	struct alias_db_info oi, ni;
	alias_db_info(old, &oi);
	alias_db_info(new, &ni);
	cr_assert_eq(oi.ino, before.st_ino);
	cr_assert_eq(ni.ino, after.st_ino);
	alias_db_close(old);
	alias_db_close(new);
}

Test(aliases_db, new_database_is_0644_whatever_the_umask)
{
	struct result r;
	struct stat sb;
	mode_t old = umask(077);
	cr_assert_eq(compile("a: b\n", &r), EX_OK);
	umask(old);
	stat(db, &sb);
	cr_assert_eq(sb.st_mode & 07777, 0644, "mode %o", sb.st_mode & 07777);
}

Test(aliases_db, mode_of_the_old_database_is_kept)
{
	struct result r;
	struct stat sb;
	cr_assert_eq(compile("a: b\n", &r), EX_OK);
	chmod(db, 0640);
	cr_assert_eq(compile("a: c\n", &r), EX_OK);
	stat(db, &sb);
	cr_assert_eq(sb.st_mode & 07777, 0640, "mode %o", sb.st_mode & 07777);
}

Test(aliases_db, owner_of_the_old_database_is_kept)
{
	struct result r;
	struct stat sb;
	if (geteuid() != 0) {
		cr_skip_test("owner preservation needs root (chown to another user); not root");
	}
	cr_assert_eq(compile("a: b\n", &r), EX_OK);
	cr_assert_eq(chown(db, 4321, 4322), 0);
	cr_assert_eq(compile("a: c\n", &r), EX_OK);
	stat(db, &sb);
	cr_assert_eq(sb.st_uid, 4321);
	cr_assert_eq(sb.st_gid, 4322);
}

Test(aliases_db, small_database_has_no_preallocated_tail)
{
	struct result r;
	struct stat sb;
	cr_assert_eq(compile("a: b\n", &r), EX_OK);
	stat(db, &sb);
	cr_assert_lt(sb.st_size, 512 * 1024, "size %lld: the preallocation was trimmed", (long long)sb.st_size);
}

/* The old database, byte for byte, after a failed compile. */
static void assert_failure_keeps_old(int want_ex, void (*sabotage)(void))
{
	struct result r;
	struct stat before, after;
	size_t len0, len1;
	cr_assert_eq(compile("keep: me\n", &r), EX_OK);
	stat(db, &before);
	char *old = th_read(db, &len0);
	sabotage();
	int rc = compile(NULL, &r);
	cr_assert_eq(rc, want_ex, "rc %d: %s", rc, r.reason);
	stat(db, &after);
	cr_assert_eq(before.st_ino, after.st_ino);
	char *now = th_read(db, &len1);
	cr_assert_eq(len0, len1);
	cr_assert_eq(memcmp(old, now, len0), 0);
	free(old);
	free(now);
	assert_no_temp_files();
}

static void remove_source(void)
{
	unlink(src);
}

static void source_is_a_directory(void)
{
	unlink(src);
	mkdir(src, 0755);
}

Test(aliases_db, missing_source_keeps_the_old_database)
{
	assert_failure_keeps_old(EX_NOINPUT, remove_source);
}

Test(aliases_db, directory_as_source_keeps_the_old_database)
{
	assert_failure_keeps_old(EX_NOINPUT, source_is_a_directory);
}

Test(aliases_db, cannot_create_the_temporary_file)
{
	struct result r;
	th_write(src, "a: b\n");
	snprintf(db, sizeof db, "%s/no/such/dir/aliases.db", dir);
	cr_assert_eq(alias_compile(src, db, errfp, &st, &r), EX_CANTCREAT);
	cr_assert(strstr(r.reason, "cannot create") != NULL, "%s", r.reason);
}

static int compile_unprivileged(void *arg)
{
	struct result r;
	(void)arg;
	return alias_compile(src, db, NULL, &st, &r);
}

Test(aliases_db, unwritable_directory_is_cantcreat)
{
	struct result r;
	cr_assert_eq(compile("a: b\n", &r), EX_OK);
	char *before = th_read(db, NULL);
	cr_assert_eq(chmod(dir, 0555), 0);
	th_write(src, "a: c\n");
	cr_assert_eq(chmod(src, 0644), 0);
	/* As root the test itself could write anywhere: the compile runs as nobody. */
	cr_assert_eq(th_unprivileged(compile_unprivileged, NULL), EX_CANTCREAT);
	cr_assert_eq(chmod(dir, 0755), 0);
	char *v = lookup("a");
	cr_assert_str_eq(v, "b", "the old database is untouched");
	free(v);
	free(before);
}

Test(aliases_db, bad_lines_give_dataerr_but_the_database_is_written)
{
	struct result r;
	cr_assert_eq(compile("good: a\nbad line\nalso: b\n", &r), EX_DATAERR);
	cr_assert_eq(st.bad, 1);
	cr_assert_eq(st.aliases, 2);
	cr_assert(strstr(errtext, "/aliases:2: missing colon after alias name\n") != NULL, "%s", errtext);
	char *v = lookup("also");
	cr_assert_str_eq(v, "b");
	free(v);
}

Test(aliases_db, duplicates_warn_and_the_first_wins)
{
	struct result r;
	cr_assert_eq(compile("dup: first\nother: x\nDUP: second\n", &r), EX_OK, "a duplicate is a warning");
	cr_assert_eq(st.duplicates, 1);
	cr_assert_eq(st.aliases, 2);
	char expect[1200];
	snprintf(expect, sizeof expect, "%s:3: warning: duplicate alias dup ignored (the first one wins)\n", src);
	cr_assert(strstr(errtext, expect) != NULL, "%s", errtext);
	char *v = lookup("dup");
	cr_assert_str_eq(v, "first");
	free(v);
}

Test(aliases_db, thousands_of_aliases_round_trip)
{
	struct result r;
	FILE *fp = fopen(src, "w");
	for (int i = 0; i < 20000; i++)
		fprintf(fp, "user%05d: target%05d, other%d@example.org\n", i, i * 7, i);
	fclose(fp);
	cr_assert_eq(compile(NULL, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(st.aliases, 20000);
	struct alias_db *d;
	cr_assert_eq(alias_db_open(db, &d, &r), EX_OK);
	for (int i = 0; i < 20000; i += 997) {
		char name[32], want[64], *v;
		snprintf(name, sizeof name, "user%05d", i);
		snprintf(want, sizeof want, "target%05d, other%d@example.org", i * 7, i);
		cr_assert_eq(alias_db_lookup(d, name, &v, &r), 1, "%s", name);
		cr_assert_str_eq(v, want);
		free(v);
	}
	alias_db_close(d);
}

/* ---- Files that are not ours: what postalias and sendmail write at /etc/aliases.db ---- */

/* Runs Postfix's postalias on src as TYPE:src (it writes src.db); false when it is missing. */
static bool postalias(const char *type)
{
	char cmd[4096];
	if (system("command -v postalias >/dev/null 2>&1") != 0)
		return false;
	th_write(th_path(dir, "main.cf"), "");
	th_write(src, "postmaster: root\nfoo: bar\n");
	snprintf(cmd, sizeof cmd, "postalias -c %s %s:%s 2>/dev/null", dir, type, src);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	return true;
}

static void check_foreign(const char *kind)
{
	struct result r;
	struct alias_db *d;
	const char *what;
	size_t before_len, after_len;
	cr_assert_eq(alias_db_format(db, &what), ALIAS_FMT_BERKELEY);
	cr_assert(strstr(what, kind), "%s", what);
	/* mda refuses to read it, naming the file, what it is and the fix. */
	cr_assert_eq(alias_db_open(db, &d, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, db) && strstr(r.reason, kind) && strstr(r.reason, "aliases_db"), "%s", r.reason);
	/* newaliases refuses to overwrite it and leaves it byte for byte. */
	char *before = th_read(db, &before_len);
	cr_assert_eq(compile("postmaster: root\n", &r), EX_CONFIG);
	cr_assert(strstr(r.reason, "not overwriting"), "%s", r.reason);
	char *after = th_read(db, &after_len);
	cr_assert(before_len == after_len && memcmp(before, after, before_len) == 0, "the file changed");
	assert_no_temp_files();
	free(before);
	free(after);
}

Test(aliases_db, a_postalias_hash_file_is_named_and_left_alone)
{
	if (!postalias("hash"))
		cr_skip_test("postalias (Postfix) is not installed");
	check_foreign("Berkeley DB hash");
}

Test(aliases_db, a_postalias_btree_file_is_named_and_left_alone)
{
	if (!postalias("btree"))
		cr_skip_test("postalias (Postfix) is not installed");
	check_foreign("Berkeley DB btree");
}

Test(aliases_db, our_gdbm_file_is_recognised_and_replaced)
{
	struct result r;
	const char *what;
	cr_assert_eq(alias_db_format(db, &what), ALIAS_FMT_MISSING);
	cr_assert_eq(compile("postmaster: root\n", &r), EX_OK, "%s", r.reason);
	cr_assert_eq(alias_db_format(db, &what), ALIAS_FMT_GDBM, "%s", what);
	cr_assert_eq(compile("postmaster: root\nfoo: bar\n", &r), EX_OK, "%s", r.reason);
	char *v = lookup("foo");
	cr_assert_str_eq(v, "bar");
	free(v);
}

Test(aliases_db, empty_text_and_fifo_files_are_not_ours_and_never_block)
{
	struct result r;
	const char *what;
	th_write(db, "");
	cr_assert_eq(alias_db_format(db, &what), ALIAS_FMT_OTHER);
	cr_assert_eq(compile("postmaster: root\n", &r), EX_CONFIG, "an empty file is not overwritten");
	unlink(db);
	th_write(db, "postmaster: root\nsomebody copied the source file here\n");
	cr_assert_eq(compile("postmaster: root\n", &r), EX_CONFIG);
	unlink(db);
	cr_assert_eq(mkfifo(db, 0644), 0);
	alarm(10);
	cr_assert_eq(alias_db_format(db, &what), ALIAS_FMT_OTHER);
	alarm(0);
	cr_assert_str_eq(what, "not a regular file");
}
