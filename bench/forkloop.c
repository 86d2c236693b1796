/* Sequential one-process-per-message driver: forks and execs COMMAND N times, each with stdin
 * from INPUT, and reports the mean and percentiles of the per-message wall time.
 * In COMMAND's arguments, %B is replaced by the mailbox name of message i (u000..u(B-1), round
 * robin; -p PREFIX names them PREFIX000.. instead, e.g. system users made by the bench), %I by
 * i (plus -s START) and %K by (i*7919) mod K (-k K) printed as %07ld.
 * Output (one line): n= ok= fail= total_s= ms_per_msg= cpu_ms_per_msg= p50_ms= p99_ms=
 * cpu_ms_per_msg is the children's user+system time (wait4 rusage): less sensitive than the
 * wall time to other load on a shared machine, blind to time spent waiting for the disk.
 * usage: forkloop -n N -b BOXES -i INPUT [-s START] [-k K] [-p PREFIX] [-v] -- COMMAND [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long key_mod = 1;
static const char *box_prefix = "u";

static char *subst(const char *arg, int box, long i)
{
	/* Every two-character token may grow to the prefix plus a long's digits. */
	size_t cap = strlen(arg) + (strlen(arg) / 2 + 1) * (strlen(box_prefix) + 24) + 64;
	char *out = malloc(cap), *o = out;
	for (const char *p = arg; *p; p++) {
		if (p[0] == '%' && p[1] == 'B') {
			o += sprintf(o, "%s%03d", box_prefix, box);
			p++;
		} else if (p[0] == '%' && p[1] == 'K') {
			o += sprintf(o, "%07ld", (i * 7919) % key_mod);
			p++;
		} else if (p[0] == '%' && p[1] == 'I') {
			o += sprintf(o, "%ld", i);
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

int main(int argc, char **argv)
{
	long n = 100, start = 0;
	int boxes = 1, verbose = 0, opt;
	const char *input = "/dev/null";
	while ((opt = getopt(argc, argv, "+n:b:i:s:k:p:v")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'b': boxes = atoi(optarg); break;
		case 'i': input = optarg; break;
		case 's': start = atol(optarg); break;
		case 'k': key_mod = atol(optarg) > 0 ? atol(optarg) : 1; break;
		case 'p': box_prefix = optarg; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: forkloop -n N -b BOXES -i INPUT [-s START] [-k K] [-p PREFIX] [-v] -- CMD [ARGS]\n");
			return 64;
		}
	}
	if (optind >= argc || n <= 0 || boxes <= 0) {
		fprintf(stderr, "forkloop: missing command\n");
		return 64;
	}
	int cargc = argc - optind;
	char **cargv = calloc((size_t)cargc + 1, sizeof *cargv);
	double *lat = calloc((size_t)n, sizeof *lat);
	long ok = 0, fail = 0;
	int first_bad = -1;
	double t0 = now();
	double cpu = 0;
	for (long j = 0; j < n; j++) {
		long i = start + j;
		int box = (int)(i % boxes);
		for (int k = 0; k < cargc; k++)
			cargv[k] = subst(argv[optind + k], box, i);
		double s = now();
		pid_t pid = fork();
		if (pid == 0) {
			int in = open(input, O_RDONLY);
			if (in < 0 || dup2(in, 0) < 0)
				_exit(127);
			if (!verbose) {
				int nul = open("/dev/null", O_WRONLY);
				dup2(nul, 1);
				dup2(nul, 2);
			}
			execvp(cargv[0], cargv);
			_exit(127);
		}
		int st = 0;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) {
			st = 127 << 8;
			memset(&ru, 0, sizeof ru);
		}
		lat[j] = (now() - s) * 1000.0;
		cpu += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			ok++;
		} else {
			fail++;
			if (first_bad < 0)
				first_bad = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		for (int k = 0; k < cargc; k++)
			free(cargv[k]);
	}
	double total = now() - t0;
	qsort(lat, (size_t)n, sizeof *lat, cmp);
	printf("n=%ld ok=%ld fail=%ld first_bad_status=%d total_s=%.3f ms_per_msg=%.3f cpu_ms_per_msg=%.3f p50_ms=%.3f p99_ms=%.3f\n",
	       n, ok, fail, first_bad, total, total * 1000.0 / (double)n, cpu * 1000.0 / (double)n, lat[n / 2],
	       lat[(size_t)((double)n * 0.99) < (size_t)n ? (size_t)((double)n * 0.99) : (size_t)n - 1]);
	return fail ? 1 : 0;
}
