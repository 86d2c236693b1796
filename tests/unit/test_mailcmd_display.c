/* Unit tests for mail(1)'s display in the locale: summary columns with wide characters,
 * decoded header fields, charset conversion of headers and bodies. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "mailcmd/mail.h"

static void utf8_locale(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "en_US.UTF-8"))
		cr_skip_test("no UTF-8 locale installed");
}

static void c_locale(void)
{
	setlocale(LC_ALL, "C");
}

TestSuite(mailcmd_display, .fini = c_locale);

/* Display columns of a UTF-8 string (the test's own wcswidth, independent of headline.c). */
static int columns(const char *s)
{
	wchar_t w[1024];
	size_t n = mbstowcs(w, s, 1024);
	cr_assert_neq(n, (size_t)-1, "invalid text: %s", s);
	return wcswidth(w, n);
}

/* The date column starts at the same screen column whatever the sender's characters are. */
Test(mailcmd_display, wide_sender_keeps_columns_aligned)
{
	utf8_locale();
	char ascii[512], wide[512];
	struct mail_msg m = { .flags = MAIL_M_READ, .from = "plain@example.com", .subject = "s",
			      .date = 1695960191, .lines = 1, .bytes = 2 };
	mail_headline(ascii, sizeof ascii, &m, 1, 1, false, 80, NULL);
	m.from = "=?x?= <\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe5\xb7\xae\xe5\x87\xba"
		 "\xe4\xba\xba\xe3\x81\xae\xe3\x82\xa2\xe3\x83\x89\xe3\x83\xac\xe3\x82\xb9@example.jp>";
	mail_headline(wide, sizeof wide, &m, 1, 1, false, 80, NULL);
	char *da = strstr(ascii, "Fri Sep"), *dw = strstr(wide, "Fri Sep");
	cr_assert(da && dw, "%s\n%s", ascii, wide);
	*da = *dw = '\0';
	cr_expect_eq(columns(ascii), columns(wide), "date column moved:\n[%s]\n[%s]", ascii, wide);
}

/* A subject of double-width characters is cut to the screen, never past width-2 columns (as
 * Heirloom's %s leaves two) and never in the middle of a character. */
Test(mailcmd_display, wide_subject_trimmed_to_screen)
{
	utf8_locale();
	char buf[1024], subj[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(subj, "\xe6\xbc\xa2");   /* U+6F22, two columns */
	struct mail_msg m = { .flags = MAIL_M_READ, .from = "a@b", .subject = subj,
			      .date = 1695960191, .lines = 1, .bytes = 2 };
	for (int width = 60; width <= 61; width++) {
		mail_headline(buf, sizeof buf, &m, 1, 1, false, width, NULL);
		int c = columns(buf);
		cr_expect(c <= width - 2 && c >= width - 3, "width %d gave %d columns: %s", width, c, buf);
	}
}

/* In the C locale, characters the terminal cannot show become one '?' each. */
Test(mailcmd_display, ascii_locale_shows_question_marks)
{
	setlocale(LC_ALL, "C");
	char *t = mail_locale_text("Gr\xc3\xbc\xc3\x9f" "e \xe6\xbc\xa2!");
	cr_expect_str_eq(t, "Gr??e ?!");
	free(t);
}

/* `type` shows encoded header fields decoded, in the locale's charset. */
Test(mailcmd_display, encoded_header_decoded_for_type)
{
	utf8_locale();
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	const char v[] = "=?ISO-8859-1?Q?Gr=FC=DFe?=\n =?UTF-8?B?YXVzIEvDtmxu?=";
	mail_put_header(out, "Subject", 7, v, sizeof v - 1);
	fclose(out);
	cr_expect_str_eq(buf, "Subject: Gr\xc3\xbc\xc3\x9f" "eaus K\xc3\xb6ln\n");
	free(buf);
}

/* A Latin-1 quoted-printable text part is shown decoded and converted to UTF-8; other parts
 * are listed with Heirloom's attachment line. */
Test(mailcmd_display, mime_body_decoded_and_attachments_listed)
{
	utf8_locale();
	const char hdr[] = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n";
	const char body[] = "preamble\n--XX\nContent-Type: text/plain; charset=iso-8859-1\n"
			    "Content-Transfer-Encoding: quoted-printable\n\nK=F6ln\n--XX\n"
			    "Content-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
			    "QUJD\n--XX--\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	mail_show_body(out, hdr, sizeof hdr - 1, body, sizeof body - 1, false);
	fclose(out);
	cr_expect(strstr(buf, "K\xc3\xb6ln\n"), "%s", buf);
	cr_expect(strstr(buf, "[-- Attachment #2: a.pdf (application/pdf, 4 bytes) --]"), "%s", buf);
	cr_expect_null(strstr(buf, "preamble"), "%s", buf);
	free(buf);
}

static const char nested_hdr[] = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BB\"\n\n";
static const char nested_body[] =
	"preamble\n--BB\nContent-Type: multipart/alternative; boundary=\"AA\"\n\n"
	"--AA\nContent-Type: text/plain; charset=utf-8\n\nplain text\n"
	"--AA\nContent-Type: text/html\n\n<p>html</p>\n--AA--\n"
	"--BB\nContent-Type: message/rfc822\nX-Part: yes\n\n"
	"From: Inner <inner@y>\nSubject: =?utf-8?q?inner_subj?=\nDate: Fri, 29 Sep 2023 07:40:00 +0200\n"
	"Received: junk\n\ninner body\n"
	"--BB\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\nQUJD\n--BB--\n";

static char *shown(bool all)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	mail_show_body(out, nested_hdr, sizeof nested_hdr - 1, nested_body, sizeof nested_body - 1, all);
	fclose(out);
	return buf;
}

/* Heirloom's type of a multipart: "Part N:" and each part's header fields (ignore applies, not
 * with Type), a blank line between parts; multipart/alternative as its text/plain part;
 * message/rfc822 inline under a From_ line with its own header decoded. */
Test(mailcmd_display, multipart_parts_as_heirloom)
{
	utf8_locale();
	mail_ignore_add(MAIL_IGNORE, "received");
	mail_ignore_add(MAIL_IGNORE, "x-part");
	char *buf = shown(false);
	cr_expect(strstr(buf, "Part 1:\nContent-Type: multipart/alternative; boundary=\"AA\"\n\nplain text\n\n"
			      "Part 2:\nContent-Type: message/rfc822\n\n"
			      "From inner@y Fri Sep 29 05:40:00 2023\nFrom: Inner <inner@y>\nSubject: inner subj\n"
			      "Date: Fri, 29 Sep 2023 07:40:00 +0200\n\ninner body\n\n"
			      "Part 3:\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
			      "[-- Attachment #3: a.pdf (application/pdf, 4 bytes) --]\n"),
		  "%s", buf);
	cr_expect(!strncmp(buf, "Part 1:\n", 8), "%s", buf);
	cr_expect_null(strstr(buf, "html"), "%s", buf);
	cr_expect_null(strstr(buf, "preamble"), "%s", buf);
	free(buf);
	buf = shown(true);
	cr_expect(strstr(buf, "Content-Type: message/rfc822\nX-Part: yes\n\n"), "%s", buf);
	cr_expect(strstr(buf, "Received: junk\n\ninner body\n"), "%s", buf);
	free(buf);
	mail_var_set("print-alternatives", NULL);
	buf = shown(false);   /* a nested Part line too comes after a blank line, as Heirloom's */
	cr_expect(strstr(buf, "Part 1:\nContent-Type: multipart/alternative; boundary=\"AA\"\n\n\nPart 1.1:\n"
			      "Content-Type: text/plain; charset=utf-8\n\nplain text\n\nPart 1.2:\n"
			      "Content-Type: text/html\n\n[-- Attachment #2: (unnamed) (text/html, 11 bytes) --]\n"),
		  "%s", buf);
	free(buf);
	mail_vars_reset();
}
