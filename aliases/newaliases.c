/* newaliases(8): compile the aliases file into its GDBM database, query or print it. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "common/config.h"
#include "common/log.h"
#include "common/version.h"

#define MAX_OVERRIDES 64

/* How we were called (mda-newaliases installed, newaliases in the build): messages say it. */
static const char *prog = "mda-newaliases";

static const char usage_text[] =
	"usage: mda-newaliases [-s] [-C config] [-o key=value]... [file]\n"
	"       mda-newaliases [-C config] [-o key=value]... -q name [file]\n"
	"       mda-newaliases [-C config] [-o key=value]... -p [file]\n";

static const char help_text[] =
	"\n"
	"Compiles the aliases file (aliases_file, default /etc/aliases) into mda's GDBM database\n"
	"(aliases_db, default " CFG_ALIASES_DB_DEFAULT "); with file, into file.db.\n"
	"  -s               silent: no summary line\n"
	"  -q name          print the value of one alias\n"
	"  -p               print every alias in aliases(5) syntax\n"
	"  -C conf, -o key=value   configuration (mda.conf(5))\n"
	"  -h, --help       this text;  -V, --version  the version\n"
	"The MTA's newaliases (Postfix, sendmail) writes /etc/aliases.db; this one never does.\n"
	"See newaliases(8) and aliases(5).\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

static int die(const struct result *r)
{
	fprintf(stderr, "%s: %s\n", prog, r->reason);
	return r->ex;
}

static int query(const char *dbpath, const char *name)
{
	struct alias_db *db;
	struct result r;
	char key[ALIAS_NAME_MAX + 1], *value;
	if (strlen(name) > ALIAS_NAME_MAX)
		return 1;
	for (size_t i = 0; ; i++)
		if (!(key[i] = (char)tolower((unsigned char)name[i])))
			break;
	if (alias_db_open(dbpath, &db, &r) != EX_OK)
		return die(&r);
	int rc = alias_db_lookup(db, key, &value, &r);
	alias_db_close(db);
	if (rc < 0)
		return die(&r);
	if (rc == 0)
		return 1;
	printf("%s\n", value);
	free(value);
	return EX_OK;
}

static void print_one(void *ctx, const char *name, const char *value)
{
	alias_print(ctx, name, value);
}

static int print_all(const char *dbpath)
{
	struct alias_db *db;
	struct result r;
	if (alias_db_open(dbpath, &db, &r) != EX_OK)
		return die(&r);
	int rc = alias_db_foreach(db, print_one, stdout, &r);
	alias_db_close(db);
	if (rc != EX_OK)
		return die(&r);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

static int compile(const char *src, const char *dbpath, bool silent)
{
	struct alias_compile_stats st;
	struct result r;
	int rc = alias_compile(src, dbpath, stderr, &st, &r);
	if (rc != EX_OK && rc != EX_DATAERR)
		return die(&r);
	if (!silent)
		printf("%s: %lu aliases, longest %zu bytes, %llu bytes total\n", src, st.aliases, st.longest,
		       st.total);
	if (rc == EX_DATAERR)
		fprintf(stderr, "%s: %s\n", prog, r.reason);
	return rc;
}

int main(int argc, char **argv)
{
	char *overrides[MAX_OVERRIDES], dbbuf[CFG_PATH_MAX + 8];
	size_t n_over = 0;
	const char *conf = NULL, *qname = NULL;
	bool silent = false, print = false;
	struct config cfg;
	struct result r;
	int c;
	prog = version_prog_name(argv[0]);
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "C:o:sq:phV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); return EX_OK;
		case 'V': version_print(prog, stdout); return EX_OK;
		case 'C': conf = optarg; break;
		case 'o':
			if (n_over == MAX_OVERRIDES)
				usage();
			overrides[n_over++] = optarg;
			break;
		case 's': silent = true; break;
		case 'q': qname = optarg; break;
		case 'p': print = true; break;
		default: usage();
		}
	}
	if (argc - optind > 1 || (qname && print))
		usage();
	if (cfg_init(&cfg, conf, overrides, n_over, &r) != EX_OK)
		return die(&r);
	log_init(prog, "stderr");
	const char *src = cfg.aliases_file, *dbpath = cfg.aliases_db;
	if (optind < argc) {   /* like postalias: FILE compiles into FILE.db */
		src = argv[optind];
		if (snprintf(dbbuf, sizeof dbbuf, "%s.db", src) >= (int)sizeof dbbuf) {
			fprintf(stderr, "%s: %s: path too long\n", prog, src);
			return EX_USAGE;
		}
		dbpath = dbbuf;
	}
	if (qname)
		return query(dbpath, qname);
	if (print)
		return print_all(dbpath);
	return compile(src, dbpath, silent);
}
