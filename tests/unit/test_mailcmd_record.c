/* Unit tests for mail(1)'s outgoing copy (`record`) and user file-name expansion. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcmd/mail.h"
#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static struct config cfg;
static const char *dir;
static char home[512];

static void setup(void)
{
	dir = th_tmpdir();
	th_world(&cfg, dir);
	mail_vars_reset();
	snprintf(home, sizeof home, "%s/home/alice", dir);
}

static void teardown(void)
{
	mail_vars_reset();
	th_cleanup();
}

TestSuite(mailcmd_record, .init = setup, .fini = teardown);

static const char msg1[] = "From: alice@test\nTo: bob@x\nSubject: first\n\nFrom the start\nbye\n";
static const char msg2[] = "From: alice@test\nTo: bob@x\nSubject: second\n\nagain\n";

Test(mailcmd_record, unset_record_writes_nothing)
{
	cr_assert_eq(mail_record(&cfg, "alice", home, msg1, strlen(msg1)), 0);
	cr_expect_eq(access(th_path(home, "sent"), F_OK), -1);
}

/* Each sent message becomes one mbox message (From_ line, quoted body, separator). */
Test(mailcmd_record, record_appends_mbox_messages)
{
	struct mbox_index idx;
	struct result r = { 0 };
	mail_var_set("record", "+sent");
	cr_assert_eq(mail_record(&cfg, "alice", home, msg1, strlen(msg1)), 0);
	cr_assert_eq(mail_record(&cfg, "alice", home, msg2, strlen(msg2)), 0);
	const char *path = th_path(home, "sent");
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 2);
	cr_expect_str_eq(idx.msgs[0].subject, "first");
	cr_expect_str_eq(idx.msgs[1].subject, "second");
	cr_expect_str_eq(idx.msgs[0].envelope_sender, "alice");
	mbox_index_close(&idx);
	char *text = th_read(path, NULL);
	cr_expect(strstr(text, "\n>From the start\n"), "body From line not quoted:\n%s", text);
	free(text);
}

Test(mailcmd_record, expand_folder_home_and_outfolder)
{
	char out[1024];
	cr_assert(mail_expand_path("+x", "/h", out, sizeof out));
	cr_expect_str_eq(out, "/h/x");
	mail_var_set("folder", "Mail");
	cr_assert(mail_expand_path("+x", "/h", out, sizeof out));
	cr_expect_str_eq(out, "/h/Mail/x");
	cr_assert(mail_expand_path("~/y", "/h", out, sizeof out));
	cr_expect_str_eq(out, "/h/y");
	cr_assert(mail_expand_path("rel", "/h", out, sizeof out));
	cr_expect_str_eq(out, "rel");
	mail_var_set("outfolder", NULL);
	cr_assert(mail_expand_path("rel", "/h", out, sizeof out));
	cr_expect_str_eq(out, "/h/Mail/rel");
	mail_var_set("folder", "/srv/f");
	cr_assert(mail_expand_path("+z", "/h", out, sizeof out));
	cr_expect_str_eq(out, "/srv/f/z");
}
