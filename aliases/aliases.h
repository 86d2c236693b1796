/* aliases(5): the source-file parser, the item tokenizer shared with .forward/:include:, and
 * the GDBM database (atomic compile, reader with the `@` completeness sentinel). */
#ifndef ALIASES_ALIASES_H
#define ALIASES_ALIASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"
#include "common/result.h"

#define ALIAS_LINE_MAX  8192      /* one physical line of the aliases file */
#define ALIAS_VALUE_MAX 262144    /* one logical entry (name + continuation lines) */
#define ALIAS_NAME_MAX  256       /* an alias name (the key) */
#define ALIAS_ITEM_MAX  4096      /* one item of a value list: address, |command, /file */

/* ---- Source parser ---- */

struct alias_entry {
	const char *name;   /* lowercased, unquoted, NUL-terminated */
	const char *value;  /* continuation lines joined with one space, trimmed */
	size_t name_len, value_len;
	unsigned long line; /* where the entry starts */
};

/* Called once per good entry. Return 0 to go on, -1 to stop the parse (I/O trouble: the
 * callback has filled the parse's result). */
typedef int (*alias_entry_fn)(void *ctx, const struct alias_entry *e, struct result *r);

struct alias_parse_stats {
	unsigned long entries;  /* good entries handed to the callback */
	unsigned long bad;      /* entries skipped with a FILE:LINE message */
};

/* Reads aliases(5) text from fp (fname names it in messages) and calls fn for every good
 * entry; bad entries are reported as "FILE:LINE: message" on errfp (may be NULL) and skipped.
 * Returns EX_OK (check st->bad), EX_IOERR on a read error, or the callback's failure in r. */
int alias_parse_stream(FILE *fp, const char *fname, alias_entry_fn fn, void *ctx, FILE *errfp,
		       struct alias_parse_stats *st, struct result *r);

/* ---- Items of a value list (aliases values, .forward and :include: files) ---- */

enum alias_item_kind {
	AI_LOCAL,     /* a local name, possibly with +extension: expand further */
	AI_NOALIAS,   /* \user: that user's mailbox, no further expansion */
	AI_REMOTE,    /* user@host */
	AI_COMMAND,   /* |command (text is the command without the bar) */
	AI_FILE,      /* /absolute/path */
	AI_INCLUDE,   /* :include:/path (text is the path) */
	AI_ERROR,     /* error:[4|5.x.y] text (dsn filled, text is the message) */
};

struct alias_item {
	enum alias_item_kind kind;
	char text[ALIAS_ITEM_MAX];
	char dsn[12];           /* AI_ERROR only */
};

/* Takes the next item from *p (advanced past it): comma-separated, "quoted" items with
 * backslash escapes, whitespace trimmed. When lines is true (.forward and :include: text)
 * newlines also separate items and lines starting with # are comments.
 * Returns 1 with *it filled, 0 at the end, -1 on a malformed item (why in *err). */
int alias_next_item(const char **p, bool lines, struct alias_item *it, const char **err);

/* Checks that every item of a value parses; 0 or -1 with the problem in *err. */
int alias_value_check(const char *value, const char **err);

/* ---- Database ---- */

struct alias_compile_stats {
	unsigned long aliases, bad, duplicates;
	size_t longest;        /* longest value in bytes */
	unsigned long long total;  /* bytes of names and values */
};

/* Compiles the aliases file src into the GDBM database dbpath: a temporary file beside it,
 * every entry with NUL-terminated key and value, the `@` sentinel, fsync, rename. The new
 * file keeps the old one's owner and mode (0644 when new). Messages for bad lines and
 * duplicates go to errfp. Returns EX_OK or EX_DATAERR (bad lines; the database is still
 * written), else EX_NOINPUT/EX_CANTCREAT/EX_TEMPFAIL with the old database untouched. */
int alias_compile(const char *src, const char *dbpath, FILE *errfp, struct alias_compile_stats *st,
		  struct result *r);

struct alias_db;

#define ALIAS_DB_DEFAULT CFG_ALIASES_DB_DEFAULT

enum alias_db_format {
	ALIAS_FMT_MISSING,      /* no file */
	ALIAS_FMT_UNREADABLE,   /* exists, cannot be opened (permissions) */
	ALIAS_FMT_GDBM,         /* ours */
	ALIAS_FMT_BERKELEY,     /* postalias hash:/btree:, sendmail makemap, newaliases of Postfix */
	ALIAS_FMT_OTHER,        /* anything else: LMDB, text, empty, not a regular file */
};

/* What the file at path is, from its first bytes; *what gets a few words for messages ("a
 * Berkeley DB hash", "an LMDB database", "an empty file", ...). Never blocks, never fails. */
enum alias_db_format alias_db_format(const char *path, const char **what);

/* Opens a compiled database for reading (no lock: files are only ever replaced by rename).
 * EX_OK; EX_NOINPUT when it does not exist; EX_TEMPFAIL 4.3.0 when unreadable, corrupt or
 * without the `@` sentinel (newaliases is running or failed). */
int alias_db_open(const char *path, struct alias_db **out, struct result *r);
void alias_db_close(struct alias_db *db);

/* Looks name up exactly (callers lowercase). 1 with a malloc'd value in *value, 0 when
 * absent, -1 on a database error (r says why, temporary). */
int alias_db_lookup(struct alias_db *db, const char *name, char **value, struct result *r);

/* The opened file's identity and owner, for change detection and privileges. */
struct alias_db_info {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	uid_t owner;
};
void alias_db_info(const struct alias_db *db, struct alias_db_info *info);

/* Calls fn(ctx, name, value) for every entry except the sentinel, in database order.
 * Returns EX_OK, or EX_TEMPFAIL on a read error (r says why). */
int alias_db_foreach(struct alias_db *db, void (*fn)(void *ctx, const char *name, const char *value),
		     void *ctx, struct result *r);

/* Writes "name: value" in aliases(5) syntax, quoting the name when it needs it. Never fails. */
void alias_print(FILE *fp, const char *name, const char *value);

#endif
