/* libFuzzer target: reading back a compiled Sieve program kept on disk (sieve/cache.c), the
 * tree part of the payload (no regexes: PCRE2's serialized code is believed by design, see
 * cache.c). Invariants: the reader never reads outside the input nor crashes, whatever the
 * bytes say about counts, lengths, indexes and nesting; what it accepts it frees. */
#include <string.h>

#include "sieve/internal.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdio();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the payload: an empty regex table (count 0, 0 bytes), then the input */
	unsigned char *payload = malloc(16 + size);
	if (!payload)
		return 0;
	memset(payload, 0, 16);
	if (size)
		memcpy(payload + 16, data, size);
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_nesting = 16;     /* deep trees within libFuzzer's stack */
	struct sieve_compile_opts opts = { .limits = &lim, .personal_dir = "/nonexistent" };
	struct sieve_script *s = sv_cache_read(payload, 16 + size, &opts);
	if (s) {
		FUZZ_CHECK(s->nunits >= 1 && s->nunits <= lim.max_includes + 1u);
		sieve_script_free(s);
	}
	free(payload);
	return 0;
}
