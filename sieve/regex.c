/* The :regex match type (draft-ietf-sieve-regex) on PCRE2: i;octet matches bytes,
 * i;ascii-casemap matches case-insensitively in UTF mode (invalid UTF-8 in a message is
 * tolerated); every match runs under match, depth and heap limits. */
#include "sieve/internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sv_regex {
	pcre2_code *code;
	pcre2_match_context *mc;
	unsigned uses;           /* matches so far: JIT only for the regexes that run often */
	bool jit_tried;
};

/* Matches before a regex is JIT-compiled. JIT costs ~50 us a pattern, which a stdin-mode
 * delivery (one execution per compile) would pay for nothing; a cached program in the LMTP
 * daemon gets it after a few messages. */
#define SV_REGEX_JIT_AFTER 8

/* Patterns longer than this are refused: PCRE2's compile time grows with them. */
#define SV_REGEX_MAX 4096

/* Capture pairs of the one match data block every regex uses: PCRE2 keeps its backtracking
 * frames (20 KiB and up) in the block, and a block per pattern made a fresh stdin-mode
 * process touch half a megabyte for a script with a few dozen regexes. Matches never nest,
 * and the ovector is read before the next match. A pattern with more groups than this
 * still matches; its later groups are unset. */
#define SV_REGEX_PAIRS 100
static pcre2_match_data *shared_md;

/* A compiled pattern with its match context (and the shared match data made once); NULL,
 * the code freed, when memory runs out. */
static struct sv_regex *regex_wrap(pcre2_code *code)
{
	struct sv_regex *rx = calloc(1, sizeof *rx);
	if (!rx) {
		pcre2_code_free(code);
		return NULL;
	}
	rx->code = code;
	rx->mc = pcre2_match_context_create(NULL);
	if (!shared_md)
		shared_md = pcre2_match_data_create(SV_REGEX_PAIRS, NULL);
	if (!shared_md || !rx->mc) {
		sv_regex_free(rx);
		return NULL;
	}
	return rx;
}

struct sv_regex *sv_regex_compile(const char *pat, size_t len, int cmp, char *err, size_t errsize)
{
	uint32_t opts = 0;
	if (len > SV_REGEX_MAX) {
		snprintf(err, errsize, "pattern longer than %d bytes", SV_REGEX_MAX);
		return NULL;
	}
	if (cmp == CMP_CASEMAP)
		opts = PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	/* POSIX extended syntax is what the draft names; PCRE2 is a superset of it, and the
	 * match itself is anchored by the pattern only (as regexec is). */
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof msg);
		snprintf(err, errsize, "%s at offset %zu", (const char *)msg, (size_t)off);
		return NULL;
	}
	struct sv_regex *rx = regex_wrap(re);
	if (!rx)
		snprintf(err, errsize, "out of memory");
	return rx;
}

void sv_regex_free(struct sv_regex *rx)
{
	if (!rx)
		return;
	pcre2_match_context_free(rx->mc);
	pcre2_code_free(rx->code);
	free(rx);
}

void sv_regex_jit(struct sv_regex *rx)
{
	if (rx->jit_tried)
		return;
	/* where the platform has JIT: the match limit still bounds it, its stack is bounded */
	rx->jit_tried = true;
	(void)pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE);
}

int sv_regex_match(struct sv_regex *rx, const char *s, size_t len, const struct sieve_limits *lim, size_t *caps,
		   unsigned *ncaps, unsigned maxcaps, const char **why)
{
	if (!rx->jit_tried && ++rx->uses >= SV_REGEX_JIT_AFTER)
		sv_regex_jit(rx);
	pcre2_set_match_limit(rx->mc, lim->regex_match_limit);
	pcre2_set_depth_limit(rx->mc, lim->regex_depth_limit);
	pcre2_set_heap_limit(rx->mc, lim->regex_heap_limit_kb);
	int rc = pcre2_match(rx->code, (PCRE2_SPTR)s, len, 0, 0, shared_md, rx->mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
		    rc == PCRE2_ERROR_JIT_STACKLIMIT)
			*why = "regular expression match limit reached";
		else
			*why = "regular expression match failed";
		return -1;
	}
	if (caps && ncaps) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(shared_md);
		uint32_t pairs = pcre2_get_ovector_count(shared_md);
		if (rc == 0)   /* more groups than pairs: every pair is set as far as it goes */
			rc = (int)pairs;
		unsigned n = 0;
		/* pairs past rc are unset: ${N} beyond the match count expands to "" anyway */
		for (uint32_t i = 0; i < (uint32_t)rc && n < maxcaps; i++, n++) {
			bool unset = ov[2 * i] == PCRE2_UNSET || (int)i >= rc;
			caps[2 * n] = unset ? 0 : ov[2 * i];
			caps[2 * n + 1] = unset ? 0 : ov[2 * i + 1];
		}
		*ncaps = n;
	}
	return 1;
}

unsigned char *sv_regex_serialize(struct sv_regex *const *v, size_t n, size_t *len)
{
	const pcre2_code **codes = calloc(n ? n : 1, sizeof *codes);
	if (!codes || n > INT32_MAX) {
		free(codes);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		codes[i] = v[i]->code;
	uint8_t *bytes = NULL;
	PCRE2_SIZE size = 0;
	int32_t rc = pcre2_serialize_encode(codes, (int32_t)n, &bytes, &size, NULL);
	free(codes);
	if (rc < 0)
		return NULL;
	unsigned char *out = malloc(size ? size : 1);
	if (out)
		memcpy(out, bytes, size);
	pcre2_serialize_free(bytes);
	*len = size;
	return out;
}

/* PCRE2's serialized head: magic, version, config, count (4 words). */
#define SERIAL_HEAD 16

bool sv_regex_deserialize(const unsigned char *blob, size_t len, size_t n, struct sv_regex **out)
{
	if (len < SERIAL_HEAD || n > INT32_MAX || pcre2_serialize_get_number_of_codes(blob) != (int32_t)n)
		return false;
	pcre2_code **codes = calloc(n, sizeof *codes);
	if (!codes || pcre2_serialize_decode(codes, (int32_t)n, blob, NULL) != (int32_t)n) {
		free(codes);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		if (ok && (out[i] = regex_wrap(codes[i])) != NULL)
			continue;
		if (!ok)
			pcre2_code_free(codes[i]);   /* regex_wrap freed it when it failed */
		ok = false;
	}
	free(codes);
	return ok;
}
