/* libsieve: RFC 5228 Sieve and its common extensions, compiled once into a resolved tree,
 * executed against a spooled message into an action list the delivery code carries out. */
#ifndef SIEVE_SIEVE_H
#define SIEVE_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct mbox_spool;

/* ------------------------------------------------------------------------------------------
 * Limits: every one bounds what a hostile script or message can cost one delivery. A limit
 * reached at compile time is a compile error; at run time it is a runtime failure, which
 * always ends in the implicit keep.
 * ------------------------------------------------------------------------------------------ */
struct sieve_limits {
	size_t max_script_size;        /* bytes of one script file (1 MiB) */
	unsigned max_include_depth;    /* nested include levels (10) */
	unsigned max_includes;         /* distinct scripts one program includes (255) */
	unsigned max_nesting;          /* nested blocks and tests in one script (64) */
	uint64_t max_steps;            /* interpreter steps per execution: commands, tests, and
	                                * one per 256 bytes compared (5,000,000) */
	unsigned max_cpu_ms;           /* CPU time per execution, checked every 4096 steps (5000) */
	size_t max_string;             /* bytes of one variable or expanded string (4096) */
	unsigned max_variables;        /* variables per script (255) */
	unsigned max_actions;          /* actions in one result (32) */
	unsigned max_redirects;        /* redirect actions in one result (4) */
	size_t max_header_bytes;       /* bytes of the header section examined (1 MiB) */
	size_t max_body_bytes;         /* bytes of the body examined by body tests (4 MiB) */
	unsigned max_mime_parts;       /* MIME parts the body test descends into (512) */
	size_t max_memory;             /* bytes one execution may allocate (32 MiB) */
	uint32_t regex_match_limit;    /* pcre2_set_match_limit per match (100000) */
	uint32_t regex_depth_limit;    /* pcre2_set_depth_limit per match (1000) */
	uint32_t regex_heap_limit_kb;  /* pcre2_set_heap_limit per match (8192) */
	uint64_t vacation_min_period;  /* seconds; :days/:seconds below are raised (86400) */
	uint64_t vacation_max_period;  /* seconds; above are lowered, 0 = no maximum (0) */
	uint64_t vacation_default_period; /* seconds without :days/:seconds (7 days) */
	uint64_t duplicate_default_period; /* seconds without :seconds (14 days) */
	uint64_t duplicate_max_period; /* seconds (7 days, as Pigeonhole) */
};

/* Fills *l with the defaults named above (Pigeonhole's where it has one).
 * Never fails. */
void sieve_limits_default(struct sieve_limits *l);

/* ------------------------------------------------------------------------------------------
 * Compiling: a script file (or buffer) becomes a program with its includes resolved, regexes
 * of constant keys compiled and variable references bound. Errors read FILE:LINE:COLUMN:
 * message, one per line, at most SIEVE_MAX_ERRORS of them.
 * ------------------------------------------------------------------------------------------ */
#define SIEVE_MAX_ERRORS 20

struct sieve_errors {
	unsigned count;                /* errors found (may exceed the lines kept) */
	unsigned warnings;             /* warnings found */
	size_t len;
	char text[8192];               /* "FILE:LINE:COLUMN: message\n" lines, NUL-terminated */
};

/* Empties errs.
 * Never fails. */
void sieve_errors_clear(struct sieve_errors *errs);

/* The first line of errs->text (no newline) into out, for a one-line log message.
 * Returns out; "" when there is no error. */
const char *sieve_errors_first(const struct sieve_errors *errs, char *out, size_t size);

/* Where a script's file must come from, and where include finds others. */
struct sieve_compile_opts {
	const struct sieve_limits *limits;  /* NULL: defaults */
	bool check_owner;              /* apply the trust rule below to every file opened */
	uid_t owner;                   /* required owner (root is accepted too), with check_owner */
	const char *personal_dir;      /* include :personal NAME reads personal_dir/NAME.sieve;
	                                * NULL: the directory of the main script */
	const char *global_dir;        /* include :global NAME reads global_dir/NAME.sieve;
	                                * NULL: :global includes are a compile error */
	const char *extensions;        /* space-separated capabilities to disable ("-vacation
	                                * -reject"), or NULL for all of them */
};

struct sieve_script;

/* Compiles the file at path. With check_owner the file (and each include) must be a regular
 * file with one link, owned by opts->owner or root, not writable by group or others, opened
 * O_NOFOLLOW|O_NONBLOCK and checked with fstat. Returns the program, or NULL with errs filled
 * (a missing file: errno ENOENT and one line; an untrusted one: errno EPERM). */
struct sieve_script *sieve_compile_file(const char *path, const struct sieve_compile_opts *opts,
					struct sieve_errors *errs);

/* Compiles text[0..len) named name in messages (tests, fuzzers); include reads files as
 * sieve_compile_file does. Returns the program, or NULL with errs filled. */
struct sieve_script *sieve_compile_buffer(const char *name, const char *text, size_t len,
					  const struct sieve_compile_opts *opts, struct sieve_errors *errs);

/* Compiles every NAME.sieve in dir in strcmp order (Pigeonhole's sieve_before/after
 * directories) into out[0..*n) (at most max); a file that fails is skipped with its errors
 * in errs. Returns the number of scripts that failed, or -1 when dir cannot be read. */
int sieve_compile_dir(const char *dir, const struct sieve_compile_opts *opts, struct sieve_script **out,
		      size_t max, size_t *n, struct sieve_errors *errs);

/* True while no file the program was compiled from (the script and its includes) has
 * changed: same device, inode, size and mtime. For the LMTP daemon's cache. */
bool sieve_script_is_current(const struct sieve_script *s);

/* JIT-compiles every regular expression of the program now, for a program that runs many
 * times from forked children (the LMTP daemon's cache): their use counts, which otherwise
 * decide, stay in the children. Where PCRE2 has no JIT nothing changes. Never fails. */
void sieve_script_jit(struct sieve_script *s);

/* A compiled program kept on disk for a process that compiles a script once per delivery.
 * sieve_cache_save writes s to cache_path (a new file renamed over it, mode 0600, as the
 * calling user); false when it cannot, which costs only the next compile. sieve_cache_load
 * returns the program kept there for script_path compiled with opts, or NULL when there is
 * none, it is not this build's, the options differ, a file it was compiled from changed, or
 * the file is not trusted (regular, one link, owned by opts->owner, not group/other
 * writable). A cache is believed as far as its owner is: load one only in a process that
 * runs as opts->owner with no other privilege. */
bool sieve_cache_save(const struct sieve_script *s, const char *cache_path, const char *script_path,
		      const struct sieve_compile_opts *opts);
struct sieve_script *sieve_cache_load(const char *cache_path, const char *script_path,
				      const struct sieve_compile_opts *opts);

/* The path or name the program was compiled from.
 * Never fails. */
const char *sieve_script_name(const struct sieve_script *s);

/* Frees the program. Safe on NULL.
 * Never fails. */
void sieve_script_free(struct sieve_script *s);

/* The capabilities this library implements, space-separated (for require and the man page).
 * Never fails. */
const char *sieve_capabilities(void);

/* ------------------------------------------------------------------------------------------
 * Executing: scripts[0..n) run in order against one message (before scripts, the personal
 * script, after scripts), collecting one result; the next script runs only while the implicit
 * keep is still in effect (Pigeonhole's rule). The message is the spool delivery already has
 * (headers and body read with pread, never changed).
 * ------------------------------------------------------------------------------------------ */
struct sieve_envelope {
	const char *sender;            /* MAIL FROM without <>, "" for the null sender */
	const char *recipient;         /* RCPT TO of this delivery (user+detail@domain) */
	const char *orig_recipient;    /* ORCPT / original recipient, NULL: as recipient */
	const char *user;              /* the login name whose script runs */
	const char *auth;              /* SMTP AUTH identity (envelope "auth"), NULL: none */
	const char *const *addresses;  /* more of the user's own addresses for vacation, */
	size_t n_addresses;            /* besides recipient and orig_recipient */
};

struct sieve_exec_opts {
	const struct sieve_limits *limits;   /* NULL: defaults */
	const char *recipient_delimiter;     /* characters that start a detail ("+"); "" none */
	const char *state_path;              /* GDBM file remembering vacation replies and
	                                      * duplicate IDs; NULL: no memory */
	uid_t state_owner;                   /* the state file must be owned by this uid */
	time_t now;                          /* 0: time(NULL); for currentdate and expiry */
	/* mailboxexists: 1 when the folder exists, 0 when not, -1 on error. NULL: only INBOX. */
	int (*mailbox_exists)(void *ctx, const char *folder, const char *path);
	void *mailbox_ctx;
};

enum sieve_action_kind {
	SIEVE_ACT_KEEP,        /* into the spool mailbox (INBOX) */
	SIEVE_ACT_FILEINTO,    /* into folder path under the user's mail folder directory */
	SIEVE_ACT_REDIRECT,    /* re-inject to address with the original envelope sender */
	SIEVE_ACT_REJECT,      /* refuse with reason (a bounce in stdin mode) */
	SIEVE_ACT_EREJECT,     /* refuse at protocol level with reason */
	SIEVE_ACT_DISCARD,     /* nothing to do: the record says the message was discarded */
	SIEVE_ACT_VACATION,    /* send the reply in vacation, if vacation->send */
};

struct sieve_vacation {
	const char *to;        /* the envelope sender the reply goes to */
	const char *from;      /* From: of the reply (:from, else the recipient) */
	const char *subject;   /* Subject: of the reply (:subject, else "Auto: " + original) */
	const char *reason;    /* the body, or a whole MIME entity when mime */
	bool mime;
	const char *handle;    /* :handle, else derived from the arguments */
	uint64_t period;       /* seconds before the same sender is answered again */
	const char *in_reply_to;  /* Message-ID of the message answered, NULL if none */
	const char *references;   /* its References plus Message-ID, NULL if none */
	bool send;             /* false: RFC 5230 says not to answer; why tells */
	const char *why;
};

struct sieve_action {
	enum sieve_action_kind kind;
	const char *folder;    /* keep: "INBOX"; fileinto: the folder name as validated */
	const char *path;      /* fileinto: folder relative to the folder directory, '/' between
	                        * levels; NULL when the folder is INBOX */
	const char *address;   /* redirect: the address */
	const char *reason;    /* reject/ereject: the reason (LF line ends) */
	const char *const *flags;  /* keep/fileinto: IMAP flags to set, canonical case for
	                            * system flags; NULL when none */
	size_t nflags;
	bool copy;             /* :copy (did not cancel the implicit keep) */
	bool create;           /* fileinto :create: create a missing folder */
	bool implicit;         /* the implicit keep (no script acted, or a failure) */
	struct sieve_vacation *vacation;
	const char *script;    /* where the action was made, for logs */
	unsigned line;
};

struct sieve_result {
	struct sieve_action *actions;
	size_t count;
	bool failed;           /* a runtime failure: the last script's actions were dropped and
	                        * the implicit keep is in the list */
	char error[512];       /* the failure as FILE:LINE: reason, "" when none */
	struct sieve_result_priv *priv;
};

/* Runs scripts[0..n) (NULL entries are skipped) against msg and env. Never loses the
 * message: the returned result (NULL only when out of memory) always holds at least a keep,
 * a fileinto, a redirect, a reject or a discard, and a runtime failure is the implicit keep
 * plus result->error. */
struct sieve_result *sieve_execute(const struct sieve_script *const *scripts, size_t n,
				   const struct mbox_spool *msg, const struct sieve_envelope *env,
				   const struct sieve_exec_opts *opts);

/* Records, after the delivery succeeded, what the result must remember: duplicate IDs and
 * the vacation replies whose send is still true (the caller clears it when sending failed).
 * Returns 0, or -1 with a reason in why (the delivery result stays unchanged). */
int sieve_commit(const struct sieve_result *res, const struct sieve_exec_opts *opts, char *why, size_t size);

/* The reply for a vacation action as a complete RFC 5322 message (Date, From, To, Subject,
 * Message-ID under hostname, In-Reply-To, References, Auto-Submitted: auto-replied, MIME),
 * LF line ends. Returns malloc'd text (*len its length), NULL when out of memory. */
char *sieve_vacation_message(const struct sieve_action *a, const char *hostname, time_t now, size_t *len);

/* Frees a result. Safe on NULL.
 * Never fails. */
void sieve_result_free(struct sieve_result *res);

/* The mbox status letters for a flag list: status gets "R" for \Seen (plus "O"), xstatus "A"
 * \Answered, "F" \Flagged, "D" \Deleted, "T" \Draft; keywords are joined by spaces into
 * keywords (Dovecot's X-Keywords). Each buffer is NUL-terminated, truncated when short. */
void sieve_flags_mbox(const char *const *flags, size_t n, char *status, size_t ssize, char *xstatus,
		      size_t xsize, char *keywords, size_t ksize);

/* Checks a folder name and maps it to a path relative to the folder directory: levels are
 * separated by '/', each a non-empty valid UTF-8 name without control characters, not "."
 * or "..", not starting with '.', no leading '/'; "INBOX" (any case) is the spool. Returns
 * 1 for INBOX, 0 with the path in out, -1 with why (a few words) when refused. */
int sieve_folder_path(const char *name, char *out, size_t size, const char **why);

/* Writes the result to fp one action per line in the form mda-sieve-test prints (see
 * mda-sieve-test(1)). Never fails. */
void sieve_result_print(const struct sieve_result *res, void *fp);

#endif
