/* libFuzzer target: a Sieve script and a message together (sieve/ interpreter, message,
 * address, MIME and date parsing). Input: the script, a NUL byte, then the message.
 * Invariants (never lose mail): the result is never empty; it keeps, files, redirects,
 * rejects or discards; a failure ends in the implicit keep with a printable reason; every
 * fileinto path passes the folder rule; flags are valid; the result prints. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/result.h"
#include "mbox/mbox.h"
#include "sieve/sieve.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdio();
	return 0;
}

static int exists_cb(void *ctx, const char *folder, const char *path)
{
	(void)ctx;
	(void)path;
	return folder[0] == 'A';
}

static void check_result(const struct sieve_result *res)
{
	bool delivers = false, implicit = false;
	FUZZ_CHECK(res->count >= 1);
	for (size_t i = 0; i < res->count; i++) {
		const struct sieve_action *a = &res->actions[i];
		char path[4096];
		const char *why;
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			delivers = true;
			implicit |= a->implicit;
			break;
		case SIEVE_ACT_FILEINTO:
			delivers = true;
			FUZZ_CHECK(sieve_folder_path(a->folder, path, sizeof path, &why) == 0);
			FUZZ_CHECK(strcmp(path, a->path) == 0);
			break;
		case SIEVE_ACT_REDIRECT:
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
		case SIEVE_ACT_DISCARD:
			delivers = true;
			break;
		case SIEVE_ACT_VACATION:
			FUZZ_CHECK(a->vacation && a->vacation->handle && a->vacation->to);
			FUZZ_CHECK(!strpbrk(a->vacation->subject, "\r\n") && !strpbrk(a->vacation->from, "\r\n"));
			break;
		}
		for (size_t f = 0; f < a->nflags; f++)
			FUZZ_CHECK(a->flags[f][0] && !strpbrk(a->flags[f], " \t\r\n"));
	}
	FUZZ_CHECK(delivers);
	if (res->failed) {
		FUZZ_CHECK(implicit);
		for (const char *p = res->error; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 32 && *p != 127);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul)
		return 0;
	size_t slen = (size_t)(nul - data);
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_steps = 50000;
	lim.max_cpu_ms = 2000;
	struct sieve_compile_opts co = { .limits = &lim };
	struct sieve_errors errs;
	struct sieve_script *s = sieve_compile_buffer("fuzz.sieve", (const char *)data, slen, &co, &errs);
	if (!s)
		return 0;
	struct mbox_spool sp;
	struct result r;
	if (mbox_spool_open(&sp, fuzz_tmpdir(), &r) != EX_OK)
		abort();
	if (mbox_spool_write(&sp, nul + 1, size - slen - 1, &r) != EX_OK || mbox_spool_finish(&sp, &r) != EX_OK)
		abort();
	struct sieve_exec_opts xo = { .limits = &lim, .recipient_delimiter = "+-", .now = 1744000000,
				      .mailbox_exists = exists_cb };
	struct sieve_envelope env = { .sender = "a+x@example.com", .recipient = "b+y@example.org",
				      .orig_recipient = "bb@example.org", .user = "b" };
	struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &env, &xo);
	FUZZ_CHECK(res != NULL);
	check_result(res);
	for (size_t i = 0; i < res->count; i++)
		if (res->actions[i].kind == SIEVE_ACT_VACATION) {
			size_t len;
			char *m = sieve_vacation_message(&res->actions[i], "fuzz.example", 1744000000, &len);
			FUZZ_CHECK(m && strlen(m) == len);
			free(m);
		}
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		sieve_result_print(res, null);
		fclose(null);
	}
	sieve_result_free(res);
	mbox_spool_close(&sp);
	sieve_script_free(s);
	return 0;
}
