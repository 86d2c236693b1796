/* Mailbox quotas: the limit for a user (mailbox_size_limit and the quota_file overrides),
 * the warning thresholds a delivery crosses, and the warning's text. */
#ifndef COMMON_QUOTA_H
#define COMMON_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/result.h"

/* The byte limit of user's mailbox: the user's line in cfg->quota_file when there is one,
 * else cfg->mailbox_size_limit; 0 = none. The file is "user size" lines (size in bytes with
 * an optional k, M or G suffix, 0 = none; # comments), re-read when it changes. EX_OK, or
 * EX_CONFIG 4.3.5 "FILE:LINE: ..." / EX_TEMPFAIL when it cannot be read. */
int quota_limit(const struct config *cfg, const char *user, off_t *limit, struct result *r);

/* quota_scope = all: the bytes user's other mail takes besides target (the spool mailbox
 * spool_path and every regular file under folder_dir, symbolic links not followed, target
 * not counted), which the limit of an append to target must leave room for. 0 with
 * quota_scope = spool or no folder_dir. Measured outside the lock of those other files: two
 * deliveries racing for the last bytes of different files can overshoot by one message. */
off_t quota_bytes_elsewhere(const struct config *cfg, const char *spool_path, const char *folder_dir,
			    const char *target);

/* What a user's mail weighs against the limit, as a delivery counts it (mail's quota). */
struct quota_usage {
	char spool[CFG_PATH_MAX + 64];  /* the spool mailbox */
	char folders[CFG_PATH_MAX + 64];/* mail_folder_dir under home when quota_scope = all, else "" */
	off_t used;                     /* the spool mailbox, plus the folders with quota_scope = all */
	off_t limit;                    /* 0 = none */
};

/* Fills u for user (home for mail_folder_dir's ~/). EX_OK, or quota_limit's failure. */
int quota_usage(const struct config *cfg, const char *user, const char *home, struct quota_usage *u,
		struct result *r);

/* Checks quota_scope and quota_warning. EX_OK or EX_CONFIG naming the key. */
int quota_check_config(const struct config *cfg, struct result *r);

/* The highest quota_warning percentage that an append from before to after bytes crossed
 * (below it before, at or above it after) for limit, or 0 when none was. */
int quota_crossed(const struct config *cfg, off_t limit, off_t before, off_t after);

/* The warning message (header and body, LF line ends, NUL-terminated, malloc'd) telling
 * user that the mailbox is percent full (size of limit bytes): quota_warning_file with %u
 * %p %s %l replaced, or the built-in text. NULL when out of memory or unreadable. */
char *quota_warning_message(const struct config *cfg, const char *user, const char *hostname, int percent,
			    off_t size, off_t limit);

#endif
