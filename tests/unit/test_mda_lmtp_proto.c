/* Unit tests for the LMTP state machine (mda/lmtp_proto.c), driven with a fake delivery. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/result.h"
#include "mda/lmtp_proto.h"

/* The fake world: recipients named by what should happen to them.
 *   nouser*  -> 550 5.1.1 at RCPT       tmp*  -> 451 4.3.0 at RCPT
 *   full*    -> 452 4.2.2 after DATA    anything else is delivered */
struct fake {
	char out[1 << 16];
	size_t out_len;
	char *data;
	size_t data_len;
	bool spool_open;
	bool fail_open;
	int handles;               /* prepared minus released */
	int deliveries;
	char delivered[8][64];
	char last_sender[1024];
	char last_qid[32];
	char last_orcpt[256];      /* "(none)" when the client sent no ORCPT */
	char last_client[400];     /* env->client of the last delivery */
	int sends_left;            /* -1: unlimited */
};

static int fake_prepare(void *ctx, const char *addr, void **handle, struct result *r)
{
	struct fake *f = ctx;
	if (strncmp(addr, "nouser", 6) == 0)
		return res_set(r, EX_NOUSER, "5.1.1", "unknown user");
	if (strncmp(addr, "tmp", 3) == 0)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "temporary lookup failure");
	*handle = malloc(1);
	f->handles++;
	*r = res_ok("OK");
	return EX_OK;
}

static void fake_release(void *ctx, void *handle)
{
	struct fake *f = ctx;
	free(handle);
	f->handles--;
}

static int fake_open(void *ctx, struct result *r)
{
	struct fake *f = ctx;
	cr_assert(!f->spool_open, "spool opened twice");
	if (f->fail_open)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot create spool");
	f->spool_open = true;
	f->data_len = 0;
	*r = res_ok(NULL);
	return EX_OK;
}

static int fake_write(void *ctx, const char *buf, size_t len, struct result *r)
{
	struct fake *f = ctx;
	cr_assert(f->spool_open);
	f->data = realloc(f->data, f->data_len + len + 1);
	memcpy(f->data + f->data_len, buf, len);
	f->data_len += len;
	f->data[f->data_len] = '\0';
	*r = res_ok(NULL);
	return EX_OK;
}

static int fake_finish(void *ctx, struct result *r)
{
	struct fake *f = ctx;
	cr_assert(f->spool_open);
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
	cr_assert_not_null(handle);
	cr_assert(f->spool_open, "delivery without a spool");
	snprintf(f->last_sender, sizeof f->last_sender, "%s", env->sender);
	snprintf(f->last_qid, sizeof f->last_qid, "%s", env->queue_id);
	snprintf(f->last_orcpt, sizeof f->last_orcpt, "%s", orcpt ? orcpt : "(none)");
	snprintf(f->last_client, sizeof f->last_client, "%s", env->client);
	if (strncmp(addr, "full", 4) == 0)
		return res_set(r, EX_TEMPFAIL, "4.2.2", "mailbox full");
	if (f->deliveries < 8)
		snprintf(f->delivered[f->deliveries], sizeof f->delivered[0], "%s", addr);
	f->deliveries++;
	*r = res_ok("delivered");
	return EX_OK;
}

static bool fake_send(void *ctx, const char *buf, size_t len)
{
	struct fake *f = ctx;
	if (f->sends_left == 0)
		return false;
	if (f->sends_left > 0)
		f->sends_left--;
	cr_assert(f->out_len + len < sizeof f->out);
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
	f->out[f->out_len] = '\0';
	return true;
}

static const struct lmtp_ops fake_ops = {
	.rcpt_prepare = fake_prepare, .rcpt_release = fake_release, .data_open = fake_open,
	.data_write = fake_write, .data_finish = fake_finish, .data_close = fake_close,
	.deliver = fake_deliver, .send = fake_send,
};

static struct fake F;
static struct lmtp_settings SET;

static void reset_fake(void)
{
	free(F.data);
	memset(&F, 0, sizeof F);
	F.sends_left = -1;
	SET = (struct lmtp_settings){ .hostname = "mx.test", .session_id = "S1", .peer = "test",
				      .size_limit = 10000, .max_recipients = 100, .max_errors = 20 };
}

static void clear_out(void)
{
	F.out_len = 0;
	F.out[0] = '\0';
}

static struct lmtp_session *fresh(void)
{
	struct lmtp_session *s = lmtp_session_new(&SET, &fake_ops, &F);
	cr_assert_not_null(s);
	lmtp_session_start(s);
	return s;
}

static void feed(struct lmtp_session *s, const char *text)
{
	lmtp_session_input(s, text, strlen(text));
	lmtp_session_flush(s);
}

/* A session past LHLO with an empty transcript. */
static struct lmtp_session *ready(void)
{
	struct lmtp_session *s = fresh();
	feed(s, "LHLO client.test\r\n");
	clear_out();
	return s;
}

static void expect(const char *want)
{
	cr_assert_str_eq(F.out, want);
	clear_out();
}

static void done(struct lmtp_session *s)
{
	lmtp_session_free(s);
	cr_assert_eq(F.handles, 0, "recipient handles leaked: %d", F.handles);
	cr_assert(!F.spool_open, "spool left open");
}

TestSuite(lmtp_proto, .init = reset_fake);

Test(lmtp_proto, greeting_and_lhlo_capabilities)
{
	struct lmtp_session *s = fresh();
	expect("220 mx.test LMTP ready\r\n");
	feed(s, "LHLO client.test\r\n");
	expect("250-mx.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	       "250-SMTPUTF8\r\n250-DSN\r\n250 SIZE 10000\r\n");
	feed(s, "LHLO\r\n");
	expect("501 5.5.4 Syntax: LHLO hostname\r\n");
	done(s);
}

Test(lmtp_proto, size_without_number_when_unlimited)
{
	SET.size_limit = 0;
	struct lmtp_session *s = fresh();
	clear_out();
	feed(s, "lhlo c\r\n");
	cr_assert(strstr(F.out, "\r\n250 SIZE\r\n"), "%s", F.out);
	done(s);
}

Test(lmtp_proto, helo_and_ehlo_are_refused)
{
	struct lmtp_session *s = fresh();
	clear_out();
	feed(s, "HELO c\r\nEHLO c\r\n");
	expect("500 5.5.1 Error: this is LMTP, send LHLO\r\n500 5.5.1 Error: this is LMTP, send LHLO\r\n");
	done(s);
}

Test(lmtp_proto, bad_sequence_is_503)
{
	struct lmtp_session *s = fresh();
	clear_out();
	feed(s, "MAIL FROM:<a@b>\r\n");
	expect("503 5.5.1 Error: send LHLO first\r\n");
	feed(s, "LHLO c\r\n");
	clear_out();
	feed(s, "RCPT TO:<alice@x>\r\nDATA\r\n");
	expect("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n");
	feed(s, "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n503 5.5.1 Error: nested MAIL command\r\n"
	       "503 5.5.1 Error: no valid recipients\r\n");
	done(s);
}

Test(lmtp_proto, full_transaction_replies_per_recipient_in_order)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<sender@example.org>\r\n");
	feed(s, "RCPT TO:<alice@x>\r\n");
	feed(s, "RCPT TO:<nouser@x>\r\n");
	feed(s, "RCPT TO:<tmp@x>\r\n");
	feed(s, "RCPT TO:<full@x>\r\n");
	feed(s, "RCPT TO:<bob@x>\r\n");
	feed(s, "DATA\r\n");
	expect("250 2.1.0 <sender@example.org> sender OK\r\n"
	       "250 2.1.5 <alice@x> OK\r\n"
	       "550 5.1.1 <nouser@x> unknown user\r\n"
	       "451 4.3.0 <tmp@x> temporary lookup failure\r\n"
	       "250 2.1.5 <full@x> OK\r\n"
	       "250 2.1.5 <bob@x> OK\r\n"
	       "354 End data with <CR><LF>.<CR><LF>\r\n");
	feed(s, "Subject: hi\r\n\r\nbody\r\n.\r\n");
	expect("250 2.0.0 <alice@x> delivered\r\n"
	       "452 4.2.2 <full@x> mailbox full\r\n"
	       "250 2.0.0 <bob@x> delivered\r\n");
	cr_assert_str_eq(F.data, "Subject: hi\r\n\r\nbody\r\n");
	cr_assert_eq(F.deliveries, 2);
	cr_assert_str_eq(F.delivered[0], "alice@x");
	cr_assert_str_eq(F.delivered[1], "bob@x");
	cr_assert_str_eq(F.last_sender, "sender@example.org");
	cr_assert_str_eq(F.last_qid, "S11");
	cr_assert(!F.spool_open, "spool must be closed after the transaction");
	cr_assert_eq(F.handles, 0, "handles must be released after the transaction");
	done(s);
}

Test(lmtp_proto, dot_unstuffing_and_terminator_forms)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
	clear_out();
	feed(s, "..leading dot\r\n.\rodd\r\nmid.dle\r\n...\r\n. \r\n.\r\n");
	expect("250 2.0.0 <alice@x> delivered\r\n");
	cr_assert_str_eq(F.data, ".leading dot\r\n\rodd\r\nmid.dle\r\n..\r\n \r\n");
	cr_assert_str_eq(F.last_sender, "", "null sender is the empty string");
	/* bare-LF lines are content lines (dot-unstuffed too), never the end of the data */
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nx\n.\n..y\nNOOP\r\n.\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n250 2.1.5 <alice@x> OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	       "250 2.0.0 <alice@x> delivered\r\n");
	cr_assert_str_eq(F.data, "x\n\n.y\nNOOP\r\n");
	/* the data right after the 354 follows a CRLF: an empty message ends at once */
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\n.\r\n");
	cr_assert(strstr(F.out, "250 2.0.0 <alice@x> delivered\r\n"), "%s", F.out);
	cr_assert_eq(F.data_len, 0);
	done(s);
}

/* SMTP smuggling (CVE-2023-51764 and kin): an MTA that passes a bare LF lets a sender end the
 * data early with <LF>.<LF> (or a half-CRLF form) and append a transaction of his own with a
 * forged envelope. Only <CR><LF>.<CR><LF> may end DATA: each form stays content of the one
 * real message, its lone dot unstuffed to an empty line, whatever the chunking. */
Test(lmtp_proto, smuggled_end_of_data_is_content)
{
	static const struct {
		const char *end, *kept;
	} forms[] = {
		{ "\n.\n", "\n\n" }, { "\r\n.\n", "\r\n\n" }, { "\n.\r\n", "\n\r\n" },
		{ "\n.\r\r\n", "\n\r\r\n" }, { "\r\n.\r.\r\n", "\r\n\r.\r\n" },
	};
	const char *smuggled = "MAIL FROM:<forged@evil.example>\r\nRCPT TO:<bob@x>\r\nDATA\r\n"
			       "Subject: forged\r\n\r\nfrom the forged sender\r\n";
	for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		char conv[1024], want[1024];
		snprintf(conv, sizeof conv, "LHLO c\r\nMAIL FROM:<real@example.org>\r\nRCPT TO:<alice@x>\r\n"
			 "DATA\r\nSubject: real\r\n\r\nbody%s%s.\r\nNOOP\r\n", forms[f].end, smuggled);
		snprintf(want, sizeof want, "Subject: real\r\n\r\nbody%s%s", forms[f].kept, smuggled);
		for (size_t step = 1; step <= 64; step *= 2) {
			reset_fake();
			struct lmtp_session *s = fresh();
			for (size_t i = 0, len = strlen(conv); i < len; i += step)
				lmtp_session_input(s, conv + i, i + step <= len ? step : len - i);
			lmtp_session_flush(s);
			cr_assert_eq(F.deliveries, 1, "form %zu, chunk %zu: %d deliveries\n%s", f, step,
				     F.deliveries, F.out);
			cr_assert_str_eq(F.delivered[0], "alice@x");
			cr_assert_str_eq(F.last_sender, "real@example.org", "the envelope was forged");
			cr_assert_str_eq(F.data, want, "form %zu, chunk %zu", f, step);
			cr_assert(strstr(F.out, "354 End data with <CR><LF>.<CR><LF>\r\n"
					 "250 2.0.0 <alice@x> delivered\r\n250 2.0.0 OK\r\n"), "%s", F.out);
			cr_assert_null(strstr(F.out, "forged"), "a smuggled command was answered: %s", F.out);
			done(s);
		}
	}
}

/* lmtp_bare_newline = reject: a command with a bare LF is refused (and not run); a message with
 * one is refused for each recipient at the real end of the data, which is still read to it. */
Test(lmtp_proto, reject_mode_refuses_bare_lf)
{
	SET.reject_bare_lf = true;
	struct lmtp_session *s = ready();
	feed(s, "NOOP\nMAIL FROM:<a@b>\n\nNOOP\r\n");
	expect("500 5.5.2 Error: bare <LF> received\r\n500 5.5.2 Error: bare <LF> received\r\n"
	       "500 5.5.2 Error: bare <LF> received\r\n250 2.0.0 OK\r\n");
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n");
	clear_out();
	feed(s, "Subject: x\r\n\r\nbody\n.\nMAIL FROM:<forged@evil>\r\nRCPT TO:<carol@x>\r\n"
		"DATA\r\nforged\r\n.\r\nNOOP\r\n");
	expect("554 5.5.2 <alice@x> Error: bare <LF> received\r\n"
	       "554 5.5.2 <bob@x> Error: bare <LF> received\r\n250 2.0.0 OK\r\n");
	cr_assert_eq(F.deliveries, 0);
	/* a clean message still goes through */
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nclean\r\n.\r\n");
	cr_assert(strstr(F.out, "250 2.0.0 <alice@x> delivered\r\n"), "%s", F.out);
	cr_assert_eq(F.deliveries, 1);
	done(s);
}

/* Junk commands past lmtp_junk_command_limit count as errors: a client that only keeps its
 * connection slot warm with NOOP is cut off by lmtp_max_errors. */
Test(lmtp_proto, junk_command_limit_ends_idle_sessions)
{
	SET.junk_limit = 3;
	SET.max_errors = 2;
	struct lmtp_session *s = ready();
	feed(s, "NOOP\r\nRSET\r\nHELP\r\n");
	expect("250 2.0.0 OK\r\n250 2.0.0 OK\r\n214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n");
	feed(s, "VRFY alice\r\n");
	cr_assert(!lmtp_session_closed(s));
	feed(s, "NOOP\r\nNOOP\r\n");
	expect("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	       "250 2.0.0 OK\r\n421 4.7.0 mx.test Error: too many errors\r\n");
	cr_assert(lmtp_session_closed(s));
	done(s);
}

/* A delivered message resets the junk count: Postfix's LMTP client sends RSET before each
 * transaction on a reused connection, for thousands of messages. Without deliveries the same
 * RSETs do add up. */
Test(lmtp_proto, junk_count_resets_after_a_delivery)
{
	SET.junk_limit = 3;
	SET.max_errors = 2;
	struct lmtp_session *s = ready();
	for (int i = 0; i < 3000; i++) {
		feed(s, "RSET\r\nNOOP\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nhi\r\n.\r\n");
		cr_assert(!lmtp_session_closed(s), "closed after %d messages: %s", i, F.out);
		clear_out();
	}
	cr_assert_eq(F.deliveries, 3000);
	/* a message nobody got (temporary failure for its only recipient) resets nothing */
	for (int i = 0; i < 10 && !lmtp_session_closed(s); i++)
		feed(s, "RSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<full@x>\r\nDATA\r\nhi\r\n.\r\n");
	cr_assert(lmtp_session_closed(s), "junk without deliveries must add up: %s", F.out);
	cr_assert(strstr(F.out, "421 4.7.0 mx.test Error: too many errors\r\n"), "%s", F.out);
	done(s);
}

/* lmtp_session_time_limit: the transaction in progress is finished, the next command between
 * transactions gets 421 4.4.2 (QUIT is still QUIT). */
Test(lmtp_proto, session_time_limit_between_transactions_only)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\n");
	lmtp_session_expire(s);
	feed(s, "RCPT TO:<bob@x>\r\nDATA\r\nline\r\n");
	lmtp_session_expire(s);
	feed(s, ".\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n250 2.1.5 <alice@x> OK\r\n250 2.1.5 <bob@x> OK\r\n"
	       "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 <alice@x> delivered\r\n"
	       "250 2.0.0 <bob@x> delivered\r\n");
	cr_assert(!lmtp_session_closed(s));
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\n");
	expect("421 4.4.2 mx.test Error: session time limit exceeded\r\n");
	cr_assert(lmtp_session_closed(s));
	cr_assert_eq(F.deliveries, 2);
	done(s);

	/* RSET ends a transaction too; QUIT after the limit is answered as QUIT */
	s = ready();
	feed(s, "MAIL FROM:<a@b>\r\n");
	lmtp_session_expire(s);
	feed(s, "RSET\r\nQUIT\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n250 2.0.0 OK\r\n221 2.0.0 mx.test closing connection\r\n");
	done(s);
}

/* Every split of one pipelined conversation gives the same replies and the same message. */
Test(lmtp_proto, pipelined_input_in_any_chunking)
{
	const char *conv = "LHLO c\r\nMAIL FROM:<s@x> BODY=8BITMIME SIZE=50\r\nRCPT TO:<alice@x>\r\n"
			   "RCPT TO:<nouser@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\nl1\r\n..l2\r\n.\r\n"
			   "MAIL FROM:<t@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n";
	const char *want = "220 mx.test LMTP ready\r\n"
			   "250-mx.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
			   "250-SMTPUTF8\r\n250-DSN\r\n250 SIZE 10000\r\n"
			   "250 2.1.0 <s@x> sender OK\r\n250 2.1.5 <alice@x> OK\r\n550 5.1.1 <nouser@x> unknown user\r\n"
			   "250 2.1.5 <bob@x> OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
			   "250 2.0.0 <alice@x> delivered\r\n250 2.0.0 <bob@x> delivered\r\n"
			   "250 2.1.0 <t@x> sender OK\r\n250 2.1.5 <carol@x> OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
			   "250 2.0.0 <carol@x> delivered\r\n221 2.0.0 mx.test closing connection\r\n";
	size_t len = strlen(conv);
	for (size_t step = 1; step <= len; step = step < 8 ? step + 1 : step * 2) {
		reset_fake();
		struct lmtp_session *s = fresh();
		for (size_t i = 0; i < len; i += step)
			lmtp_session_input(s, conv + i, i + step <= len ? step : len - i);
		lmtp_session_flush(s);
		cr_assert_str_eq(F.out, want, "chunk size %zu", step);
		cr_assert_str_eq(F.data, "second\r\n");
		cr_assert_eq(F.deliveries, 3);
		cr_assert(lmtp_session_closed(s));
		done(s);
	}
}

Test(lmtp_proto, replies_wait_for_flush_until_input_is_drained)
{
	struct lmtp_session *s = ready();
	lmtp_session_input(s, "NOOP\r\nNOOP\r\n", 12);
	cr_assert_eq(F.out_len, 0, "replies must be held while the client's batch is processed");
	lmtp_session_flush(s);
	expect("250 2.0.0 OK\r\n250 2.0.0 OK\r\n");
	done(s);
}

Test(lmtp_proto, command_line_limit_keeps_sync)
{
	struct lmtp_session *s = ready();
	char line[700];
	/* 510 characters + CRLF = 512 octets: the longest legal command line */
	memset(line, 'x', sizeof line);
	memcpy(line, "NOOP ", 5);
	memcpy(line + 510, "\r\n", 3);
	feed(s, line);
	expect("250 2.0.0 OK\r\n");
	memset(line, 'x', sizeof line);
	memcpy(line, "NOOP ", 5);
	memcpy(line + 511, "\r\n", 3);
	feed(s, line);
	expect("500 5.5.6 Error: line too long\r\n");
	/* an overlong line arriving in pieces is answered once, and the next command still works */
	memset(line, 'y', 600);
	line[600] = '\0';
	feed(s, line);
	feed(s, line);
	cr_assert_eq(F.out_len, 0);
	feed(s, "\r\nNOOP\r\n");
	expect("500 5.5.6 Error: line too long\r\n250 2.0.0 OK\r\n");
	done(s);
}

Test(lmtp_proto, data_line_limit_rejects_message_per_recipient)
{
	struct lmtp_session *s = ready();
	char line[1100];
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
	clear_out();
	memset(line, 'a', sizeof line);
	memcpy(line + 998, "\r\n", 3);      /* exactly 1000 octets */
	feed(s, line);
	feed(s, ".\r\n");
	expect("250 2.0.0 <alice@x> delivered\r\n");
	cr_assert_eq(F.data_len, 1000);

	SET.size_limit = 0;
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n");
	clear_out();
	memset(line, 'a', sizeof line);
	memcpy(line + 999, "\r\n", 3);      /* 1001 octets */
	feed(s, line);
	feed(s, "more data\r\n.\r\nNOOP\r\n");
	expect("554 5.5.6 <alice@x> Error: message has a line longer than 1000 octets\r\n"
	       "554 5.5.6 <bob@x> Error: message has a line longer than 1000 octets\r\n"
	       "250 2.0.0 OK\r\n");
	cr_assert_eq(F.deliveries, 1, "the rejected message must not be delivered");
	done(s);
}

Test(lmtp_proto, size_parameter_and_oversized_data)
{
	SET.size_limit = 100;
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b> SIZE=101\r\n");
	expect("552 5.3.4 Error: message size exceeds fixed limit of 100 bytes\r\n");
	feed(s, "MAIL FROM:<a@b> SIZE=100\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n");
	clear_out();
	for (int i = 0; i < 20; i++)
		feed(s, "0123456789\r\n");
	feed(s, ".\r\n");
	expect("552 5.3.4 <alice@x> Error: message size exceeds fixed limit of 100 bytes\r\n"
	       "552 5.3.4 <bob@x> Error: message size exceeds fixed limit of 100 bytes\r\n");
	cr_assert_eq(F.deliveries, 0);
	cr_assert_leq(F.data_len, 100, "writing must stop at the limit");
	/* the session is still usable */
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nsmall\r\n.\r\n");
	cr_assert(strstr(F.out, "250 2.0.0 <alice@x> delivered\r\n"), "%s", F.out);
	done(s);
}

Test(lmtp_proto, mail_parameters)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b> FOO=bar\r\n");
	expect("555 5.5.4 Error: unsupported parameter FOO\r\n");
	feed(s, "MAIL FROM:<a@b> BODY=BINARYMIME\r\n");
	expect("501 5.5.4 Error: BODY must be 7BIT or 8BITMIME\r\n");
	feed(s, "MAIL FROM:<a@b> SIZE=12x\r\n");
	expect("501 5.5.4 Error: bad SIZE parameter\r\n");
	feed(s, "MAIL FROM:<a@b> body=7bit size=5\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n");
	feed(s, "RCPT TO:<alice@x> XYZZY=1\r\n");
	expect("555 5.5.4 Error: unsupported parameter XYZZY\r\n");
	done(s);
}

Test(lmtp_proto, address_syntax_errors_are_501)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:a@b\r\nMAIL TO:<a@b>\r\nMAIL FROM:<a@b\r\nMAIL FROM:<a b@c>\r\n");
	expect("501 5.1.7 Error: bad sender address syntax\r\n501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	       "501 5.1.7 Error: bad sender address syntax\r\n501 5.1.7 Error: bad sender address syntax\r\n");
	feed(s, "MAIL FROM: <@relay.example:a@b>\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n");
	feed(s, "RCPT TO:<>\r\nRCPT TO:alice\r\nRCPT TO:<\"odd > name\"@x>\r\n");
	expect("501 5.1.3 Error: bad recipient address syntax\r\n501 5.1.3 Error: bad recipient address syntax\r\n"
	       "250 2.1.5 <\"odd > name\"@x> OK\r\n");
	done(s);
}

Test(lmtp_proto, recipient_limit_is_452_4_5_3)
{
	SET.max_recipients = 2;
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<nouser@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\n"
		"RCPT TO:<carol@x>\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n550 5.1.1 <nouser@x> unknown user\r\n250 2.1.5 <alice@x> OK\r\n"
	       "250 2.1.5 <bob@x> OK\r\n452 4.5.3 <carol@x> Error: too many recipients\r\n");
	done(s);
}

Test(lmtp_proto, error_limit_closes_with_421)
{
	SET.max_errors = 3;
	struct lmtp_session *s = ready();
	feed(s, "BOGUS\r\nRCPT TO:<a@b>\r\nNOOP\r\n\r\nNOOP\r\n");
	expect("500 5.5.2 Error: command not recognized\r\n503 5.5.1 Error: need MAIL command\r\n"
	       "250 2.0.0 OK\r\n500 5.5.2 Error: command not recognized\r\n"
	       "421 4.7.0 mx.test Error: too many errors\r\n");
	cr_assert(lmtp_session_closed(s));
	done(s);
}

Test(lmtp_proto, rset_noop_vrfy_help_quit)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\n");
	cr_assert_eq(F.handles, 1);
	clear_out();
	feed(s, "RSET\r\n");
	expect("250 2.0.0 OK\r\n");
	cr_assert_eq(F.handles, 0, "RSET releases the recipients");
	feed(s, "RCPT TO:<alice@x>\r\nRSET now\r\n");
	expect("503 5.5.1 Error: need MAIL command\r\n501 5.5.4 Syntax: RSET\r\n");
	feed(s, "MAIL FROM:<a@b>\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n");
	feed(s, "NOOP\r\nVRFY alice\r\nVRFY\r\nHELP\r\nEXPN list\r\n");
	expect("250 2.0.0 OK\r\n252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	       "501 5.5.4 Syntax: VRFY address\r\n"
	       "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n"
	       "502 5.5.1 Error: command not implemented\r\n");
	/* LHLO mid-transaction also resets it */
	feed(s, "RCPT TO:<alice@x>\r\nLHLO c\r\nRCPT TO:<alice@x>\r\n");
	cr_assert(strstr(F.out, "503 5.5.1 Error: need MAIL command\r\n"), "%s", F.out);
	clear_out();
	feed(s, "QUIT\r\nNOOP\r\n");
	expect("221 2.0.0 mx.test closing connection\r\n");
	cr_assert(lmtp_session_closed(s));
	done(s);
}

Test(lmtp_proto, unknown_and_nul_commands)
{
	struct lmtp_session *s = ready();
	lmtp_session_input(s, "NO\0OP\r\n", 7);
	feed(s, "FOO bar\r\n");
	expect("500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n");
	done(s);
}

Test(lmtp_proto, disconnect_mid_data_leaves_nothing)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\npartial line\r\nmore");
	cr_assert(F.spool_open);
	lmtp_session_eof(s);
	cr_assert(lmtp_session_closed(s));
	cr_assert(!F.spool_open, "the spool is dropped on disconnect");
	cr_assert_eq(F.handles, 0);
	cr_assert_eq(F.deliveries, 0);
	done(s);
}

Test(lmtp_proto, timeout_and_shutdown)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\n");
	clear_out();
	cr_assert(!lmtp_session_shutdown(s), "a transaction in progress is let finish");
	cr_assert_eq(F.out_len, 0);
	feed(s, "RSET\r\n");
	clear_out();
	feed(s, "NOO");
	cr_assert(!lmtp_session_shutdown(s), "a half-received command is let finish");
	feed(s, "P\r\n");
	clear_out();
	cr_assert(lmtp_session_shutdown(s));
	expect("421 4.3.2 mx.test Service shutting down, closing connection\r\n");
	lmtp_session_free(s);

	s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nhalf");
	clear_out();
	lmtp_session_timeout(s);
	expect("421 4.4.2 mx.test Error: timeout exceeded\r\n");
	cr_assert(lmtp_session_closed(s));
	cr_assert_eq(F.deliveries, 0);
	done(s);
}

Test(lmtp_proto, line_counter_moves_per_complete_line)
{
	struct lmtp_session *s = ready();
	unsigned long long n = lmtp_session_lines(s);
	feed(s, "NOOP");
	cr_assert_eq(lmtp_session_lines(s), n);
	feed(s, "\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\nab");
	cr_assert_eq(lmtp_session_lines(s), n + 4);
	feed(s, "c\r\n.\r\n");
	cr_assert_eq(lmtp_session_lines(s), n + 6);
	done(s);
}

Test(lmtp_proto, spool_failure_answers_data)
{
	F.fail_open = true;
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
	expect("250 2.1.0 <a@b> sender OK\r\n250 2.1.5 <alice@x> OK\r\n451 4.3.0 cannot create spool\r\n");
	feed(s, "RSET\r\n");
	done(s);
}

Test(lmtp_proto, client_gone_stops_further_deliveries)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\nx\r\n");
	F.sends_left = 1;
	feed(s, ".\r\n");
	cr_assert_eq(F.deliveries, 2, "the reply for bob could not be sent: carol is left to the retry");
	cr_assert(lmtp_session_closed(s));
	done(s);
}

Test(lmtp_proto, long_session_releases_everything)
{
	struct lmtp_session *s = ready();
	char qid_first[32] = "";
	for (int i = 0; i < 20000; i++) {
		feed(s, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\nhello\r\n.\r\n");
		if (i == 0)
			snprintf(qid_first, sizeof qid_first, "%s", F.last_qid);
		cr_assert_eq(F.handles, 0);
		clear_out();
	}
	cr_assert_eq(F.deliveries, 40000);
	cr_assert_str_neq(qid_first, F.last_qid, "each transaction has its own queue id");
	done(s);
}

/* ---- DSN (RFC 3461) and SMTPUTF8 (RFC 6531) ---- */

Test(lmtp_proto, dsn_parameters_are_accepted_and_orcpt_reaches_the_delivery)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<a@x> RET=HDRS ENVID=QQ+2B1\r\n"
		"RCPT TO:<bob@x> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2BList@example.org\r\n"
		"DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n");
	cr_assert(strstr(F.out, "250 2.1.5 <bob@x> OK"), "%s", F.out);
	cr_assert(strstr(F.out, "250 2.0.0 <bob@x> delivered"), "%s", F.out);
	cr_assert_str_eq(F.last_orcpt, "Bob+List@example.org");
	clear_out();
	feed(s, "MAIL FROM:<a@x>\r\nRCPT TO:<bob@x> NOTIFY=NEVER\r\nDATA\r\n\r\nx\r\n.\r\n");
	cr_assert_str_eq(F.last_orcpt, "(none)");
	clear_out();
	feed(s, "MAIL FROM:<a@x> RET=ALL\r\n");
	expect("501 5.5.4 Error: RET must be FULL or HDRS\r\n");
	feed(s, "MAIL FROM:<a@x>\r\nRCPT TO:<bob@x> NOTIFY=SUCCESS,NEVER\r\n"
		"RCPT TO:<bob@x> ORCPT=x400;foo\r\nRCPT TO:<bob@x> ORCPT=rfc822;a+zz\r\n");
	expect("250 2.1.0 <a@x> sender OK\r\n501 5.5.4 Error: bad NOTIFY parameter\r\n"
	       "501 5.5.4 Error: bad ORCPT parameter\r\n501 5.5.4 Error: bad ORCPT parameter\r\n");
	done(s);
}

Test(lmtp_proto, utf8_addresses_need_smtputf8_and_must_be_utf8)
{
	struct lmtp_session *s = ready();
	feed(s, "MAIL FROM:<j\xc3\xbcrgen@x>\r\n");
	expect("553 5.6.7 <j\xc3\xbcrgen@x> Error: non-ASCII address without SMTPUTF8\r\n");
	feed(s, "MAIL FROM:<a@x>\r\nRCPT TO:<j\xc3\xbcrgen@x>\r\nRSET\r\n");
	cr_assert(strstr(F.out, "553 5.6.7 <j\xc3\xbcrgen@x> Error: non-ASCII address without SMTPUTF8"), "%s", F.out);
	clear_out();
	feed(s, "MAIL FROM:<j\xc3\xbcrgen@x> SMTPUTF8\r\nRCPT TO:<\xe7\x94\xb0\xe4\xb8\xad@x> "
		"ORCPT=utf-8;\\x{7530}\\x{4E2D}@example.jp\r\nDATA\r\n\r\nx\r\n.\r\n");
	cr_assert(strstr(F.out, "250 2.0.0 <\xe7\x94\xb0\xe4\xb8\xad@x> delivered"), "%s", F.out);
	cr_assert_str_eq(F.last_sender, "j\xc3\xbcrgen@x");
	cr_assert_str_eq(F.last_orcpt, "\xe7\x94\xb0\xe4\xb8\xad@example.jp");
	clear_out();
	feed(s, "MAIL FROM:<a@x> SMTPUTF8\r\nRCPT TO:<\xc3\x28@x>\r\n");
	cr_assert(strstr(F.out, "553 5.6.7 Error: address is not valid UTF-8"), "%s", F.out);
	done(s);
}

/* ---- XFORWARD (trusted clients only) and the Received line ---- */

static void one_message(struct lmtp_session *s, const char *rcpts)
{
	char cmd[512];
	feed(s, "MAIL FROM:<a@b.example>\r\n");
	for (const char *p = rcpts; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(cmd, sizeof cmd, "RCPT TO:<%.*s>\r\n", (int)n, p);
		feed(s, cmd);
		p += n + (p[n] == ' ');
	}
	feed(s, "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
}

Test(lmtp_proto, xforward_is_refused_to_an_untrusted_client)
{
	struct lmtp_session *s = fresh();
	clear_out();
	feed(s, "LHLO client.test\r\n");
	cr_assert_null(strstr(F.out, "XFORWARD"), "not advertised: %s", F.out);
	clear_out();
	feed(s, "XFORWARD NAME=evil.example ADDR=192.0.2.66\r\n");
	expect("550 5.7.0 Error: insufficient authorization\r\n");
	one_message(s, "alice");
	cr_assert_str_eq(F.last_client, "test", "the log names the real client");
	done(s);
}

Test(lmtp_proto, xforward_names_the_original_client_for_one_transaction)
{
	SET.xforward = true;
	SET.received_header = true;
	struct lmtp_session *s = fresh();
	clear_out();
	feed(s, "LHLO postfix.test\r\n");
	cr_assert(strstr(F.out, "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n"), "%s", F.out);
	clear_out();
	feed(s, "XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2 PORT=4711\r\n"
		"XFORWARD PROTO=ESMTP HELO=spike IDENT=4BCDE SOURCE=REMOTE\r\n");
	expect("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
	one_message(s, "alice");
	cr_assert_str_eq(F.last_client, "spike.porcupine.org[168.100.189.2]");
	static const char first[] = "Received: from spike (spike.porcupine.org[168.100.189.2]) (forwarded by test)\r\n"
				    "\tby mx.test (mda) with LMTP id S11\r\n\tfor <alice>;\r\n\t";
	cr_assert(strncmp(F.data, first, sizeof first - 1) == 0, "%s", F.data);
	cr_assert(strstr(F.data, "\r\nSubject: x\r\n\r\nbody\r\n"), "the message follows: %s", F.data);
	/* The next transaction has no XFORWARD: it is the LMTP client's own again. */
	one_message(s, "alice bob");
	cr_assert_str_eq(F.last_client, "test");
	static const char second[] = "Received: from postfix.test (test)\r\n\tby mx.test (mda) with LMTP id S12;\r\n\t";
	cr_assert(strncmp(F.data, second, sizeof second - 1) == 0, "no 'for' with two recipients: %s", F.data);
	done(s);
}

Test(lmtp_proto, xforward_rejects_bad_attributes_and_mid_transaction_use)
{
	SET.xforward = true;
	struct lmtp_session *s = ready();
	feed(s, "XFORWARD\r\n");
	expect("501 5.5.4 Syntax: XFORWARD attribute=value...\r\n");
	feed(s, "XFORWARD COLOR=red\r\n");
	expect("501 5.5.4 Bad XFORWARD attribute: COLOR\r\n");
	feed(s, "XFORWARD NAME=a+0Ab.example\r\n");
	expect("501 5.5.4 Bad XFORWARD attribute: NAME\r\n");     /* a line break in a log line */
	feed(s, "XFORWARD HELO=x(y)\r\n");
	expect("501 5.5.4 Bad XFORWARD attribute: HELO\r\n");
	feed(s, "XFORWARD NAME=ok.example ADDR=IPV6:2001:db8::1\r\nXFORWARD NAME=[UNAVAILABLE]\r\n");
	expect("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
	feed(s, "MAIL FROM:<a@b.example>\r\nXFORWARD NAME=late.example\r\n");
	expect("250 2.1.0 <a@b.example> sender OK\r\n503 5.5.1 Error: MAIL transaction in progress\r\n");
	feed(s, "RCPT TO:<alice>\r\nDATA\r\nx\r\n.\r\n");
	cr_assert_str_eq(F.last_client, "unknown[IPV6:2001:db8::1]", "NAME cleared, ADDR kept");
	done(s);
}

Test(lmtp_proto, no_received_line_when_turned_off)
{
	struct lmtp_session *s = ready();
	one_message(s, "alice");
	cr_assert(strncmp(F.data, "Subject: x\r\n", 12) == 0, "%s", F.data);
	done(s);
}
