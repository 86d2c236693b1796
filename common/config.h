/* mda.conf(5): one `key = value` file shared by every program, each key overridable by -o. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "common/result.h"

#define CFG_PATH_MAX 1024
/* mda's compiled aliases: never /etc/aliases.db, which belongs to the MTA (Berkeley DB). */
#define CFG_ALIASES_DB_DEFAULT "/etc/aliases.mda.db"

enum mbox_quoting { QUOTE_MBOXRD, QUOTE_MBOXO };
/* lmtp_bare_newline: what a line ended by a bare LF gets (it never ends DATA either way). */
enum lmtp_bare_lf { BARE_LF_NORMALIZE, BARE_LF_REJECT };
/* expansion: who expands aliases and .forward; auto decides per invocation (mda(8)). */
enum cfg_expansion { EXPANSION_AUTO, EXPANSION_MDA, EXPANSION_MTA };

struct config {
	char spool_dir[CFG_PATH_MAX];      /* system mailboxes: spool_dir/USER */
	char aliases_file[CFG_PATH_MAX];
	char aliases_db[CFG_PATH_MAX];
	char passwd_file[CFG_PATH_MAX];    /* "" = the system's getpwnam() */
	char sendmail_path[CFG_PATH_MAX];  /* argv[0] of remote forwarding and of mail(1) sending */
	char tmp_dir[CFG_PATH_MAX];        /* where multi-use message spools live */
	char hostname[256];                /* "" = gethostname() */
	char default_privs[64];            /* user for commands/files of root-owned aliases */
	char mail_group[64];               /* group that owns spool mailboxes, "" = none */
	char recipient_delimiter[8];       /* "" disables address extensions */
	char log[16];                      /* "syslog" or "stderr" */
	char lmtp_socket_mode[8];          /* octal, for unix: listeners */
	char lmtp_socket_owner[64];        /* user of unix: listeners, "" = the daemon's */
	char lmtp_socket_group[64];        /* group of unix: listeners, "" = the daemon's */
	int lock_timeout;                  /* seconds to wait for a mailbox lock */
	int command_timeout;               /* seconds a |command delivery may run */
	int expansion_depth;               /* alias/.forward nesting limit */
	int expansion_limit;               /* destinations per recipient and per message */
	enum cfg_expansion expansion;      /* auto, mda (aliases, .forward, :include:), mta (mailbox only) */
	long long message_size_limit;      /* bytes, 0 = unlimited */
	int lmtp_max_connections;
	int lmtp_idle_timeout;             /* seconds */
	int lmtp_max_recipients;
	int lmtp_max_errors;
	int lmtp_client_connection_limit;  /* sessions per peer uid (unix) or address (inet), 0 = none */
	int lmtp_junk_command_limit;       /* NOOP/RSET/VRFY/HELP before each counts as an error */
	int lmtp_session_time_limit;       /* seconds; then 421 between transactions, 0 = none */
	char lmtp_xforward_clients[512];   /* users (local peers) and addresses/nets allowed XFORWARD */
	bool lmtp_received_header;         /* a Received: trace line for the LMTP hop */
	enum lmtp_bare_lf lmtp_bare_newline;
	long long mailbox_size_limit;      /* bytes a spool mailbox may hold, 0 = no limit */
	char quota_file[CFG_PATH_MAX];     /* "user size" lines overriding it, "" = none */
	char quota_scope[8];               /* "spool" or "all" (Sieve folders count too) */
	bool quota_full_tempfail;          /* over quota: 452 4.2.2 instead of 552 5.2.2 */
	char quota_warning[64];            /* percentages whose crossing sends a warning, "" = none */
	char quota_warning_file[CFG_PATH_MAX]; /* the warning's text (%u %p %s %l), "" = built in */
	/* Sieve (mda-sieve(7)); paths starting with "~/" are in the user's home directory. */
	char sieve[CFG_PATH_MAX];          /* the user's script, "" = no per-user scripts */
	char sieve_dir[CFG_PATH_MAX];      /* include :personal */
	char sieve_global_dir[CFG_PATH_MAX]; /* include :global */
	char sieve_before[CFG_PATH_MAX];   /* script or directory of *.sieve run first, "" = none */
	char sieve_after[CFG_PATH_MAX];    /* the same, run after the user's */
	char sieve_extensions[256];        /* capabilities to disable ("-vacation -reject") */
	char sieve_state[CFG_PATH_MAX];    /* the user's GDBM memory (vacation, duplicate), "" = none */
	char sieve_cache[CFG_PATH_MAX];    /* the user's compiled script, stdin mode, "" = none */
	char mail_folder_dir[CFG_PATH_MAX];/* fileinto folders: mail(1)'s +name directory */
	int sieve_max_actions;
	int sieve_max_redirects;
	int sieve_max_cpu_time;            /* seconds per execution */
	long long sieve_max_script_size;   /* bytes */
	int sieve_vacation_min_period;     /* seconds */
	int sieve_vacation_max_period;     /* seconds, 0 = no maximum */
	int sieve_vacation_default_period; /* seconds */
	bool biff;                         /* comsat notification after each mailbox append */
	bool allow_commands;               /* |command in aliases/.forward */
	bool allow_files;                  /* /file in aliases/.forward */
	bool fsync;                        /* fsync before success; off only for benchmarks of the peer kind */
	bool shared_spool;                 /* other hosts lock these mailboxes: dotlocks go stale by age only */
	enum mbox_quoting mbox_quoting;
	char file[CFG_PATH_MAX];           /* the file these values came from, "" if none */
};

/* The configuration file read without -C: SYSCONFDIR/mda.conf, SYSCONFDIR set by the build
 * from PREFIX (/etc for PREFIX=/usr, PREFIX/etc otherwise). Never fails. */
const char *cfg_default_file(void);

/* The host's mail name, as Postfix's myhostname defaults to it: the hostname key when set,
 * else gethostname(), made fully qualified with ".localdomain" when it has no dot (what
 * Postfix does without a configured mydomain). For From: and Message-ID. Never fails. */
void cfg_mail_hostname(const struct config *cfg, char *out, size_t size);

/* Fills *cfg with the built-in defaults. Never fails. */
void cfg_defaults(struct config *cfg);

/* Reads FILE over the current values. A missing file is fine when !must_exist (the
 * default /etc/mda.conf need not exist). Unknown keys and bad values fail with
 * EX_CONFIG and "FILE:LINE: ..." in r. */
int cfg_load_file(struct config *cfg, const char *path, bool must_exist, struct result *r);

/* Applies one "key=value" override (the -o flag). Fails with EX_USAGE on an unknown key
 * or bad value. */
int cfg_set_option(struct config *cfg, const char *assignment, struct result *r);

/* The usual start of every program: defaults, then conf_path (or the default file if
 * NULL), then the -o overrides in order. Returns EX_OK or the failure in r. */
int cfg_init(struct config *cfg, const char *conf_path, char *const *overrides, size_t n_overrides,
	     struct result *r);

/* Writes every key = value to fp in file syntax (for `mda -n`-style dumps and tests). */
void cfg_dump(const struct config *cfg, void *fp);

#endif
