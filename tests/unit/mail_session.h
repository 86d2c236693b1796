/* Shared by the mail(1) session tests: a test world whose system mailbox for alice holds a
 * given text, opened as the reader's session. */
#ifndef TESTS_UNIT_MAIL_SESSION_H
#define TESTS_UNIT_MAIL_SESSION_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcmd/session.h"
#include "tests/unit/helpers.h"

/* Makes the world under a fresh directory (returned), writes box to alice's spool mailbox
 * (its path into spool) and opens it into s; the test fails when that cannot be done. */
static inline const char *th_mail_session(struct mail_session *s, struct config *cfg, char *spool, size_t size,
					  const char *box)
{
	const char *dir = th_tmpdir();
	th_world(cfg, dir);
	mail_vars_reset();
	snprintf(spool, size, "%s", th_path(cfg->spool_dir, "alice"));
	th_write(spool, box);
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	snprintf(s->user, sizeof s->user, "alice");
	snprintf(s->home, sizeof s->home, "%s/home/alice", dir);
	cr_assert_eq(mail_sess_open(s, spool, true), 0);
	return dir;
}

/* th_mail_session with 4 messages, then into DIR/work (where the commands' files land),
 * the directory before kept in cwd. */
static inline const char *th_mail_workdir(struct mail_session *s, struct config *cfg, char *spool, size_t size,
					  const char *box, char *cwd, size_t cwd_size)
{
	const char *dir = th_mail_session(s, cfg, spool, size, box);
	cr_assert_eq(s->n, 4);
	cr_assert_not_null(getcwd(cwd, cwd_size));
	mkdir(th_path(dir, "work"), 0700);
	cr_assert_eq(chdir(th_path(dir, "work")), 0);
	return dir;
}

/* Runs one command line of the session (a copy: the interpreter writes into it). */
static inline void th_mail_run(struct mail_session *s, const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof line, "%s", cmd);
	mail_sess_execute(s, line);
}

/* What cmd prints on standard output (through the file DIR/stdout), malloc'd. */
static inline char *th_mail_output(struct mail_session *s, const char *dir, const char *cmd)
{
	const char *path = th_path(dir, "stdout");
	fflush(stdout);
	int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	th_mail_run(s, cmd);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return th_read(path, NULL);
}

/* Back to directory cwd, variables and the test world gone. */
static inline void th_mail_teardown(const char *cwd)
{
	if (chdir(cwd) != 0)
		perror(cwd);
	mail_vars_reset();
	th_cleanup();
}

#endif
