/* libFuzzer target: the aliases(5) parser (aliases/parse.c) on an arbitrary file. Every entry
 * it accepts must have a clean name and a value whose items all parse, and must survive
 * alias_print (what newaliases -p shows) and a second parse unchanged. */
#include <stdbool.h>
#include <string.h>

#include "aliases/aliases.h"
#include "tests/fuzz/fuzz.h"

struct seen {
	char *name, *value;
	unsigned long n;
};

static int check_entry(void *ctx, const struct alias_entry *e, struct result *r)
{
	struct seen *s = ctx;
	struct alias_item it;
	const char *p = e->value, *err;
	int rc;
	(void)r;
	FUZZ_CHECK(e->name_len == strlen(e->name) && e->value_len == strlen(e->value));
	FUZZ_CHECK(e->name_len > 0 && e->name_len <= ALIAS_NAME_MAX && e->value_len > 0);
	FUZZ_CHECK(strcmp(e->name, "@") != 0);
	for (const char *c = e->name; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f && !(*c >= 'A' && *c <= 'Z'));
	while ((rc = alias_next_item(&p, false, &it, &err)) == 1)
		FUZZ_CHECK(it.text[0] != '\0' && strlen(it.text) < sizeof it.text);
	FUZZ_CHECK(rc == 0);    /* the parser checked every item already */
	s->n++;
	free(s->name);
	free(s->value);
	s->name = strdup(e->name);
	s->value = strdup(e->value);
	FUZZ_CHECK(s->name && s->value);
	return 0;
}

/* The last accepted entry, printed and parsed again, gives back the same name and value. */
static void check_print_round_trip(const struct seen *last)
{
	char *text = NULL;
	size_t len = 0;
	struct seen again = { 0 };
	struct alias_parse_stats st;
	struct result r;
	FILE *out = open_memstream(&text, &len);
	FUZZ_CHECK(out != NULL);
	alias_print(out, last->name, last->value);
	fclose(out);
	FILE *in = fmemopen(text, len, "r");
	FUZZ_CHECK(in != NULL);
	FUZZ_CHECK(alias_parse_stream(in, "printed", check_entry, &again, NULL, &st, &r) == EX_OK);
	fclose(in);
	FUZZ_CHECK(again.n == 1 && st.bad == 0);
	FUZZ_CHECK(strcmp(again.name, last->name) == 0);
	FUZZ_CHECK(strcmp(again.value, last->value) == 0);
	free(again.name);
	free(again.value);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0 };
	struct alias_parse_stats st;
	struct result r;
	if (size == 0)
		return 0;    /* fmemopen refuses an empty buffer */
	FILE *fp = fmemopen((void *)data, size, "r");
	FUZZ_CHECK(fp != NULL);
	FUZZ_CHECK(alias_parse_stream(fp, "fuzz", check_entry, &s, NULL, &st, &r) == EX_OK);
	fclose(fp);
	FUZZ_CHECK(st.entries == s.n);
	if (s.n)
		check_print_round_trip(&s);
	free(s.name);
	free(s.value);
	return 0;
}
