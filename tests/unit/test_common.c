/* Unit tests for common/: results and their reply codes, configuration, user lookup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/result.h"
#include "common/user.h"
#include "tests/unit/helpers.h"

Test(result, errno_classes_map_to_retryable_codes)
{
	struct result r;
	res_errno(&r, ENOSPC, false, "append to %s", "/x");
	cr_assert_eq(r.ex, EX_TEMPFAIL);
	cr_assert_str_eq(r.dsn, "4.2.2");
	cr_assert(strstr(r.reason, "append to /x: No space left on device") != NULL, "%s", r.reason);
	cr_assert_eq(res_reply_code(&r), 452);
	res_errno(&r, EIO, false, "write");
	cr_assert_str_eq(r.dsn, "4.3.0");
	cr_assert_eq(res_reply_code(&r), 451);
}

Test(result, reply_codes_follow_the_enhanced_status)
{
	struct result r = res_ok("fine");
	cr_assert_eq(res_reply_code(&r), 250);
	res_set(&r, EX_NOUSER, "5.1.1", "unknown user");
	cr_assert_eq(res_reply_code(&r), 550);
	cr_assert(!res_is_temp(&r));
	res_set(&r, EX_DATAERR, "5.3.4", "too big");
	cr_assert_eq(res_reply_code(&r), 552);
	res_set(&r, EX_DATAERR, "5.4.6", "loop");
	cr_assert_eq(res_reply_code(&r), 554);
	res_set(&r, EX_TEMPFAIL, "4.2.1", "locked");
	cr_assert_eq(res_reply_code(&r), 450);
	cr_assert(res_is_temp(&r));
}

Test(result, long_reasons_are_truncated_not_overflowed)
{
	struct result r;
	char big[1000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	res_set(&r, EX_TEMPFAIL, "4.3.0", "%s", big);
	cr_assert_eq(strlen(r.reason), sizeof r.reason - 1);
}

Test(config, defaults_are_the_documented_ones)
{
	struct config c;
	cfg_defaults(&c);
	cr_assert_str_eq(c.spool_dir, "/var/mail");
	cr_assert_str_eq(c.aliases_db, "/etc/aliases.mda.db");
	cr_assert_eq(c.lock_timeout, 60);
	cr_assert_eq(c.mbox_quoting, QUOTE_MBOXRD);
	cr_assert(c.allow_commands);
}

Test(config, file_then_overrides, .fini = th_cleanup)
{
	const char *dir = th_tmpdir();
	const char *path = th_path(dir, "mda.conf");
	struct config c;
	struct result r;
	char *ov[] = { "lock_timeout=7", "mbox_quoting = mboxo" };
	th_write(path, "# comment\n\nspool_dir = /srv/mail  \nlock_timeout=3\nallow_files = no\n");
	cr_assert_eq(cfg_init(&c, path, ov, 2, &r), EX_OK, "%s", r.reason);
	cr_assert_str_eq(c.spool_dir, "/srv/mail");
	cr_assert_eq(c.lock_timeout, 7);
	cr_assert_eq(c.mbox_quoting, QUOTE_MBOXO);
	cr_assert(!c.allow_files);
	cr_assert_str_eq(c.file, path);
}

Test(config, errors_name_file_and_line, .fini = th_cleanup)
{
	const char *dir = th_tmpdir();
	const char *path = th_path(dir, "bad.conf");
	struct config c;
	struct result r;
	th_write(path, "spool_dir = /x\n\nno_such_key = 1\n");
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, "bad.conf:3: unknown key") != NULL, "%s", r.reason);
	th_write(path, "lock_timeout = soon\n");
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, ":1: expected a non-negative integer") != NULL, "%s", r.reason);
	th_write(path, "fsync\n");
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, ":1: expected key = value") != NULL, "%s", r.reason);
}

Test(config, bad_override_is_a_usage_error)
{
	struct config c;
	struct result r;
	char *ov[] = { "mbox_quoting=mboxcl2" };
	cr_assert_eq(cfg_init(&c, "/nonexistent/mda.conf", NULL, 0, &r), EX_CONFIG,
		     "an explicitly named config file must exist");
	cfg_defaults(&c);
	cr_assert_eq(cfg_set_option(&c, ov[0], &r), EX_USAGE);
	cr_assert(strstr(r.reason, "expected mboxrd or mboxo") != NULL, "%s", r.reason);
}

Test(user, hostile_names_are_rejected)
{
	cr_assert(user_name_valid("alice"));
	cr_assert(user_name_valid("first.last"));
	cr_assert(user_name_valid("user_1-x"));
	cr_assert(!user_name_valid(""));
	cr_assert(!user_name_valid("../../etc/passwd"));
	cr_assert(!user_name_valid(".hidden"));
	cr_assert(!user_name_valid("-rf"));
	cr_assert(!user_name_valid("a b"));
	cr_assert(!user_name_valid("a\nb"));
	cr_assert(!user_name_valid("a|b"));
	cr_assert(!user_name_valid("a;b"));
	cr_assert(!user_name_valid("a/b"));
	char longname[100];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert(!user_name_valid(longname));
}

Test(user, passwd_file_lookup, .fini = th_cleanup)
{
	const char *dir = th_tmpdir();
	struct config c;
	struct user_info u;
	struct result r;
	th_world(&c, dir);
	cr_assert_eq(user_lookup(&c, "bob", &u, &r), USER_FOUND);
	cr_assert_eq(u.uid, getuid());
	cr_assert_str_eq(u.home, th_path(dir, "home/bob"));
	cr_assert_eq(user_lookup(&c, "mallory", &u, &r), USER_UNKNOWN);
	cr_assert_eq(user_lookup(&c, "../bob", &u, &r), USER_UNKNOWN);
	cr_assert_eq(user_lookup_uid(&c, getuid(), &u, &r), USER_FOUND);
	cr_assert_str_eq(u.name, "alice", "the first entry with the uid wins");
	snprintf(c.passwd_file, sizeof c.passwd_file, "%s", th_path(dir, "missing"));
	cr_assert_eq(user_lookup(&c, "bob", &u, &r), USER_LOOKUP_ERROR, "a missing passwd_file is trouble, not 'no such user'");
	cr_assert(res_is_temp(&r));
}

/* The keys issue 2 names, each with a non-default value: file first, then -o over it. */
static const char *const ISSUE_KEYS[][3] = {
	{ "spool_dir", "/srv/spool", "/o/spool" },
	{ "aliases_file", "/srv/aliases", "/o/aliases" },
	{ "aliases_db", "/srv/aliases.db", "/o/aliases.db" },
	{ "passwd_file", "/srv/passwd", "" },
	{ "sendmail_path", "/srv/sendmail", "/o/sendmail" },
	{ "lock_timeout", "17", "3" },
	{ "mbox_quoting", "mboxo", "mboxrd" },
};
#define N_ISSUE_KEYS (sizeof ISSUE_KEYS / sizeof ISSUE_KEYS[0])

/* "key = value" as cfg_dump writes it, found in the dump of c. */
static bool dump_has(const struct config *c, const char *key, const char *value)
{
	char want[256], *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	cr_assert_not_null(fp);
	cfg_dump(c, fp);
	fclose(fp);
	snprintf(want, sizeof want, "\n%s = %s\n", key, value);
	bool found = strstr(text, want) != NULL || strncmp(text, want + 1, strlen(want + 1)) == 0;
	free(text);
	return found;
}

Test(config, every_key_of_the_issue_is_read_from_the_file_and_overridden_by_o, .fini = th_cleanup)
{
	const char *path = th_path(th_tmpdir(), "mda.conf");
	char text[2048] = "", *ov[N_ISSUE_KEYS], ovbuf[N_ISSUE_KEYS][128];
	struct config c;
	struct result r;
	for (size_t i = 0; i < N_ISSUE_KEYS; i++) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof text - n, "%s = %s\n", ISSUE_KEYS[i][0], ISSUE_KEYS[i][1]);
		snprintf(ovbuf[i], sizeof ovbuf[i], "%s=%s", ISSUE_KEYS[i][0], ISSUE_KEYS[i][2]);
		ov[i] = ovbuf[i];
	}
	th_write(path, text);
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_OK, "%s", r.reason);
	for (size_t i = 0; i < N_ISSUE_KEYS; i++)
		cr_assert(dump_has(&c, ISSUE_KEYS[i][0], ISSUE_KEYS[i][1]), "file value of %s", ISSUE_KEYS[i][0]);
	cr_assert_eq(c.lock_timeout, 17);
	cr_assert_eq(c.mbox_quoting, QUOTE_MBOXO);
	cr_assert_str_eq(c.passwd_file, "/srv/passwd");
	cr_assert_eq(cfg_init(&c, path, ov, N_ISSUE_KEYS, &r), EX_OK, "%s", r.reason);
	for (size_t i = 0; i < N_ISSUE_KEYS; i++)
		cr_assert(dump_has(&c, ISSUE_KEYS[i][0], ISSUE_KEYS[i][2]), "-o value of %s", ISSUE_KEYS[i][0]);
	cr_assert_str_eq(c.passwd_file, "", "an empty passwd_file means the system's users");
	cr_assert_eq(c.lock_timeout, 3);
	cr_assert_eq(c.mbox_quoting, QUOTE_MBOXRD);
}

Test(config, bad_values_of_every_type_name_file_and_line, .fini = th_cleanup)
{
	static const char *const bad[][2] = {
		{ "lock_timeout = -1", "expected a non-negative integer" },
		{ "lock_timeout = 99999999999", "expected a non-negative integer" },
		{ "lock_timeout = 5s", "expected a non-negative integer" },
		{ "message_size_limit = lots", "expected a size in bytes" },
		{ "fsync = maybe", "expected yes or no" },
		{ "mbox_quoting = mboxcl2", "expected mboxrd or mboxo" },
		{ "lmtp_socket_mode = 0999", "expected an octal mode" },
		{ "Spool_Dir = /x", "unknown key" },
		{ "= /x", "unknown key" },
		{ "spool_dir /x", "expected key = value" },
	};
	const char *path = th_path(th_tmpdir(), "bad.conf");
	char text[5000], want[512];
	struct config c;
	struct result r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "# line 1\nspool_dir = /ok\n\n%s\n", bad[i][0]);
		th_write(path, text);
		cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG, "%s", bad[i][0]);
		snprintf(want, sizeof want, "%s:4: %s", path, bad[i][1]);
		cr_assert(strstr(r.reason, want) != NULL, "'%s' gave '%s'", bad[i][0], r.reason);
	}
	/* A value longer than its field, and a line longer than the reader's buffer. */
	memset(text, 'x', sizeof text);
	memcpy(text, "spool_dir = /", 13);
	memcpy(text + 1500, "\n", 2);
	th_write(path, text);
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, ":1: value too long") != NULL, "%s", r.reason);
	text[1500] = text[1501] = 'x';
	text[sizeof text - 1] = '\0';
	th_write(path, text);
	cr_assert_eq(cfg_init(&c, path, NULL, 0, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, ":1: line too long") != NULL, "%s", r.reason);
}

Test(config, bad_overrides_are_usage_errors_naming_the_option)
{
	struct config c;
	struct result r;
	char *unknown[] = { "no_such_key=1" }, *bare[] = { "lock_timeout" }, *bad[] = { "fsync=perhaps" };
	cr_assert_eq(cfg_init(&c, "/dev/null", unknown, 1, &r), EX_USAGE);
	cr_assert(strstr(r.reason, "-o no_such_key=1: unknown key") != NULL, "%s", r.reason);
	cr_assert_eq(cfg_init(&c, "/dev/null", bare, 1, &r), EX_USAGE);
	cr_assert(strstr(r.reason, "-o lock_timeout: expected key = value") != NULL, "%s", r.reason);
	cr_assert_eq(cfg_init(&c, "/dev/null", bad, 1, &r), EX_USAGE);
	cr_assert(strstr(r.reason, "expected yes or no") != NULL, "%s", r.reason);
	/* The default file may be missing; a file named with -C may not. */
	cr_assert_eq(cfg_load_file(&c, "/nonexistent/mda.conf", false, &r), EX_OK);
	cr_assert_eq(cfg_load_file(&c, "/nonexistent/mda.conf", true, &r), EX_CONFIG);
}

Test(result, outside_text_with_line_breaks_stays_on_one_line)
{
	/* A recipient name is quoted in reasons; its newline must not forge a second line in
	 * the log, on stderr (the MTA's bounce text) or in an LMTP reply. */
	struct result r;
	res_set(&r, EX_NOUSER, "5.1.1", "unknown user: %s", "alice\nmda: to=<x>, status=sent\r\x1b[2J");
	cr_assert_null(strpbrk(r.reason, "\r\n\x1b"), "reason: %s", r.reason);
	cr_assert_str_eq(r.reason, "unknown user: alice?mda: to=<x>, status=sent??[2J");
	res_errno(&r, ENOENT, false, "cannot open %s", "a\nb");
	cr_assert_str_eq(r.reason, "cannot open a?b: No such file or directory");
	char utf8[] = "J\xc3\xbcrgen\t";
	res_printable(utf8);
	cr_assert_str_eq(utf8, "J\xc3\xbcrgen?", "UTF-8 is kept, controls are not");
}

/* ---- quotas (common/quota.c) ---- */
#include "common/quota.h"

Test(quota, limit_from_the_file_then_the_default, .fini = th_cleanup)
{
	struct config c;
	struct result r;
	off_t lim;
	const char *dir = th_tmpdir();
	cfg_defaults(&c);
	c.mailbox_size_limit = 1000;
	cr_assert_eq(quota_limit(&c, "alice", &lim, &r), EX_OK);
	cr_assert_eq(lim, 1000, "no file: the default");
	snprintf(c.quota_file, sizeof c.quota_file, "%s/quota", dir);
	th_write(c.quota_file, "# per user\nalice 10k\nbob 2M # big\ncarol 0\nalice 5\n\n");
	cr_assert_eq(quota_limit(&c, "alice", &lim, &r), EX_OK);
	cr_assert_eq(lim, 10240, "the first line wins");
	cr_assert_eq(quota_limit(&c, "bob", &lim, &r), EX_OK);
	cr_assert_eq(lim, 2 * 1024 * 1024);
	cr_assert_eq(quota_limit(&c, "carol", &lim, &r), EX_OK);
	cr_assert_eq(lim, 0, "0: no limit for carol");
	cr_assert_eq(quota_limit(&c, "dave", &lim, &r), EX_OK);
	cr_assert_eq(lim, 1000, "not listed: the default");
	th_write(c.quota_file, "alice 10k\nbob lots\n");
	cr_assert_eq(quota_limit(&c, "alice", &lim, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, "quota:2: bad size"), "%s", r.reason);
	th_write(c.quota_file, "alice\n");
	cr_assert_eq(quota_limit(&c, "alice", &lim, &r), EX_CONFIG);
	cr_assert(strstr(r.reason, ":1: expected: user size"), "%s", r.reason);
}

Test(quota, a_warning_is_due_once_per_crossing)
{
	struct config c;
	struct result r;
	cfg_defaults(&c);
	snprintf(c.quota_warning, sizeof c.quota_warning, "80 95");
	cr_assert_eq(quota_check_config(&c, &r), EX_OK);
	cr_assert_eq(quota_crossed(&c, 1000, 700, 799), 0);
	cr_assert_eq(quota_crossed(&c, 1000, 799, 800), 80, "exactly 80% crosses 80");
	cr_assert_eq(quota_crossed(&c, 1000, 800, 900), 0, "already above: no second warning");
	cr_assert_eq(quota_crossed(&c, 1000, 900, 960), 95);
	cr_assert_eq(quota_crossed(&c, 1000, 100, 990), 95, "both crossed at once: the higher");
	cr_assert_eq(quota_crossed(&c, 0, 100, 990), 0, "no limit, no warning");
	snprintf(c.quota_warning, sizeof c.quota_warning, "80 banana");
	cr_assert_eq(quota_check_config(&c, &r), EX_CONFIG);
	snprintf(c.quota_warning, sizeof c.quota_warning, "80%%,101");
	cr_assert_eq(quota_check_config(&c, &r), EX_CONFIG);
	snprintf(c.quota_scope, sizeof c.quota_scope, "mars");
	snprintf(c.quota_warning, sizeof c.quota_warning, "90");
	cr_assert_eq(quota_check_config(&c, &r), EX_CONFIG);
}

Test(quota, warning_text_built_in_and_from_a_template, .fini = th_cleanup)
{
	struct config c;
	cfg_defaults(&c);
	char *m = quota_warning_message(&c, "alice", "host.example", 80, 800, 1000);
	cr_assert_not_null(m);
	cr_assert(strstr(m, "From: Mail Delivery System <MAILER-DAEMON@host.example>\n"), "%s", m);
	cr_assert(strstr(m, "Auto-Submitted: auto-generated\n"));
	cr_assert(strstr(m, "\n\nYour mailbox is 80% full: 800 of 1000 bytes."), "%s", m);
	free(m);
	snprintf(c.quota_warning_file, sizeof c.quota_warning_file, "%s/warn", th_tmpdir());
	th_write(c.quota_warning_file, "Subject: %u: %p%% full\n\n%s/%l\n");
	m = quota_warning_message(&c, "bob", "h", 95, 950, 1000);
	cr_assert_not_null(m);
	cr_assert(strstr(m, "\nSubject: bob: 95% full\n\n950/1000\n"), "%s", m);
	free(m);
}
