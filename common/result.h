/* The one outcome type every library returns: sysexits code, enhanced status code, one sentence. */
#ifndef COMMON_RESULT_H
#define COMMON_RESULT_H

#include <stdbool.h>
#include <sysexits.h>

struct result {
	int ex;              /* sysexits code: EX_OK on success, EX_TEMPFAIL for retryable trouble */
	char dsn[12];        /* RFC 3463 enhanced status code, e.g. "2.0.0", "4.2.2", "5.1.1" */
	char reason[256];    /* one human sentence, no trailing newline */
};

/* A success result with dsn 2.0.0 and the given reason (may be NULL).
 * Never fails. */
struct result res_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fills *r with EX code, dsn and a formatted reason; returns r->ex so callers can
 * `return res_set(r, EX_TEMPFAIL, "4.2.0", "...")`. The reason is truncated, never overflowed. */
int res_set(struct result *r, int ex, const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like res_set for a failed system call: appends ": strerror(err)" and picks the class:
 * resource errors (ENOSPC, EDQUOT, EIO, ENOMEM, EAGAIN, EINTR, ...) are temporary 4.3.x/4.2.2,
 * the rest temporary too unless perm is true. Returns r->ex. */
int res_errno(struct result *r, int err, bool perm, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replaces every control character (CR, LF, TAB, ESC, NUL-free C0 and DEL) in s by '?',
 * as Postfix's printable() does: text from outside cannot start a new log, stderr or reply
 * line. Bytes >= 0x80 (UTF-8) are kept. Never fails. */
void res_printable(char *s);

bool res_is_ok(const struct result *r);
/* Temporary: the sender's MTA should retry (EX_TEMPFAIL, EX_OSERR, dsn 4.x.x). */
bool res_is_temp(const struct result *r);

/* The SMTP/LMTP reply code for this result (250, 450, 451, 452, 550, 552, 554). This is the
 * only mapping from results to reply codes; never hard-code one elsewhere. */
int res_reply_code(const struct result *r);

#endif
