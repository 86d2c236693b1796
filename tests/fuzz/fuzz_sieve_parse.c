/* libFuzzer target: the Sieve lexer, parser and validator (sieve/) on an arbitrary script.
 * Invariants: compiling either succeeds or reports at least one error, every error line is
 * "fuzz.sieve:..." and printable, and a script that compiles runs to a result that keeps,
 * files, redirects, rejects or discards the message. */
#include <stdbool.h>
#include <string.h>

#include "common/result.h"
#include "mbox/mbox.h"
#include "sieve/sieve.h"
#include "tests/fuzz/fuzz.h"

static struct mbox_spool spool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdio();
	static const char msg[] = "From: a@example.com\nTo: b@example.org\nSubject: hello [x] 42\n"
				  "Date: Tue, 1 Apr 2025 10:20:30 +0200\nMessage-ID: <m@x>\n\nbody text\n";
	struct result r;
	if (mbox_spool_open(&spool, fuzz_tmpdir(), &r) != EX_OK || mbox_spool_write(&spool, msg, sizeof msg - 1, &r) != EX_OK ||
	    mbox_spool_finish(&spool, &r) != EX_OK)
		abort();
	return 0;
}

static void check_errors(const struct sieve_errors *e)
{
	FUZZ_CHECK(e->len < sizeof e->text && e->text[e->len] == '\0');
	const char *p = e->text;
	while (*p) {
		FUZZ_CHECK(strncmp(p, "fuzz.sieve", 10) == 0);
		const char *nl = strchr(p, '\n');
		FUZZ_CHECK(nl != NULL);
		for (const char *q = p; q < nl; q++)
			FUZZ_CHECK((unsigned char)*q >= 32 && *q != 127);   /* no forged log lines */
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_errors errs;
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_steps = 20000;
	struct sieve_compile_opts co = { .limits = &lim };
	struct sieve_script *s = sieve_compile_buffer("fuzz.sieve", (const char *)data, size, &co, &errs);
	check_errors(&errs);
	if (!s) {
		FUZZ_CHECK(errs.count > 0);
		return 0;
	}
	FUZZ_CHECK(errs.count == 0);
	struct sieve_exec_opts xo = { .limits = &lim, .recipient_delimiter = "+", .now = 1744000000 };
	struct sieve_envelope env = { .sender = "a@example.com", .recipient = "b@example.org", .user = "b" };
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &spool, &env, &xo);
	FUZZ_CHECK(res != NULL && res->count >= 1);
	sieve_result_free(res);
	sieve_script_free(s);
	return 0;
}
