/* Unit tests for the message spool: CRLF handling, quoting counts, sizes, From_ line. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox/mbox.h"
#include "tests/unit/helpers.h"

static void teardown(void)
{
	th_cleanup();
}

/* Spools data written in chunks of `chunk` bytes; returns the spooled bytes (malloc'd). */
static char *spool_bytes(struct mbox_spool *sp, const char *data, size_t len, size_t chunk)
{
	struct result r;
	const char *dir = th_tmpdir();
	cr_assert_eq(mbox_spool_open(sp, dir, &r), EX_OK, "%s", r.reason);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		cr_assert_eq(mbox_spool_write(sp, data + i, n, &r), EX_OK, "%s", r.reason);
	}
	cr_assert_eq(mbox_spool_finish(sp, &r), EX_OK, "%s", r.reason);
	char *out = malloc((size_t)sp->size + 1);
	cr_assert(pread(sp->fd, out, (size_t)sp->size, 0) == sp->size);
	out[sp->size] = '\0';
	return out;
}

TestSuite(mbox_spool, .fini = teardown);

Test(mbox_spool, crlf_becomes_lf_bare_cr_kept_any_chunking)
{
	static const char in[] = "A: b\r\n\r\nline\rwith bare CR\r\nend\r";
	static const char want[] = "A: b\n\nline\rwith bare CR\nend\r";
	for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
		struct mbox_spool sp;
		char *out = spool_bytes(&sp, in, sizeof in - 1, chunk);
		cr_assert_eq((size_t)sp.size, sizeof want - 1, "chunk %zu", chunk);
		cr_assert(memcmp(out, want, sizeof want - 1) == 0, "chunk %zu: %s", chunk, out);
		cr_assert_eq(sp.header_size, 6, "chunk %zu", chunk);
		cr_assert(!sp.ends_with_newline);
		free(out);
		mbox_spool_close(&sp);
		th_cleanup();
	}
}

Test(mbox_spool, cr_at_chunk_boundary_then_lf)
{
	struct mbox_spool sp;
	struct result r;
	cr_assert_eq(mbox_spool_open(&sp, th_tmpdir(), &r), EX_OK);
	cr_assert_eq(mbox_spool_write(&sp, "x\r", 2, &r), EX_OK);
	cr_assert_eq(mbox_spool_write(&sp, "\ny\r", 3, &r), EX_OK);
	cr_assert_eq(mbox_spool_write(&sp, "\r", 1, &r), EX_OK);
	cr_assert_eq(mbox_spool_write(&sp, "\n", 1, &r), EX_OK);
	cr_assert_eq(mbox_spool_finish(&sp, &r), EX_OK);
	char buf[16] = { 0 };
	cr_assert_eq(pread(sp.fd, buf, sizeof buf, 0), 5);
	cr_assert(memcmp(buf, "x\ny\r\n", 5) == 0, "got %s", buf);
	mbox_spool_close(&sp);
	mbox_spool_close(&sp);   /* twice is fine */
}

Test(mbox_spool, quoting_counts_over_the_whole_message)
{
	static const char in[] =
		"From: header is not a From_ line\n"
		"\n"
		"From the start\n"
		">From quoted once\n"
		">>From quoted twice\n"
		" From indented\n"
		"xFrom inside\n"
		"Fro\n"
		">Fro\n"
		"From ";
	for (size_t chunk = 1; chunk < sizeof in; chunk += 3) {
		struct mbox_spool sp;
		char *out = spool_bytes(&sp, in, sizeof in - 1, chunk);
		cr_assert_eq(sp.quote_rd, 4, "chunk %zu: rd %zu", chunk, sp.quote_rd);
		cr_assert_eq(sp.quote_o, 2, "chunk %zu: o %zu", chunk, sp.quote_o);
		cr_assert_eq(mbox_spool_mbox_size(&sp, QUOTE_MBOXRD), sp.size + 4 + 1 + 1);
		cr_assert_eq(mbox_spool_mbox_size(&sp, QUOTE_MBOXO), sp.size + 2 + 1 + 1);
		free(out);
		mbox_spool_close(&sp);
		th_cleanup();
	}
}

Test(mbox_spool, nul_bytes_kept_and_sizes_exact)
{
	static const char in[] = "A: 1\n\nnul\0byte\n";
	struct mbox_spool sp;
	char *out = spool_bytes(&sp, in, sizeof in - 1, 4);
	cr_assert_eq((size_t)sp.size, sizeof in - 1);
	cr_assert(memcmp(out, in, sizeof in - 1) == 0);
	cr_assert(sp.ends_with_newline);
	cr_assert_eq(mbox_spool_mbox_size(&sp, QUOTE_MBOXRD), sp.size + 1);
	free(out);
	mbox_spool_close(&sp);
}

Test(mbox_spool, headers_only_and_empty_messages)
{
	struct mbox_spool sp;
	char *out = spool_bytes(&sp, "A: 1\nB: 2\n", 10, 100);
	cr_assert_eq(sp.header_size, 10);
	free(out);
	mbox_spool_close(&sp);
	th_cleanup();
	out = spool_bytes(&sp, "", 0, 1);
	cr_assert_eq(sp.size, 0);
	cr_assert_eq(mbox_spool_mbox_size(&sp, QUOTE_MBOXRD), 1, "an empty message is just the separator");
	free(out);
	mbox_spool_close(&sp);
}

Test(mbox_spool, large_message_spans_many_buffers)
{
	size_t n = 1000 * 1000;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (i % 100 == 99) ? '\n' : (i % 100 == 98) ? '\r' : (char)('a' + i % 26);
	struct mbox_spool sp;
	char *out = spool_bytes(&sp, in, n, 7777);
	cr_assert_eq((size_t)sp.size, n - n / 100, "one CR per CRLF dropped");
	cr_assert_eq(out[97], 'a' + 97 % 26);
	cr_assert_eq(out[98], '\n');
	free(in);
	free(out);
	mbox_spool_close(&sp);
}

Test(mbox_spool, from_line_layout_and_sanitizing)
{
	char buf[256];
	setenv("TZ", "UTC", 1);
	tzset();
	int n = mbox_from_line(buf, sizeof buf, "alice@example.org", 1506657829);
	cr_assert_str_eq(buf, "From alice@example.org Fri Sep 29 04:03:49 2017\n");
	cr_assert_eq(n, (int)strlen(buf));
	mbox_from_line(buf, sizeof buf, "", 1506657829);
	cr_assert_str_eq(buf, "From MAILER-DAEMON Fri Sep 29 04:03:49 2017\n");
	mbox_from_line(buf, sizeof buf, NULL, 0);
	cr_assert_str_eq(buf, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
	mbox_from_line(buf, sizeof buf, "a b\tc\nd", 1506657829);
	cr_assert_str_eq(buf, "From a_b_c_d Fri Sep 29 04:03:49 2017\n");
	cr_assert_eq(mbox_from_line(buf, 10, "alice", 0), -1);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	cr_assert(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Small messages stay in memory; past 1 MiB the spool moves to a temp file in tmp_dir with
 * the bytes spooled so far, and nothing is left in tmp_dir (the file has no name). */
Test(mbox_spool, moves_from_memory_to_tmp_dir_past_one_mebibyte_with_the_same_bytes)
{
	struct mbox_spool small, big;
	char *out = spool_bytes(&small, "Subject: s\r\n\r\nhi\r\n", 19, 5);
	cr_assert(small.in_memory, "a small message is spooled in memory");
	cr_assert_str_eq(out, "Subject: s\n\nhi\n");
	free(out);
	mbox_spool_close(&small);

	size_t n = 3 * 1024 * 1024;
	char *in = malloc(n), *want = malloc(n);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		in[i] = (i % 80 == 79) ? '\n' : (i % 80 == 78) ? '\r' : (char)('A' + i % 23);
		if (in[i] != '\r')
			want[w++] = in[i];
	}
	out = spool_bytes(&big, in, n, 65537);
	cr_assert_not(big.in_memory, "a 3 MiB message went to tmp_dir");
	cr_assert_eq((size_t)big.size, w);
	cr_assert_eq(memcmp(out, want, w), 0, "bytes from before and after the move are intact");
	cr_assert_eq(count_entries(th_tmpdir()), 0, "no named file left in tmp_dir");
	free(in);
	free(want);
	free(out);
	mbox_spool_close(&big);
}
