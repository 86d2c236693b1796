/* Unit tests for the mail(1) commands that complete Heirloom mailx 12.5's set: the ignore
 * family and saveignore, alternates, move/Move, show, more, Pipe, resend/Resend,
 * forward/Forward, followup and Mail, inc, and if/else/endif abbreviated. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcmd/session.h"
#include "tests/unit/helpers.h"
#include "tests/unit/mail_session.h"

static const char box[] =
	"From a@x Fri Sep 29 04:03:11 2023\nFrom: a@x\nTo: alice@here, me@elsewhere.example, c@x\n"
	"Subject: one\nX-Junk: yes\n\nbody one\n\n"
	"From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nMIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	"caf=C3=A9\n\n"
	"From c@x Fri Sep 29 04:03:13 2023\nFrom: c@x\nSubject: three\n\nbody three\n\n"
	"From d@x Fri Sep 29 04:03:14 2023\nFrom: Dee <d@x>\nSubject: four\nStatus: O\n"
	"Message-ID: <4@x>\n\nbody four\n\n";

static struct config cfg;
static struct mail_session s;
static const char *dir;
static char spool[512], cwd[1024];

static void setup(void)
{
	dir = th_mail_workdir(&s, &cfg, spool, sizeof spool, box, cwd, sizeof cwd);
	/* a sendmail that keeps its arguments and the message */
	char script[1024];
	snprintf(script, sizeof script, "#!/bin/sh\necho \"$@\" >>%s\ncat >>%s\n", th_path(dir, "args"),
		 th_path(dir, "sent"));
	th_write(th_path(dir, "sendmail"), script);
	cr_assert_eq(chmod(th_path(dir, "sendmail"), 0700), 0);
	snprintf(cfg.sendmail_path, sizeof cfg.sendmail_path, "%s", th_path(dir, "sendmail"));
	th_write(th_path(dir, "input"), "~.\n");
	cr_assert_not_null(freopen(th_path(dir, "input"), "r", stdin));
}

static void teardown(void)
{
	th_mail_teardown(cwd);
}

TestSuite(mailcmd_more, .init = setup, .fini = teardown);

static void run(const char *cmd)
{
	th_mail_run(&s, cmd);
}

static char *output_of(const char *cmd)
{
	return th_mail_output(&s, dir, cmd);
}

static void expect_output(const char *cmd, const char *want)
{
	char *got = output_of(cmd);
	cr_expect_str_eq(got, want, "%s", cmd);
	free(got);
}

/* Heirloom's igshow/unignore1: lowercase names, sorted, "No fields currently being ..." */
Test(mailcmd_more, ignore_family_lists_as_heirloom)
{
	expect_output("ignore", "No fields currently being ignored.\n");
	run("ignore X-Junk Received");
	expect_output("ig", "received\nx-junk\n");
	run("unignore Received");
	expect_output("ignore", "x-junk\n");
	expect_output("unretain x-junk", "No fields currently being retained.\n");
	run("retain subject");
	run("unretain Subject");
	expect_output("retain", "No fields currently being retained.\n");
	expect_output("saveretain", "No fields currently being retained.\n");
	run("unig x-junk");
	char *typed = output_of("type 1");
	cr_expect(strstr(typed, "X-Junk: yes\n"), "%s", typed);
	free(typed);
	mail_sess_close(&s, false);
}

/* saveignore/saveretain filter what save and copy write; Status is the session's and stays. */
Test(mailcmd_more, saveignore_leaves_fields_out_of_saved_copies)
{
	run("saveignore X-Junk");
	run("copy 1 f1");
	run("unsaveignore x-junk");
	run("saveretain subject");
	run("copy 4 f2");
	char *f1 = th_read(th_path(dir, "work/f1"), NULL), *f2 = th_read(th_path(dir, "work/f2"), NULL);
	cr_expect(strstr(f1, "Subject: one\nStatus: R\n\nbody one\n"), "%s", f1);
	cr_expect_null(strstr(f1, "X-Junk"), "%s", f1);
	cr_expect(strstr(f2, "From d@x Fri Sep 29 04:03:14 2023\nSubject: four\nStatus: RO\n\nbody four\n"), "%s", f2);
	free(f1);
	free(f2);
	mail_sess_close(&s, false);
}

/* alternates replaces its list and prints it on one line; reply to all leaves them out. */
Test(mailcmd_more, alternates_are_left_out_of_replies)
{
	expect_output("alternates", "");
	run("alternates nobody@x");
	run("alt me@elsewhere.example Other@Else");
	expect_output("alternates", "me@elsewhere.example Other@Else \n");
	run("reply 1");
	char *sent = th_read(th_path(dir, "sent"), NULL);
	cr_expect(strstr(sent, "To: a@x, c@x\n"), "%s", sent);
	free(sent);
	mail_sess_close(&s, false);
}

/* move: copied, then deleted and saved; dot to the first message left after the last one
 * moved, else before it (Heirloom's save1 and first()). */
Test(mailcmd_more, move_deletes_what_it_saved)
{
	run("mv 1 3 moved");
	cr_expect(s.msgs[0].flags & MAIL_M_DELETED);
	cr_expect(s.msgs[2].flags & MAIL_M_DELETED);
	cr_expect_eq(s.cur, 3);
	run("Move 4");
	cr_expect(s.msgs[3].flags & MAIL_M_DELETED);
	cr_expect_eq(s.cur, 1);
	char *moved = th_read(th_path(dir, "work/moved"), NULL), *d = th_read(th_path(dir, "work/d"), NULL);
	cr_expect(strstr(moved, "Subject: one\n") && strstr(moved, "Subject: three\n"), "%s", moved);
	cr_expect(strstr(d, "Subject: four\n"), "%s", d);
	free(moved);
	free(d);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *left = th_read(spool, NULL);
	cr_expect(strstr(left, "Subject: two\n") && !strstr(left, "Subject: one\n") && !strstr(left, "Subject: four\n"),
		  "%s", left);
	free(left);
}

/* show prints the stored message (no decoding); more is type when no terminal pages it. */
Test(mailcmd_more, show_is_raw_and_more_types)
{
	char *shown = output_of("show 2");
	cr_expect(strstr(shown, "Message  2:\nFrom b@x Fri Sep 29"), "%s", shown);
	cr_expect(strstr(shown, "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n"), "%s", shown);
	free(shown);
	char *typed = output_of("type 2"), *more = output_of("more 2"), *page = output_of("Page 2");
	cr_expect(strstr(typed, "caf") && !strstr(typed, "=C3"), "%s", typed);
	cr_expect_str_eq(more, typed);
	cr_expect_str_eq(page, typed);
	free(typed);
	free(more);
	free(page);
	mail_sess_close(&s, false);
}

/* Pipe sends the ignored fields too, pipe does not. */
Test(mailcmd_more, pipe_upper_keeps_ignored_fields)
{
	char line[600];
	run("ignore x-junk");
	snprintf(line, sizeof line, "pipe 1 \"cat >'%s'\"", th_path(dir, "p1"));
	run(line);
	snprintf(line, sizeof line, "Pipe 1 \"cat >'%s'\"", th_path(dir, "p2"));
	run(line);
	char *p1 = th_read(th_path(dir, "p1"), NULL), *p2 = th_read(th_path(dir, "p2"), NULL);
	cr_expect_null(strstr(p1, "X-Junk"), "%s", p1);
	cr_expect(strstr(p2, "X-Junk: yes\n"), "%s", p2);
	free(p1);
	free(p2);
	mail_sess_close(&s, false);
}

/* resend: Resent- fields, the header without Status, the body; Resend: no Resent- fields. */
Test(mailcmd_more, resend_adds_resent_fields_resend_upper_none)
{
	run("resend 4 zed@y");
	char *sent = th_read(th_path(dir, "sent"), NULL), *args = th_read(th_path(dir, "args"), NULL);
	cr_expect(strstr(sent, "Resent-Date: "), "%s", sent);
	cr_expect(strstr(sent, "\nResent-From: alice@"), "%s", sent);
	cr_expect(strstr(sent, "\nResent-To: zed@y\nResent-Message-ID: <"), "%s", sent);
	cr_expect(strstr(sent, "From: Dee <d@x>\nSubject: four\nMessage-ID: <4@x>\n\nbody four\n"), "%s", sent);
	cr_expect_null(strstr(sent, "Status:"), "%s", sent);
	cr_expect(strstr(args, "-- zed@y\n"), "%s", args);
	free(sent);
	free(args);
	unlink(th_path(dir, "sent"));
	run("Resend 1 3 zed@y");
	sent = th_read(th_path(dir, "sent"), NULL);
	cr_expect_null(strstr(sent, "Resent-"), "%s", sent);
	cr_expect(strstr(sent, "Subject: one\n") && strstr(sent, "Subject: three\n"), "%s", sent);
	free(sent);
	mail_sess_close(&s, false);
}

/* forward: "Fwd: subject", fwdheading and the message with its fields; Forward records it in a
 * file named after the recipient; more than one message is refused. */
Test(mailcmd_more, forward_quotes_after_fwdheading)
{
	run("fwd 4 zed@y");
	char *sent = th_read(th_path(dir, "sent"), NULL);
	cr_expect(strstr(sent, "To: zed@y\nSubject: Fwd: four\n"), "%s", sent);
	cr_expect(strstr(sent, "\n\n-------- Original Message --------\nFrom: Dee <d@x>\nSubject: four\n"), "%s", sent);
	cr_expect(strstr(sent, "\nbody four\n"), "%s", sent);
	free(sent);
	cr_expect_eq(s.cur, 3);
	mail_var_set("fwdheading", "");
	run("Forward 1 Zed Q <zq@y>");
	char *rec = th_read(th_path(dir, "work/zq"), NULL);
	cr_expect(strstr(rec, "Subject: Fwd: one\n"), "%s", rec);
	cr_expect_null(strstr(rec, "Original Message"), "%s", rec);
	free(rec);
	expect_output("forward 1 2 zed@y", "Cannot forward multiple messages at once\n");
	mail_sess_close(&s, false);
}

/* followup/Followup/Mail: the sent copy goes to a file named after the first recipient. */
Test(mailcmd_more, followup_records_after_the_recipient)
{
	run("fo 4");
	char *rec = th_read(th_path(dir, "work/d"), NULL);
	cr_expect(strstr(rec, "To: Dee <d@x>\nSubject: Re: four\n"), "%s", rec);
	free(rec);
	run("F 3");
	rec = th_read(th_path(dir, "work/c"), NULL);
	cr_expect(strstr(rec, "Subject: Re: three\n"), "%s", rec);
	free(rec);
	run("Mail pat@y");
	rec = th_read(th_path(dir, "work/pat"), NULL);
	cr_expect(strstr(rec, "To: pat@y\n"), "%s", rec);
	free(rec);
	mail_sess_close(&s, false);
}

/* inc is newmail. */
Test(mailcmd_more, inc_loads_new_mail)
{
	FILE *fp = fopen(spool, "a");
	cr_assert_not_null(fp);
	fprintf(fp, "From e@x Fri Sep 29 04:03:15 2023\nFrom: e@x\nSubject: late\n\nlate\n\n");
	fclose(fp);
	expect_output("inc", "New mail has arrived.\nLoaded 1 new message.\n");
	cr_expect_eq(s.n, 5);
	mail_sess_close(&s, false);
}

/* if/else/endif abbreviate like every command: "i r" is "if r" (Heirloom's table). */
Test(mailcmd_more, if_else_endif_abbreviated)
{
	char l1[] = "i s", l2[] = "set sending", l3[] = "el", l4[] = "set receiving", l5[] = "en";
	mail_cond_mode(false);
	mail_rc_line(l1);
	mail_rc_line(l2);
	mail_rc_line(l3);
	mail_rc_line(l4);
	mail_rc_line(l5);
	cr_expect_not(mail_var_isset("sending"));
	cr_expect(mail_var_isset("receiving"));
	mail_sess_close(&s, false);
}

static long long size_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return (long long)st.st_size;
}

/* quota: the spool mailbox against mailbox_size_limit, the quota_file line winning; with
 * quota_scope = all the mail_folder_dir files count too, as mda counts them. */
Test(mailcmd_more, quota_shows_what_mda_counts)
{
	char want[2048], used[32];
	long long box_bytes = size_of(spool);
	cr_assert_lt(box_bytes + 10, 1000, "the sizes below print without a thousands separator");
	snprintf(used, sizeof used, "%lld", box_bytes);
	snprintf(want, sizeof want, "Mailbox %s: %s bytes, no limit\n", spool, used);
	expect_output("quota", want);
	cfg.mailbox_size_limit = 100000;
	snprintf(want, sizeof want, "Mailbox %s: %s of 100,000 bytes (%lld%%)\n", spool, used, box_bytes * 100 / 100000);
	expect_output("quota", want);
	th_write(th_path(dir, "quotas"), "bob 5\nalice 2k\n");
	snprintf(cfg.quota_file, sizeof cfg.quota_file, "%s", th_path(dir, "quotas"));
	snprintf(want, sizeof want, "Mailbox %s: %s of 2,048 bytes (%lld%%)\n", spool, used, box_bytes * 100 / 2048);
	expect_output("quota", want);
	snprintf(cfg.quota_scope, sizeof cfg.quota_scope, "all");
	snprintf(cfg.mail_folder_dir, sizeof cfg.mail_folder_dir, "~/Mail");
	mkdir(s.home, 0700);
	mkdir(th_path(s.home, "Mail"), 0700);
	th_write(th_path(s.home, "Mail/lists"), "0123456789");
	cr_assert_eq(symlink("/etc/passwd", th_path(s.home, "Mail/link")), 0);
	snprintf(used, sizeof used, "%lld", box_bytes + 10);
	snprintf(want, sizeof want, "Mailbox %s and %s/Mail: %s of 2,048 bytes (%lld%%)\n", spool, s.home, used,
		 (box_bytes + 10) * 100 / 2048);
	expect_output("quota", want);
	mail_sess_close(&s, false);
}
