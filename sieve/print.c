/* The result as text, one action per line in Sieve-like syntax (mda-sieve-test(1)). */
#include "sieve/internal.h"

#include <inttypes.h>
#include <stdio.h>

/* A quoted string: \ and " escaped, line ends as \n, other controls as \xHH. */
static void put_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c < 32 || c == 127)
			fprintf(fp, "\\x%02x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void put_flags(FILE *fp, const struct sieve_action *a)
{
	if (!a->nflags)
		return;
	fputs(" :flags \"", fp);
	for (size_t i = 0; i < a->nflags; i++) {
		if (i)
			fputc(' ', fp);
		for (const char *p = a->flags[i]; *p; p++) {
			if (*p == '\\' || *p == '"')
				fputc('\\', fp);
			fputc(*p, fp);
		}
	}
	fputc('"', fp);
}

static void put_vacation(FILE *fp, const struct sieve_vacation *v)
{
	fputs("vacation :to ", fp);
	put_str(fp, v->to);
	fputs(" :from ", fp);
	put_str(fp, v->from);
	fputs(" :subject ", fp);
	put_str(fp, v->subject);
	fprintf(fp, " :seconds %" PRIu64 " :handle ", v->period);
	put_str(fp, v->handle);
	if (v->mime)
		fputs(" :mime", fp);
	fputc(' ', fp);
	put_str(fp, v->reason);
	if (!v->send)
		fprintf(fp, " # not sent: %s", v->why);
}

void sieve_result_print(const struct sieve_result *res, void *out)
{
	FILE *fp = out;
	for (size_t i = 0; i < res->count; i++) {
		const struct sieve_action *a = &res->actions[i];
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			fputs(a->implicit ? "implicit keep" : "keep", fp);
			put_flags(fp, a);
			break;
		case SIEVE_ACT_FILEINTO:
			fputs("fileinto", fp);
			if (a->copy)
				fputs(" :copy", fp);
			if (a->create)
				fputs(" :create", fp);
			put_flags(fp, a);
			fputc(' ', fp);
			put_str(fp, a->folder);
			break;
		case SIEVE_ACT_REDIRECT:
			fputs(a->copy ? "redirect :copy " : "redirect ", fp);
			put_str(fp, a->address);
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
			fputs(a->kind == SIEVE_ACT_REJECT ? "reject " : "ereject ", fp);
			put_str(fp, a->reason);
			break;
		case SIEVE_ACT_DISCARD:
			fputs("discard", fp);
			break;
		case SIEVE_ACT_VACATION:
			put_vacation(fp, a->vacation);
			break;
		}
		fputc('\n', fp);
	}
	if (res->failed)
		fprintf(fp, "error %s\n", res->error);
}
