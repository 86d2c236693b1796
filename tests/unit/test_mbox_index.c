/* Unit tests for the mbox index: offsets, sizes, line counts, header fields, flags, and the
 * real-world mboxes it must tolerate (mboxo/mboxrd, CRLF, lying Content-Length, NUL, 8-bit). */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static void setup(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mbox_index, .init = setup, .fini = teardown);

static const char M1_FROM[] = "From alice@example.org Fri Sep 29 04:03:49 2017\n";
static const char M1_HDRS[] =
	"Return-Path: <alice@example.org>\n"
	"From: Alice <alice@example.org>\n"
	"Subject: =?UTF-8?Q?caf=C3=A9?=\n"
	" menu\n"
	"Date: Fri, 29 Sep 2017 04:03:49 +0000\n"
	"Status: RO\n"
	"X-Status: AF\n"
	"\n";
static const char M1_BODY[] = "body 1\n>From quoted (mboxrd)\n>>From twice\nlast\n";
static const char M2_FROM[] = "From MAILER-DAEMON Sat Sep 30 10:00:00 2017\n";
static const char M2_HDRS[] = "Return-Path: <>\nSubject: plain\nX-Status: D\nStatus: R\n\n";
static const char M2_BODY[] = "second\n";

static size_t count_nl(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* M1 + separator + M2 + separator, as this library writes them. */
static char *two_messages(size_t *len)
{
	char *s = malloc(4096);
	cr_assert_not_null(s);
	*len = (size_t)snprintf(s, 4096, "%s%s%s\n%s%s%s\n", M1_FROM, M1_HDRS, M1_BODY, M2_FROM, M2_HDRS, M2_BODY);
	return s;
}

static void check_two(const struct mbox_index *idx)
{
	cr_assert_eq(idx->count, 2);
	const struct mbox_msg *a = &idx->msgs[0], *b = &idx->msgs[1];
	off_t f1 = (off_t)strlen(M1_FROM), h1 = (off_t)strlen(M1_HDRS), b1 = (off_t)strlen(M1_BODY);
	cr_assert_eq(a->start, 0);
	cr_assert_eq(a->headers, f1);
	cr_assert_eq(a->body, f1 + h1);
	cr_assert_eq(a->content_end, f1 + h1 + b1);
	cr_assert_eq(a->end, f1 + h1 + b1 + 1, "the separator belongs to the message before");
	cr_assert_eq(a->lines, count_nl(M1_FROM) + count_nl(M1_HDRS) + count_nl(M1_BODY) + 1);
	cr_assert_eq(b->start, a->end);
	cr_assert_eq(b->body - b->start, (off_t)(strlen(M2_FROM) + strlen(M2_HDRS)));
	cr_assert_eq(b->end, idx->size);
	cr_assert_eq(b->end - b->start, (off_t)(strlen(M2_FROM) + strlen(M2_HDRS) + strlen(M2_BODY) + 1));
	cr_assert_eq(b->lines, 1 + 5 + 1 + 1);

	cr_assert_str_eq(a->envelope_sender, "alice@example.org");
	cr_assert_str_eq(a->return_path, "alice@example.org");
	cr_assert_eq(a->from_date, 1506657829);
	cr_assert_str_eq(a->from, "Alice <alice@example.org>");
	cr_assert_str_eq(a->subject, "caf\xc3\xa9 menu", "unfolded and RFC 2047-decoded: %s", a->subject);
	cr_assert_str_eq(a->date, "Fri, 29 Sep 2017 04:03:49 +0000");
	cr_assert_eq(a->flags, MBOX_F_READ | MBOX_F_OLD | MBOX_F_ANSWERED | MBOX_F_FLAGGED);

	cr_assert_str_eq(b->envelope_sender, "MAILER-DAEMON");
	cr_assert_str_eq(b->return_path, "", "the null sender <>");
	cr_assert_eq(b->from_date, 1506765600);
	cr_assert_null(b->from);
	cr_assert_null(b->date);
	cr_assert_str_eq(b->subject, "plain");
	cr_assert_eq(b->flags, MBOX_F_DELETED | MBOX_F_READ);
}

Test(mbox_index, offsets_sizes_lines_senders_dates_subjects_flags)
{
	struct mbox_index idx;
	struct result r;
	size_t len;
	char *data = two_messages(&len);
	cr_assert_eq(mbox_index_buffer(data, len, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.size, (off_t)len);
	check_two(&idx);
	mbox_index_close(&idx);
	mbox_index_close(&idx);   /* twice is fine */
	free(data);
}

Test(mbox_index, a_file_is_mapped_and_indexed_the_same_way)
{
	struct mbox_index idx;
	struct result r;
	size_t len;
	const char *path = th_path(th_tmpdir(), "mbox");
	char *data = two_messages(&len);
	th_write(path, data);
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	check_two(&idx);
	cr_assert(idx.map && memcmp(idx.map, data, len) == 0);
	mbox_index_close(&idx);
	free(data);
}

static struct mbox_index index_of(const char *data, size_t len)
{
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_buffer(data, len, &idx, &r), EX_OK, "%s", r.reason);
	return idx;
}

static void check_body(const struct mbox_index *idx, size_t i, const char *want, size_t want_len)
{
	const struct mbox_msg *m = &idx->msgs[i];
	size_t n = (size_t)(m->content_end - m->body);
	cr_assert_eq(n, want_len, "message %zu body is %zu bytes: '%.*s'", i, n, (int)n, idx->map + m->body);
	cr_assert(memcmp(idx->map + m->body, want, n) == 0, "message %zu body", i);
}

Test(mbox_index, mboxo_and_mboxrd_quoted_lines_do_not_split)
{
#define QUOTED_BODY ">From mboxo-quoted\n\n>From after a blank line\n>>From mboxrd\n" \
		    "From unquoted but not after a blank line\n"
	static const char box[] = "From a Fri Sep 29 04:03:49 2017\nS: 1\n\n" QUOTED_BODY
				  "\nFrom b Fri Sep 29 04:03:49 2017\nS: 2\n\nx\n\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 2);
	check_body(&idx, 0, QUOTED_BODY, strlen(QUOTED_BODY));
	cr_assert_str_eq(idx.msgs[1].envelope_sender, "b");
	mbox_index_close(&idx);
}

Test(mbox_index, missing_final_blank_line_and_newline)
{
	static const char box[] = "From a Fri Sep 29 04:03:49 2017\nS: 1\n\none\n\n"
				  "From b Fri Sep 29 04:03:49 2017\nS: 2\n\ntwo\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 2);
	check_body(&idx, 1, "two\n", 4);
	cr_assert_eq(idx.msgs[1].end, (off_t)sizeof box - 1);
	mbox_index_close(&idx);
	/* No final newline at all, and a last message with headers only. */
	idx = index_of(box, sizeof box - 2);
	check_body(&idx, 1, "two", 3);
	mbox_index_close(&idx);
	static const char hdr_only[] = "From a Fri Sep 29 04:03:49 2017\nSubject: only headers";
	idx = index_of(hdr_only, sizeof hdr_only - 1);
	cr_assert_eq(idx.count, 1);
	cr_assert_str_eq(idx.msgs[0].subject, "only headers");
	cr_assert_eq(idx.msgs[0].body, idx.msgs[0].end);
	mbox_index_close(&idx);
}

Test(mbox_index, crlf_files)
{
#define CRLF_FIRST "From a@x Fri Sep 29 04:03:49 2017\r\nSubject: crlf\r\nStatus: R\r\n\r\nbody\r\n\r\n"
	static const char box[] = CRLF_FIRST "From b@x Fri Sep 29 04:03:50 2017\r\nSubject: two\r\n\r\nx\r\n\r\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 2);
	cr_assert_str_eq(idx.msgs[0].envelope_sender, "a@x");
	cr_assert_eq(idx.msgs[0].from_date, 1506657829);
	cr_assert_str_eq(idx.msgs[0].subject, "crlf");
	cr_assert_eq(idx.msgs[0].flags, MBOX_F_READ);
	check_body(&idx, 0, "body\r\n", 6);
	cr_assert_eq(idx.msgs[0].end, (off_t)strlen(CRLF_FIRST), "the CRLF blank line is the separator");
	cr_assert_eq(idx.msgs[1].start, (off_t)strlen(CRLF_FIRST));
	check_body(&idx, 1, "x\r\n", 3);
	cr_assert_eq(idx.msgs[1].end, (off_t)sizeof box - 1);
	mbox_index_close(&idx);
}

Test(mbox_index, content_length_present_or_lying_is_not_trusted)
{
	static const char box[] =
		"From a Fri Sep 29 04:03:49 2017\nContent-Length: 99999\n\ntoo long a claim\n\n"
		"From b Fri Sep 29 04:03:49 2017\nContent-Length: 3\n\nlonger than three\n\n"
		"From c Fri Sep 29 04:03:49 2017\nContent-Length: 6\n\nexact\n\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 3);
	check_body(&idx, 0, "too long a claim\n", 17);
	check_body(&idx, 1, "longer than three\n", 18);
	check_body(&idx, 2, "exact\n", 6);
	mbox_index_close(&idx);
}

Test(mbox_index, nul_bytes_and_8bit_headers)
{
	static const char box[] =
		"From a Fri Sep 29 04:03:49 2017\nSubject: nul\0here caf\xe9 \xc3\xa9\nFrom: J\xf6rg <j@x>\n\n"
		"bin\0ary\n\0\n\n"
		"From b Fri Sep 29 04:03:49 2017\nSubject: next\n\nx\n\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 2, "a NUL byte ends nothing");
	cr_assert_str_eq(idx.msgs[0].subject, "nul here caf\xe9 \xc3\xa9", "8-bit bytes kept, NUL shown as a space");
	cr_assert_str_eq(idx.msgs[0].from, "J\xf6rg <j@x>");
	check_body(&idx, 0, "bin\0ary\n\0\n", 10);
	cr_assert_str_eq(idx.msgs[1].subject, "next");
	mbox_index_close(&idx);
}

Test(mbox_index, empty_and_missing_files)
{
	struct mbox_index idx;
	struct result r;
	const char *dir = th_tmpdir(), *path = th_path(dir, "empty");
	th_write(path, "");
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 0);
	cr_assert_eq(idx.size, 0);
	mbox_index_close(&idx);
	cr_assert_eq(mbox_index_open(th_path(dir, "missing"), &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 0);
	mbox_index_close(&idx);
	cr_assert_eq(mbox_index_open(dir, &idx, &r), EX_NOINPUT, "a directory is not a mailbox");
	idx = index_of("", 0);
	cr_assert_eq(idx.count, 0);
	mbox_index_close(&idx);
}

/* Writes data to path and records an append of [p, f) in progress, as mda does before writing. */
static void unfinished_append(const char *path, const char *data, size_t p, size_t f)
{
	char j[64];
	th_write(path, data);
	snprintf(j, sizeof j, "%zu %zu %d", p, f, 1);
	cr_assert_eq(setxattr(path, "user.mda.append", j, strlen(j), 0), 0, "user xattrs needed");
}

/* A reader takes no lock: what a live appender has written so far is left out, and nothing
 * else. The mailbox reads as empty only when nothing was in it before that append (the
 * first delivery creating it, as at the start of the torture's concurrency part); a
 * journal whose append finished (size >= F) hides nothing. */
Test(mbox_index, an_unfinished_append_hides_only_its_own_bytes)
{
	static const char two[] = "From a Fri Sep 29 04:03:49 2017\nS: 1\n\nx\n\n"
				  "From b Fri Sep 29 04:03:50 2017\nS: 2\n\ny\n\n";
	static const char torn[] = "From c Fri Sep 29 04:03:51 2017\nS: 3\n\nhalf of";
	const char *dir = th_tmpdir(), *path = th_path(dir, "box");
	char data[sizeof two + sizeof torn];
	size_t p = sizeof two - 1, s = p + sizeof torn - 1;
	struct mbox_index idx;
	struct result r;
	snprintf(data, sizeof data, "%s%s", two, torn);
	unfinished_append(path, data, p, s + 100);
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	cr_expect_eq(idx.count, 2);
	cr_expect_eq(idx.size, (off_t)p);
	mbox_index_close(&idx);
	unfinished_append(path, torn, 0, sizeof torn + 99);       /* the first delivery */
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	cr_expect_eq(idx.count, 0);
	mbox_index_close(&idx);
	unfinished_append(path, data, p, s);                      /* finished, journal not yet gone */
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	cr_expect_eq(idx.count, 3);
	mbox_index_close(&idx);
}

Test(mbox_index, file_not_starting_with_a_from_line)
{
	static const char box[] = "junk before\nthe first message\n\nFrom a Fri Sep 29 04:03:49 2017\nS: 1\n\nx\n\n";
	struct mbox_index idx = index_of(box, sizeof box - 1);
	cr_assert_eq(idx.count, 1);
	cr_assert_eq(idx.msgs[0].start, 31);
	cr_assert_str_eq(idx.msgs[0].envelope_sender, "a");
	mbox_index_close(&idx);
	static const char none[] = "not an mbox at all\nFrom: a header, not a From_ line\n";
	idx = index_of(none, sizeof none - 1);
	cr_assert_eq(idx.count, 0);
	mbox_index_close(&idx);
}

Test(mbox_index, from_line_variants_in_the_wild)
{
	static const char *const lines[] = {
		"From a@x Fri Sep 29 04:03:49 2017\n",               /* asctime, as we write */
		"From a@x Fri Sep 29 04:03 2017\n",                  /* no seconds */
		"From a@x Fri Sep 29 04:03:49 UTC 2017\n",           /* time zone name */
		"From a@x Fri Sep 29 04:03:49 +0000 2017\n",         /* numeric zone */
		"From a@x  Fri Sep 29 04:03:49 2017 remote from uucp\n",
	};
	const time_t want[] = { 1506657829, 1506657780, 1506657829, 1506657829, 1506657829 };
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		char buf[256];
		int n = snprintf(buf, sizeof buf, "%sS: x\n\nbody\n\n", lines[i]);
		struct mbox_index idx = index_of(buf, (size_t)n);
		cr_assert_eq(idx.count, 1);
		cr_assert_str_eq(idx.msgs[0].envelope_sender, "a@x", "%s", lines[i]);
		cr_assert_eq(idx.msgs[0].from_date, want[i], "%s", lines[i]);
		mbox_index_close(&idx);
	}
	struct mbox_index idx = index_of("From \n\nx\n", 9);
	cr_assert_eq(idx.count, 1);
	cr_assert_str_eq(idx.msgs[0].envelope_sender, "");
	cr_assert_eq(idx.msgs[0].from_date, (time_t)-1);
	mbox_index_close(&idx);
}

/* What mktime says for the local time y-m-d h:mi:se (isdst: -1 as the index asks, or 0/1). */
static time_t local_time(int y, int m, int d, int h, int mi, int se, int isdst)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
			 .tm_sec = se, .tm_isdst = isdst };
	return mktime(&tm);
}

/* The index converts From_ dates without asking mktime each time (it reuses the last UTC
 * offset when converting back proves it right): across the DST changes of a zone with
 * them, every date is still what mktime gives, also one in the hour that does not exist. */
Test(mbox_index, from_line_dates_across_dst_changes_are_what_mktime_says)
{
	static const int when[][6] = {
		{ 2026, 3, 28, 23, 59, 59 }, { 2026, 3, 29, 1, 59, 59 }, { 2026, 3, 29, 2, 30, 0 },
		{ 2026, 3, 29, 3, 0, 0 }, { 2026, 3, 29, 3, 0, 1 }, { 2026, 7, 1, 12, 0, 0 },
		{ 2026, 10, 25, 1, 59, 59 }, { 2026, 10, 25, 3, 0, 0 }, { 2026, 12, 31, 23, 59, 59 },
		{ 2027, 1, 1, 0, 0, 0 }, { 2026, 2, 29, 10, 0, 0 }, { 1970, 1, 1, 0, 0, 0 },
		{ 2026, 10, 25, 2, 30, 0 },      /* last: the repeated hour, either offset is right */
	};
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t n = sizeof when / sizeof when[0];
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	char *buf = malloc(n * 128);
	size_t len = 0;
	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "From a@x Sun %s %2d %02d:%02d:%02d %d\nS: x\n\nbody\n\n",
				       mon[when[i][1] - 1], when[i][2], when[i][3], when[i][4], when[i][5], when[i][0]);
	struct mbox_index idx = index_of(buf, len);
	cr_assert_eq(idx.count, n);
	for (size_t i = 0; i + 1 < n; i++) {
		const int *w = when[i];
		cr_assert_eq(idx.msgs[i].from_date, local_time(w[0], w[1], w[2], w[3], w[4], w[5], -1),
			     "%d-%02d-%02d %02d:%02d:%02d", w[0], w[1], w[2], w[3], w[4], w[5]);
	}
	time_t last = idx.msgs[n - 1].from_date;
	cr_assert(last == local_time(2026, 10, 25, 2, 30, 0, 0) || last == local_time(2026, 10, 25, 2, 30, 0, 1));
	mbox_index_close(&idx);
	free(buf);
}

Test(mbox_index, from_line_date_is_read_within_the_mapping)
{
	/* The mailbox fills a page exactly and the next page is inaccessible: a date parser that
	 * looks for a NUL after the From_ line (sscanf did) runs into it and crashes, as it did
	 * in the concurrency torture when an append filled the last mapped page. */
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(map != MAP_FAILED);
	cr_assert_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	static const char head[] = "From a@x Fri Sep 29 04:03:49 2017\nS: x\n\n";
	memcpy(map, head, sizeof head - 1);
	memset(map + sizeof head - 1, 'b', (size_t)page - sizeof head);
	map[page - 1] = '\n';
	struct mbox_index idx = index_of(map, (size_t)page);
	cr_assert_eq(idx.count, 1);
	cr_assert_eq(idx.msgs[0].from_date, 1506657829);
	mbox_index_close(&idx);
	static const char *const bad[] = { "From a@x Fri Sep 29 4 2017\n\n", "From a@x Fri Sep 29 04:03:49:00 2017\n\n",
					   "From a@x Fri Sep 29 04: 2017\n\n", "From a@x Fri Sep 29 123:03 2017\n\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		idx = index_of(bad[i], strlen(bad[i]));
		cr_assert_eq(idx.msgs[0].from_date, (time_t)-1, "%s", bad[i]);
		mbox_index_close(&idx);
	}
	munmap(map, 2 * (size_t)page);
}

Test(mbox_index, to_is_unfolded_and_decoded)
{
	static const char box[] = "From a@x Fri Sep 29 04:03:49 2017\nTo: =?UTF-8?Q?J=C3=B6rg?= <j@x>,\n"
				  "\tb@y\nSubject: s\n\nbody\n\nFrom b@x Fri Sep 29 04:03:49 2017\n\nno to\n";
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_buffer(box, sizeof box - 1, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, 2);
	cr_assert_str_eq(idx.msgs[0].to, "J\xc3\xb6rg <j@x>,\tb@y");     /* unfolding drops only the CRLF */
	cr_assert_null(idx.msgs[1].to);
	mbox_index_close(&idx);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;
	if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	if (f)
		fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A big file is indexed without keeping its pages in the resident set, and the messages are
 * still readable through the map afterwards (they fault back in from the page cache). */
Test(mbox_index, scanned_pages_of_a_big_file_leave_the_resident_set)
{
	const char *path = th_path(th_tmpdir(), "big");
	FILE *f = fopen(path, "w");
	cr_assert(f);
	char body[4000];
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	const size_t n = 24000;        /* ~96 MB: three release steps */
	for (size_t i = 0; i < n; i++)
		fprintf(f, "From a@x Fri Sep 29 04:03:49 2017\nSubject: m%zu\n\n%s\n\n", i, body);
	cr_assert_eq(fclose(f), 0);
	long before = rss_kib();
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	long grown = rss_kib() - before;
	cr_assert_eq(idx.count, n);
	cr_assert_lt(grown, 80 * 1024, "RSS grew by %ld KiB indexing a %zu-byte file", grown, idx.map_len);
	cr_assert_str_eq(idx.msgs[0].subject, "m0");
	cr_assert_str_eq(idx.msgs[n - 1].subject, "m23999");
	cr_assert_eq(memcmp(idx.map + idx.msgs[0].start, "From a@x ", 9), 0);
	cr_assert_eq(memcmp(idx.map + idx.msgs[n / 2].body, body, sizeof body - 1), 0);
	mbox_index_close(&idx);
}

/* The text fields of every message (sender, Return-Path, From, To, Subject, Date) are kept
 * in shared blocks, not one malloc each: indexing a mailbox of many small messages costs
 * little more than the text itself and the message table (300 bytes a message here; a
 * malloc per field took 700, and 50,000 messages made 42 MB where s-nail needs 13). */
/* Not built under AddressSanitizer: its redzones and quarantine make every allocation bigger
 * (and a skipped test's message is a leak in Criterion's runner, which fails make check-asan). */
#if !defined(__SANITIZE_ADDRESS__)
Test(mbox_index, the_text_fields_of_many_messages_are_kept_compactly)
{
	const char *path = th_path(th_tmpdir(), "many");
	FILE *f = fopen(path, "w");
	cr_assert(f);
	const size_t n = 40000;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "From user%zu@example.org Fri Sep 29 04:03:49 2017\nReturn-Path: <user%zu@example.org>\n"
			   "From: User %zu <user%zu@example.org>\nTo: rcpt@example.org\nSubject: report %zu\n"
			   "Date: Fri, 29 Sep 2017 04:03:49 +0000\n\nbody\n\n", i, i, i, i, i);
	cr_assert_eq(fclose(f), 0);
	long before = rss_kib();
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK, "%s", r.reason);
	long per_msg = (rss_kib() - before) * 1024 / (long)n;
	cr_assert_eq(idx.count, n);
	cr_assert_str_eq(idx.msgs[n - 1].subject, "report 39999");
	cr_assert_str_eq(idx.msgs[n - 1].return_path, "user39999@example.org");
	/* table 120 + text ~150 bytes a message; the bound leaves room for allocator slack */
	cr_assert_lt(per_msg, 450, "the index takes %ld bytes a message", per_msg);
	mbox_index_close(&idx);
}
#endif

/* ---- a reader racing with writers: it waits for the lock every writer holds ---- */

/* box: A (long) B C; *after: B C, what a quit deleting A writes. Static storage. */
static void rw_boxes(const char **box, const char **after)
{
	static char b[8192], a[4096];
	char body[3000];
	memset(body, 'a', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	snprintf(a, sizeof a, "From b Fri Sep 29 04:03:50 2017\nSubject: B\n\nbee\n\n"
			      "From c Fri Sep 29 04:03:51 2017\nSubject: C\n\nsea\n\n");
	snprintf(b, sizeof b, "From a Fri Sep 29 04:03:49 2017\nSubject: A\n\n%s\n\n%s", body, a);
	*box = b;
	*after = a;
}

/* A writer holding the mailbox lock as mda and mail do (mbox_lock), stopped in the middle of
 * a rewrite that deletes message A. 'i': in place, the new bytes are over the old ones and
 * the file is not yet truncated (the state inplace.c passes through); 'r': by rename, the new
 * file written and not yet renamed. Says y/n on ready, finishes when go says so. */
static void rw_writer(const char *path, const char *after, char how, int ready, int go)
{
	struct mbox_lock lk;
	struct result r;
	char tmp[CFG_PATH_MAX + 8], c = 'n';
	size_t n = strlen(after);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	if (mbox_lock(path, MBOX_LOCK_WRITE | MBOX_LOCK_NODOTLOCK, NULL, 5, &lk, &r) == EX_OK) {
		FILE *f = how == 'r' ? fopen(tmp, "w") : NULL;
		if (how == 'i')
			c = pwrite(lk.fd, after, n, 0) == (ssize_t)n ? 'y' : 'n';
		else if (f)
			c = fputs(after, f) >= 0 && fclose(f) == 0 ? 'y' : 'n';
	}
	(void)!write(ready, &c, 1);
	(void)!read(go, &c, 1);
	if (how == 'i')
		(void)!ftruncate(lk.fd, (off_t)n);
	else
		rename(tmp, path);
	mbox_unlock(&lk);
	_exit(0);
}

/* Indexes path in a child and says "COUNT SUBJECT-OF-1" on out. */
static void rw_reader(const char *path, int out)
{
	struct mbox_index idx;
	struct result r;
	if (mbox_index_open(path, &idx, &r) != EX_OK)
		dprintf(out, "error %s\n", r.reason);
	else
		dprintf(out, "%zu %s\n", idx.count, idx.count && idx.msgs[0].subject ? idx.msgs[0].subject : "-");
	_exit(0);
}

/* Runs a reader while a writer is stopped mid-rewrite ('i' or 'r'), lets the writer finish
 * half a second later, and returns what the reader saw in out. */
static void rw_race(char how, char *out, size_t size)
{
	const char *path = th_path(th_tmpdir(), "box"), *box, *after;
	int ready[2], go[2], said[2];
	char c = 0;
	rw_boxes(&box, &after);
	th_write(path, box);
	cr_assert(pipe(ready) == 0 && pipe(go) == 0 && pipe(said) == 0);
	fflush(NULL);
	pid_t w = fork();
	cr_assert_geq(w, 0);
	if (w == 0)
		rw_writer(path, after, how, ready[1], go[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	cr_assert_eq(c, 'y', "the writer could not set the scene");
	pid_t rd = fork();
	cr_assert_geq(rd, 0);
	if (rd == 0)
		rw_reader(path, said[1]);
	close(said[1]);
	/* Unlocked, the reader answers at once with the half-done file; locked, it waits. */
	poll(&(struct pollfd){ .fd = said[0], .events = POLLIN }, 1, 500);
	cr_assert_eq(write(go[1], "g", 1), 1);
	ssize_t n = read(said[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	waitpid(w, NULL, 0);
	waitpid(rd, NULL, 0);
}

/* The reader's half of the torture finding: a quit rewriting the mailbox in place (Debian's
 * root:mail 2775 spool) moves every byte under a reader that takes no lock. Read halfway,
 * the file held B C followed by the old tail, whose B C came back as two more messages (and
 * a truncation during the scan killed the reader with SIGBUS). Under the shared lock the
 * reader sees the mailbox before or after the rewrite, never during it. */
Test(mbox_index, a_rewrite_in_place_is_never_read_half_done, .timeout = 20)
{
	char said[256];
	rw_race('i', said, sizeof said);
	cr_expect_str_eq(said, "2 B\n", "the reader saw \"%s\" of a mailbox holding B C", said);
}

/* A reader that waited for a rewrite by rename reads the new file, not the one the rename
 * left behind (the view of a quit, whose own rewrite would then refuse: "replaced"). */
Test(mbox_index, a_reader_that_waited_for_a_rename_reads_the_new_file, .timeout = 20)
{
	char said[256];
	rw_race('r', said, sizeof said);
	cr_expect_str_eq(said, "2 B\n", "the reader saw \"%s\" of a mailbox holding B C", said);
}

/* A lock held on and on (a stuck writer) does not hang the reader: after the wait it reads
 * the file as it is, as every reader did before the lock. */
Test(mbox_index, a_lock_held_too_long_is_waited_for_then_read_through, .timeout = 20)
{
	const char *path = th_path(th_tmpdir(), "box"), *box, *after;
	struct mbox_index idx;
	struct result r;
	struct timespec t0, t1;
	rw_boxes(&box, &after);
	th_write(path, box);
	int holder = th_hold_fcntl(path);
	setenv("MBOX_TEST_INDEX_LOCK_MS", "300", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ex = mbox_index_open(path, &idx, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsetenv("MBOX_TEST_INDEX_LOCK_MS");
	th_release(holder);
	cr_assert_eq(ex, EX_OK, "%s", r.reason);
	cr_expect_eq(idx.count, 3);
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect_geq(waited, 0.25, "the reader did not wait for the writer (%.3f s)", waited);
	mbox_index_close(&idx);
}
