/* libFuzzer target: the LMTP command and DATA state machine (mda/lmtp_proto.c) behind a fake
 * delivery. Input: one settings byte, one split-seed byte (its low bits also pick the junk
 * limit, lmtp_bare_newline = reject, and a session time limit running out halfway through the
 * stream), then the client's byte stream.
 * The stream is fed twice, whole and cut at pseudo-random points; the transcript and the
 * delivered messages must not depend on where the reads ended, and every reply must be a proper
 * line; in reject mode no delivered message holds a bare LF. Recipient names steer the fake as
 * in tests/unit/test_mda_lmtp_proto.c. */
#include <stdbool.h>
#include <string.h>

#include "mda/lmtp_proto.h"
#include "tests/fuzz/fuzz.h"

/* What one run observed; two runs of the same stream must agree on all of it. */
struct fake {
	uint64_t out_hash;         /* every reply byte */
	uint64_t msg_hash;         /* the message being spooled */
	uint64_t delivered_hash;   /* each delivery: its message, recipient and sender */
	size_t out_bytes, msg_bytes;
	int handles;               /* prepared minus released */
	bool spool_open;
	bool fail_open;
	bool small_disk;           /* data_finish fails for messages over 300 bytes */
	bool reject_bare_lf;       /* the session was told lmtp_bare_newline = reject */
	bool msg_bare_lf;          /* the message being spooled has an LF without a CR before it */
	char msg_last;             /* its last octet so far */
	unsigned deliveries;
	size_t line_len;           /* of the reply line being sent, across send() calls */
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static int fake_prepare(void *ctx, const char *addr, void **handle, struct result *r)
{
	struct fake *f = ctx;
	FUZZ_CHECK(addr[0] != '\0');
	if (strncmp(addr, "nouser", 6) == 0)
		return res_set(r, EX_NOUSER, "5.1.1", "unknown user");
	if (strncmp(addr, "tmp", 3) == 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "temporary lookup failure");
	*handle = malloc(1);
	FUZZ_CHECK(*handle != NULL);
	f->handles++;
	*r = res_ok("OK");
	return EX_OK;
}

static void fake_release(void *ctx, void *handle)
{
	struct fake *f = ctx;
	FUZZ_CHECK(handle != NULL);
	free(handle);
	f->handles--;
}

static int fake_open(void *ctx, struct result *r)
{
	struct fake *f = ctx;
	FUZZ_CHECK(!f->spool_open);
	if (f->fail_open)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot create spool");
	f->spool_open = true;
	f->msg_hash = 14695981039346656037ULL;
	f->msg_bytes = 0;
	f->msg_bare_lf = false;
	f->msg_last = '\n';
	*r = res_ok(NULL);
	return EX_OK;
}

static int fake_write(void *ctx, const char *buf, size_t len, struct result *r)
{
	struct fake *f = ctx;
	FUZZ_CHECK(f->spool_open);
	FUZZ_CHECK(len > 0);
	f->msg_hash = fnv(f->msg_hash, buf, len);
	f->msg_bytes += len;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' && f->msg_last != '\r')
			f->msg_bare_lf = true;
		f->msg_last = buf[i];
	}
	*r = res_ok(NULL);
	return EX_OK;
}

static int fake_finish(void *ctx, struct result *r)
{
	struct fake *f = ctx;
	FUZZ_CHECK(f->spool_open);
	/* Decided by the whole message, not by how it was written, so both feedings agree
	 * (a write that fails midway would fail at a point that depends on the cuts). */
	if (f->small_disk && f->msg_bytes > 300)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "disk full");
	*r = res_ok(NULL);
	return EX_OK;
}

static void fake_close(void *ctx)
{
	struct fake *f = ctx;
	f->spool_open = false;
}

static int fake_deliver(void *ctx, const struct envelope *env, const char *addr, const char *orcpt, void *handle,
			struct result *r)
{
	struct fake *f = ctx;
	(void)orcpt;
	FUZZ_CHECK(handle != NULL);
	FUZZ_CHECK(f->spool_open);
	FUZZ_CHECK(memchr(env->sender, '\0', sizeof env->sender) != NULL);
	FUZZ_CHECK(!(f->reject_bare_lf && f->msg_bare_lf));
	f->delivered_hash = fnv(f->delivered_hash, (const char *)&f->msg_hash, sizeof f->msg_hash);
	f->delivered_hash = fnv(f->delivered_hash, addr, strlen(addr) + 1);
	f->delivered_hash = fnv(f->delivered_hash, env->sender, strlen(env->sender) + 1);
	if (strncmp(addr, "full", 4) == 0)
		return res_set(r, EX_TEMPFAIL, "4.2.2", "mailbox full");
	f->deliveries++;
	*r = res_ok("delivered");
	return EX_OK;
}

/* Every reply line: "DDD" then ' ' or '-', CRLF-terminated, at most 512 octets (RFC 5321). */
static bool fake_send(void *ctx, const char *buf, size_t len)
{
	struct fake *f = ctx;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (f->line_len < 3)
			FUZZ_CHECK(c >= '0' && c <= '9');
		else if (f->line_len == 3)
			FUZZ_CHECK(c == ' ' || c == '-');
		FUZZ_CHECK(c != '\0');
		FUZZ_CHECK(c != '\n' || (f->line_len >= 5 && i > 0 && buf[i - 1] == '\r'));
		FUZZ_CHECK(c != '\r' || (i + 1 < len && buf[i + 1] == '\n'));
		f->line_len = c == '\n' ? 0 : f->line_len + 1;
		FUZZ_CHECK(f->line_len <= LMTP_CMD_LINE_MAX - 2);
	}
	FUZZ_CHECK(f->line_len == 0);     /* replies leave in whole lines */
	f->out_hash = fnv(f->out_hash, buf, len);
	f->out_bytes += len;
	return true;
}

static const struct lmtp_ops fake_ops = {
	.rcpt_prepare = fake_prepare, .rcpt_release = fake_release, .data_open = fake_open,
	.data_write = fake_write, .data_finish = fake_finish, .data_close = fake_close,
	.deliver = fake_deliver, .send = fake_send,
};

struct run_result {
	struct fake f;
	unsigned long long lines;
	bool closed;
};

/* xorshift: the cut points of the second feeding, repeatable from the seed byte. */
static uint32_t next_cut(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* expire_at: the stream offset where the session time limit runs out (n or more: never). Both
 * feedings cut there, so the limit strikes between the same two bytes. */
static void run(const struct lmtp_settings *set, unsigned mode, uint8_t seed, const uint8_t *p,
		size_t n, size_t expire_at, bool cut, struct run_result *out)
{
	memset(out, 0, sizeof *out);
	out->f.fail_open = mode & 0x20;
	out->f.small_disk = mode & 0x40;
	out->f.reject_bare_lf = set->reject_bare_lf;
	struct lmtp_session *s = lmtp_session_new(set, &fake_ops, &out->f);
	FUZZ_CHECK(s != NULL);
	lmtp_session_start(s);
	uint32_t state = 0x9e3779b9u ^ seed;
	size_t i = 0;
	while (i < n && !lmtp_session_closed(s)) {
		size_t take = n - i;
		if (i == expire_at)
			lmtp_session_expire(s);
		if (cut) {
			/* mostly tiny reads, sometimes larger ones, so every boundary is tried */
			uint32_t r = next_cut(&state);
			take = r & 0x80 ? (r >> 8) % 64 + 1 : (r >> 8) % 4 + 1;
			if (take > n - i)
				take = n - i;
		}
		if (i < expire_at && take > expire_at - i)
			take = expire_at - i;
		lmtp_session_input(s, (const char *)p + i, take);
		lmtp_session_flush(s);
		i += take;
	}
	switch ((mode >> 7) & 3) {
	case 0: lmtp_session_eof(s); break;
	case 1: lmtp_session_timeout(s); break;
	default: lmtp_session_shutdown(s); break;
	}
	lmtp_session_flush(s);
	out->lines = lmtp_session_lines(s);
	out->closed = lmtp_session_closed(s);
	lmtp_session_free(s);
	FUZZ_CHECK(out->f.handles == 0);
	FUZZ_CHECK(!out->f.spool_open);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdio();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long sizes[] = { 0, 200, 10000, 1LL << 40 };
	static const unsigned counts[] = { 0, 1, 3, 100 };
	struct run_result whole, pieces;
	if (size < 2)
		return 0;
	unsigned mode = data[0] | (unsigned)(data[1] & 1) << 8;
	struct lmtp_settings set = {
		.hostname = "mx.fuzz", .session_id = "F", .peer = "fuzz",
		.size_limit = sizes[mode & 3], .max_recipients = counts[(mode >> 2) & 3],
		.max_errors = mode & 0x10 ? 0 : 5,
		.junk_limit = data[1] & 4 ? 3 : 0,
		.reject_bare_lf = data[1] & 8,
	};
	size_t expire_at = data[1] & 2 ? (size - 2) / 2 : SIZE_MAX;
	run(&set, mode, data[1], data + 2, size - 2, expire_at, false, &whole);
	run(&set, mode, data[1], data + 2, size - 2, expire_at, true, &pieces);
	FUZZ_CHECK(whole.f.out_bytes == pieces.f.out_bytes);
	FUZZ_CHECK(whole.f.out_hash == pieces.f.out_hash);
	FUZZ_CHECK(whole.f.delivered_hash == pieces.f.delivered_hash);
	FUZZ_CHECK(whole.f.deliveries == pieces.f.deliveries);
	FUZZ_CHECK(whole.lines == pieces.lines);
	FUZZ_CHECK(whole.closed == pieces.closed);
	return 0;
}
