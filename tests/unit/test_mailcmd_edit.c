/* Unit tests for mail(1)'s edit/visual (the editor helper, the session's edited copy, quit
 * and exit with edits) and Heirloom's reply quoting (`quote`, `indentprefix`). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcmd/session.h"
#include "tests/unit/helpers.h"
#include "tests/unit/mail_session.h"

static const char box[] =
	"From a@x Fri Sep 29 04:03:11 2023\nFrom: Ann <a@x>\nSubject: one\nMessage-ID: <1@x>\n\n"
	"body one\n>From quoted\n\n"
	"From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nStatus: O\n\nbody two\n\n";

static struct config cfg;
static struct mail_session s;
static const char *dir;
static char spool[512];

static void setup(void)
{
	dir = th_mail_session(&s, &cfg, spool, sizeof spool, box);
	cr_assert_eq(s.n, 2);
	setenv("TMPDIR", cfg.tmp_dir, 1);
}

static void teardown(void)
{
	mail_vars_reset();
	th_cleanup();
}

TestSuite(mailcmd_edit, .init = setup, .fini = teardown);

/* Runs the `edit` command with EDITOR set to a shell command. */
static void edit_with(const char *editor, const char *cmd)
{
	char line[128];
	setenv("EDITOR", editor, 1);
	snprintf(line, sizeof line, "%s", cmd);
	mail_sess_execute(&s, line);
}

/* The editor gets the message without From_ line and Status, From_ quoting undone; exit
 * status 0 and a change make the result the session's copy. */
Test(mailcmd_edit, editor_helper_reports_changes)
{
	char *out;
	size_t len;
	setenv("EDITOR", "sed -i s/a/A/", 1);
	cr_expect_eq(mail_edit_text("EDITOR", "ed", "abc\n", 4, false, &out, &len), 1);
	cr_expect_str_eq(out, "Abc\n");
	free(out);
	setenv("EDITOR", "true", 1);
	cr_expect_eq(mail_edit_text("EDITOR", "ed", "abc\n", 4, false, &out, &len), 0);
	cr_expect_str_eq(out, "abc\n");
	free(out);
	setenv("EDITOR", "false", 1);
	cr_expect_eq(mail_edit_text("EDITOR", "ed", "abc\n", 4, false, &out, &len), -1);
	cr_expect_null(out);
	/* the mail variable wins over the environment, as in mailx */
	mail_var_set("EDITOR", "sed -i s/b/B/");
	cr_expect_eq(mail_edit_text("EDITOR", "ed", "abc\n", 4, false, &out, &len), 1);
	cr_expect_str_eq(out, "aBc\n");
	free(out);
	/* read-only: the file is 0400 and nothing counts as changed */
	char editor[600];
	snprintf(editor, sizeof editor, "sh -c 'stat -c %%a \"$0\" >%s; echo x >>\"$0\"'", th_path(dir, "mode"));
	mail_var_set("EDITOR", editor);
	cr_expect_eq(mail_edit_text("EDITOR", "ed", "abc\n", 4, true, &out, &len), 0);
	free(out);
	char *mode = th_read(th_path(dir, "mode"), NULL);
	cr_expect_str_eq(mode, "400\n");
	free(mode);
	mail_sess_close(&s, false);
}

/* The temp file is private and gone afterwards; what the editor saw is checked too. */
Test(mailcmd_edit, editor_sees_the_message_text_in_a_private_file)
{
	char editor[1024];
	const char *seen = th_path(dir, "seen");
	snprintf(editor, sizeof editor, "sh -c 'stat -c %%a \"$0\" >%s.mode; cat \"$0\" >%s'", seen, seen);
	edit_with(editor, "e 1");
	char *text = th_read(seen, NULL);
	cr_expect_str_eq(text, "From: Ann <a@x>\nSubject: one\nMessage-ID: <1@x>\n\nbody one\nFrom quoted\n");
	free(text);
	char mode_path[600];
	snprintf(mode_path, sizeof mode_path, "%s.mode", seen);
	char *mode = th_read(mode_path, NULL);
	cr_expect_str_eq(mode, "600\n");
	free(mode);
	int left = 0;
	char cmd[CFG_PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "ls %s | grep -q mail.ed", cfg.tmp_dir);
	left = system(cmd);
	cr_expect_neq(left, 0, "temp file left in %s", cfg.tmp_dir);
	mail_sess_close(&s, false);
}

/* An edit shows in the summary and in what `type` reads, and quit writes it back with the
 * original From_ line, re-quoted, the message kept as read (Status: RO, hold). */
Test(mailcmd_edit, edit_is_shown_and_written_back_at_quit)
{
	mail_var_set("hold", NULL);
	edit_with("sed -i -e s/^Subject:.one/Subject:\\ edited/ -e s/^From.quoted/From\\ requoted/", "e 1");
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(&s, 0, &map);
	cr_expect_str_eq(s.msgs[0].subject, "edited");
	cr_expect(memmem(map + x->body, (size_t)(x->end - x->body), ">From requoted", 14));
	cr_expect(s.msgs[0].flags & MAIL_M_READ, "edit touches the message as read");
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *got = th_read(spool, NULL);
	cr_expect_str_eq(got, "From a@x Fri Sep 29 04:03:11 2023\nFrom: Ann <a@x>\nSubject: edited\n"
			      "Message-ID: <1@x>\nStatus: RO\n\nbody one\n>From requoted\n\n"
			      "From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nStatus: O\n\nbody two\n\n");
	free(got);
}

/* exit leaves the mailbox as it was, edits included. */
Test(mailcmd_edit, exit_drops_the_edit)
{
	edit_with("sed -i s/body/BODY/", "e 1");
	cr_expect_str_eq(s.msgs[0].subject, "one");
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(&s, 0, &map);
	cr_expect(memmem(map + x->body, (size_t)(x->end - x->body), "BODY one", 8), "edit not shown");
	mail_sess_execute(&s, (char[]){ "x" });
	char *got = th_read(spool, NULL);
	cr_expect_str_eq(got, box);
	free(got);
}

/* An unchanged text (editor exits 0, writes nothing new) is no edit: quit with nothing else
 * to do leaves the file byte for byte. */
Test(mailcmd_edit, unchanged_text_is_no_edit)
{
	struct stat before, after;
	mail_sess_close(&s, false);
	th_write(spool, "From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nStatus: O\n\nbody two\n\n");
	cr_assert_eq(mail_sess_open(&s, spool, true), 0);
	cr_assert_eq(stat(spool, &before), 0);
	edit_with("true", "e 1");
	cr_expect_eq(s.edits[0], NULL);
	mail_var_set("hold", NULL);
	s.msgs[0].flags &= ~(unsigned)(MAIL_M_READ | MAIL_M_TOUCH);   /* as if never read */
	cr_assert_geq(mail_sess_close(&s, true), 0);
	cr_assert_eq(stat(spool, &after), 0);
	cr_expect_eq(after.st_ino, before.st_ino, "mailbox rewritten for nothing");
}

/* Mail delivered while the edited session is open is kept after the edited message. */
Test(mailcmd_edit, mail_arriving_after_an_edit_is_kept)
{
	mail_var_set("hold", NULL);
	edit_with("sed -i s/body.one/EDITED/", "e 1");
	FILE *fp = fopen(spool, "a");
	cr_assert_not_null(fp);
	fputs("From c@x Fri Sep 29 05:00:00 2023\nFrom: c@x\nSubject: late\n\nlate body\n\n", fp);
	fclose(fp);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *got = th_read(spool, NULL);
	cr_expect(strstr(got, "\nEDITED\n"), "%s", got);
	cr_expect(strstr(got, "\n\nFrom c@x Fri Sep 29 05:00:00 2023\nFrom: c@x\nSubject: late\n"), "%s", got);
	free(got);
}

/* A read message leaving for ~/mbox at quit leaves edited. */
Test(mailcmd_edit, edited_message_goes_to_mbox_edited)
{
	edit_with("sed -i s/body.one/EDITED/", "e 1");
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	cr_expect(strstr(mbox, "From a@x Fri Sep 29 04:03:11 2023\n"), "%s", mbox);
	cr_expect(strstr(mbox, "\nEDITED\n"), "%s", mbox);
	free(mbox);
	char *rest = th_read(spool, NULL);
	cr_expect_null(strstr(rest, "Subject: one"));
	free(rest);
}

/* Replies, sent through a fake sendmail that keeps the message; stdin ends the draft. */
static char *reply_body(const char *cmd)
{
	char script[1024], line[64];
	const char *sent = th_path(dir, "sent");
	snprintf(script, sizeof script, "#!/bin/sh\ncat >%s\n", sent);
	th_write(th_path(dir, "sendmail"), script);
	cr_assert_eq(chmod(th_path(dir, "sendmail"), 0700), 0);
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s", th_path(dir, "sendmail"));
	th_write(th_path(dir, "input"), "~.\n");
	cr_assert_not_null(freopen(th_path(dir, "input"), "r", stdin));
	snprintf(line, sizeof line, "%s", cmd);
	mail_sess_execute(&s, line);
	char *msg = th_read(sent, NULL);
	char *body = strstr(msg, "\n\n");
	cr_assert_not_null(body, "%s", msg);
	char *copy = strdup(body + 2);
	free(msg);
	mail_sess_close(&s, false);
	return copy;
}

/* Heirloom: without `quote` the reply starts empty. */
Test(mailcmd_edit, reply_does_not_quote_by_default)
{
	char *body = reply_body("r 1");
	cr_expect_str_eq(body, "");
	free(body);
}

/* quote set: "From wrote:", a blank line, the body indented by a tab (indentprefix unset). */
Test(mailcmd_edit, quote_quotes_with_heading_and_tab)
{
	mail_var_set("quote", NULL);
	char *body = reply_body("R 1");
	cr_expect_str_eq(body, "Ann <a@x> wrote:\n\n\tbody one\n\t>From quoted\n");
	free(body);
}

Test(mailcmd_edit, quote_noheading_and_indentprefix)
{
	mail_var_set("quote", "noheading");
	mail_var_set("indentprefix", "> ");
	char *body = reply_body("r 1");
	cr_expect_str_eq(body, "> body one\n> >From quoted\n");
	free(body);
}

/* quote=headers: the shown (ignore-filtered) headers above the body, as ~m does. */
Test(mailcmd_edit, quote_headers_as_tilde_m)
{
	char ign[] = "Message-ID";
	mail_var_set("quote", "headers");
	mail_ignore_add(0, ign);
	char *body = reply_body("r 1");
	cr_expect_str_eq(body, "\tFrom: Ann <a@x>\n\tSubject: one\n\t\n\tbody one\n\t>From quoted\n");
	free(body);
}
