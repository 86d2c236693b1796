/* The shared result type: construction and the single mapping to reply codes. */
#include "common/result.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void res_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Reasons quote outside text (recipient names, command output): one line, always. */
static void set_text(struct result *r, const char *dsn, const char *fmt, va_list ap)
{
	snprintf(r->dsn, sizeof r->dsn, "%s", dsn);
	res_printable(r->dsn);
	r->reason[0] = '\0';
	if (fmt)
		vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	res_printable(r->reason);
}

struct result res_ok(const char *fmt, ...)
{
	struct result r = { .ex = EX_OK };
	va_list ap;
	va_start(ap, fmt);
	set_text(&r, "2.0.0", fmt, ap);
	va_end(ap);
	return r;
}

int res_set(struct result *r, int ex, const char *dsn, const char *fmt, ...)
{
	va_list ap;
	r->ex = ex;
	va_start(ap, fmt);
	set_text(r, dsn, fmt, ap);
	va_end(ap);
	return ex;
}

/* Out of space or quota is "mailbox full" (4.2.2) to the sender; other
 * local resource trouble is a system problem (4.3.0). */
static const char *errno_dsn(int err, bool perm)
{
	if (err == ENOSPC || err == EDQUOT || err == EFBIG)
		return perm ? "5.2.2" : "4.2.2";
	if (err == EACCES || err == EPERM || err == EROFS)
		return perm ? "5.7.1" : "4.2.1";
	return perm ? "5.3.0" : "4.3.0";
}

int res_errno(struct result *r, int err, bool perm, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	r->ex = perm ? EX_UNAVAILABLE : EX_TEMPFAIL;
	va_start(ap, fmt);
	set_text(r, errno_dsn(err, perm), fmt, ap);
	va_end(ap);
	len = strlen(r->reason);
	if (len < sizeof r->reason)
		snprintf(r->reason + len, sizeof r->reason - len, ": %s", strerror(err));
	return r->ex;
}

bool res_is_ok(const struct result *r)
{
	return r->ex == EX_OK;
}

bool res_is_temp(const struct result *r)
{
	return r->ex == EX_TEMPFAIL || r->ex == EX_OSERR || r->dsn[0] == '4';
}

int res_reply_code(const struct result *r)
{
	if (res_is_ok(r))
		return 250;
	if (res_is_temp(r)) {
		if (strcmp(r->dsn, "4.2.2") == 0 || strncmp(r->dsn, "4.3.1", 5) == 0 ||
		    strcmp(r->dsn, "4.5.3") == 0)
			return 452;
		if (strncmp(r->dsn, "4.2.", 4) == 0)
			return 450;
		return 451;
	}
	if (strcmp(r->dsn, "5.2.2") == 0 || strcmp(r->dsn, "5.3.4") == 0 || strcmp(r->dsn, "5.2.3") == 0)
		return 552;
	if (strcmp(r->dsn, "5.6.7") == 0)
		return 553;     /* RFC 6531 3.7.4.2: a non-ASCII address this server cannot take */
	if (strncmp(r->dsn, "5.1.", 4) == 0 || strncmp(r->dsn, "5.2.", 4) == 0 ||
	    strncmp(r->dsn, "5.7.", 4) == 0)
		return 550;
	return 554;
}
