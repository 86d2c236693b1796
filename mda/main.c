/* mda(8): option parsing, then stdin mode or one of the LMTP modes. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/result.h"
#include "common/version.h"
#include "mda/lmtp.h"
#include "mda/stdin_mode.h"
#include "mbox/mbox.h"

#define MAIN_MAX_OVERRIDES 64

static const char usage_text[] =
	"usage: mda [-C conf] [-o key=value]... [-f sender] [-a original_recipient] [-d] user...\n"
	"       mda [-C conf] [-o key=value]... -l | --lmtp\n"
	"       mda [-C conf] [-o key=value]... -L address\n";

static const char help_text[] =
	"\n"
	"  -C conf          read conf instead of /etc/mda.conf\n"
	"  -o key=value     override one mda.conf(5) key (repeatable)\n"
	"  -f sender        envelope sender (-r is the same; <> is the null sender)\n"
	"  -a address       original recipient, written as X-Original-To when it differs\n"
	"  -d               accepted for mail.local compatibility: the users follow\n"
	"  --               end of options: put it before recipients an MTA passes on\n"
	"  -l, --lmtp       speak LMTP on standard input and output\n"
	"  -L address       listen for LMTP: unix:PATH, inet:HOST:PORT or systemd\n"
	"  -h, --help       this text;  -V, --version  the version\n"
	"Exit status: 0 delivered, 75 try again later (everything an administrator can fix),\n"
	"67 unknown user, 65 bad data or loop, 69 a command failed or too many destinations,\n"
	"73 mailbox full, 77 refused by policy.\n"
	"See mda(8) and mda.conf(5).\n";

struct main_opts {
	struct mda_invocation inv;
	char *overrides[MAIN_MAX_OVERRIDES];
	struct mda_stdin_opts in;
	bool lmtp_stdio;
	const char *listen;
};

/* Usage mistakes exit 75, not 64: a typo in an MTA's mailbox_command must defer mail, not
 * bounce it (the MTA bounces every code but 75 and 71). */
static int usage_error(const char *what)
{
	if (what)
		fprintf(stderr, "4.3.5 mda: %s\n", what);
	fputs(usage_text, stderr);
	return EX_TEMPFAIL;
}

static int parse_options(int argc, char **argv, struct main_opts *m)
{
	static const struct option longopts[] = {
		{ "lmtp", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	size_t n_over = 0;
	while ((c = getopt_long(argc, argv, "+C:o:f:r:a:dlL:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': m->inv.conf_path = optarg; break;
		case 'o':
			if (n_over == MAIN_MAX_OVERRIDES)
				return usage_error("too many -o options");
			m->overrides[n_over++] = optarg;
			break;
		case 'f': case 'r': m->in.sender = optarg; break;
		case 'a': m->in.orig_rcpt = optarg; break;
		case 'd': break;   /* mail.local/dovecot-lda style: the users follow */
		case 'l': m->lmtp_stdio = true; break;
		case 'L': m->listen = optarg; break;
		case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); exit(EX_OK);
		case 'V': version_print("mda", stdout); exit(EX_OK);
		default: return usage_error(NULL);
		}
	}
	m->inv.overrides = m->overrides;
	m->inv.n_overrides = n_over;
	m->in.rcpts = argv + optind;
	m->in.n_rcpts = (size_t)(argc - optind);
	if ((m->lmtp_stdio || m->listen) && m->in.n_rcpts > 0)
		return usage_error("LMTP mode takes no user arguments");
	if (m->lmtp_stdio && m->listen)
		return usage_error("-l and -L exclude each other");
	/* Without a user the recipient comes from the MTA's environment; typed at a terminal, or
	 * with no such environment, it would be the caller's own mailbox by surprise. */
	if (!m->lmtp_stdio && !m->listen && m->in.n_rcpts == 0 && (isatty(0) || !mda_env_names_recipient()))
		return usage_error(isatty(0) ? "no user given (and the message would come from this terminal)"
					     : "no user given, and no MTA environment (LOCAL, RECIPIENT) names one");
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct main_opts m = { 0 };
	struct config cfg;
	struct result r = res_ok(NULL);
	int rc = parse_options(argc, argv, &m);
	if (rc != EX_OK)
		return rc;
	/* Past a file size limit (RLIMIT_FSIZE, as an MTA or a quota wrapper may set) a write
	 * must fail with EFBIG, which is rolled back and reported as "mailbox full" (4.2.2);
	 * SIGXFSZ, pending while the append blocks signals, would kill us once unblocked.
	 * child_exec restores the default for |command deliveries. */
	signal(SIGXFSZ, SIG_IGN);
	if (m.lmtp_stdio)
		return lmtp_serve_stdio(&m.inv, 0, 1);
	if (m.listen)
		return lmtp_serve_listen(&m.inv, m.listen);
	umask(077);
	if (cfg_init(&cfg, m.inv.conf_path, m.inv.overrides, m.inv.n_overrides, &r) != EX_OK) {
		/* A broken configuration is the administrator's to fix: defer, never bounce. */
		fprintf(stderr, "4.3.5 mda: %s\n", r.reason);
		return EX_TEMPFAIL;
	}
	log_init("mda", cfg.log);
	log_hold_stderr();
	mbox_set_shared_spool(cfg.shared_spool);
	return mda_stdin_run(&cfg, &m.in, 0, stderr);
}
