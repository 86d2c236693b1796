/* Unit tests for edited messages: mbox_edit_text, mbox_edit_form and mbox_rewrite with a
 * plan that replaces a message (exact bytes, From_ quoting round trips, mail arriving meanwhile,
 * refusals) under the rewrite's crash guarantees (kill -9 mid-rewrite, in place behind a backup). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static const char *dir;

static const char msg1[] = "From a@x Fri Sep 29 04:03:11 2023\nSubject: one\nStatus: O\n\nfirst body\n"
			   ">From the start\n>>From twice\n\n";
static const char msg2[] = "From b@x Fri Sep 29 04:03:12 2023\nSubject: two\n\nsecond body\n\n";
static const char late[] = "From c@x Fri Sep 29 04:03:13 2023\nSubject: late\n\nlate body\n\n";

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mbox_edit, .init = setup, .fini = teardown);

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);
	cr_assert_not_null(s);
	snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

/* Writes msg1+msg2 to dir/name and indexes it. */
static const char *make_box(const char *name, struct mbox_index *idx)
{
	struct result r = { 0 };
	char *box = concat3(msg1, msg2, "");
	const char *path = th_path(dir, name);
	th_write(path, box);
	free(box);
	cr_assert_eq(mbox_index_open(path, idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx->count, 2);
	return path;
}

/* The mbox form of message 0 of idx after an "editor" replaced from..to in its text. */
static char *edited_form(const struct mbox_index *idx, const char *from, const char *to, size_t *len)
{
	size_t tl;
	char *text = mbox_edit_text(idx, 0, QUOTE_MBOXRD, &tl);
	cr_assert_not_null(text);
	char *at = strstr(text, from);
	cr_assert_not_null(at, "%s not in the editor text:\n%s", from, text);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *edited = malloc(n);
	cr_assert_not_null(edited);
	snprintf(edited, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	char *form = mbox_edit_form(idx, 0, edited, strlen(edited), QUOTE_MBOXRD, len);
	cr_assert_not_null(form);
	free(text);
	free(edited);
	return form;
}

static int rewrite(const struct mbox_index *idx, struct mbox_plan *plan, struct result *r)
{
	struct mbox_owner own = { getuid(), (gid_t)-1 };
	return mbox_rewrite(idx, plan, &own, 5, false, r);
}

/* The editor gets headers without Status and the body unquoted one level (mboxrd). */
Test(mbox_edit, edit_text_hides_status_and_unquotes)
{
	struct mbox_index idx;
	size_t len;
	make_box("box", &idx);
	char *text = mbox_edit_text(&idx, 0, QUOTE_MBOXRD, &len);
	cr_assert_not_null(text);
	cr_expect_str_eq(text, "Subject: one\n\nfirst body\nFrom the start\n>From twice\n");
	cr_expect_eq(len, strlen(text));
	free(text);
	text = mbox_edit_text(&idx, 0, QUOTE_MBOXO, &len);
	cr_expect_str_eq(text, "Subject: one\n\nfirst body\nFrom the start\n>>From twice\n");
	free(text);
	mbox_index_close(&idx);
}

/* An unchanged text gives back the message's own bytes (Status aside): quoting round trips. */
Test(mbox_edit, edit_form_of_unchanged_text_is_identical)
{
	struct mbox_index idx;
	size_t tl, fl;
	make_box("box", &idx);
	for (int q = 0; q < 2; q++) {
		enum mbox_quoting rule = q ? QUOTE_MBOXO : QUOTE_MBOXRD;
		char *text = mbox_edit_text(&idx, 0, rule, &tl);
		char *form = mbox_edit_form(&idx, 0, text, tl, rule, &fl);
		cr_assert_not_null(form);
		cr_expect_str_eq(form, "From a@x Fri Sep 29 04:03:11 2023\nSubject: one\n\nfirst body\n"
				       ">From the start\n>>From twice\n\n", "rule %d", q);
		cr_expect_eq(fl, strlen(form));
		free(text);
		free(form);
	}
	mbox_index_close(&idx);
}

/* The edited copy replaces the message: original From_ line, new body, flags set from the
 * plan, the other message byte for byte. */
Test(mbox_edit, replacement_takes_the_message_place)
{
	struct mbox_index idx;
	struct result r = { 0 };
	size_t fl;
	const char *path = make_box("box", &idx);
	char *form = edited_form(&idx, "first body", "EDITED body", &fl);
	struct mbox_plan plan[2] = {
		{ .keep = true, .set_flags = true, .flags = MBOX_F_READ | MBOX_F_OLD, .replace = form, .replace_len = fl },
		{ .keep = true },
	};
	cr_assert_eq(rewrite(&idx, plan, &r), EX_OK, "%s", r.reason);
	char *got = th_read(path, NULL);
	char *want = concat3("From a@x Fri Sep 29 04:03:11 2023\nSubject: one\nStatus: RO\n\nEDITED body\n"
			     ">From the start\n>>From twice\n\n", msg2, "");
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	free(form);
	mbox_index_close(&idx);
}

/* A "From " line typed in the editor is quoted, so it cannot start a message of its own. */
Test(mbox_edit, from_lines_typed_in_the_editor_are_quoted)
{
	struct mbox_index idx, after;
	struct result r = { 0 };
	size_t fl;
	const char *path = make_box("box", &idx);
	char *form = edited_form(&idx, "first body\n", "first body\n\nFrom evil@x Fri Sep 29 04:03:11 2023\n", &fl);
	cr_expect(strstr(form, "\n\n>From evil@x"), "not quoted:\n%s", form);
	struct mbox_plan plan[2] = { { .keep = true, .replace = form, .replace_len = fl }, { .keep = true } };
	cr_assert_eq(rewrite(&idx, plan, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(mbox_index_open(path, &after, &r), EX_OK);
	cr_expect_eq(after.count, 2, "the edit split or glued messages: %zu", after.count);
	cr_expect_str_eq(after.msgs[1].subject, "two");
	mbox_index_close(&after);
	char *got = th_read(path, NULL);
	cr_expect(strstr(got, "first body\n\n>From evil@x"), "edit not written:\n%s", got);
	free(got);
	free(form);
	mbox_index_close(&idx);
}

/* Mail that arrived after the index was built stays, after the edited copy. */
Test(mbox_edit, mail_arriving_meanwhile_is_kept)
{
	struct mbox_index idx;
	struct result r = { 0 };
	size_t fl;
	const char *path = make_box("box", &idx);
	FILE *fp = fopen(path, "a");
	cr_assert_not_null(fp);
	fputs(late, fp);
	fclose(fp);
	char *form = edited_form(&idx, "first body", "EDITED body", &fl);
	struct mbox_plan plan[2] = { { .keep = true, .replace = form, .replace_len = fl }, { .keep = false } };
	cr_assert_eq(rewrite(&idx, plan, &r), EX_OK, "%s", r.reason);
	char *got = th_read(path, NULL);
	char *want = concat3("From a@x Fri Sep 29 04:03:11 2023\nSubject: one\n\nEDITED body\n"
			     ">From the start\n>>From twice\n\n", late, "");
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	free(form);
	mbox_index_close(&idx);
}

/* Replacement bytes that are not exactly one mbox message are refused before anything is
 * written: two messages, no From_ line, no blank separator. */
Test(mbox_edit, refuses_a_malformed_replacement)
{
	static const char *bad[] = {
		"From a@x Fri Sep 29 04:03:11 2023\nSubject: a\n\nx\n\nFrom b@x Fri Sep 29 04:03:11 2023\n\ny\n\n",
		"Subject: no from line\n\nbody\n\n",
		"From a@x Fri Sep 29 04:03:11 2023\nSubject: a\n\nno separator\n",
	};
	struct mbox_index idx;
	const char *path = make_box("box", &idx);
	char *before = th_read(path, NULL);
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		struct result r = { 0 };
		struct mbox_plan plan[2] = { { .keep = true, .replace = bad[k], .replace_len = strlen(bad[k]) },
					     { .keep = true, .set_flags = true, .flags = MBOX_F_OLD } };
		cr_expect_eq(rewrite(&idx, plan, &r), EX_DATAERR, "case %zu accepted", k);
		char *now = th_read(path, NULL);
		cr_expect_str_eq(now, before, "case %zu changed the mailbox", k);
		free(now);
	}
	free(before);
	mbox_index_close(&idx);
}

/* A mailbox rewritten by someone else since it was read: refused, untouched, edit or not. */
Test(mbox_edit, refuses_when_changed_by_someone_else)
{
	struct mbox_index idx;
	struct result r = { 0 };
	size_t fl;
	const char *path = make_box("box", &idx);
	char *form = edited_form(&idx, "first body", "EDITED body", &fl);
	char *other = concat3(msg2, msg1, "");
	FILE *fp = fopen(path, "r+");
	cr_assert_not_null(fp);
	fputs(other, fp);          /* same size, other order: not an append */
	fclose(fp);
	struct mbox_plan plan[2] = { { .keep = true, .replace = form, .replace_len = fl }, { .keep = true } };
	cr_expect_eq(rewrite(&idx, plan, &r), EX_TEMPFAIL);
	char *got = th_read(path, NULL);
	cr_expect_str_eq(got, other);
	free(got);
	free(other);
	free(form);
	mbox_index_close(&idx);
}

/* Runs the rewrite in a child killed by SIGKILL after `bytes` bytes of the new file. */
static void rewrite_killed(const struct mbox_index *idx, struct mbox_plan *plan, const char *bytes)
{
	pid_t pid = fork();
	if (pid == 0) {   /* no cr_assert in the child */
		struct result r = { 0 };
		setenv("MBOX_TEST_DIE_AFTER_BYTES", bytes, 1);
		_exit(rewrite(idx, plan, &r) == EX_OK ? 0 : 1);
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the rewrite was not killed (status %d)", st);
}

/* kill -9 in the middle of writing the new mailbox: the old one is whole, and a second try
 * (the next quit) succeeds. */
Test(mbox_edit, kill_9_mid_rewrite_leaves_the_old_mailbox)
{
	struct mbox_index idx;
	struct result r = { 0 };
	size_t fl;
	const char *path = make_box("box", &idx);
	char *before = th_read(path, NULL);
	char *form = edited_form(&idx, "first body", "EDITED body", &fl);
	struct mbox_plan plan[2] = { { .keep = true, .replace = form, .replace_len = fl }, { .keep = true } };
	rewrite_killed(&idx, plan, "40");
	char *got = th_read(path, NULL);
	cr_expect_str_eq(got, before);
	free(got);
	cr_assert_eq(rewrite(&idx, plan, &r), EX_OK, "%s", r.reason);
	got = th_read(path, NULL);
	cr_expect(strstr(got, "EDITED body"), "%s", got);
	free(got);
	free(before);
	free(form);
	mbox_index_close(&idx);
}

/* Runs rewrite as the owner of a read-only directory (root: as uid 65534 in a child, since
 * root ignores directory modes). Returns mbox_rewrite's result. */
static int rewrite_in_ro_dir(const char *sub, const char *tmp, const char *path, const struct mbox_index *idx,
			     struct mbox_plan *plan)
{
	struct result r = { 0 };
	if (geteuid() != 0) {
		cr_assert_eq(chmod(sub, 0500), 0);
		int ex = rewrite(idx, plan, &r);
		chmod(sub, 0700);
		return ex;
	}
	cr_assert_eq(chmod(dir, 0711), 0);
	cr_assert_eq(chown(sub, 65534, 65534) | chown(tmp, 65534, 65534) | chown(path, 65534, 65534), 0);
	cr_assert_eq(chmod(sub, 0500), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct mbox_owner own = { 65534, (gid_t)-1 };
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(99);
		_exit(mbox_rewrite(idx, plan, &own, 5, false, &r));
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	chmod(sub, 0700);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No rename possible: rewritten in place (same inode) behind a backup that is removed after. */
Test(mbox_edit, in_place_with_a_replacement)
{
	char sub[512], tmp[512];
	struct mbox_index idx;
	struct stat before, after;
	size_t fl;
	snprintf(sub, sizeof sub, "%s/ro", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	const char *path = make_box("ro/box", &idx);
	char *form = edited_form(&idx, "first body", "EDITED body", &fl);
	struct mbox_plan plan[2] = { { .keep = true, .replace = form, .replace_len = fl }, { .keep = true } };
	cr_assert_eq(stat(path, &before), 0);
	mbox_set_tmp_dir(tmp);
	int ex = rewrite_in_ro_dir(sub, tmp, path, &idx, plan);
	mbox_set_tmp_dir(NULL);
	cr_assert_eq(ex, EX_OK, "in-place rewrite exited %d", ex);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(after.st_ino, before.st_ino);
	char *got = th_read(path, NULL);
	char *want = concat3("From a@x Fri Sep 29 04:03:11 2023\nSubject: one\n\nEDITED body\n"
			     ">From the start\n>>From twice\n\n", msg2, "");
	cr_expect_str_eq(got, want);
	DIR *d = opendir(tmp);
	struct dirent *e;
	while ((e = readdir(d)))
		cr_expect(e->d_name[0] == '.', "backup left in tmp_dir: %s", e->d_name);
	closedir(d);
	free(got);
	free(want);
	free(form);
	mbox_index_close(&idx);
}
