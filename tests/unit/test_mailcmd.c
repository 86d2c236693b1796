/* Unit tests for mail(1): message lists, abbreviations, header summary, variables, encoders. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mailcmd/mail.h"

static struct mail_msg msgs[6];

static void setup(void)
{
	static const char *from[] = { "Alice <alice@example.com>", "bob@example.com", "carol@x.org",
				      "alice@example.com", "dave@y.net", "bob@example.com" };
	static const char *subj[] = { "Hello there", "Re: lunch", "Invoice 42", "hello again", "misc",
				      "Lunch tomorrow" };
	unsigned flags[] = { MAIL_M_NEW, MAIL_M_READ, 0, MAIL_M_DELETED | MAIL_M_READ, MAIL_M_READ, MAIL_M_NEW };
	for (int i = 0; i < 6; i++)
		msgs[i] = (struct mail_msg){ .flags = flags[i], .from = from[i], .subject = subj[i],
					     .date = 0, .lines = 9, .bytes = 192 };
	mail_vars_reset();
}

static const char *sel_str(const char *spec, size_t cur, enum mail_list_mode mode)
{
	static char out[256];
	unsigned char sel[6];
	char err[128];
	if (mail_msglist_parse(spec, msgs, 6, cur, mode, sel, err, sizeof err) < 0) {
		snprintf(out, sizeof out, "ERR:%s", err);
		return out;
	}
	size_t o = 0;
	for (int i = 0; i < 6; i++)
		if (sel[i])
			o += (size_t)snprintf(out + o, sizeof out - o, "%s%d", o ? "," : "", i + 1);
	return out;
}

TestSuite(mailcmd_list, .init = setup);

Test(mailcmd_list, numbers_and_ranges)
{
	cr_expect_str_eq(sel_str("1", 0, MAIL_LIST_UNDELETED), "1");
	cr_expect_str_eq(sel_str("1 3", 0, MAIL_LIST_UNDELETED), "1,3");
	cr_expect_str_eq(sel_str("2-5", 0, MAIL_LIST_UNDELETED), "2,3,5");
	cr_expect_str_eq(sel_str("*", 0, MAIL_LIST_UNDELETED), "1,2,3,5,6");
	cr_expect_str_eq(sel_str("$", 0, MAIL_LIST_UNDELETED), "6");
	cr_expect_str_eq(sel_str("^", 0, MAIL_LIST_UNDELETED), "1");
	cr_expect_str_eq(sel_str(".", 2, MAIL_LIST_UNDELETED), "3");
	cr_expect_str_eq(sel_str(".-$", 4, MAIL_LIST_UNDELETED), "5,6");
}

Test(mailcmd_list, errors)
{
	cr_expect_str_eq(sel_str("7", 0, MAIL_LIST_UNDELETED), "ERR:7: Invalid message number");
	cr_expect_str_eq(sel_str("4", 0, MAIL_LIST_UNDELETED), "ERR:4: Inappropriate message");
	cr_expect_str_eq(sel_str(":z", 0, MAIL_LIST_UNDELETED), "ERR::z: Unknown message type");
	cr_expect_str_eq(sel_str("nobody", 0, MAIL_LIST_UNDELETED), "ERR:No applicable messages");
}

Test(mailcmd_list, types)
{
	cr_expect_str_eq(sel_str(":n", 0, MAIL_LIST_UNDELETED), "1,6");
	cr_expect_str_eq(sel_str(":u", 0, MAIL_LIST_UNDELETED), "1,3,6");
	cr_expect_str_eq(sel_str(":r", 0, MAIL_LIST_UNDELETED), "2,5");
	cr_expect_str_eq(sel_str(":d", 0, MAIL_LIST_UNDELETED), "4");
	cr_expect_str_eq(sel_str(":o", 0, MAIL_LIST_UNDELETED), "2,3,5");
}

Test(mailcmd_list, undelete_mode_only_deleted)
{
	cr_expect_str_eq(sel_str("*", 0, MAIL_LIST_DELETED), "4");
	cr_expect_str_eq(sel_str("4", 0, MAIL_LIST_DELETED), "4");
	cr_expect_str_eq(sel_str("1", 0, MAIL_LIST_DELETED), "ERR:1: Inappropriate message");
}

/* Heirloom's `-` and `+`: the undeleted neighbours of the current message. */
Test(mailcmd_list, dash_and_plus)
{
	cr_expect_str_eq(sel_str("-", 4, MAIL_LIST_UNDELETED), "3");   /* 4 is deleted */
	cr_expect_str_eq(sel_str("+", 2, MAIL_LIST_UNDELETED), "5");
	cr_expect_str_eq(sel_str("-", 0, MAIL_LIST_UNDELETED), "ERR:Referencing before 1");
	cr_expect_str_eq(sel_str("+", 5, MAIL_LIST_UNDELETED), "ERR:Referencing beyond EOF");
}

Test(mailcmd_list, subject_and_sender_search)
{
	cr_expect_str_eq(sel_str("/lunch", 0, MAIL_LIST_UNDELETED), "2,6");
	/* Heirloom: a caseless substring, never a regular expression by surprise */
	cr_expect_str_eq(sel_str("/HELLO", 0, MAIL_LIST_UNDELETED), "1");
	cr_expect_str_eq(sel_str("/^hel+o", 0, MAIL_LIST_UNDELETED), "ERR:No applicable messages");
	cr_expect_str_eq(sel_str("/42", 0, MAIL_LIST_UNDELETED), "3");
	cr_expect_str_eq(sel_str("/.", 0, MAIL_LIST_UNDELETED), "ERR:No applicable messages");
	cr_expect_str_eq(sel_str("/", 0, MAIL_LIST_UNDELETED), "ERR:No applicable messages");   /* repeats "." */
	/* regex-search: PCRE2, caseless; a bad expression is an error */
	mail_var_set("regex-search", NULL);
	cr_expect_str_eq(sel_str("/^hel+o", 0, MAIL_LIST_UNDELETED), "1");
	cr_expect_str_eq(sel_str("/[x", 0, MAIL_LIST_UNDELETED), "ERR:[x: not a regular expression");
	mail_var_unset("regex-search");
	cr_expect_str_eq(sel_str("/C++", 0, MAIL_LIST_UNDELETED), "ERR:No applicable messages");
	cr_expect_str_eq(sel_str("bob", 0, MAIL_LIST_UNDELETED), "2,6");
	cr_expect_str_eq(sel_str("alice@example.com", 0, MAIL_LIST_UNDELETED), "1");
}

Test(mailcmd_cmd, abbreviations_follow_heirloom)
{
	struct { const char *abbr, *name; } cases[] = {
		{ "p", "print" }, { "t", "type" }, { "T", "Type" }, { "P", "Print" }, { "n", "next" },
		{ "d", "delete" }, { "u", "undelete" }, { "r", "reply" }, { "R", "Reply" }, { "m", "mail" },
		{ "s", "save" }, { "w", "write" }, { "c", "copy" }, { "h", "headers" }, { "f", "from" },
		{ "q", "quit" }, { "x", "xit" }, { "ho", "hold" }, { "pre", "preserve" }, { "mb", "mbox" },
		{ "to", "top" }, { "tou", "touch" }, { "si", "size" }, { "fo", "followup" },
		{ "fold", "folder" }, { "F", "Followup" }, { "mo", "more" }, { "pa", "page" }, { "Mo", "More" },
		{ "g", "group" }, { "i", "if" }, { "el", "else" }, { "en", "endif" }, { "al", "alias" },
		{ "alt", "alternates" }, { "ig", "ignore" }, { "in", "inc" }, { "th", "thread" },
		{ "so", "source" }, { "sor", "sort" }, { "sh", "shell" }, { "sho", "show" }, { "Pi", "Pipe" },
		{ "res", "respond" }, { "rese", "resend" }, { "fw", "fwd" }, { "For", "Forward" },
		{ "mov", "move" }, { "M", "Mail" }, { "Mv", "Mv" }, { "unig", "unignore" }, { "unso", "unsort" },
		{ "savei", "saveignore" }, { "saver", "saveretain" }, { "unsa", "unsaveignore" },
		{ "folders", "folders" }, { "se", "set" }, { "uns", "unset" }, { "a", "alias" },
		{ "z", "z" }, { "dp", "dp" }, { "dt", "dt" }, { "ex", "exit" }, { "|", "|" }, { "=", "=" },
		{ "e", "edit" }, { "v", "visual" }, { "ec", "echo" }, { "ve", "version" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct mail_cmd *c = mail_cmd_lookup(cases[i].abbr);
		cr_assert(c != NULL, "%s", cases[i].abbr);
		cr_expect_str_eq(c->name, cases[i].name, "%s -> %s", cases[i].abbr, c->name);
	}
	cr_expect_null(mail_cmd_lookup("frobnicate"));
}

TestSuite(mailcmd_headline, .init = setup);

Test(mailcmd_headline, heirloom_layout)
{
	char buf[256];
	setenv("TZ", "UTC", 1);
	tzset();
	struct mail_msg m = { .flags = MAIL_M_NEW, .from = "Alice Example <alice@example.com>",
			      .subject = "Hello there", .date = 1695960191, .lines = 9, .bytes = 192 };
	mail_headline(buf, sizeof buf, &m, 1, 3, true, 80, NULL);
	cr_expect_str_eq(buf, ">N  1 alice@example.com  Fri Sep 29 04:03    9/192   Hello there");
	m.flags = MAIL_M_READ;
	mail_headline(buf, sizeof buf, &m, 12, 3, false, 80, NULL);
	cr_expect_str_eq(buf, " O 12 alice@example.com  Fri Sep 29 04:03    9/192   Hello there");
	m.flags = 0;
	m.subject = "A very long subject line that will certainly not fit into the eighty columns";
	size_t len = mail_headline(buf, sizeof buf, &m, 1, 1, false, 80, NULL);
	cr_expect_eq(len, 78);   /* Heirloom's %s leaves two columns */
	cr_expect_eq(buf[1], 'U');
	/* the BSD layout of bsdcompat: quoted subject, wider sender, the BSD letters */
	mail_var_set("bsdcompat", NULL);
	m.flags = MAIL_M_READ;
	m.subject = "Hello there";
	mail_headline(buf, sizeof buf, &m, 1, 3, false, 80, NULL);
	cr_expect_str_eq(buf, "    1 alice@example.com     Fri Sep 29 04:03   9/192   \"Hello there\"");
	mail_vars_reset();
	/* a headline of one's own */
	mail_var_set("headline", "%>%a%m %10f|%s");
	mail_headline(buf, sizeof buf, &m, 2, 3, true, 80, NULL);
	cr_expect_str_eq(buf, ">O  2 alice@exam|Hello there");
	mail_vars_reset();
}

Test(mailcmd_headline, long_sender_cut_and_showto)
{
	char buf[256];
	struct mail_msg m = { .flags = MAIL_M_READ, .from = "someone.with.a.long.name@example.com",
			      .to = "Bob <bob@example.com>", .subject = "x", .date = (time_t)-1, .lines = 1, .bytes = 2 };
	mail_headline(buf, sizeof buf, &m, 1, 1, false, 80, NULL);
	cr_expect_str_eq(buf, " O  1 someone.with.a.lon                     1/2     x");
	mail_headline(buf, sizeof buf, &m, 1, 1, false, 80, "someone.with.a.long.name");
	cr_expect_str_eq(buf, " O  1 To bob@example.com                     1/2     x");
}

Test(mailcmd_headline, status_letters)
{
	/* Heirloom's attrlist NUROSPMFA: read now R, read before O, saved S, flagged wins */
	cr_expect_eq(mail_status_char(MAIL_M_NEW), 'N');
	cr_expect_eq(mail_status_char(0), 'U');
	cr_expect_eq(mail_status_char(MAIL_M_READ), 'O');
	cr_expect_eq(mail_status_char(MAIL_M_READ | MAIL_M_NEW), 'R');
	cr_expect_eq(mail_status_char(MAIL_M_READ | MAIL_M_SAVED), 'S');
	cr_expect_eq(mail_status_char(MAIL_M_PRESERVE), 'P');
	cr_expect_eq(mail_status_char(MAIL_M_MBOX | MAIL_M_READ), 'M');
	cr_expect_eq(mail_status_char(MAIL_M_READ | MAIL_M_ANSWERED), 'A');
	cr_expect_eq(mail_status_char(MAIL_M_MBOX | MAIL_M_FLAGGED), 'F');
	mail_var_set("bsdflags", NULL);
	cr_expect_eq(mail_status_char(MAIL_M_READ), ' ');
	cr_expect_eq(mail_status_char(MAIL_M_READ | MAIL_M_SAVED), '*');
	cr_expect_eq(mail_status_char(MAIL_M_PRESERVE), 'H');
	mail_vars_reset();
}

Test(mailcmd_headline, skin)
{
	char out[128];
	cr_expect_str_eq(mail_skin("Alice <a@b.c>", out, sizeof out), "a@b.c");
	cr_expect_str_eq(mail_skin("a@b.c (Alice)", out, sizeof out), "a@b.c");
	cr_expect_str_eq(mail_skin("\"Quoted\" a@b.c, x@y", out, sizeof out), "Quoted a@b.c");
}

TestSuite(mailcmd_vars, .init = setup);

Test(mailcmd_vars, set_unset_no_prefix)
{
	mail_var_set("crt", "24");
	mail_var_set("hold", NULL);
	cr_expect_str_eq(mail_var_get("crt"), "24");
	cr_expect_eq(mail_var_num("crt", 0), 24);
	cr_expect(mail_var_isset("hold"));
	mail_var_set("nohold", NULL);
	cr_expect_not(mail_var_isset("hold"));
	mail_var_unset("crt");
	cr_expect_null(mail_var_get("crt"));
}

Test(mailcmd_vars, rc_lines)
{
	char l1[] = "set ask askcc toplines=10 indentprefix=\"| \"";
	char l2[] = "alias team alice bob";
	char l3[] = "alias all team carol";
	char l4[] = "ignore Received Message-Id";
	char l5[] = "# comment";
	cr_expect_eq(mail_rc_line(l1), 0);
	cr_expect_eq(mail_rc_line(l2), 0);
	cr_expect_eq(mail_rc_line(l3), 0);
	cr_expect_eq(mail_rc_line(l4), 0);
	cr_expect_eq(mail_rc_line(l5), 0);
	cr_expect(mail_var_isset("askcc"));
	cr_expect_str_eq(mail_var_get("indentprefix"), "| ");
	cr_expect_eq(mail_var_num("toplines", 5), 10);
	char *e = mail_alias_expand("all, dave");
	cr_expect_str_eq(e, "alice, bob, carol, dave");
	free(e);
	cr_expect(mail_ignored("received"));
	cr_expect_not(mail_ignored("Subject"));
	mail_ignore_add(1, "Subject");
	cr_expect(mail_ignored("To"));
	cr_expect_not(mail_ignored("subject"));
}

Test(mailcmd_encode, rfc2047_and_base64_and_qp)
{
	char *s = mail_rfc2047_encode("Grüße", 9);
	cr_expect_str_eq(s, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
	char *d = mail_rfc2047_decode(s);
	cr_expect_str_eq(d, "Grüße");
	free(s);
	free(d);
	s = mail_rfc2047_encode("plain", 9);
	cr_expect_str_eq(s, "plain");
	free(s);
	size_t n;
	s = mail_base64_encode((const unsigned char *)"hello", 5, &n);
	cr_expect_str_eq(s, "aGVsbG8=\n");
	d = mail_base64_decode(s, n, &n);
	cr_expect_eq(n, 5);
	cr_expect(!memcmp(d, "hello", 5));
	free(s);
	free(d);
	s = mail_qp_encode("a=b é \n", 8, &n);
	cr_expect_str_eq(s, "a=3Db =C3=A9=20\n");
	d = mail_qp_decode(s, n, &n);
	cr_expect_eq(n, 8);
	free(s);
	free(d);
}

Test(mailcmd_encode, build_message)
{
	struct mail_draft d = { 0 };
	char err[128];
	size_t len;
	setenv("TZ", "UTC", 1);
	tzset();
	mail_vars_reset();
	mail_addr_append(&d.to, "bob@example.com");
	mail_addr_append(&d.bcc, "secret@example.com");
	d.subject = strdup("Grüße");
	mail_draft_append(&d, "héllo\n", 7);
	char *m = mail_build_message(&d, "yuki", "host.example", 0, &len, err, sizeof err);
	cr_assert(m);
	cr_expect(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\n"));
	cr_expect(strstr(m, "From: yuki@host.example\n"));
	cr_expect(strstr(m, "To: bob@example.com\n"));
	cr_expect(strstr(m, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"));
	cr_expect(strstr(m, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nhéllo\n"));
	cr_expect(strstr(m, "Message-ID: <19700101000000."));
	cr_expect_null(strstr(m, "secret"));
	free(m);
	mail_draft_free(&d);
}
