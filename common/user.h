/* User lookup through getpwnam(3) or a passwd-format file, and user-name hygiene. */
#ifndef COMMON_USER_H
#define COMMON_USER_H

#include <stdbool.h>
#include <sys/types.h>
#include "common/config.h"

#define USER_NAME_MAX 64

struct user_info {
	char name[USER_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	char home[CFG_PATH_MAX];
	char shell[CFG_PATH_MAX];
};

enum user_status { USER_FOUND = 0, USER_UNKNOWN = 1, USER_LOOKUP_ERROR = -1 };

/* True when name is safe to build a path from: 1..USER_NAME_MAX bytes, no '/', no leading
 * '.' or '-', no control characters, space or shell/address metacharacters. */
bool user_name_valid(const char *name);

/* Looks name up in cfg->passwd_file if set, else the system database. Names are
 * matched exactly (callers lowercase when they want case-insensitivity).
 * USER_LOOKUP_ERROR means the lookup itself failed (temporary); r says why. */
enum user_status user_lookup(const struct config *cfg, const char *name, struct user_info *out,
			     struct result *r);

/* Same for a numeric uid (used to name the owner of a file). */
enum user_status user_lookup_uid(const struct config *cfg, uid_t uid, struct user_info *out,
				 struct result *r);

#endif
