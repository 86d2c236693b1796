/* libFuzzer target: RFC 5322 header helpers (mbox/header.c): field iteration, unfolding,
 * RFC 2047 decoding, address skinning and display names, on an arbitrary header section. */
#include <stdbool.h>
#include <string.h>

#include "mbox/header.h"
#include "tests/fuzz/fuzz.h"

/* Blanks hdr_skin_address trims: an address never starts with one (an unterminated quoted
 * string may still end with one). */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_value(const char *value, size_t len)
{
	char *u = hdr_unfold(value, len);
	FUZZ_CHECK(u != NULL);
	size_t ulen = strlen(u);
	FUZZ_CHECK(ulen <= len);
	FUZZ_CHECK(!strpbrk(u, "\r\n"));
	FUZZ_CHECK(ulen == 0 || (u[ulen - 1] != ' ' && u[ulen - 1] != '\t'));

	/* Decoded text of an unfolded value never gains a line break (header injection). */
	char *dec = hdr_decode_2047(u, ulen);
	FUZZ_CHECK(dec != NULL);
	FUZZ_CHECK(!strpbrk(dec, "\r\n"));
	free(dec);

	char addr[64];
	if (hdr_skin_address(value, len, addr, sizeof addr)) {
		size_t alen = strlen(addr);
		FUZZ_CHECK(alen > 0 && alen < sizeof addr);
		FUZZ_CHECK(!strpbrk(addr, "\r\n"));     /* it may end up in a From_ line */
		FUZZ_CHECK(!is_blank(addr[0]));
	}
	char *name = hdr_display_name(u, ulen);
	if (name)
		FUZZ_CHECK(!strpbrk(name, "\r\n"));
	free(name);
	free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct hdr_field f;
	size_t pos = 0, fields = 0;
	for (;;) {
		size_t before = pos;
		if (!hdr_next(buf, size, &pos, &f))
			break;
		fields++;
		FUZZ_CHECK(pos > before && pos <= size);
		FUZZ_CHECK(f.raw == buf + before && f.raw_len == pos - before);
		FUZZ_CHECK(f.value >= f.raw && f.value + f.value_len <= f.raw + f.raw_len);
		FUZZ_CHECK(f.name_len < f.raw_len);
		if (f.name_len)
			FUZZ_CHECK(memchr(f.name, ':', f.name_len) == NULL);
		check_value(f.value, f.value_len);
	}
	FUZZ_CHECK(pos <= size);
	/* hdr_find walks the same fields. */
	if (fields && hdr_find(buf, size, "Subject", &f))
		FUZZ_CHECK(hdr_name_is(&f, "subject"));
	/* The raw bytes as one value too: what a caller with a single header line passes. */
	check_value(buf, size);
	return 0;
}
