/* Logging backend; the destination is chosen once per configuration load. */
#include "common/log.h"
#include "common/result.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool to_stderr = true;
static char log_ident[32] = "mda";

void log_init(const char *ident, const char *destination)
{
	snprintf(log_ident, sizeof log_ident, "%s", ident);
	to_stderr = destination && strcmp(destination, "stderr") == 0;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Arguments quote outside text (recipient names, addresses, file names): a newline in
	 * one must not forge a second log line. */
	res_printable(line);
	if (to_stderr) {
		const char *level = prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "";
		fprintf(stderr, "%s: %s%s\n", log_ident, level, line);
	} else {
		syslog(prio, "%s", line);
	}
}
