/* Helpers for the libsieve unit tests: compile a script from a string, run it against a
 * message given as a string, and get the result as mda-sieve-test prints it. */
#ifndef TESTS_UNIT_TEST_SIEVE_UTIL_H
#define TESTS_UNIT_TEST_SIEVE_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/result.h"
#include "mbox/mbox.h"
#include "sieve/sieve.h"

/* A message most tests run against. */
#define ST_MSG                                                                              \
	"From: Alice Example <alice@example.com>\n"                                         \
	"To: Bob <bob@example.org>, carol+lists@example.org\n"                              \
	"Cc: \"Dave D.\" <dave@Example.NET>\n"                                              \
	"Subject: Meeting on Tuesday\n"                                                     \
	"Date: Tue, 1 Apr 2025 10:20:30 +0200\n"                                            \
	"Message-ID: <meeting-1@example.com>\n"                                             \
	"X-Spam-Score: 7\n"                                                                 \
	"\n"                                                                                \
	"Hello Bob,\nthe meeting is at 10:00 in room 42.\n"

static inline void st_spool(struct mbox_spool *sp, const char *msg)
{
	struct result r;
	const char *tmp = getenv("TMPDIR");
	cr_assert_eq(mbox_spool_open(sp, tmp && *tmp ? tmp : "/tmp", &r), EX_OK, "%s", r.reason);
	cr_assert_eq(mbox_spool_write(sp, msg, strlen(msg), &r), EX_OK, "%s", r.reason);
	cr_assert_eq(mbox_spool_finish(sp, &r), EX_OK, "%s", r.reason);
}

static inline struct sieve_script *st_compile(const char *script, const struct sieve_compile_opts *co,
					      struct sieve_errors *errs)
{
	return sieve_compile_buffer("test.sieve", script, strlen(script), co, errs);
}

/* The errors of a script that must not compile. */
static inline char *st_errors(const char *script)
{
	struct sieve_errors errs;
	struct sieve_script *s = st_compile(script, NULL, &errs);
	cr_assert_null(s, "script compiled but should not: %s", script);
	cr_assert_gt(errs.count, 0);
	return strdup(errs.text);
}

static inline char *st_print(const struct sieve_result *res)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	cr_assert_not_null(fp);
	sieve_result_print(res, fp);
	fclose(fp);
	return out;
}

/* Runs scripts[0..n) against msg; returns the printed result (malloc'd). */
static inline char *st_run_many(struct sieve_script **scripts, size_t n, const char *msg,
				const struct sieve_envelope *env, const struct sieve_exec_opts *xo)
{
	static const struct sieve_envelope def_env = {
		.sender = "alice@example.com", .recipient = "bob@example.org", .user = "bob",
	};
	struct sieve_exec_opts def_xo = { .recipient_delimiter = "+", .now = 1744000000 };
	struct mbox_spool sp;
	st_spool(&sp, msg);
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)scripts, n, &sp,
						 env ? env : &def_env, xo ? xo : &def_xo);
	cr_assert_not_null(res);
	char *out = st_print(res);
	sieve_result_free(res);
	mbox_spool_close(&sp);
	return out;
}

static inline char *st_run_opts(const char *script, const char *msg, const struct sieve_envelope *env,
				const struct sieve_exec_opts *xo)
{
	struct sieve_errors errs;
	struct sieve_script *s = st_compile(script, NULL, &errs);
	cr_assert_not_null(s, "compile failed: %s", errs.text);
	char *out = st_run_many(&s, 1, msg, env, xo);
	sieve_script_free(s);
	return out;
}

static inline char *st_run(const char *script, const char *msg)
{
	return st_run_opts(script, msg, NULL, NULL);
}

/* Asserts that script run against msg prints exactly want. */
#define st_expect(script, msg, want)                                                 \
	do {                                                                         \
		char *got_ = st_run(script, msg);                                    \
		cr_assert_str_eq(got_, want, "script: %s", script);                  \
		free(got_);                                                          \
	} while (0)

/* Asserts that the errors of a script that does not compile contain want. */
#define st_expect_error(script, want)                                                \
	do {                                                                         \
		char *e_ = st_errors(script);                                        \
		cr_assert(strstr(e_, want) != NULL, "errors: %s, want: %s", e_, want); \
		free(e_);                                                            \
	} while (0)

#endif
