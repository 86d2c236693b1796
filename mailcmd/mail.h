/* mail(1): types and entry points shared by the mail reader/sender modules (libmailcmd). */
#ifndef MAILCMD_MAIL_H
#define MAILCMD_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "common/config.h"

/* Session state of one message (Heirloom's m_flag bits). */
enum {
	MAIL_M_NEW = 1 << 0,       /* not seen by any reader before (no Status: O) */
	MAIL_M_READ = 1 << 1,      /* Status: R or read in this session */
	MAIL_M_DELETED = 1 << 2,
	MAIL_M_SAVED = 1 << 3,     /* saved to a file: leaves the system mailbox unless keepsave */
	MAIL_M_PRESERVE = 1 << 4,  /* hold/preserve: stays in the system mailbox */
	MAIL_M_MBOX = 1 << 5,      /* mbox command: goes to ~/mbox at quit */
	MAIL_M_TOUCH = 1 << 6,     /* touched: read or `touch`ed, candidate for ~/mbox */
	MAIL_M_ANSWERED = 1 << 7,
	MAIL_M_FLAGGED = 1 << 8,
	MAIL_M_STATUS = 1 << 9,    /* flags changed: the Status header needs rewriting */
};

/* What the header summary and the message-list parser need to know about a message. */
struct mail_msg {
	unsigned flags;            /* MAIL_M_* */
	const char *from;          /* From: (decoded) or the envelope sender; may be NULL */
	const char *to;            /* To: (decoded), for showto; may be NULL */
	const char *subject;       /* decoded Subject:, may be NULL */
	time_t date;               /* arrival date from the From_ line, (time_t)-1 unknown */
	size_t lines;
	long long bytes;
	const char *indent;        /* thread: the tree prefix %i shows, or NULL */
};

/* snprintf for paths where truncation is already bounded by the caller's checks; a
 * truncated result is simply a path that will not open. */
void mail_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- message lists (msglist.c) ---- */
enum mail_list_mode {
	MAIL_LIST_UNDELETED,       /* the usual: deleted messages are never selected */
	MAIL_LIST_DELETED,         /* undelete: only deleted messages are candidates */
};

/* Parses a message list (`1 3-5 * $ . ^ :n :u :r :d :o /re user`) against msgs[0..n-1]
 * with current message cur (0-based); sets sel[i] and returns how many, or -1 with err. */
int mail_msglist_parse(const char *spec, const struct mail_msg *msgs, size_t n, size_t cur,
		       enum mail_list_mode mode, unsigned char *sel, char *err, size_t errlen);
/* A display order (sort, thread): nth[k] the message at position k, pos[i] the position of
 * message i, for the first n messages (later ones follow in mailbox order). */
struct mail_order {
	const size_t *nth, *pos;
	size_t n;
};
/* mail_msglist_parse where ranges, `-` and `+` follow order (NULL: the mailbox order), as
 * Heirloom's sorted and threaded modes address messages. */
int mail_msglist_parse_in(const char *spec, const struct mail_msg *msgs, size_t n, size_t cur,
			  enum mail_list_mode mode, const struct mail_order *order, unsigned char *sel, char *err,
			  size_t errlen);

/* True when the (decoded) sender s matches user name `name` as mailx's `USER` list item:
 * the whole address, its local part, or (case-insensitively) part of the From text. */
bool mail_from_matches(const char *from, const char *name);

/* ---- header summary (headline.c) ---- */
/* Formats one Heirloom-style summary line (no newline) for message number num (1-based)
 * of total, trimmed to width-1 display columns. Returns the byte length. */
size_t mail_headline(char *buf, size_t size, const struct mail_msg *m, size_t num, size_t total,
		     bool current, int width, const char *showto_user);

/* The status letter of the summary: N new, U unread, ' ' read, * saved, P preserved,
 * M mboxed, A answered, F flagged, D deleted. */
char mail_status_char(unsigned flags);

/* Copies the bare address of an RFC 5322 address (first one) into out: the <...> part, or
 * the text without comments. Returns out. */
char *mail_skin(const char *addr, char *out, size_t size);

/* The file name Save/Copy use for a message from `from`: the local part of the address,
 * '/' and control characters made '_'. False when no safe name remains. */
bool mail_sender_filename(const char *from, char *out, size_t size);

/* Terminal width for summaries: COLUMNS, else TIOCGWINSZ on stdout, else 80. */
int mail_screen_width(void);

/* ---- variables, aliases, ignore lists (vars.c) ---- */
/* Sets variable name (value NULL for a boolean). "noNAME" unsets NAME. */
void mail_var_set(const char *name, const char *value);
void mail_var_unset(const char *name);
/* The value ("" for a set boolean) or NULL when unset. */
const char *mail_var_get(const char *name);
bool mail_var_isset(const char *name);
/* Numeric value of a variable, def when unset or not a number. */
long mail_var_num(const char *name, long def);
/* Prints all variables as `set` does (sorted, name or name="value"). */
void mail_var_list(FILE *out);
/* Frees all variables, aliases and ignore lists (tests). */
void mail_vars_reset(void);

/* Adds names to alias `name` (alias command). */
void mail_alias_add(const char *name, char *const *members, size_t n);
/* Members of an alias as one comma-separated string, or NULL. */
const char *mail_alias_get(const char *name);
void mail_alias_list(FILE *out);
void mail_alias_remove(const char *name);
/* Expands aliases (recursively, bounded) in a comma/space separated recipient list into
 * a malloc'd comma-separated list. */
char *mail_alias_expand(const char *list);

/* The lists of header field names (kept lowercase, as Heirloom does) and alternates. */
enum mail_field_list {
	MAIL_IGNORE, MAIL_RETAIN,         /* ignore/retain: what type and print show */
	MAIL_SAVEIGNORE, MAIL_SAVERETAIN, /* saveignore/saveretain: what save and copy keep */
	MAIL_ALTERNATES,                  /* alternates: the user's other addresses (as given) */
	MAIL_N_LISTS
};
void mail_ignore_add(int kind, const char *field);
/* Removes field from list kind (unignore, unretain, ...). Never fails. */
void mail_ignore_remove(int kind, const char *field);
/* Empties list kind (alternates replaces its list). Never fails. */
void mail_ignore_clear(int kind);
/* Prints list kind sorted, one a line, or Heirloom's "No fields currently being ignored."
 * (retained) when it is empty; alternates print on one line, nothing when empty. */
void mail_ignore_list(int kind, FILE *out);
/* The entries of list kind, in the order they were added (*n of them). */
char *const *mail_ignore_entries(int kind, size_t *n);
/* True when a header field should be hidden by `type`/`print` (not by `Type`). */
bool mail_ignored(const char *field);
/* True when save/copy/move leave field out (saveretain wins over saveignore). */
bool mail_save_ignored(const char *field);

/* Splits a command line into words the way mailx does for set/alias (quotes honoured).
 * Returns the count (at most max) of pointers into the modified line. */
size_t mail_split_words(char *line, char **words, size_t max);

/* ---- command table (cmdtab.c) ---- */
enum mail_cmd_id {
	C_NONE, C_TYPE, C_TYPE_ALL, C_NEXT, C_PREV, C_PLUS, C_HEADERS, C_Z, C_FROM, C_DELETE,
	C_DP, C_UNDELETE, C_REPLY, C_REPLY_SENDER, C_MAIL, C_SAVE, C_SAVE_NOHDR, C_COPY,
	C_PRESERVE, C_MBOX, C_TOUCH, C_TOP, C_SIZE, C_FOLDER, C_FOLDERS, C_SET, C_UNSET,
	C_ALIAS, C_UNALIAS, C_SHELL, C_PIPE, C_EQUALS, C_HELP, C_QUIT, C_EXIT, C_IGNORE,
	C_RETAIN, C_SOURCE, C_LIST, C_ECHO, C_NEWMAIL, C_UNREAD, C_VERSION, C_CD, C_SHELLCMD,
	C_SAVE_SENDER, C_COPY_SENDER, C_EDIT, C_VISUAL, C_FLAG, C_UNFLAG, C_ANSWERED, C_UNANSWERED,
	C_MORE, C_MORE_ALL, C_FOLLOWUP, C_FOLLOWUP_SENDER, C_RESEND, C_RESEND_RAW, C_FORWARD,
	C_FORWARD_SENDER, C_PIPE_ALL, C_IF, C_ELSE, C_ENDIF, C_ALTERNATES, C_SAVEIGNORE, C_SAVERETAIN,
	C_UNIGNORE, C_UNRETAIN, C_UNSAVEIGNORE, C_UNSAVERETAIN, C_THREAD, C_SORT, C_UNSORT, C_MOVE,
	C_MOVE_SENDER, C_SHOW, C_QUOTA, C_MAIL_RECORD,
};

enum mail_arg_kind { A_MSGLIST, A_STRING, A_NONE, A_WORDS };

struct mail_cmd {
	const char *name;          /* full name; the table order decides abbreviations */
	enum mail_cmd_id id;
	enum mail_arg_kind args;
	const char *help;
};

/* Looks a (possibly abbreviated) command name up the way mailx does: the first entry
 * of the table that the word is a prefix of. NULL when unknown. */
const struct mail_cmd *mail_cmd_lookup(const char *word);
/* The whole table, terminated by a NULL name. */
const struct mail_cmd *mail_cmd_table(void);

/* ---- composing and sending (compose.c) ---- */
struct mail_draft {
	char *to, *cc, *bcc;       /* comma-separated, malloc'd or NULL */
	char *subject;             /* malloc'd or NULL */
	char *from;                /* -r FROM, or NULL */
	char *in_reply_to;         /* Message-ID being answered, or NULL */
	char *references;
	char *body;                /* malloc'd text, LF lines */
	size_t body_len;
	char **attach;             /* file names */
	size_t n_attach;
	char *record;              /* followup/Forward: keep the sent copy in this file (a user
	                            * file name) instead of the `record` variable's; or NULL */
};

void mail_draft_free(struct mail_draft *d);
/* Appends text to the draft body (grows as needed). */
void mail_draft_append(struct mail_draft *d, const char *text, size_t len);
/* Adds comma-separated addresses to *field. */
void mail_addr_append(char **field, const char *more);

/* RFC 2047 encoded-word form of text (UTF-8) for a header, or a copy when it is plain
 * ASCII. start is the column where the text begins (folding). malloc'd. */
char *mail_rfc2047_encode(const char *text, size_t start);
/* Decodes RFC 2047 encoded words in a header value to UTF-8. malloc'd. */
char *mail_rfc2047_decode(const char *text);
/* Base64 of data with 76-column lines, malloc'd. */
char *mail_base64_encode(const unsigned char *data, size_t len, size_t *out_len);
/* Quoted-printable of text (soft line breaks at 76), malloc'd. */
char *mail_qp_encode(const char *text, size_t len, size_t *out_len);
/* Decoders for display: return malloc'd bytes and their length. */
char *mail_base64_decode(const char *in, size_t len, size_t *out_len);
char *mail_qp_decode(const char *in, size_t len, size_t *out_len);

/* Builds the complete RFC 5322 message (headers + body, MIME as needed) for d into a
 * malloc'd buffer. now and hostname make Date/Message-ID deterministic for tests. */
char *mail_build_message(const struct mail_draft *d, const char *user, const char *hostname,
			 time_t now, size_t *len_out, char *err, size_t errlen);

/* Sends msg through cfg->sendmail_path (or the `sendmail` variable) with -oi -- and the
 * recipients (To, Cc, Bcc, aliases expanded). Returns 0 or -1 with err. */
int mail_send_message(const struct config *cfg, const struct mail_draft *d, const char *msg,
		      size_t len, char *err, size_t errlen);

/* Builds, sends (mail_send_message) and records d; on failure prints why and keeps the
 * draft in dead.letter. Returns 0 when sent, -1 otherwise. */
int mail_deliver_draft(const struct config *cfg, const struct mail_draft *d, const char *user,
		       const char *home);

/* Appends msg (RFC 5322 form) in mbox form to the file named by the `record` variable, under
 * its lock. Returns 0 (also when record is unset), -1 with a message printed on failure. */
int mail_record(const struct config *cfg, const char *user, const char *home, const char *msg, size_t len);
/* The same into the user file name (expanded as save does). */
int mail_record_to(const struct config *cfg, const char *user, const char *home, const char *name,
		   const char *msg, size_t len);

/* "Tue, 05 Dec 2023 10:00:00 +0100" for now (a Date field's value). Never fails. */
void mail_date_value(char *out, size_t size, time_t now);
/* "<stamp.pid.salt@hostname>" (a Message-ID field's value), salt telling apart the messages
 * of one second. Never fails. */
void mail_message_id(char *out, size_t size, time_t now, unsigned long salt, const char *hostname);

/* Expands a user file name: +name under `folder` (else home), ~/x, and a relative name under
 * folder when `outfolder` is set. Returns false when the result is empty. */
bool mail_expand_path(const char *name, const char *home, char *out, size_t size);

/* Appends the draft as a message in mbox form to DEAD (default ~/dead.letter, mode 0600) and
 * prints `"PATH" LINES/BYTES`. Returns 0, -1 with the reason printed. */
int mail_save_dead(const struct config *cfg, const char *user, const char *home, const struct mail_draft *d);

/* ---- the user's editor (edit.c) ---- */
/* Runs the editor named by variable var (EDITOR/VISUAL: the mail variable, else the
 * environment, else def) on a private temp file holding text[0..len). Returns 1 when the
 * file changed, 0 when not (always 0 when read_only: the file is 0400 and any change is
 * dropped), with the file's content in *out (malloc'd, NUL-terminated, *out_len); -1 when
 * the editor could not run or exited non-zero (message printed, *out NULL). */
int mail_edit_text(const char *var, const char *def, const char *text, size_t len, bool read_only, char **out,
		   size_t *out_len);

/* ---- collecting a message (collect.c) ---- */
/* Reads the body from in; when interactive, honours tilde escapes and `dot`.
 * Returns 0 to send, 1 when aborted (~x, or ~q without `save`), 2 for ~q with `save` set
 * (the caller keeps the draft with mail_save_dead), -1 on error. */
int mail_collect(FILE *in, bool interactive, struct mail_draft *d, const char *home);

/* Reads messages of the open mailbox into a draft for ~f/~m: list as a message list (empty:
 * the current message), indent with indentprefix, all headers or the ignore-filtered ones. */
typedef void (*mail_interp_fn)(void *ctx, const char *list, bool indent, bool all_headers,
			       struct mail_draft *d);
/* Installs the reader's interpolation for ~f/~F/~m/~M (NULL: none, as in send mode). */
void mail_collect_set_interp(mail_interp_fn fn, void *ctx);

/* The terminal's header questions before the body (!at_end: Subject with ask/asksub, Cc/Bcc
 * with askcc/askbcc) or after it (Cc/Bcc with askatend or bsdcompat), as Heirloom asks them.
 * Never fails. */
void mail_ask_headers(struct mail_draft *d, bool at_end);

/* Full send mode: compose from stdin and send. Returns the exit status. */
int mail_send_mode(const struct config *cfg, struct mail_draft *d, const char *user,
		   const char *home);

/* ---- MIME display (mime.c) ---- */
/* Finds header `name` in the header block hdr[0..len) and returns its unfolded value
 * (malloc'd) or NULL. */
char *mail_header_get(const char *hdr, size_t len, const char *name);
/* The UTF-8 text (decoded headers) in the locale's charset, unconvertible characters as '?';
 * malloc'd, NULL only when out of memory. */
char *mail_locale_text(const char *utf8);
/* Writes "Name: value" with the value unfolded, RFC 2047-decoded and converted to the
 * locale's charset (what `type` shows for encoded header fields). Never fails. */
void mail_put_header(FILE *out, const char *name, size_t name_len, const char *value, size_t value_len);
/* One leaf part of a message (the whole message when it is not multipart). */
struct mail_part {
	const char *hdr, *body;    /* the part's header section and (encoded) body */
	size_t hlen, blen;
	int index;                 /* 1, 2, ... in order of appearance */
	char id[64];               /* Heirloom's part number: "1", "2", "2.1" */
	char type[128];            /* media type, lowercase, text/plain by default */
};
typedef void (*mail_part_fn)(void *ctx, const struct mail_part *p);
/* Calls fn for every leaf part of the message hdr/body, in order (multipart nesting bounded).
 * Never fails. */
void mail_mime_walk(const char *hdr, size_t hlen, const char *body, size_t blen, mail_part_fn fn, void *ctx);
/* The part's body decoded from base64/quoted-printable (a copy when not encoded), malloc'd
 * and NUL-terminated; NULL when out of memory. */
char *mail_part_decode(const struct mail_part *p, size_t *len);
/* The part's file name (Content-Disposition filename, else Content-Type name) as UTF-8, RFC
 * 2231 and RFC 2047 decoded. False when it has none. */
bool mail_part_filename(const struct mail_part *p, char *out, size_t size);
/* True when Content-Disposition says attachment. */
bool mail_part_is_attachment(const struct mail_part *p);
/* Writes a message body for display as Heirloom's type does: text decoded (QP/base64, charset
 * to the locale's), each part of a multipart after "Part N:" and its header fields (all of
 * them with all, else as ignore/retain say), multipart/alternative as its text/plain part
 * (every part with print-alternatives), message/rfc822 inline under a From_ line with its
 * header, other parts as one "[-- Attachment #N: name (type, bytes) --]" line. */
void mail_show_body(FILE *out, const char *hdr, size_t hlen, const char *body, size_t blen, bool all);
/* Writes the header fields of hdr[0..hlen) as type shows them: the ignored ones left out unless
 * all, RFC 2047 words decoded. Never fails. */
void mail_put_fields(FILE *out, const char *hdr, size_t hlen, bool all);
/* An RFC 5322 date ("Fri, 29 Sep 2023 07:40:00 +0200", day name and seconds optional) as a
 * time, its zone counted; (time_t)-1 when it is not one. */
time_t mail_parse_date(const char *date);

/* ---- the reader (session.c, cmds.c) ---- */
struct mail_opts {
	const char *file;          /* -f FILE; NULL for the system mailbox */
	const char *user;          /* -u USER or the invoking user */
	bool header_only;          /* -H */
	bool check_only;           /* -e */
	bool no_summary;           /* -N */
	bool read_only;            /* -R */
	bool user_given;           /* -u: ignore $MAIL */
};

/* Runs the interactive reader. Returns the exit status. */
int mail_read_mode(const struct config *cfg, const struct mail_opts *o);

/* Reads /etc/mail.rc (only when system_rc: -n skips it) and ~/.mailrc (or $MAILRC) through
 * the command interpreter's set/unset/alias/ignore/retain/source subset. */
void mail_load_rc(const char *home, bool system_rc);
/* Tells `if s`/`if r` which mode mail runs in and forgets open ifs (before mail_load_rc).
 * Never fails. */
void mail_cond_mode(bool sending);
/* Executes one rc-file line (set, unset, alias, ignore, retain, source, comments). */
int mail_rc_line(char *line);
/* Reads a file of rc lines (source). Returns 0 or -1 when unreadable. */
int mail_source(const char *path);

#endif
