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
	size_t cur;                    /* 0-based current message */
	size_t page;                   /* first message of the last headers page */
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

#endif
