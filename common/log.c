/* Logging backend; the destination is chosen once per configuration load. */
#include "common/log.h"
#include "common/result.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static bool to_stderr = true;
static char log_ident[32] = "mda";
static int threshold = LOG_DEBUG;
static int held_fd = -1;       /* log_hold_stderr: lines wait here, children write here too */

void log_init(const char *ident, const char *destination)
{
	snprintf(log_ident, sizeof log_ident, "%s", ident);
	to_stderr = destination && strcmp(destination, "stderr") == 0;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_threshold(int prio)
{
	threshold = prio;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	if (prio > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Arguments quote outside text (recipient names, addresses, file names): a newline in
	 * one must not forge a second log line. */
	res_printable(line);
	if (to_stderr) {
		const char *level = prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "";
		if (held_fd >= 0) {
			/* One write(2) of the whole line on an O_APPEND file: forked children
			 * (privilege-dropped deliveries) add theirs without interleaving. */
			dprintf(held_fd, "%s: %s%s\n", log_ident, level, line);
			return;
		}
		fprintf(stderr, "%s: %s%s\n", log_ident, level, line);
	} else {
		syslog(prio, "%s", line);
	}
}

void log_startup_error(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s", line);
	if (!to_stderr) {
		res_printable(line);
		fprintf(stderr, "%s: error: %s\n", log_ident, line);
	}
}

bool log_hold_stderr(void)
{
	if (!to_stderr || held_fd >= 0)
		return false;
	held_fd = memfd_create("mda-log", MFD_CLOEXEC);
	if (held_fd < 0)
		return false;
	fcntl(held_fd, F_SETFL, O_APPEND | O_WRONLY);
	return true;
}

void log_release_stderr(FILE *err)
{
	char buf[8192];
	off_t off = 0;
	ssize_t n;
	if (held_fd < 0)
		return;
	fflush(err);
	while ((n = pread(held_fd, buf, sizeof buf, off)) > 0) {
		fwrite(buf, 1, (size_t)n, err);
		off += n;
	}
	fflush(err);
	close(held_fd);
	held_fd = -1;
}
