/* One LMTP connection: descriptor I/O with bounded time per line, and the state machine's
 * callbacks implemented with mda/deliver.h (the same delivery code as stdin mode) and a spool. */
#include "mda/lmtp_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "mbox/mbox.h"
#include "mda/deliver.h"
#include "mda/lmtp_peer.h"

/* One read's worth; replies are flushed after each, which is what RFC 2920 asks of a server. */
#define LMTP_READ_BUF 65536

struct lmtp_conn {
	const struct config *cfg;
	int in_fd;
	int out_fd;
	bool out_socket;           /* send(MSG_NOSIGNAL): a vanished client must not kill us */
	struct deliver_ctx dctx;
	struct mbox_spool spool;
	bool spool_open;
	bool memo_active;          /* retry memory running for this message */
	bool any_temp;             /* a recipient of this message failed temporarily */
};

/* ------------------------------------------------------------------------------------------
 * Delivery callbacks
 * ------------------------------------------------------------------------------------------ */

static int conn_rcpt_prepare(void *ctx, const char *addr, void **handle, struct result *r)
{
	struct lmtp_conn *c = ctx;
	struct action_list *l = calloc(1, sizeof *l);
	if (!l)
		return res_set(r, EX_OSERR, "4.3.0", "out of memory");
	if (deliver_prepare(&c->dctx, addr, l, r) != EX_OK) {
		action_list_free(l);
		free(l);
		return r->ex;
	}
	*handle = l;
	return EX_OK;
}

static void conn_rcpt_release(void *ctx, void *handle)
{
	struct lmtp_conn *c = ctx;
	deliver_release(&c->dctx, handle);   /* gives its destinations back to expansion_limit */
	free(handle);
}

static int conn_data_open(void *ctx, struct result *r)
{
	struct lmtp_conn *c = ctx;
	if (mbox_spool_open(&c->spool, c->cfg->tmp_dir, r) != EX_OK)
		return r->ex;
	c->spool_open = true;
	c->any_temp = false;
	return EX_OK;
}

static int conn_data_write(void *ctx, const char *buf, size_t len, struct result *r)
{
	struct lmtp_conn *c = ctx;
	return mbox_spool_write(&c->spool, buf, len, r);
}

/* The spool is complete: start the retry memory so that an alias whose branches partly failed
 * does not deliver the good branches twice when the MTA retries the recipient. */
static int conn_data_finish(void *ctx, struct result *r)
{
	struct lmtp_conn *c = ctx;
	if (mbox_spool_finish(&c->spool, r) != EX_OK)
		return r->ex;
	c->memo_active = true;
	return EX_OK;
}

static void conn_data_close(void *ctx)
{
	struct lmtp_conn *c = ctx;
	deliver_message_reset(&c->dctx);   /* the next transaction is a new message */
	if (c->memo_active)
		deliver_memo_end(&c->dctx, c->any_temp);
	c->memo_active = false;
	if (c->spool_open)
		mbox_spool_close(&c->spool);
	c->spool_open = false;
}

static int conn_deliver(void *ctx, const struct envelope *env, const char *addr, const char *orcpt,
			void *handle, struct result *r)
{
	struct lmtp_conn *c = ctx;
	/* The memo needs the envelope, which the finish callback does not see: begin it lazily. */
	if (c->memo_active && !c->dctx.memo) {
		struct result mr;
		if (deliver_memo_begin(&c->dctx, env, &c->spool, &mr) != EX_OK)
			log_msg(LOG_WARNING, "%s: %s; retries may repeat deliveries", env->queue_id, mr.reason);
	}
	/* DSN ORCPT, when the client sent one, is the original recipient (X-Original-To). */
	deliver_to_recipient_orig(&c->dctx, env, addr, orcpt, handle, &c->spool, r);
	if (!res_is_ok(r) && res_is_temp(r))
		c->any_temp = true;
	return r->ex;
}

/* Writes everything or reports the client gone. A socket send times out (SO_SNDTIMEO), so a
 * client that stops reading cannot hold the process forever. */
static bool conn_send(void *ctx, const char *buf, size_t len)
{
	struct lmtp_conn *c = ctx;
	while (len > 0) {
		ssize_t n = c->out_socket ? send(c->out_fd, buf, len, MSG_NOSIGNAL) : write(c->out_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static const struct lmtp_ops conn_ops = {
	.rcpt_prepare = conn_rcpt_prepare,
	.rcpt_release = conn_rcpt_release,
	.data_open = conn_data_open,
	.data_write = conn_data_write,
	.data_finish = conn_data_finish,
	.data_close = conn_data_close,
	.deliver = conn_deliver,
	.send = conn_send,
};

/* ------------------------------------------------------------------------------------------
 * The read loop
 * ------------------------------------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_socket(int fd)
{
	int type;
	socklen_t len = sizeof type;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

/* Waits for input until deadline; SIGTERM/SIGINT are let in only inside ppoll so that a stop
 * request is never lost between the check and the wait. 1 readable, 0 timeout, -1 stop. */
static int wait_input(int fd, long long deadline, volatile sig_atomic_t *stop,
		      struct lmtp_session *s)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	for (;;) {
		sigprocmask(SIG_BLOCK, &block, &old);
		if (stop && *stop && lmtp_session_shutdown(s)) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return 0;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
		int n = ppoll(&pfd, 1, &ts, &old);
		int err = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (n > 0)
			return 1;
		if (n < 0 && err != EINTR)
			return 1;          /* let read() report the error */
	}
}

static void session_loop(struct lmtp_session *s, struct lmtp_conn *c, int timeout,
			 volatile sig_atomic_t *stop)
{
	static char buf[LMTP_READ_BUF];
	unsigned long long lines = lmtp_session_lines(s);
	long long deadline = now_ms() + (long long)timeout * 1000;
	int limit = c->cfg->lmtp_session_time_limit;
	long long session_end = limit > 0 ? now_ms() + (long long)limit * 1000 : 0;
	while (!lmtp_session_closed(s)) {
		int w = wait_input(c->in_fd, deadline, stop, s);
		if (w < 0)
			return;
		if (w == 0) {
			lmtp_session_timeout(s);
			return;
		}
		ssize_t n = read(c->in_fd, buf, sizeof buf);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			lmtp_session_eof(s);
			return;
		}
		/* Past the session time limit the next command between transactions gets 421: a
		 * client cannot keep a connection slot forever by always sending something. */
		if (session_end && now_ms() >= session_end)
			lmtp_session_expire(s);
		lmtp_session_input(s, buf, (size_t)n);
		lmtp_session_flush(s);
		/* The clock restarts only when a whole line arrived, so a client trickling one
		 * byte at a time still gets cut after `timeout` seconds on that line. */
		if (lmtp_session_lines(s) != lines) {
			lines = lmtp_session_lines(s);
			deadline = now_ms() + (long long)timeout * 1000;
		}
	}
}

/* Session ids are fixed width, so "id + transaction counter" never collides across sessions. */
static void make_session_id(char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, size, "%08lX%06X", (unsigned long)ts.tv_sec & 0xffffffffUL,
		 (unsigned)getpid() & 0xffffff);
}

int lmtp_run_session(const struct config *cfg, int in_fd, int out_fd, const struct lmtp_peer *client,
		     volatile sig_atomic_t *stop)
{
	const char *peer = client->name;
	struct lmtp_conn c = { .cfg = cfg, .in_fd = in_fd, .out_fd = out_fd };
	struct result r;
	char sid[24];
	int timeout = cfg->lmtp_idle_timeout > 0 ? cfg->lmtp_idle_timeout : 300;
	c.spool.fd = -1;
	c.out_socket = is_socket(out_fd);
	if (c.out_socket) {
		struct timeval tv = { .tv_sec = timeout };
		setsockopt(out_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (deliver_init(&c.dctx, cfg, &r) != EX_OK) {
		char line[512];
		int n = snprintf(line, sizeof line, "421 %s %s\r\n", r.dsn, r.reason);
		log_msg(LOG_ERR, "cannot start an LMTP session for %s: %s", peer, r.reason);
		conn_send(&c, line, n > 0 && (size_t)n < sizeof line ? (size_t)n : 0);
		deliver_cleanup(&c.dctx);
		return EX_TEMPFAIL;
	}
	make_session_id(sid, sizeof sid);
	struct lmtp_settings set = {
		.hostname = c.dctx.hostname,
		.session_id = sid,
		.peer = peer,
		.size_limit = cfg->message_size_limit,
		.max_recipients = cfg->lmtp_max_recipients > 0 ? (unsigned)cfg->lmtp_max_recipients : 0,
		.max_errors = cfg->lmtp_max_errors > 0 ? (unsigned)cfg->lmtp_max_errors : 0,
		.junk_limit = cfg->lmtp_junk_command_limit > 0 ? (unsigned)cfg->lmtp_junk_command_limit : 0,
		.reject_bare_lf = cfg->lmtp_bare_newline == BARE_LF_REJECT,
		.xforward = lmtp_peer_listed(client, cfg->lmtp_xforward_clients),
		.received_header = cfg->lmtp_received_header,
	};
	struct lmtp_session *s = lmtp_session_new(&set, &conn_ops, &c);
	if (!s) {
		deliver_cleanup(&c.dctx);
		return EX_TEMPFAIL;
	}
	log_msg(LOG_INFO, "connect from %s", peer);
	lmtp_session_start(s);
	session_loop(s, &c, timeout, stop);
	lmtp_session_free(s);
	conn_data_close(&c);
	deliver_cleanup(&c.dctx);
	log_msg(LOG_INFO, "disconnect from %s", peer);
	return EX_OK;
}
