/* mda-sievec(1): checks Sieve scripts as delivery would compile them; errors as
 * FILE:LINE:COLUMN: message, exit 65 when a script has an error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/version.h"
#include "sieve/sieve.h"

static const char usage_text[] =
	"usage: mda-sievec [-q] [-T] [-u uid] [-P dir] [-I dir] [-x '-ext ...'] script...\n";

static const char help_text[] =
	"\n"
	"  -q          print nothing, only the exit status\n"
	"  -T          apply delivery's trust rule: owned by the user (-u, default the\n"
	"              caller) or root, not writable by group or others\n"
	"  -u uid      the user -T requires\n"
	"  -P dir      where include :personal finds NAME.sieve (default: the script's)\n"
	"  -I dir      where include :global finds NAME.sieve\n"
	"  -x list     capabilities to disable, e.g. '-vacation -reject'\n"
	"  -h, --help  this text;  -V, --version  the version\n"
	"Exit status: 0 every script is valid, 65 a script has errors, 66 a script cannot be\n"
	"read or is not trusted, 64 usage. See mda-sievec(1) and mda-sieve(7).\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sieve_compile_opts o = { .owner = getuid() };
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "qTu:P:I:x:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'T': o.check_owner = true; break;
		case 'u': o.owner = (uid_t)strtoul(optarg, NULL, 10); break;
		case 'P': o.personal_dir = optarg; break;
		case 'I': o.global_dir = optarg; break;
		case 'x': o.extensions = optarg; break;
		case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); return EX_OK;
		case 'V': version_print("mda-sievec", stdout); return EX_OK;
		default: fputs(usage_text, stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	int status = EX_OK;
	for (int i = optind; i < argc; i++) {
		struct sieve_errors errs;
		struct sieve_script *s = sieve_compile_file(argv[i], &o, &errs);
		int err = errno;
		if (!quiet)
			fputs(errs.text, stderr);
		if (s) {
			sieve_script_free(s);
			continue;
		}
		int st = err == ENOENT || err == EPERM || err == EACCES || err == EISDIR || err == EFBIG ? EX_NOINPUT
													    : EX_DATAERR;
		if (status == EX_OK || st == EX_DATAERR)
			status = st;
	}
	return status;
}
