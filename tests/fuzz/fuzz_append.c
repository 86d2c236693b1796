/* libFuzzer target: From_ quoting round trip (mbox/spool.c, append.c, util.c, index.c).
 * Input: one byte choosing the quoting and the read sizes, then a message as an MTA would
 * hand it over (any bytes, CRLF or LF). It is spooled in pieces, appended to an empty
 * mailbox, and indexed again: exactly one message must come back, and with mboxrd, taking one
 * '>' off each ">*From " line must give the spooled text byte for byte (a missing final
 * newline added). With mboxo the split alone is checked (mboxo quoting cannot be undone). */
#include <stdbool.h>
#include <string.h>

#include "mbox/mbox.h"
#include "tests/fuzz/fuzz.h"

static const char trace[] = "Return-Path: <fuzz@example.org>\n";

/* What the spool should hold: CRLF turned into LF, nothing else touched. */
static char *lf_form(const char *p, size_t n, size_t *out_len)
{
	char *s = malloc(n + 2);
	size_t o = 0;
	FUZZ_CHECK(s != NULL);
	for (size_t i = 0; i < n; i++)
		if (!(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			s[o++] = p[i];
	if (o > 0 && s[o - 1] != '\n')
		s[o++] = '\n';
	*out_len = o;
	return s;
}

/* Takes one '>' off every line matching ^>+From  (mboxrd reading). */
static char *unquote_rd(const char *p, size_t n, size_t *out_len)
{
	char *s = malloc(n + 1);
	size_t o = 0, i = 0;
	FUZZ_CHECK(s != NULL);
	while (i < n) {
		size_t gt = 0;
		while (i + gt < n && p[i + gt] == '>')
			gt++;
		if (gt > 0 && i + gt + 5 <= n && memcmp(p + i + gt, "From ", 5) == 0)
			i++;
		const char *nl = memchr(p + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
		memcpy(s + o, p + i, len);
		o += len;
		i += len;
	}
	*out_len = o;
	return s;
}

static void spool_in_pieces(struct mbox_spool *sp, const char *p, size_t n, unsigned seed)
{
	struct result r;
	FUZZ_CHECK(mbox_spool_open(sp, fuzz_tmpdir(), &r) == EX_OK);
	size_t i = 0, step = (seed & 7) + 1;
	while (i < n) {
		size_t take = n - i < step ? n - i : step;
		FUZZ_CHECK(mbox_spool_write(sp, p + i, take, &r) == EX_OK);
		i += take;
		step = step * 5 % 11 + 1;    /* uneven piece sizes, CRs split from their LFs */
	}
	FUZZ_CHECK(mbox_spool_finish(sp, &r) == EX_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300];
	struct mbox_spool sp;
	struct mbox_index idx;
	struct result r;
	if (size < 1)
		return 0;
	enum mbox_quoting q = data[0] & 0x80 ? QUOTE_MBOXO : QUOTE_MBOXRD;
	const char *msg = (const char *)data + 1;
	size_t n = size - 1;
	spool_in_pieces(&sp, msg, n, data[0]);

	snprintf(path, sizeof path, "%s/mbox", fuzz_tmpdir());
	unlink(path);
	struct mbox_delivery d = {
		.path = path, .owner = { (uid_t)-1, (gid_t)-1 }, .dotlock = false,
		.sender = "fuzz@example.org", .arrival = 1700000000, .headers = trace, .msg = &sp,
		.quoting = q, .lock_timeout = 5, .fsync = false,
	};
	FUZZ_CHECK(mbox_append(&d, &r) == EX_OK);
	mbox_spool_close(&sp);

	FUZZ_CHECK(mbox_index_open(path, &idx, &r) == EX_OK);
	FUZZ_CHECK(idx.count == 1);
	const struct mbox_msg *m = &idx.msgs[0];
	FUZZ_CHECK(m->start == 0 && (size_t)m->end == idx.map_len);
	const char *got = idx.map + m->headers;
	size_t got_len = (size_t)(m->content_end - m->headers);
	FUZZ_CHECK(got_len >= sizeof trace - 1 && memcmp(got, trace, sizeof trace - 1) == 0);
	if (q == QUOTE_MBOXRD) {
		size_t want_len, back_len;
		char *want = lf_form(msg, n, &want_len);
		char *back = unquote_rd(got + sizeof trace - 1, got_len - (sizeof trace - 1), &back_len);
		FUZZ_CHECK(back_len == want_len && memcmp(back, want, want_len) == 0);
		free(want);
		free(back);
	}
	mbox_index_close(&idx);
	unlink(path);
	return 0;
}
