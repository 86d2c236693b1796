/* User lookup: the configured passwd file serves tests and virtual setups, getpwnam the rest. */
#include "common/user.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

bool user_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > USER_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x21 || *p == 0x7f || strchr("/\\|&;<>()$`'\"*?[]{}~!#,:@", *p))
			return false;
	}
	return true;
}

static void copy_entry(const struct passwd *pw, struct user_info *out)
{
	snprintf(out->name, sizeof out->name, "%s", pw->pw_name);
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	snprintf(out->home, sizeof out->home, "%s", pw->pw_dir ? pw->pw_dir : "/");
	snprintf(out->shell, sizeof out->shell, "%s", pw->pw_shell ? pw->pw_shell : "/bin/sh");
}

/* Scans a passwd-format file for a name (or, when name is NULL, for uid). */
static enum user_status scan_file(const char *path, const char *name, uid_t uid, struct user_info *out,
				  struct result *r)
{
	FILE *fp = fopen(path, "re");
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (!fp) {
		res_errno(r, errno, false, "cannot open passwd_file %s", path);
		return USER_LOOKUP_ERROR;
	}
	while (fgetpwent_r(fp, &pw, buf, sizeof buf, &found) == 0) {
		if (name ? strcmp(pw.pw_name, name) == 0 : pw.pw_uid == uid) {
			copy_entry(&pw, out);
			fclose(fp);
			return USER_FOUND;
		}
	}
	fclose(fp);
	return USER_UNKNOWN;
}

static enum user_status system_result(struct passwd *found, int err, struct user_info *out,
				      struct result *r)
{
	if (found) {
		copy_entry(found, out);
		return USER_FOUND;
	}
	/* getpwnam_r reports "not found" as 0 or one of these; anything else is NSS trouble. */
	if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)
		return USER_UNKNOWN;
	res_errno(r, err, false, "user lookup failed");
	return USER_LOOKUP_ERROR;
}

enum user_status user_lookup(const struct config *cfg, const char *name, struct user_info *out,
			     struct result *r)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (!user_name_valid(name))
		return USER_UNKNOWN;
	if (cfg->passwd_file[0])
		return scan_file(cfg->passwd_file, name, 0, out, r);
	int err = getpwnam_r(name, &pw, buf, sizeof buf, &found);
	return system_result(found, err, out, r);
}

enum user_status user_lookup_uid(const struct config *cfg, uid_t uid, struct user_info *out,
				 struct result *r)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (cfg->passwd_file[0])
		return scan_file(cfg->passwd_file, NULL, uid, out, r);
	int err = getpwuid_r(uid, &pw, buf, sizeof buf, &found);
	return system_result(found, err, out, r);
}
