/* mda.conf parsing: a table of keys drives defaults, file parsing, -o overrides and dumps. */
#include "common/config.h"
#include "common/quota.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

enum key_type { K_STR, K_INT, K_SIZE, K_BOOL, K_QUOTING, K_MODE, K_BARE_LF, K_EXPANSION };

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;          /* buffer size for K_STR */
	const char *def;
};

#define STR(f, d)  { #f, K_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), d }
#define INT(f, d)  { #f, K_INT, offsetof(struct config, f), 0, d }
#define SIZE(f, d) { #f, K_SIZE, offsetof(struct config, f), 0, d }
#define BOOL(f, d) { #f, K_BOOL, offsetof(struct config, f), 0, d }

static const struct key keys[] = {
	STR(spool_dir, "/var/mail"),
	STR(aliases_file, "/etc/aliases"),
	STR(aliases_db, CFG_ALIASES_DB_DEFAULT),
	STR(passwd_file, ""),
	STR(sendmail_path, "/usr/sbin/sendmail"),
	STR(tmp_dir, "/tmp"),
	STR(hostname, ""),
	STR(default_privs, "nobody"),
	STR(mail_group, "mail"),
	STR(recipient_delimiter, "+"),
	STR(log, "syslog"),
	{ "lmtp_socket_mode", K_MODE, offsetof(struct config, lmtp_socket_mode),
	  sizeof(((struct config *)0)->lmtp_socket_mode), "0660" },
	STR(lmtp_socket_owner, ""),
	STR(lmtp_socket_group, "postfix"),
	INT(lock_timeout, "60"),
	INT(command_timeout, "300"),
	INT(expansion_depth, "20"),
	INT(expansion_limit, "50000"),
	{ "expansion", K_EXPANSION, offsetof(struct config, expansion), 0, "auto" },
	SIZE(message_size_limit, "51200000"),
	INT(lmtp_max_connections, "100"),
	INT(lmtp_idle_timeout, "300"),
	INT(lmtp_max_recipients, "1000"),
	INT(lmtp_max_errors, "20"),
	INT(lmtp_client_connection_limit, "50"),
	INT(lmtp_junk_command_limit, "100"),
	INT(lmtp_session_time_limit, "3600"),
	STR(lmtp_xforward_clients, ""),
	BOOL(lmtp_received_header, "yes"),
	{ "lmtp_bare_newline", K_BARE_LF, offsetof(struct config, lmtp_bare_newline), 0, "normalize" },
	SIZE(mailbox_size_limit, "0"),
	STR(quota_file, ""),
	STR(quota_scope, "spool"),
	BOOL(quota_full_tempfail, "no"),
	STR(quota_warning, ""),
	STR(quota_warning_file, ""),
	STR(sieve, "~/.dovecot.sieve"),
	STR(sieve_dir, "~/sieve"),
	STR(sieve_global_dir, "/etc/mda/sieve"),
	STR(sieve_before, ""),
	STR(sieve_after, ""),
	STR(sieve_extensions, ""),
	STR(sieve_state, "~/.mda-sieve.db"),
	STR(sieve_cache, "~/.mda-sieve.bin"),
	STR(mail_folder_dir, "~/mail"),
	INT(sieve_max_actions, "32"),
	INT(sieve_max_redirects, "4"),
	INT(sieve_max_cpu_time, "5"),
	SIZE(sieve_max_script_size, "1048576"),
	INT(sieve_vacation_min_period, "86400"),
	INT(sieve_vacation_max_period, "0"),
	INT(sieve_vacation_default_period, "604800"),
	BOOL(biff, "yes"),
	BOOL(allow_commands, "yes"),
	BOOL(allow_files, "yes"),
	BOOL(fsync, "yes"),
	BOOL(shared_spool, "no"),
	{ "mbox_quoting", K_QUOTING, offsetof(struct config, mbox_quoting), 0, "mboxrd" },
};

/* Indexed by enum cfg_expansion. */
static const char *const expansion_names[] = { "auto", "mda", "mta" };

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		return *out = true, true;
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		return *out = false, true;
	return false;
}

static bool parse_number(const char *v, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > max)
		return false;
	*out = n;
	return true;
}

/* Stores value into the field; returns NULL or a description of what is wrong. */
static const char *store(struct config *cfg, const struct key *k, const char *v)
{
	char *field = (char *)cfg + k->offset;
	long long n;
	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size)
			return "value too long";
		memcpy(field, v, strlen(v) + 1);
		return NULL;
	case K_MODE:
		if (strlen(v) < 3 || strlen(v) > 4 || strspn(v, "01234567") != strlen(v))
			return "expected an octal mode such as 0660";
		memcpy(field, v, strlen(v) + 1);
		return NULL;
	case K_INT:
		if (!parse_number(v, INT_MAX, &n))
			return "expected a non-negative integer";
		*(int *)field = (int)n;
		return NULL;
	case K_SIZE:
		if (!parse_number(v, LLONG_MAX / 2, &n))
			return "expected a size in bytes";
		*(long long *)field = n;
		return NULL;
	case K_BOOL:
		return parse_bool(v, (bool *)field) ? NULL : "expected yes or no";
	case K_QUOTING:
		if (!strcmp(v, "mboxrd"))
			*(enum mbox_quoting *)field = QUOTE_MBOXRD;
		else if (!strcmp(v, "mboxo"))
			*(enum mbox_quoting *)field = QUOTE_MBOXO;
		else
			return "expected mboxrd or mboxo";
		return NULL;
	case K_EXPANSION:
		for (size_t i = 0; i < sizeof expansion_names / sizeof expansion_names[0]; i++)
			if (!strcmp(v, expansion_names[i]))
				return *(enum cfg_expansion *)field = (enum cfg_expansion)i, NULL;
		return "expected auto, mda or mta";
	case K_BARE_LF:
		if (!strcmp(v, "normalize"))
			*(enum lmtp_bare_lf *)field = BARE_LF_NORMALIZE;
		else if (!strcmp(v, "reject"))
			*(enum lmtp_bare_lf *)field = BARE_LF_REJECT;
		else
			return "expected normalize or reject";
		return NULL;
	}
	return "internal error";
}

#ifndef MDA_SYSCONFDIR
#define MDA_SYSCONFDIR "/etc"
#endif

const char *cfg_default_file(void)
{
	return MDA_SYSCONFDIR "/mda.conf";
}

void cfg_mail_hostname(const struct config *cfg, char *out, size_t size)
{
	char name[256] = "";
	if (cfg->hostname[0])
		snprintf(name, sizeof name, "%s", cfg->hostname);
	else if (gethostname(name, sizeof name - 1) != 0 || !name[0])
		snprintf(name, sizeof name, "localhost");
	snprintf(out, size, "%s%s", name, strchr(name, '.') || cfg->hostname[0] ? "" : ".localdomain");
}

void cfg_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		store(cfg, &keys[i], keys[i].def);
}

static char *trim(char *s)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Parses "key = value" (or key=value) in place; returns NULL or the problem. */
static const char *apply_line(struct config *cfg, char *line)
{
	char *eq = strchr(line, '=');
	const struct key *k;
	if (!eq)
		return "expected key = value";
	*eq = '\0';
	char *name = trim(line), *value = trim(eq + 1);
	k = find_key(name, strlen(name));
	if (!k)
		return "unknown key";
	return store(cfg, k, value);
}

int cfg_load_file(struct config *cfg, const char *path, bool must_exist, struct result *r)
{
	FILE *fp = fopen(path, "re");
	char line[4096];
	int lineno = 0;
	struct stat st;
	/* Missing, unreadable or a directory: all the administrator's to fix, one class. */
	if (!fp) {
		if (errno == ENOENT && !must_exist)
			return EX_OK;
		return res_set(r, EX_CONFIG, "4.3.5", "%s: %s", path, strerror(errno));
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		return res_set(r, EX_CONFIG, "4.3.5", "%s: %s", path, strerror(EISDIR));
	}
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			fclose(fp);
			return res_set(r, EX_CONFIG, "4.3.5", "%s:%d: line too long", path, lineno);
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		const char *problem = apply_line(cfg, s);
		if (problem) {
			fclose(fp);
			return res_set(r, EX_CONFIG, "4.3.5", "%s:%d: %s", path, lineno, problem);
		}
	}
	fclose(fp);
	snprintf(cfg->file, sizeof cfg->file, "%s", path);
	return EX_OK;
}

int cfg_set_option(struct config *cfg, const char *assignment, struct result *r)
{
	char buf[CFG_PATH_MAX + 64];
	const char *problem;
	if (snprintf(buf, sizeof buf, "%s", assignment) >= (int)sizeof buf)
		return res_set(r, EX_USAGE, "4.3.5", "-o %.40s...: too long", assignment);
	problem = apply_line(cfg, buf);
	if (problem)
		return res_set(r, EX_USAGE, "4.3.5", "-o %s: %s", assignment, problem);
	return EX_OK;
}

int cfg_init(struct config *cfg, const char *conf_path, char *const *overrides, size_t n_overrides,
	     struct result *r)
{
	cfg_defaults(cfg);
	if (cfg_load_file(cfg, conf_path ? conf_path : cfg_default_file(), conf_path != NULL, r) != EX_OK)
		return r->ex;
	for (size_t i = 0; i < n_overrides; i++)
		if (cfg_set_option(cfg, overrides[i], r) != EX_OK)
			return r->ex;
	/* Keys whose values are lists are checked whole, once they are all known. */
	return quota_check_config(cfg, r);
}

void cfg_dump(const struct config *cfg, void *out)
{
	FILE *fp = out;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)cfg + k->offset;
		switch (k->type) {
		case K_STR:
		case K_MODE:
			fprintf(fp, "%s = %s\n", k->name, field);
			break;
		case K_INT:
			fprintf(fp, "%s = %d\n", k->name, *(const int *)field);
			break;
		case K_SIZE:
			fprintf(fp, "%s = %lld\n", k->name, *(const long long *)field);
			break;
		case K_BOOL:
			fprintf(fp, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
			break;
		case K_QUOTING:
			fprintf(fp, "%s = %s\n", k->name,
				*(const enum mbox_quoting *)field == QUOTE_MBOXO ? "mboxo" : "mboxrd");
			break;
		case K_EXPANSION:
			fprintf(fp, "%s = %s\n", k->name, expansion_names[*(const enum cfg_expansion *)field]);
			break;
		case K_BARE_LF:
			fprintf(fp, "%s = %s\n", k->name,
				*(const enum lmtp_bare_lf *)field == BARE_LF_REJECT ? "reject" : "normalize");
			break;
		}
	}
}
