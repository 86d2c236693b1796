/* Unit tests for mail(1)'s rc-file conditionals (if r/s/t, else, endif) and the file names
 * Save/Copy derive from a sender. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcmd/mail.h"

static void setup(void)
{
	mail_vars_reset();
}

TestSuite(mailcmd_rc, .init = setup, .fini = setup);

static void run(const char *const *lines)
{
	for (; *lines; lines++) {
		char buf[256];
		snprintf(buf, sizeof buf, "%s", *lines);
		mail_rc_line(buf);
	}
}

static const char *const script[] = {
	"set always",
	"if r",
	"  set reading",
	"else",
	"  set sending",
	"endif",
	"if send",
	"  set s_only=1",
	"  if r",
	"    set impossible",
	"  else",
	"    set nested_else",
	"  endif",
	"endif",
	"set after",
	NULL,
};

Test(mailcmd_rc, receive_mode_takes_the_r_branch)
{
	mail_cond_mode(false);
	run(script);
	cr_expect(mail_var_isset("always"));
	cr_expect(mail_var_isset("reading"));
	cr_expect_not(mail_var_isset("sending"));
	cr_expect_not(mail_var_isset("s_only"));
	cr_expect_not(mail_var_isset("impossible"), "an if inside a false if ran");
	cr_expect_not(mail_var_isset("nested_else"), "an else inside a false if ran");
	cr_expect(mail_var_isset("after"));
}

Test(mailcmd_rc, send_mode_takes_the_s_branch_and_nests)
{
	mail_cond_mode(true);
	run(script);
	cr_expect_not(mail_var_isset("reading"));
	cr_expect(mail_var_isset("sending"));
	cr_expect_str_eq(mail_var_get("s_only"), "1");
	cr_expect_not(mail_var_isset("impossible"));
	cr_expect(mail_var_isset("nested_else"));
	cr_expect(mail_var_isset("after"));
}

/* Criterion's stdin is not a terminal: `if t` is false. */
Test(mailcmd_rc, terminal_condition_and_unknown_keyword)
{
	static const char *const lines[] = { "if t", "set term", "endif", "if bogus", "set bogus", "endif",
					     "endif", "set still", NULL };
	mail_cond_mode(false);
	run(lines);
	cr_expect_not(mail_var_isset("term"));
	cr_expect_not(mail_var_isset("bogus"));
	cr_expect(mail_var_isset("still"), "a stray endif must not disable later lines");
}

Test(mailcmd_rc, sender_file_names)
{
	char out[256];
	cr_assert(mail_sender_filename("Bob Smith <bob.smith@example.com>", out, sizeof out));
	cr_expect_str_eq(out, "bob.smith");
	cr_assert(mail_sender_filename("carol@x.org (Carol)", out, sizeof out));
	cr_expect_str_eq(out, "carol");
	cr_assert(mail_sender_filename("<../../etc/cron.d/x@evil>", out, sizeof out));
	cr_expect_null(strchr(out, '/'), "%s", out);
	cr_expect_not(mail_sender_filename("<..@evil>", out, sizeof out));
	cr_expect_not(mail_sender_filename("<@evil>", out, sizeof out));
	cr_expect_not(mail_sender_filename(NULL, out, sizeof out));
}
