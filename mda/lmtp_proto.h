/* The LMTP protocol state machine (RFC 2033): bytes in, reply lines out, delivery through callbacks. */
#ifndef MDA_LMTP_PROTO_H
#define MDA_LMTP_PROTO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/result.h"
#include "mda/deliver.h"

/* RFC 5321 4.5.3.1: limits on a command line and a text line, CRLF included. */
#define LMTP_CMD_LINE_MAX 512
#define LMTP_DATA_LINE_MAX 1000

/* What the session needs from the outside world. The state machine never touches a file or a
 * socket itself, so the unit tests drive it with a fake delivery and an in-memory output. */
struct lmtp_ops {
	/* RCPT time: look the address up and expand it; *handle keeps whatever deliver needs and
	 * is given back to rcpt_release. Returns r->ex (EX_OK accepts the recipient). */
	int (*rcpt_prepare)(void *ctx, const char *addr, void **handle, struct result *r);
	void (*rcpt_release)(void *ctx, void *handle);
	/* DATA: one spool per transaction, written in any chunking, LF or CRLF line ends. */
	int (*data_open)(void *ctx, struct result *r);
	int (*data_write)(void *ctx, const char *buf, size_t len, struct result *r);
	int (*data_finish)(void *ctx, struct result *r);
	/* Closes the spool (after delivery, or on abort). Must be safe after a failed data_open. */
	void (*data_close)(void *ctx);
	/* Delivers the finished spool to one accepted recipient; orcpt is its decoded DSN ORCPT
	 * (the address the client was first given, for X-Original-To) or NULL; returns r->ex. */
	int (*deliver)(void *ctx, const struct envelope *env, const char *addr, const char *orcpt,
		       void *handle, struct result *r);
	/* Sends reply bytes to the client now; false when the client is gone. */
	bool (*send)(void *ctx, const char *buf, size_t len);
};

struct lmtp_settings {
	const char *hostname;      /* in the greeting and replies */
	const char *session_id;    /* fixed-width prefix of every transaction's queue id */
	const char *peer;          /* for log lines */
	long long size_limit;      /* message bytes, 0 = unlimited */
	unsigned max_recipients;   /* accepted RCPTs per transaction, 0 = unlimited */
	unsigned max_errors;       /* protocol errors before 421, 0 = unlimited */
	unsigned junk_limit;       /* NOOP/RSET/VRFY/HELP before each one counts as an error, 0 = unlimited */
	bool reject_bare_lf;       /* lmtp_bare_newline = reject: a line ended by a bare LF is refused */
	bool xforward;             /* the client may send XFORWARD (lmtp_xforward_clients) */
	bool received_header;      /* write a Received: line at the top of each message */
};

struct lmtp_session;

/* A new session (copies the settings' strings). NULL only on allocation failure. */
struct lmtp_session *lmtp_session_new(const struct lmtp_settings *set, const struct lmtp_ops *ops,
				      void *ctx);
/* Aborts any transaction (releasing recipients and the spool) and frees the session. NULL is fine. */
void lmtp_session_free(struct lmtp_session *s);

/* Queues the 220 greeting and flushes it. */
void lmtp_session_start(struct lmtp_session *s);
/* Consumes every byte of buf (partial lines are kept for the next call), running commands and
 * deliveries as they complete. Replies are queued; call lmtp_session_flush once the caller has
 * no more input at hand (RFC 2920). Never fails; a dead client shows in lmtp_session_closed. */
void lmtp_session_input(struct lmtp_session *s, const char *buf, size_t len);
/* Sends queued replies. Returns false when the client is gone. */
bool lmtp_session_flush(struct lmtp_session *s);

/* The client went away: drop the transaction (no partial message survives). */
void lmtp_session_eof(struct lmtp_session *s);
/* The caller's clock ran out: 421 4.4.2, abort, close. */
void lmtp_session_timeout(struct lmtp_session *s);
/* The server is stopping: 421 4.3.2 and close, but only between transactions; returns true
 * when it closed, false when a transaction is in progress (ask again after more input). */
bool lmtp_session_shutdown(struct lmtp_session *s);

/* The session time limit is over: the next command outside a transaction (QUIT excepted) is
 * answered 421 4.4.2 and the session closes; a transaction in progress is let finish. */
void lmtp_session_expire(struct lmtp_session *s);

/* True once the session is over (QUIT, 421, or a client that cannot be written to). */
bool lmtp_session_closed(const struct lmtp_session *s);
/* Complete lines (commands and DATA lines) seen so far; callers restart their timeout clock
 * whenever it moves, which bounds the time a client may take over one line. */
unsigned long long lmtp_session_lines(const struct lmtp_session *s);

/* ------------------------------------------------------------------------------------------
 * The connection driver (mda/lmtp_session.c): the state machine above on a pair of descriptors,
 * with mda/deliver.h and an mbox spool behind the callbacks. Shared by -l and -L.
 * ------------------------------------------------------------------------------------------ */

/* Serves one session on in_fd/out_fd with cfg's limits until QUIT, disconnect, timeout, or *stop
 * set (honoured between transactions). Returns EX_OK, or EX_TEMPFAIL if delivery cannot start. */
struct lmtp_peer;
int lmtp_run_session(const struct config *cfg, int in_fd, int out_fd, const struct lmtp_peer *peer,
		     volatile sig_atomic_t *stop);

#endif
