/* libFuzzer target: the .forward / :include: list syntax (alias_next_item in lines mode, as
 * mda/expand.c reads a .forward), without the file-safety checks of forward/forward.c, which
 * are about the file system, not the text. The text is NUL-terminated as fwd_read returns it. */
#include <stdbool.h>
#include <string.h>

#include "aliases/aliases.h"
#include "tests/fuzz/fuzz.h"

static bool is_dsn(const char *d)
{
	return (d[0] == '4' || d[0] == '5') && d[1] == '.' && strspn(d + 2, "0123456789.") == strlen(d + 2);
}

static void check_item(const struct alias_item *it)
{
	size_t n = strlen(it->text);
	FUZZ_CHECK(n > 0 && n < sizeof it->text);
	FUZZ_CHECK(it->text[n - 1] != ' ' && it->text[n - 1] != '\t');
	for (size_t i = 0; i < n; i++)      /* no control byte reaches a command or a path */
		FUZZ_CHECK((unsigned char)it->text[i] >= 0x20 || it->text[i] == '\t');
	switch (it->kind) {
	case AI_COMMAND:
		break;
	case AI_FILE:
	case AI_INCLUDE:
		FUZZ_CHECK(it->text[0] == '/');
		break;
	case AI_ERROR:
		FUZZ_CHECK(is_dsn(it->dsn));
		break;
	case AI_NOALIAS:
	case AI_LOCAL:
		FUZZ_CHECK(strchr(it->text, '@') == NULL || it->kind == AI_NOALIAS);
		break;
	case AI_REMOTE:
		FUZZ_CHECK(strchr(it->text, '@') != NULL);
		break;
	default:
		FUZZ_CHECK(!"unknown item kind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct alias_item it;
	char *text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	const char *p = text, *err;
	size_t items = 0;
	for (;;) {
		const char *before = p;
		int rc = alias_next_item(&p, true, &it, &err);
		FUZZ_CHECK(p >= before && p <= text + strlen(text));
		if (rc == 0)
			break;
		if (rc < 0) {
			FUZZ_CHECK(err != NULL && p > before);   /* a bad item is skipped, never looped on */
			continue;
		}
		FUZZ_CHECK(p > before);
		check_item(&it);
		items++;
	}
	FUZZ_CHECK(*p == '\0');
	FUZZ_CHECK(items <= size);
	free(text);
	return 0;
}
