/* The reader's private session state, shared by session.c (open/quit) and cmds.c. */
#ifndef MAILCMD_SESSION_H
#define MAILCMD_SESSION_H

#include "mailcmd/mail.h"
#include "mbox/mbox.h"

/* A message edited in this session (edit/visual): its new text in mbox form and an index of
 * it, shown in place of the original and written back at quit. */
struct mail_edit {
	char *data;
	size_t len;
	struct mbox_index idx;         /* one message, pointing into data */
};

struct mail_session {
	const struct config *cfg;
	char path[CFG_PATH_MAX];       /* the open mailbox */
	char prev[CFG_PATH_MAX];       /* the one before, for `#` */
	char user[64];
	char home[CFG_PATH_MAX];
	bool system;                   /* the user's system mailbox: quit moves read mail to mbox */
	bool readonly;
	bool open;
	struct mbox_index idx;
	struct mail_msg *msgs;
	struct mail_edit **edits;      /* n_edits slots, NULL unless that message was edited;
	                                * kept across new-mail re-indexing */
	size_t n_edits;
	size_t n;
	size_t n_seen;                 /* messages the user was shown (the rest arrived unannounced
	                                * and keep their Status at quit) */
	size_t cur;                    /* 0-based current message */
	size_t page;                   /* the screenful headers/z showed last (Heirloom's screen) */
	size_t *order;                 /* sort/thread: message index at each display position, or
	                                * NULL for the mailbox order; n_order entries (mail that
	                                * arrives later follows in mailbox order) */
	size_t *order_pos;             /* the display position of each message */
	char **indent;                 /* thread: the %i tree prefix of each message, or NULL */
	size_t n_order;
	char sorted[16];               /* the criterion ("" unsorted), as `sort` prints it */
	bool done;
	int status;                    /* exit status of the program */
};

/* Opens path into s (system: it is the user's spool mailbox). Returns 0 or -1 (message
 * printed). An empty or missing mailbox opens with n == 0. */
int mail_sess_open(struct mail_session *s, const char *path, bool system);
/* Leaves the mailbox as Heirloom's quit does (or only releases it when !save). Returns 0
 * or -1 when the mailbox could not be updated (nothing was lost). */
int mail_sess_close(struct mail_session *s, bool save);
/* The index holding message i as the session shows it (its edited copy once edited) and
 * the message's position in it (*pos). Never fails for i < n. */
const struct mbox_index *mail_sess_view(const struct mail_session *s, size_t i, size_t *pos);
/* Message i as shown, and the bytes its offsets refer to (*map). */
const struct mbox_msg *mail_sess_msg(const struct mail_session *s, size_t i, const char **map);
/* Makes text (the message as an editor leaves it: header, blank line, body) the session's
 * copy of message i, shown from now on and written back at quit. Returns 0, or -1 with a
 * message printed (the old copy stays). */
int mail_sess_replace(struct mail_session *s, size_t i, const char *text, size_t len);
/* Re-indexes when the mailbox grew; prints "New mail has arrived." Returns new count. */
size_t mail_sess_newmail(struct mail_session *s, bool quiet);
/* Prints `"path": N messages N new N unread`. */
void mail_sess_banner(struct mail_session *s);
/* Prints one summary line for message i. */
void mail_sess_headline(struct mail_session *s, size_t i);
/* Runs one command line. */
void mail_sess_execute(struct mail_session *s, char *line);
/* Expands a folder name (+name, %, %user, #, &, ~/x). Returns false when impossible. */
bool mail_sess_expand(struct mail_session *s, const char *name, char *out, size_t size);

/* ---- shared by the command families (cmds.c, save.c) ---- */
/* Runs cmd with /bin/sh -c, input (when not NULL) on its stdin. Returns its exit status, -1
 * when it could not run or was killed. */
int mail_run_sh(const char *cmd, const char *input, size_t len);
/* Parses a message list into sel (s->n bytes); an empty one means the current message.
 * Returns the count, or -1 with the reason printed. */
int mail_get_list(struct mail_session *s, const char *arg, enum mail_list_mode mode, unsigned char *sel);
/* The header section of message i as shown (edited copy included), length in *len. */
const char *mail_msg_hdr(struct mail_session *s, size_t i, size_t *len);
/* Writes the header fields of message i as `type` shows them (ignore/retain applied unless
 * all), the From_ line first when from_line, then the blank line. */
void mail_show_headers(FILE *out, struct mail_session *s, size_t i, bool all, bool from_line);
/* Heirloom's touch(): message i counts as read for this session and for quit. */
void mail_touch(struct mail_session *s, size_t i);
/* `type` of message i into out ("Message  N:" unless quiet, headers, decoded body); touches
 * it and makes it the current message. */
void mail_type_one(struct mail_session *s, size_t i, bool all, FILE *out);

/* Splits "msglist word" (save, copy, forward, resend ...) in place: returns the last word (the
 * file or recipient), leaving the list in arg; a lone word that is no list token is the word.
 * NULL when there is none. */
char *mail_split_last(char *arg);

/* ---- composing (reply.c) ---- */
/* ~f/~m: the listed messages as type shows them into d, indented for ~m (mail_interp_fn). */
void mail_interpolate_msgs(void *ctx, const char *list, bool indent, bool all_headers, struct mail_draft *d);
/* mail ADDRESSES: composes and sends from the terminal; Mail (record) keeps the copy in a file
 * named after the first recipient. */
void mail_cmd_mail(struct mail_session *s, const char *arg, bool record);
/* reply (all) / Reply to the first selected message; followup keeps the sent copy in a file
 * named after the first recipient, as Heirloom's followup/Followup. */
void mail_cmd_reply(struct mail_session *s, const unsigned char *sel, bool all, bool followup);
/* forward [msg] address: one message after fwdheading into a new draft, then composing; Forward
 * (record) keeps the copy in a file named after the recipient. */
void mail_cmd_forward(struct mail_session *s, char *arg, bool record);
/* resend [msglist] address: each message sent on as it is, after Resent- fields unless
 * !add_resent (Resend). Failures are printed and set the exit status. */
void mail_cmd_resend(struct mail_session *s, char *arg, bool add_resent);

/* ---- saving (save.c) ---- */
enum mail_save_kind {
	MAIL_SAVE,     /* save: mbox form, marks saved (leaves the system mailbox at quit) */
	MAIL_COPY,     /* copy: mbox form, touches only */
	MAIL_WRITE,    /* write: decoded body, attachments in files of their own, touches only */
	MAIL_MOVE,     /* move: as copy, then the messages are deleted */
};
/* save/copy/write [msglist] file. The current message does not move, as in Heirloom. */
void mail_cmd_save(struct mail_session *s, char *arg, enum mail_save_kind kind);
/* Save/Copy: into a file named after the first selected message's sender. */
void mail_cmd_save_sender(struct mail_session *s, const unsigned char *sel, enum mail_save_kind kind);
/* pipe/Pipe [msglist] ["]command["]: the messages as `type` (all headers for Pipe) shows
 * them, into one run of command, then `"command" lines/bytes`. */
void mail_cmd_pipe(struct mail_session *s, char *arg, bool all_headers);

/* ---- sort and thread (sort.c) ---- */
/* sort [date|from|to|subject|size|status|thread] (a prefix does): the display order of the
 * summaries, next, + and -, and ranges; message numbers stay. Without an argument prints
 * "Current sorting criterion is: ...". With `header` set prints the summary. */
void mail_cmd_sort(struct mail_session *s, const char *arg);
/* unsort/unthread: back to the mailbox order (the summary with `header`). */
void mail_cmd_unsort(struct mail_session *s);
/* Forgets the order (another mailbox was opened). Never fails. */
void mail_sort_forget(struct mail_session *s);
/* The message shown at display position k (k itself when unsorted). */
size_t mail_sess_nth(const struct mail_session *s, size_t k);
/* The display position of message i. */
size_t mail_sess_pos(const struct mail_session *s, size_t i);
/* The order for the message-list parser (NULL when unsorted). */
const struct mail_order *mail_sess_order(const struct mail_session *s, struct mail_order *o);

/* ---- quota (quota.c) ---- */
/* quota: prints "Mailbox PATH: USED of LIMIT bytes (N%)" ("USED bytes, no limit"), the
 * folders named too with quota_scope = all; a quota_file that cannot be read is reported. */
void mail_cmd_quota(struct mail_session *s);

#endif
