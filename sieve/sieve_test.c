/* mda-sieve-test(1): runs a Sieve script (and before/after scripts) against a message file
 * with the envelope from the command line and prints the actions, doing none of them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/result.h"
#include "common/version.h"
#include "mbox/mbox.h"
#include "sieve/sieve.h"

#define MAX_SCRIPTS 64
#define MAX_FOLDERS 64

static const char usage_text[] =
	"usage: mda-sieve-test [-f sender] [-r recipient] [-a original] [-u user] [-d delims]\n"
	"       [-s before]... [-A after]... [-m folder]... [-M dir] [-S state.db [-e]]\n"
	"       [-t time] [-P dir] [-I dir] [-x '-ext ...'] [-v] script message\n";

static const char help_text[] =
	"\n"
	"  -f sender     envelope sender ('' or <> for the null sender)\n"
	"  -r recipient  envelope recipient (default: user@localhost)\n"
	"  -a original   original recipient (envelope \"to\" when given)\n"
	"  -u user       the user the script belongs to (default: the caller)\n"
	"  -d delims     recipient delimiter characters for subaddress (default +)\n"
	"  -s script     run script before the main one (repeatable; a directory: its\n"
	"                *.sieve files in order); -A the same after it\n"
	"  -m folder     a folder mailboxexists reports as existing (repeatable)\n"
	"  -M dir        the mail folder directory mailboxexists looks into\n"
	"  -S state.db   the vacation/duplicate memory to consult; -e records into it\n"
	"  -t time       the current time, seconds since the epoch\n"
	"  -P dir, -I dir  include :personal and :global directories\n"
	"  -x list       capabilities to disable, e.g. '-vacation -reject'\n"
	"  -v            print the vacation reply message too\n"
	"  -h, --help    this text;  -V, --version  the version\n"
	"Exit status: 0 ran, 1 runtime failure (the implicit keep), 65 compile error,\n"
	"66 unreadable input, 64 usage. See mda-sieve-test(1) and mda-sieve(7).\n";

struct test_opts {
	const char *before[MAX_SCRIPTS], *after[MAX_SCRIPTS];
	size_t nbefore, nafter;
	const char *folders[MAX_FOLDERS];
	size_t nfolders;
	const char *folder_dir;
	bool commit, verbose;
	struct sieve_compile_opts co;
};

static int folder_exists(void *ctx, const char *folder, const char *path)
{
	const struct test_opts *t = ctx;
	for (size_t i = 0; i < t->nfolders; i++)
		if (strcmp(t->folders[i], folder) == 0)
			return 1;
	if (!t->folder_dir)
		return 0;
	char full[4096];
	struct stat st;
	if ((size_t)snprintf(full, sizeof full, "%s/%s", t->folder_dir, path) >= sizeof full)
		return 0;
	return lstat(full, &st) == 0 && S_ISREG(st.st_mode);
}

/* The message into a spool as delivery has it; a leading mbox From_ line is dropped. */
static int read_message(const char *path, struct mbox_spool *sp)
{
	struct result r;
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mda-sieve-test: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	const char *tmp = getenv("TMPDIR");
	if (mbox_spool_open(sp, tmp && *tmp ? tmp : "/tmp", &r) != EX_OK) {
		fprintf(stderr, "mda-sieve-test: %s\n", r.reason);
		return EX_TEMPFAIL;
	}
	char buf[65536];
	bool first = true;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		char *p = buf;
		size_t len = (size_t)n;
		if (first && len > 5 && memcmp(p, "From ", 5) == 0) {
			char *nl = memchr(p, '\n', len);
			size_t skip = nl ? (size_t)(nl - p) + 1 : len;
			p += skip;
			len -= skip;
		}
		first = false;
		if (mbox_spool_write(sp, p, len, &r) != EX_OK) {
			fprintf(stderr, "mda-sieve-test: %s\n", r.reason);
			return EX_TEMPFAIL;
		}
	}
	if (fd != 0)
		close(fd);
	if (n < 0 || mbox_spool_finish(sp, &r) != EX_OK) {
		fprintf(stderr, "mda-sieve-test: %s: cannot read\n", path);
		return EX_NOINPUT;
	}
	return EX_OK;
}

/* Compiles one script or every *.sieve of a directory into list. */
static int add_scripts(const char *path, const struct sieve_compile_opts *co, struct sieve_script **list, size_t *n)
{
	struct sieve_errors errs;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t got;
		int failed = sieve_compile_dir(path, co, list + *n, MAX_SCRIPTS - *n, &got, &errs);
		fputs(errs.text, stderr);
		*n += got;
		return failed == 0 ? EX_OK : failed < 0 ? EX_NOINPUT : EX_DATAERR;
	}
	if (*n >= MAX_SCRIPTS)
		return EX_USAGE;
	struct sieve_script *s = sieve_compile_file(path, co, &errs);
	int err = errno;
	fputs(errs.text, stderr);
	if (!s)
		return err == ENOENT || err == EPERM || err == EACCES ? EX_NOINPUT : EX_DATAERR;
	list[(*n)++] = s;
	return EX_OK;
}

static int parse(int argc, char **argv, struct test_opts *t, struct sieve_envelope *env,
		 struct sieve_exec_opts *xo)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "f:r:a:u:d:s:A:m:M:S:et:P:I:x:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': env->sender = strcmp(optarg, "<>") == 0 ? "" : optarg; break;
		case 'r': env->recipient = optarg; break;
		case 'a': env->orig_recipient = optarg; break;
		case 'u': env->user = optarg; break;
		case 'd': xo->recipient_delimiter = optarg; break;
		case 's':
		case 'A':
			if ((c == 's' ? t->nbefore : t->nafter) >= MAX_SCRIPTS)
				return EX_USAGE;
			if (c == 's')
				t->before[t->nbefore++] = optarg;
			else
				t->after[t->nafter++] = optarg;
			break;
		case 'm':
			if (t->nfolders >= MAX_FOLDERS)
				return EX_USAGE;
			t->folders[t->nfolders++] = optarg;
			break;
		case 'M': t->folder_dir = optarg; break;
		case 'S': xo->state_path = optarg; break;
		case 'e': t->commit = true; break;
		case 't': xo->now = (time_t)strtoll(optarg, NULL, 10); break;
		case 'P': t->co.personal_dir = optarg; break;
		case 'I': t->co.global_dir = optarg; break;
		case 'x': t->co.extensions = optarg; break;
		case 'v': t->verbose = true; break;
		case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); exit(EX_OK);
		case 'V': version_print("mda-sieve-test", stdout); exit(EX_OK);
		default: return EX_USAGE;
		}
	}
	return argc - optind == 2 ? EX_OK : EX_USAGE;
}

static void print_vacations(const struct sieve_result *res)
{
	for (size_t i = 0; i < res->count; i++) {
		const struct sieve_action *a = &res->actions[i];
		size_t len;
		if (a->kind != SIEVE_ACT_VACATION)
			continue;
		char *msg = sieve_vacation_message(a, "localhost", time(NULL), &len);
		if (!msg)
			continue;
		printf("--- vacation message%s\n%s--- end\n", a->vacation->send ? "" : " (not sent)", msg);
		free(msg);
	}
}

int main(int argc, char **argv)
{
	static char user_addr[320];
	struct test_opts t = { .co = { .owner = getuid() } };
	struct sieve_envelope env = { .sender = "sender@example.com" };
	struct sieve_exec_opts xo = { .recipient_delimiter = "+", .state_owner = getuid() };
	xo.mailbox_exists = folder_exists;
	xo.mailbox_ctx = &t;
	int rc = parse(argc, argv, &t, &env, &xo);
	if (rc != EX_OK) {
		fputs(usage_text, stderr);
		return rc;
	}
	if (!env.user)
		env.user = getenv("USER") ? getenv("USER") : "user";
	if (!env.recipient) {
		snprintf(user_addr, sizeof user_addr, "%s@localhost", env.user);
		env.recipient = user_addr;
	}
	struct sieve_script *scripts[3 * MAX_SCRIPTS];
	size_t n = 0;
	for (size_t i = 0; i < t.nbefore && rc == EX_OK; i++)
		rc = add_scripts(t.before[i], &t.co, scripts, &n);
	if (rc == EX_OK)
		rc = add_scripts(argv[optind], &t.co, scripts, &n);
	for (size_t i = 0; i < t.nafter && rc == EX_OK; i++)
		rc = add_scripts(t.after[i], &t.co, scripts, &n);
	struct mbox_spool sp;
	if (rc == EX_OK)
		rc = read_message(argv[optind + 1], &sp);
	if (rc == EX_OK) {
		struct sieve_result *res = sieve_execute((const struct sieve_script *const *)scripts, n, &sp, &env, &xo);
		if (!res) {
			fputs("mda-sieve-test: out of memory\n", stderr);
			rc = EX_OSERR;
		} else {
			sieve_result_print(res, stdout);
			if (t.verbose)
				print_vacations(res);
			char why[256];
			if (t.commit && sieve_commit(res, &xo, why, sizeof why) != 0)
				fprintf(stderr, "mda-sieve-test: cannot record state: %s\n", why);
			rc = res->failed ? 1 : EX_OK;
			sieve_result_free(res);
		}
		mbox_spool_close(&sp);
	}
	for (size_t i = 0; i < n; i++)
		sieve_script_free(scripts[i]);
	return rc;
}
