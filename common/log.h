/* Logging to syslog (facility mail) or stderr, one grep-able line per event. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <syslog.h>

/* Chooses the destination: "stderr" writes "ident: line" to stderr, anything else syslog
 * with LOG_MAIL. Call again after a configuration reload. */
void log_init(const char *ident, const char *destination);

/* Logs one line at priority prio (LOG_INFO, LOG_WARNING, LOG_ERR). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
