/* Temporary effective identity (setgroups + setegid + seteuid, then back to root): the one
 * place where mda's root process takes a user's rights, as Postfix's set_eugid does. */
#include "common/privs.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* What root had before the switch. */
struct saved_ids {
	gid_t egid;
	int ngroups;
	gid_t *groups;
};

/* Root again, or the process ends: going on as the user would be worse than any failure. */
static void restore(struct saved_ids *s)
{
	if (seteuid(0) != 0 || setegid(s->egid) != 0 || setgroups((size_t)s->ngroups, s->groups) != 0) {
		log_msg(LOG_CRIT, "cannot take back root's identity: %s", strerror(errno));
		_exit(EX_TEMPFAIL);
	}
	free(s->groups);
	s->groups = NULL;
}

static int save(struct saved_ids *s, struct result *r)
{
	s->egid = getegid();
	s->groups = NULL;
	s->ngroups = getgroups(0, NULL);
	if (s->ngroups < 0)
		return res_errno(r, errno, false, "getgroups");
	s->groups = malloc(((size_t)s->ngroups + 1) * sizeof *s->groups);
	if (!s->groups)
		return res_errno(r, ENOMEM, false, "saving groups");
	s->ngroups = getgroups(s->ngroups, s->groups);
	if (s->ngroups < 0) {
		int err = errno;
		free(s->groups);
		return res_errno(r, err, false, "getgroups");
	}
	return EX_OK;
}

int privs_call_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg, struct result *r)
{
	struct saved_ids s;
	if (geteuid() != 0 || uid == 0)
		return fn(arg);
	if (save(&s, r) != EX_OK)
		return -1;
	/* Groups and gid first: once the euid is the user's, they can no longer be changed. */
	if (setgroups(1, &gid) != 0 || setegid(gid) != 0 || seteuid(uid) != 0) {
		int err = errno;
		restore(&s);
		return res_errno(r, err, false, "cannot take the identity of uid %u", (unsigned)uid), -1;
	}
	int rc = fn(arg);
	restore(&s);
	return rc;
}

bool privs_only_user(uid_t uid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return false;
	return ru == uid && eu == uid && su == uid && eg == rg && sg == rg;
}
