/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): the entry points, a failure check
 * that works the same under libFuzzer and the plain replay driver, and a private temp dir. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant is a finding: say which one on fd 2 (stdio may be silenced) and abort,
 * which libFuzzer records as a crash with the input that caused it. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			static const char msg[] = "fuzz: invariant failed: " #cond "\n";  \
			if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ } \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Library code logs rejections to the stderr stream; thousands of such lines per second
 * would slow the fuzzer and bury its report. Sanitizers and libFuzzer write to fd 2 directly,
 * so only the stdio stream is sent to /dev/null. */
static inline void fuzz_quiet_stdio(void)
{
	FILE *null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
}

/* A directory of our own under $TMPDIR (else /tmp), made once per process; the targets that
 * need files write only there, and remove what they create before returning. */
static char fuzz_dir[256];

static inline void fuzz_tmpdir_remove(void)
{
	rmdir(fuzz_dir);     /* empty by then: every run removes its files */
}

static inline const char *fuzz_tmpdir(void)
{
	char *dir = fuzz_dir;
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(fuzz_dir))
			abort();
		atexit(fuzz_tmpdir_remove);
	}
	return dir;
}

#endif
