/* Unit tests for mail(1)'s saving family against Heirloom mailx 12.5: save/copy/write keep the
 * current message and touch what they save, write decodes and saves attachments under their
 * own names (never over an existing file), pipe takes a quoted command, reply touches and
 * marks answered with markanswered, mail arriving unannounced keeps its Status at quit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mailcmd/session.h"
#include "tests/unit/helpers.h"
#include "tests/unit/mail_session.h"

static const char box[] =
	"From a@x Fri Sep 29 04:03:11 2023\nFrom: a@x\nSubject: one\n\nbody one\n\n"
	"From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nMIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	"caf=C3=A9 is =3D soft=\n break\n\n"
	"From c@x Fri Sep 29 04:03:13 2023\nFrom: c@x\nSubject: three\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"BB\"\n\n"
	"--BB\nContent-Type: text/plain\n\nthe text\n"
	"--BB\nContent-Type: application/pdf; name=\"ignored.pdf\"\nContent-Transfer-Encoding: base64\n"
	"Content-Disposition: attachment; filename=\"../../a.pdf\"\n\nJVBERg==\n"
	"--BB\nContent-Type: text/plain\nContent-Disposition: attachment; filename*=utf-8''na%C3%AFve.txt\n\n"
	"plain attachment\n"
	"--BB--\n\n"
	"From d@x Fri Sep 29 04:03:14 2023\nFrom: d@x\nSubject: four\nMessage-ID: <4@x>\n\nbody four\n\n";

static struct config cfg;
static struct mail_session s;
static const char *dir;
static char spool[512], cwd[1024];

static void setup(void)
{
	dir = th_mail_workdir(&s, &cfg, spool, sizeof spool, box, cwd, sizeof cwd);
}

static void teardown(void)
{
	th_mail_teardown(cwd);
}

TestSuite(mailcmd_save, .init = setup, .fini = teardown);

static void run(const char *cmd)
{
	th_mail_run(&s, cmd);
}

/* Heirloom's save1() never calls setdot: after `s 2 f`, a bare `d` deletes the current one. */
Test(mailcmd_save, save_copy_write_leave_the_current_message)
{
	cr_assert_eq(s.cur, 0);
	run("s 2 f1");
	cr_expect_eq(s.cur, 0);
	run("copy 3 f2");
	cr_expect_eq(s.cur, 0);
	run("w 4 f3");
	cr_expect_eq(s.cur, 0);
	run("d");
	cr_expect(s.msgs[0].flags & MAIL_M_DELETED);
	cr_expect_not(s.msgs[1].flags & MAIL_M_DELETED);
	mail_sess_close(&s, false);
}

/* copy touches (read, to ~/mbox at quit) without marking saved; save marks saved (gone). */
Test(mailcmd_save, copy_marks_read_and_moves_to_mbox_at_quit)
{
	run("copy 2 f1");
	run("save 4 f2");
	cr_expect_eq(s.msgs[1].flags & (MAIL_M_READ | MAIL_M_SAVED), MAIL_M_READ);
	cr_expect(s.msgs[3].flags & MAIL_M_SAVED);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	char *left = th_read(spool, NULL);
	cr_expect(strstr(mbox, "Subject: two"), "%s", mbox);
	cr_expect_null(strstr(mbox, "Subject: four"));
	cr_expect_null(strstr(left, "Subject: two"));
	cr_expect_null(strstr(left, "Subject: four"));
	cr_expect(strstr(left, "Subject: one"));
	free(mbox);
	free(left);
}

Test(mailcmd_save, write_decodes_quoted_printable)
{
	run("write 2 out");
	char *text = th_read(th_path(dir, "work/out"), NULL);
	cr_expect_str_eq(text, "caf\xc3\xa9 is = soft break\n");
	free(text);
	cr_expect_not(s.msgs[1].flags & MAIL_M_SAVED);   /* Heirloom: write does not mark saved */
	cr_expect(s.msgs[1].flags & MAIL_M_READ);
	mail_sess_close(&s, false);
}

/* Part 1 into the named file; the others under their own (decoded, directory-free) names. */
Test(mailcmd_save, write_saves_attachments_under_their_names)
{
	run("write 3 out");
	char *text = th_read(th_path(dir, "work/out"), NULL);
	cr_expect_str_eq(text, "the text\n");
	free(text);
	char *pdf = th_read(th_path(dir, "work/a.pdf"), NULL);
	cr_expect_str_eq(pdf, "%PDF");
	free(pdf);
	char *att = th_read(th_path(dir, "work/na\xc3\xafve.txt"), NULL);
	cr_expect_str_eq(att, "plain attachment");
	free(att);
	cr_expect_neq(access(th_path(dir, "a.pdf"), F_OK), 0, "the sender's ../ was followed");
	mail_sess_close(&s, false);
}

Test(mailcmd_save, write_never_overwrites_an_existing_file)
{
	th_write(th_path(dir, "work/a.pdf"), "mine");
	run("write 3 out");
	char *pdf = th_read(th_path(dir, "work/a.pdf"), NULL);
	cr_expect_str_eq(pdf, "mine");
	free(pdf);
	mail_sess_close(&s, false);
}

/* `pipe 2 "cmd args"`: the quoted text is the command; one run gets the messages as type
 * shows them, each under "Message  N:". */
Test(mailcmd_save, pipe_takes_a_quoted_command)
{
	char line[600];
	snprintf(line, sizeof line, "pipe 1 4 \"cat >'%s'\"", th_path(dir, "piped"));
	mail_sess_execute(&s, line);
	char *text = th_read(th_path(dir, "piped"), NULL);
	cr_expect(strstr(text, "Message  1:\nFrom a@x"), "%s", text);
	cr_expect(strstr(text, "Message  4:\nFrom d@x"), "%s", text);
	cr_expect(strstr(text, "body four\n"), "%s", text);
	free(text);
	cr_expect(s.msgs[3].flags & MAIL_M_READ);
	mail_sess_close(&s, false);
}

/* Replies, sent through a fake sendmail; stdin ends the draft. */
static void reply(const char *cmd)
{
	char script[1024];
	snprintf(script, sizeof script, "#!/bin/sh\ncat >%s\n", th_path(dir, "sent"));
	th_write(th_path(dir, "sendmail"), script);
	cr_assert_eq(chmod(th_path(dir, "sendmail"), 0700), 0);
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s", th_path(dir, "sendmail"));
	th_write(th_path(dir, "input"), "~.\n");
	cr_assert_not_null(freopen(th_path(dir, "input"), "r", stdin));
	run(cmd);
}

Test(mailcmd_save, reply_touches_and_marks_answered_only_with_markanswered)
{
	reply("r 4");
	cr_expect_eq(s.msgs[3].flags & (MAIL_M_READ | MAIL_M_ANSWERED), MAIL_M_READ);
	cr_expect_eq(s.cur, 3);
	mail_var_set("markanswered", NULL);
	reply("R 1");
	cr_expect_eq(s.msgs[0].flags & (MAIL_M_READ | MAIL_M_ANSWERED), MAIL_M_READ | MAIL_M_ANSWERED);
	mail_var_set("hold", NULL);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *left = th_read(spool, NULL);
	cr_expect(strstr(left, "Subject: one\nStatus: RO\nX-Status: A\n"), "%s", left);
	free(left);
}

static void arrive(const char *subject)
{
	FILE *fp = fopen(spool, "a");
	cr_assert_not_null(fp);
	fprintf(fp, "From e@x Fri Sep 29 04:03:15 2023\nFrom: e@x\nSubject: %s\n\nlate\n\n", subject);
	fclose(fp);
}

/* Announced ("New mail has arrived") mail was seen: Status: O at quit, as Heirloom makes every
 * message of the session old; mail that came after the last look keeps its bytes. */
Test(mailcmd_save, arrived_mail_is_old_only_when_it_was_announced)
{
	arrive("announced");
	cr_assert_eq(mail_sess_newmail(&s, false), 1);
	arrive("unseen");
	s.msgs[0].flags |= MAIL_M_DELETED;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *left = th_read(spool, NULL);
	cr_expect(strstr(left, "Subject: announced\nStatus: O\n"), "%s", left);
	cr_expect(strstr(left, "Subject: unseen\n\nlate\n"), "%s", left);
	free(left);
}

/* mail sets this threshold for quit unless verbose: LOG_INFO lines ("rewriting in place,
 * backup in ...") are dropped, warnings still go out. */
Test(mailcmd_save, routine_log_lines_only_with_verbose)
{
	const char *errf = th_path(dir, "stderr");
	fflush(stderr);
	int saved = dup(2);
	cr_assert_not_null(freopen(errf, "w", stderr));
	log_init("mail", "stderr");
	log_set_threshold(LOG_NOTICE);
	log_msg(LOG_INFO, "routine");
	log_msg(LOG_WARNING, "trouble");
	log_set_threshold(LOG_DEBUG);
	log_msg(LOG_INFO, "verbose");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *text = th_read(errf, NULL);
	cr_expect_str_eq(text, "mail: warning: trouble\nmail: verbose\n");
	free(text);
	mail_sess_close(&s, false);
}

/* Heirloom's undelete touches the message and makes it current. */
Test(mailcmd_save, undelete_touches)
{
	run("d 2");
	run("undelete 2");
	cr_expect_eq(s.msgs[1].flags & (MAIL_M_DELETED | MAIL_M_READ), MAIL_M_READ);
	cr_expect_eq(s.cur, 1);
	mail_sess_close(&s, false);
}

/* flag/unflag, answered/unanswered: X-Status F and A at quit, as Heirloom's xstatusput. */
Test(mailcmd_save, flag_and_answered_reach_x_status)
{
	run("flag 1 2");
	run("unflag 2");
	run("answered 4");
	run("Unread 4");
	cr_expect(s.msgs[0].flags & MAIL_M_FLAGGED);
	cr_expect_not(s.msgs[1].flags & MAIL_M_FLAGGED);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *left = th_read(spool, NULL);
	cr_expect(strstr(left, "Subject: one\nStatus: O\nX-Status: F\n"), "%s", left);
	cr_expect(strstr(left, "Subject: four\nMessage-ID: <4@x>\nStatus: O\nX-Status: A\n"), "%s", left);
	free(left);
}
