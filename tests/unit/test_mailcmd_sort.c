/* Unit tests for mail(1)'s sort, thread and unsort (Heirloom mailx 12.5's thread.c): the display
 * order of the summary, next and ranges by date (the Date: field), from, subject (less one
 * "Re: "), size and status; threads by In-Reply-To and References with the %i tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcmd/session.h"
#include "tests/unit/helpers.h"
#include "tests/unit/mail_session.h"

#define MSG(from, n, subj, date, extra) \
	"From x@x Fri Sep 29 04:0" #n ":11 2023\nFrom: " from "\nSubject: " subj "\nDate: " date \
	"\nMessage-ID: <" #n "@x>\n" extra "\nbody " #n "\n\n"

static const char box[] =
	MSG("zed@x", 1, "Root A", "Fri, 29 Sep 2023 04:01:00 +0000", "")
	MSG("Amy <amy@x>", 2, "Re: Root A", "Fri, 29 Sep 2023 07:40:00 +0200", "In-Reply-To: <1@x>\n")
	MSG("bob@x", 3, "Other", "Thu, 28 Sep 2023 04:00:00 +0000", "")
	MSG("cat@x", 4, "Re: Re: Root A", "Fri, 29 Sep 2023 06:00:00 +0000", "References: <1@x> <2@x>\n")
	MSG("dan@x", 5, "Re: Root A", "Fri, 29 Sep 2023 05:30:00 +0000", "In-Reply-To: <1@x>\nStatus: RO\n")
	MSG("eve@x", 6, "Re: Other, longer", "Fri, 29 Sep 2023 07:00:00 +0000",
	    "References: <3@x> <missing@x>\n");

static struct config cfg;
static struct mail_session s;
static const char *dir;
static char spool[512];

static void setup(void)
{
	dir = th_mail_session(&s, &cfg, spool, sizeof spool, box);
	cr_assert_eq(s.n, 6);
}

static void teardown(void)
{
	mail_sort_forget(&s);
	mail_sess_close(&s, false);
	mail_vars_reset();
	th_cleanup();
}

TestSuite(mailcmd_sort, .init = setup, .fini = teardown);

/* The display order as "3,1,2": message numbers at each position. */
static const char *order(void)
{
	static char buf[64];
	size_t o = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < s.n && o + 4 < sizeof buf; k++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%zu", k ? "," : "", mail_sess_nth(&s, k) + 1);
	return buf;
}

/* The message numbers by size (ties by number), as the test computes it. */
static const char *by_size(void)
{
	static char buf[64];
	size_t idx[6], o = 0;
	for (size_t i = 0; i < 6; i++) {
		size_t j = i;
		for (; j > 0 && s.msgs[idx[j - 1]].bytes > s.msgs[i].bytes; j--)
			idx[j] = idx[j - 1];
		idx[j] = i;
	}
	for (size_t k = 0; k < 6; k++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%zu", k ? "," : "", idx[k] + 1);
	return buf;
}

static void expect_sorted(const char *how, const char *want)
{
	char line[64];
	snprintf(line, sizeof line, "sort %s", how);
	th_mail_run(&s, line);
	cr_expect_str_eq(order(), want, "sort %s", how);
}

Test(mailcmd_sort, criteria_as_heirloom)
{
	mail_var_unset("header");
	char *none = th_mail_output(&s, dir, "sort");
	cr_expect_str_eq(none, "Current sorting criterion is: unsorted\n");
	free(none);
	/* 2 is 05:40 UTC by its zone: after 5 (05:30), before 4 (06:00); the Date: field, not the
	 * From_ line (which has them in mailbox order) */
	expect_sorted("date", "3,1,5,2,4,6");
	expect_sorted("f", "2,3,4,5,6,1");         /* bare addresses, lowercase; a prefix does */
	expect_sorted("subject", "3,6,4,1,2,5");   /* one Re: skipped: "re: root a" stays */
	expect_sorted("size", by_size());
	expect_sorted("status", "5,1,2,3,4,6");    /* read (40) before new (90) */
	char *now = th_mail_output(&s, dir, "sort");
	cr_expect_str_eq(now, "Current sorting criterion is: status\n");
	free(now);
	th_mail_run(&s, "unsort");
	cr_expect_str_eq(order(), "1,2,3,4,5,6");
	mail_var_set("showname", NULL);
	expect_sorted("from", "2,3,4,5,6,1");      /* "Amy" sorts as amy */
}

Test(mailcmd_sort, unknown_method_keeps_the_order)
{
	th_mail_run(&s, "sort size");
	th_mail_run(&s, "sort bogus");
	cr_expect_str_eq(order(), by_size());
}

/* Threads: replies under their parent by date, roots by date; a missing reference deepens the
 * level; the summary shows Heirloom's ASCII tree at %i. */
Test(mailcmd_sort, thread_tree_and_summary)
{
	mail_var_unset("header");
	mail_var_set("screen", "20");
	th_mail_run(&s, "thread");
	cr_expect_str_eq(order(), "3,6,1,5,2,4");
	char *sum = th_mail_output(&s, dir, "from *");
	const char *want[] = { "   Other\n", "    \\Re: Other, longer\n", "   Root A\n", "   +Re: Root A\n",
			       "   \\Re: Root A\n", "    \\Re: Re: Root A\n" };
	const char *p = sum;
	for (size_t k = 0; k < 6; k++) {
		p = strstr(p, want[k]);
		cr_expect_not_null(p, "%s missing or out of order in\n%s", want[k], sum);
		if (!p)
			break;
	}
	free(sum);
	th_mail_run(&s, "unthread");
	sum = th_mail_output(&s, dir, "from 6");
	cr_expect(strstr(sum, "   Re: Other, longer\n"), "%s", sum);
	free(sum);
}

/* next, + and - and ranges follow the display order; numbers stay the mailbox's. */
Test(mailcmd_sort, next_and_ranges_follow_the_order)
{
	mail_var_unset("header");
	th_mail_run(&s, "sort date");
	s.cur = 0;   /* message 1, at position 1 of 3,1,5,2,4,6 */
	char *out = th_mail_output(&s, dir, "n");
	cr_expect(strstr(out, "Message  5:"), "%s", out);
	free(out);
	out = th_mail_output(&s, dir, "n");
	cr_expect(strstr(out, "Message  2:"), "%s", out);
	free(out);
	out = th_mail_output(&s, dir, "-");
	cr_expect(strstr(out, "Message  5:"), "%s", out);
	free(out);
	out = th_mail_output(&s, dir, "from 5-4");   /* positions 2..4: 5, 2, 4; 1 and 6 not */
	cr_expect(strstr(out, "  2 ") && strstr(out, "  5 ") && strstr(out, "  4 ") && !strstr(out, "  1 ") &&
		  !strstr(out, "  6 "), "%s", out);
	cr_expect_lt(strstr(out, "  5 "), strstr(out, "  2 "), "%s", out);
	free(out);
}
