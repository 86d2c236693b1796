/* Test helpers: a private temporary world (spool, homes, passwd file) per test. */
#ifndef TESTS_UNIT_HELPERS_H
#define TESTS_UNIT_HELPERS_H

#include <stddef.h>
#include "common/config.h"

/* A fresh directory under $TMPDIR (or /tmp), removed by th_cleanup(). */
const char *th_tmpdir(void);
/* Removes everything th_tmpdir() created. Register as a Criterion .fini or call at the end. */
void th_cleanup(void);

/* Fills cfg for a test world under dir: spool_dir=dir/spool (created), tmp_dir=dir/tmp,
 * aliases_file=dir/aliases, aliases_db=dir/aliases.db, passwd_file=dir/passwd listing
 * alice, bob, carol (and the running user's own name) all with the test's uid/gid and
 * homes dir/home/NAME (created, 0755), log=stderr, lock_timeout=5. */
void th_world(struct config *cfg, const char *dir);

/* Writes/reads whole files; abort the test (cr_assert) on error. th_read returns malloc'd
 * NUL-terminated data and its length in *len (len may be NULL). */
void th_write(const char *path, const char *data);
char *th_read(const char *path, size_t *len);
/* Starts a child that holds a classic fcntl write lock on path (as Postfix local or mailx
 * do) until it is killed; returns its pid once the lock is held. */
int th_hold_fcntl(const char *path);
/* Kills and reaps a th_hold_fcntl child. */
void th_release(int pid);

/* Runs fn(arg) in a child process that, when the tests run as root, has first become the
 * unprivileged user nobody (65534, no groups): what a test of "not allowed" needs, since root
 * is allowed everything. Returns fn's value (0..255), or -1 when the child died. No
 * cr_assert inside fn: return a code and assert on it. */
int th_unprivileged(int (*fn)(void *arg), void *arg);

/* Writes an mbox of count messages "From mI@x ...", "Subject: mI", a body of 80-byte lines
 * making each message about size bytes. Returns the file's size. */
long long th_big_mbox(const char *path, int count, size_t size);
/* Runs prepare(arg) then measured(arg) in a child and returns how much the child's peak
 * resident set (getrusage ru_maxrss, KiB) grew during measured: the memory that step needs
 * beyond what was there before. -1 when either returned non-zero or the child died. No
 * cr_assert inside them: return a code. */
long th_peak_growth_kib(int (*prepare)(void *arg), int (*measured)(void *arg), void *arg);

/* Path join into a static rotating buffer (valid for a few calls). */
const char *th_path(const char *dir, const char *name);

#endif
