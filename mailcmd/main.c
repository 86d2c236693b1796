/* mail(1) entry point: option parsing, configuration, then send mode or the reader. */
#include "mailcmd/mail.h"

#include <locale.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/log.h"
#include "common/user.h"
#include "common/version.h"
#include "mbox/mbox.h"

static const char usage_text[] =
	"usage: mail [-s subject] [-c cc] [-b bcc] [-r from] [-a file] [-C conf] [-o k=v] to-addr ...\n"
	"       mail [-HeNRn] [-C conf] [-o k=v] -f [file]\n"
	"       mail [-HeNRn] [-C conf] [-o k=v] [-u user]\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

/* --help and --version, taken before getopt: mailx's own letters stay as they are. */
static void long_options(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			fputs("\nSend: mail -s subject address... (the text on standard input).\n"
			      "Read: mail (your system mailbox), mail -f [file] (default ~/mbox), mail -H (headers only).\n"
			      "  -V, --version    the version.  See mail(1) for commands and variables.\n", stdout);
			exit(EX_OK);
		}
		if (strcmp(argv[i], "--version") == 0) {
			version_print("mail", stdout);
			exit(EX_OK);
		}
	}
}

static void invoking_user(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	const char *u = getenv("USER");
	if (pw)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "%s", u && *u ? u : "nobody");
}

int main(int argc, char **argv)
{
	struct mail_draft d = { 0 };
	struct mail_opts o = { 0 };
	struct config cfg;
	struct result r = { 0 };
	char *overrides[32], user[USER_NAME_MAX + 1];
	size_t n_over = 0;
	const char *conf = NULL;
	bool use_file = false, no_rc = false;
	int c;
	setlocale(LC_ALL, "");
	long_options(argc, argv);
	invoking_user(user, sizeof user);
	o.user = user;
	while ((c = getopt(argc, argv, "s:c:b:r:a:fu:HeNC:o:RniEvd~V")) != -1) {
		switch (c) {
		case 's': free(d.subject); d.subject = strdup(optarg); break;
		case 'c': mail_addr_append(&d.cc, optarg); break;
		case 'b': mail_addr_append(&d.bcc, optarg); break;
		case 'r': free(d.from); d.from = strdup(optarg); break;
		case 'a': {
			char **a = realloc(d.attach, (d.n_attach + 1) * sizeof *a);
			if (!a)
				return EX_OSERR;
			d.attach = a;
			d.attach[d.n_attach++] = strdup(optarg);
			break;
		}
		case 'f': use_file = true; break;
		case 'u': o.user = optarg; o.user_given = true; break;
		case 'H': o.header_only = true; break;
		case 'e': o.check_only = true; break;
		case 'N': o.no_summary = true; break;
		case 'R': o.read_only = true; break;
		case 'n': no_rc = true; break;
		case 'C': conf = optarg; break;
		case 'o':
			if (n_over >= sizeof overrides / sizeof overrides[0])
				usage();
			overrides[n_over++] = optarg;
			break;
		case 'V': version_print("mail", stdout); return EX_OK;
		case 'v': mail_var_set("verbose", NULL); break;
		case 'i': case 'E': case 'd': case '~': break;
		default: usage();
		}
	}
	if (cfg_init(&cfg, conf, overrides, n_over, &r) != EX_OK) {
		fprintf(stderr, "mail: %s\n", r.reason);
		return r.ex;
	}
	log_init("mail", "stderr");
	log_set_threshold(LOG_NOTICE);   /* routine library lines only with verbose (see quit) */
	mbox_set_shared_spool(cfg.shared_spool);
	struct user_info ui;
	const char *home = getenv("HOME");
	if (!home || !*home)
		home = user_lookup(&cfg, user, &ui, &r) == USER_FOUND ? ui.home : "/";
	mail_cond_mode(!use_file && optind < argc);
	mail_var_set("save", NULL);   /* Heirloom's default: ~q keeps the draft in dead.letter */
	mail_var_set("asksub", NULL); /* a terminal asks for the Subject (s-nail's default too) */
	mail_var_set("header", NULL); /* the summary at start */
	mail_load_rc(home, !no_rc);   /* -n skips only the system-wide file, as in Heirloom */
	if (!use_file && optind < argc) {
		for (int i = optind; i < argc; i++)
			mail_addr_append(&d.to, argv[i]);
		int rc = mail_send_mode(&cfg, &d, user, home);
		mail_draft_free(&d);
		return rc;
	}
	if (d.subject || d.cc || d.bcc || d.n_attach) {
		fprintf(stderr, "mail: No recipients specified\n");
		mail_draft_free(&d);
		return EX_USAGE;
	}
	if (use_file)
		o.file = optind < argc ? argv[optind] : "";
	mail_draft_free(&d);
	return mail_read_mode(&cfg, &o);
}
