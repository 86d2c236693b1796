/* Logging to syslog (facility mail) or stderr, one grep-able line per event. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

/* Chooses the destination: "stderr" writes "ident: line" to stderr, anything else syslog
 * with LOG_MAIL. Call again after a configuration reload. */
void log_init(const char *ident, const char *destination);

/* Drops the lines less urgent than prio from now on (the default LOG_DEBUG keeps all): mail(1)
 * keeps its routine LOG_INFO lines for `verbose`. Never fails. */
void log_set_threshold(int prio);

/* Logs one line at priority prio (LOG_INFO, LOG_WARNING, LOG_ERR). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failure that stops a program before it serves anything (configuration, listening
 * sockets): logged as log_msg does and, when the log is syslog, also written to stderr, so
 * the administrator who started it sees why at once (syslog may go nowhere yet). */
void log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With log=stderr, keeps the lines (the process's and those of its forked children) back
 * until log_release_stderr, so that the first line an MTA reads is the final status line:
 * Postfix takes the DSN and its class from the first "D.S.N text" of a command's output.
 * False when not logging to stderr or when no buffer can be had (lines then go out at once). */
bool log_hold_stderr(void);
/* Writes the held lines to err and goes back to writing them at once. */
void log_release_stderr(FILE *err);

#endif
