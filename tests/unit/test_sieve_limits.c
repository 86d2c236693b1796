/* Unit tests for libsieve's limits: a hostile script or message reaches a limit and the
 * result is the implicit keep with the reason, never a stall, a crash or a lost message. */
#include "tests/unit/test_sieve_util.h"

static char *run_limited(const char *script, const char *msg, const struct sieve_limits *lim)
{
	struct sieve_compile_opts co = { .limits = lim };
	struct sieve_exec_opts xo = { .limits = lim };
	struct sieve_errors errs;
	struct sieve_script *s = st_compile(script, &co, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	char *out = st_run_many(&s, 1, msg, NULL, &xo);
	sieve_script_free(s);
	return out;
}

static char *repeat(const char *piece, int n, const char *head, const char *tail)
{
	size_t len = strlen(head) + strlen(tail) + strlen(piece) * (size_t)n + 1;
	char *s = malloc(len);
	cr_assert_not_null(s);
	strcpy(s, head);
	for (int i = 0; i < n; i++)
		strcat(s, piece);
	strcat(s, tail);
	return s;
}

Test(sieve_limit, steps)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_steps = 50;
	char *script = repeat("if header :contains \"subject\" \"x\" { discard; }\n", 100, "", "");
	char *out = run_limited(script, ST_MSG, &lim);
	cr_assert(strstr(out, "implicit keep\nerror test.sieve:"), "%s", out);
	cr_assert(strstr(out, "too many steps (limit 50)"), "%s", out);
	free(out);
	lim.max_steps = 100000;
	out = run_limited(script, ST_MSG, &lim);
	cr_assert_str_eq(out, "implicit keep\n");
	free(out);
	free(script);
}

Test(sieve_limit, bytes_compared_cost_steps)
{
	/* one test over a large body costs in proportion to the bytes it scans */
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_steps = 200;
	char *msg = repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 2000, "Subject: x\n\n",
			   "");
	char *out = run_limited("require \"body\"; if body :raw :contains \"needle\" { discard; }", msg, &lim);
	cr_assert(strstr(out, "too many steps"), "%s", out);
	free(out);
	free(msg);
}

Test(sieve_limit, regex_backtracking)
{
	/* (a+)+$ against a...ab backtracks exponentially: PCRE2's match limit stops it */
	char *msg = repeat("a", 60, "Subject: ", "b\n\nx\n");
	char *out = st_run("require \"regex\"; if header :regex \"subject\" \"^(a+)+$\" { discard; }", msg);
	cr_assert_str_eq(out, "implicit keep\nerror test.sieve:1: regular expression match limit reached\n");
	free(out);
	free(msg);
	/* a lower match limit stops a pattern the first one does not */
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.regex_match_limit = 1000;
	msg = repeat("ab", 2000, "Subject: ", "!\n\nx\n");
	out = run_limited("require \"regex\"; if header :regex \"subject\" \"^(?:a|ab|b)*$\" { discard; }", msg, &lim);
	cr_assert(strstr(out, "match limit reached"), "%s", out);
	free(out);
	free(msg);
}

Test(sieve_limit, regex_pattern_size)
{
	char *pat = repeat("a", 5000, "require \"regex\"; if header :regex \"subject\" \"", "\" { discard; }");
	st_expect_error(pat, "pattern longer than 4096 bytes");
	free(pat);
}

Test(sieve_limit, actions_and_redirects)
{
	char *script = repeat("fileinto :copy \"F${n}\"; set \"n\" \"${n}x\";\n", 40,
			      "require [\"fileinto\", \"copy\", \"variables\"];\n", "");
	char *out = st_run(script, ST_MSG);
	cr_assert(strstr(out, "implicit keep\nerror test.sieve:"), "%s", out);
	cr_assert(strstr(out, "too many actions (limit 32)"), "%s", out);
	free(out);
	free(script);
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_redirects = 1;
	out = run_limited("redirect \"a@b.c\"; redirect \"a@b.c\"; redirect \"d@b.c\";", ST_MSG, &lim);
	cr_assert_str_eq(out, "implicit keep\nerror test.sieve:1: too many redirects (limit 1)\n");
	free(out);
}

Test(sieve_limit, memory)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_memory = 64 * 1024;
	char *msg = repeat("a long body line of text that the body test has to read\n", 4000, "Subject: x\n\n", "");
	char *out = run_limited("require \"body\"; if body :raw :contains \"zzz\" { discard; }", msg, &lim);
	cr_assert(strstr(out, "implicit keep\nerror "), "%s", out);
	free(out);
	free(msg);
}

Test(sieve_limit, header_and_body_bytes)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_header_bytes = 4096;
	lim.max_body_bytes = 1000;
	/* fields past the header limit are not seen; a field cut in two is dropped */
	char *msg = repeat("X-Filler: 0123456789012345678901234567890123456789\n", 100, "Subject: first\n",
			   "Subject: late\n\nbody text\n");
	char *out = run_limited("if header :is \"subject\" \"late\" { discard; } "
				"if header :is \"subject\" \"first\" { keep; }", msg, &lim);
	cr_assert_str_eq(out, "keep\n");
	free(out);
	free(msg);
	msg = repeat("x", 2000, "Subject: y\n\n", "needle\n");
	out = run_limited("require \"body\"; if body :raw :contains \"needle\" { discard; }", msg, &lim);
	cr_assert_str_eq(out, "implicit keep\n");
	free(out);
	free(msg);
}

Test(sieve_limit, mime_parts)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_mime_parts = 10;
	char *msg = repeat("--b\nContent-Type: text/plain\n\npart\n", 500,
			   "Content-Type: multipart/mixed; boundary=b\n\n", "--b\nContent-Type: text/plain\n\nneedle\n--b--\n");
	char *out = run_limited("require \"body\"; if body :content \"text\" :contains \"needle\" { discard; }", msg, &lim);
	cr_assert_str_eq(out, "implicit keep\n");   /* the last part is beyond the limit */
	free(out);
	lim.max_mime_parts = 1000;
	out = run_limited("require \"body\"; if body :content \"text\" :contains \"needle\" { discard; }", msg, &lim);
	cr_assert_str_eq(out, "discard\n");
	free(out);
	free(msg);
	/* deeply nested multiparts do not recurse without bound */
	char *deep = repeat("Content-Type: multipart/mixed; boundary=b\n\n--b\n", 2000, "", "\nx\n");
	out = st_run("require \"body\"; if body :content \"text\" :contains \"x\" { discard; }", deep);
	free(out);
	free(deep);
}

Test(sieve_limit, script_size)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_script_size = 100;
	struct sieve_compile_opts co = { .limits = &lim };
	struct sieve_errors errs;
	char *script = repeat("keep;", 50, "", "");
	cr_assert_null(st_compile(script, &co, &errs));
	cr_assert(strstr(errs.text, "script too large (250 bytes, limit 100)"), "%s", errs.text);
	free(script);
}

Test(sieve_limit, variables_per_script)
{
	char big[80000] = "require \"variables\";\n";
	for (int i = 0; i < 300; i++) {
		char line[64];
		snprintf(line, sizeof line, "set \"v%d\" \"1\";\n", i);
		strcat(big, line);
	}
	st_expect_error(big, "too many variables (limit 255)");
}

Test(sieve_limit, hostile_matches_pattern_is_linear)
{
	/* backtracking over many stars on a long value: bounded, and no false match */
	char *msg = repeat("ab", 4000, "Subject: ", "\n\nx\n");
	char *pat = repeat("*a", 200, "if header :matches \"subject\" \"", "*c\" { discard; }");
	char *out = st_run(pat, msg);
	cr_assert(strstr(out, "implicit keep\n") == out, "%s", out);
	free(out);
	free(pat);
	free(msg);
}

Test(sieve_limit, cpu_time)
{
	/* many scans of a 1 MiB body take far more than 1 ms of CPU: the clock stops them */
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_cpu_ms = 1;
	lim.max_steps = (uint64_t)1 << 40;
	char *msg = repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 16000, "Subject: x\n\n",
			   "");
	char *script = repeat("if body :raw :matches \"*needle*\" { discard; }\n", 500, "require \"body\";\n", "");
	char *out = run_limited(script, msg, &lim);
	cr_assert(strstr(out, "implicit keep\nerror test.sieve:"), "%s", out);
	cr_assert(strstr(out, "CPU time limit reached (1 ms)"), "%s", out);
	free(out);
	free(script);
	free(msg);
}

/* Every regex shares one match data block of 100 pairs: a pattern with more groups still
 * matches, and the groups that fit are set. */
Test(sieve_limit, regex_with_more_groups_than_the_shared_ovector)
{
	char *pat = repeat("(a)", 120, "require [\"fileinto\", \"regex\", \"variables\"];\n"
			   "if header :regex \"subject\" \"^(a)", "$\" { set \"g\" \"${1}\"; fileinto \"f${g}\"; }");
	char *msg = repeat("a", 121, "Subject: ", "\n\nbody\n");
	char *out = st_run(pat, msg);
	cr_assert(strstr(out, "fileinto \"fa\""), "%s", out);
	free(out);
	free(msg);
	free(pat);
}

/* sieve_script_jit (the LMTP cache's JIT for programs run in forked children): the same
 * matches and groups, and the match limit still stops a hostile pattern. */
Test(sieve_limit, jit_compiled_program_matches_the_same)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.regex_match_limit = 1000;
	struct sieve_compile_opts co = { .limits = &lim };
	struct sieve_exec_opts xo = { .limits = &lim, .recipient_delimiter = "+" };
	struct sieve_errors errs;
	struct sieve_script *s = st_compile("require [\"fileinto\", \"regex\", \"variables\"];\n"
					    "if header :regex \"subject\" \"^Meeting on (T[a-z]+)$\" { fileinto \"${1}\"; }\n"
					    "if header :regex \"x-spam-score\" \"^(a+)+$\" { discard; }\n",
					    &co, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	char *before = st_run_many(&s, 1, ST_MSG, NULL, &xo);
	sieve_script_jit(s);
	sieve_script_jit(s);   /* twice is harmless */
	char *after = st_run_many(&s, 1, ST_MSG, NULL, &xo);
	cr_assert_str_eq(after, before);
	cr_assert(strstr(after, "fileinto \"Tuesday\""), "%s", after);
	free(before);
	free(after);
	char *msg = repeat("a", 60, "Subject: x\nX-Spam-Score: ", "b\n\nbody\n");
	char *out = st_run_many(&s, 1, msg, NULL, &xo);
	cr_assert(strstr(out, "regular expression match limit reached"), "%s", out);
	free(out);
	free(msg);
	sieve_script_free(s);
}
