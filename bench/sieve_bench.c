/* Sieve execution cost: a 100-rule script (header, address, body and regex tests) compiled
 * once and run against a 4 KB message many times, as a delivery process would; prints the
 * compile time and the per-execution time. usage: sieve_bench [-n runs] [-w] [script message]
 * (-w writes the generated script and message to sieve-bench.sieve/.eml and exits). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/result.h"
#include "mbox/mbox.h"
#include "sieve/sieve.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100 rules, 25 of each kind; most do not match, as in a real filter. */
static char *make_script(void)
{
	static const char *const hdrs[] = { "subject", "from", "to", "x-mailer", "list-id" };
	size_t cap = 64 * 1024, len = 0;
	char *s = malloc(cap);
	if (!s)
		exit(1);
	len += (size_t)snprintf(s + len, cap - len,
				"require [\"fileinto\", \"body\", \"regex\", \"variables\", \"imap4flags\"];\n");
	for (int i = 0; i < 25; i++)
		len += (size_t)snprintf(s + len, cap - len, "if header :contains \"%s\" \"keyword%d\" { fileinto \"H%d\"; }\n",
					hdrs[i % 5], i, i);
	for (int i = 0; i < 25; i++)
		len += (size_t)snprintf(s + len, cap - len,
					"if address :domain :is [\"from\", \"cc\"] \"domain%d.example\" { fileinto \"A%d\"; }\n", i, i);
	for (int i = 0; i < 25; i++)
		len += (size_t)snprintf(s + len, cap - len, "if body :text :contains \"phrase number %d\" { fileinto \"B%d\"; }\n",
					i, i);
	for (int i = 0; i < 24; i++)
		len += (size_t)snprintf(s + len, cap - len,
					"if header :regex \"subject\" \"^(re|fwd): .*ticket #%d[0-9]+$\" { fileinto \"R%d\"; }\n", i, i);
	len += (size_t)snprintf(s + len, cap - len,
				"if header :regex \"subject\" \"^benchmark message ([0-9]+)$\" { addflag \"\\\\Seen\"; "
				"fileinto \"Bench/${1}\"; }\n");
	return s;
}

static char *make_message(void)
{
	const char *head = "From: Bench Sender <sender@example.org>\n"
			   "To: Bench Recipient <rcpt@example.org>\n"
			   "Subject: benchmark message 1\n"
			   "Date: Mon, 23 Nov 2026 09:00:00 +0000\n"
			   "Message-ID: <bench-1@example.org>\n"
			   "MIME-Version: 1.0\n"
			   "Content-Type: text/plain; charset=us-ascii\n\n";
	static const char *const words[] = { "lorem", "ipsum", "dolor", "sit", "amet", "mailbox", "delivery",
					     "append", "fsync", "lock", "header", "summary" };
	char *m = malloc(4097);
	if (!m)
		exit(1);
	size_t n = (size_t)snprintf(m, 4097, "%s", head);
	unsigned seed = 1;
	while (n < 4095) {
		seed = seed * 1103515245 + 12345;
		const char *w = words[(seed >> 16) % 12];
		size_t wl = strlen(w);
		if (n + wl + 1 >= 4096)
			break;
		memcpy(m + n, w, wl);
		n += wl;
		m[n] = (n % 70 < 6) ? '\n' : ' ';
		n++;
	}
	while (n < 4095)
		m[n++] = 'x';
	m[n++] = '\n';
	m[n] = '\0';
	return m;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(66);
	}
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		exit(1);
	buf[n] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	int runs = 20000, opt;
	bool write_out = false;
	while ((opt = getopt(argc, argv, "n:w")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 'w')
			write_out = true;
		else
			return 64;
	}
	char *script = optind + 2 <= argc ? slurp(argv[optind]) : make_script();
	char *msg = optind + 2 <= argc ? slurp(argv[optind + 1]) : make_message();
	if (write_out) {
		FILE *f = fopen("sieve-bench.sieve", "w");
		FILE *g = fopen("sieve-bench.eml", "w");
		if (!f || !g)
			return 73;
		fputs(script, f);
		fputs(msg, g);
		fclose(f);
		fclose(g);
		return 0;
	}
	struct sieve_errors errs;
	int compiles = runs / 10 > 0 ? runs / 10 : 1;
	double t0 = now();
	struct sieve_script *s = NULL;
	for (int i = 0; i < compiles; i++) {
		sieve_script_free(s);
		s = sieve_compile_buffer("bench.sieve", script, strlen(script), NULL, &errs);
		if (!s) {
			fputs(errs.text, stderr);
			return 65;
		}
	}
	double t_compile = (now() - t0) / compiles;
	struct mbox_spool sp;
	struct result r;
	if (mbox_spool_open(&sp, "/tmp", &r) != EX_OK || mbox_spool_write(&sp, msg, strlen(msg), &r) != EX_OK ||
	    mbox_spool_finish(&sp, &r) != EX_OK) {
		fprintf(stderr, "%s\n", r.reason);
		return 75;
	}
	struct sieve_envelope env = { .sender = "sender@example.org", .recipient = "rcpt@example.org", .user = "rcpt" };
	struct sieve_exec_opts xo = { .recipient_delimiter = "+" };
	size_t actions = 0;
	t0 = now();
	for (int i = 0; i < runs; i++) {
		struct sieve_result *res = sieve_execute((const struct sieve_script *const *)&s, 1, &sp, &env, &xo);
		if (!res || res->failed) {
			fprintf(stderr, "run failed: %s\n", res ? res->error : "out of memory");
			return 70;
		}
		actions += res->count;
		sieve_result_free(res);
	}
	double t_exec = (now() - t0) / runs;
	printf("script %zu bytes, message %zu bytes, %d runs (%zu actions each)\n", strlen(script), strlen(msg), runs,
	       actions / (size_t)runs);
	printf("compile_us=%.1f exec_us=%.2f\n", t_compile * 1e6, t_exec * 1e6);
	mbox_spool_close(&sp);
	sieve_script_free(s);
	free(script);
	free(msg);
	return 0;
}
