/* Reading a user's files as that user: a temporary effective identity for a root process, so
 * that root never opens a path a user chose (~/.forward, :include:) with root's rights. */
#ifndef COMMON_PRIVS_H
#define COMMON_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/result.h"

/* Calls fn(arg) with effective uid, effective gid and supplementary groups {gid} when the
 * process runs as root (euid 0) and uid is not 0; otherwise (not root, or uid 0) calls it as
 * the process is. Root's identity is taken back before returning, whatever fn returned; when
 * that fails the process exits with EX_TEMPFAIL rather than go on as the wrong user. Returns
 * fn's value, or -1 with r filled (temporary) when the switch failed and fn was not called.
 * For single-threaded processes (the identity is the whole process's). */
int privs_call_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg, struct result *r);

/* True when the process is uid and nothing more: real, effective and saved uid all uid,
 * and no set-group-ID gid beside its real one. What such a process reads from a file only
 * uid can write, uid could have done to it anyway. */
bool privs_only_user(uid_t uid);

#endif
