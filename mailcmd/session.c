/* The reader's session: opening a mailbox through the mbox index, new-mail checks, and
 * Heirloom's quit (deleted dropped, read mail to ~/mbox, the rest held with Status). */
#include "mailcmd/session.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mbox/header.h"

static unsigned session_flags(unsigned f)
{
	unsigned m = 0;
	if (!(f & MBOX_F_OLD))
		m |= MAIL_M_NEW;   /* Heirloom's MNEW: no 'O' yet (R alone is read but new) */
	if (f & MBOX_F_READ)
		m |= MAIL_M_READ;
	if (f & MBOX_F_ANSWERED)
		m |= MAIL_M_ANSWERED;
	if (f & MBOX_F_FLAGGED)
		m |= MAIL_M_FLAGGED;
	return m;
}

const struct mbox_index *mail_sess_view(const struct mail_session *s, size_t i, size_t *pos)
{
	if (i < s->n_edits && s->edits[i]) {
		*pos = 0;
		return &s->edits[i]->idx;
	}
	*pos = i;
	return &s->idx;
}

const struct mbox_msg *mail_sess_msg(const struct mail_session *s, size_t i, const char **map)
{
	size_t pos;
	const struct mbox_index *v = mail_sess_view(s, i, &pos);
	*map = v->map;
	return &v->msgs[pos];
}

/* The summary fields of message i (as shown: edited or not); its session flags stay. */
static void fill_one(struct mail_session *s, size_t i)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	s->msgs[i].from = x->from ? x->from : x->envelope_sender;
	s->msgs[i].to = x->to;
	s->msgs[i].subject = x->subject;
	s->msgs[i].date = x->from_date;
	s->msgs[i].lines = x->lines;
	s->msgs[i].bytes = (long long)(x->end - x->start);
}

/* Room for an edit slot per message; new slots are empty. A slot is a pointer, filled only
 * for edited messages: a whole mail_edit (its index) per message was 1 KB each. */
static int grow_edits(struct mail_session *s, size_t n)
{
	if (n <= s->n_edits)
		return 0;
	struct mail_edit **e = realloc(s->edits, n * sizeof *e);
	if (!e)
		return -1;
	memset(e + s->n_edits, 0, (n - s->n_edits) * sizeof *e);
	s->edits = e;
	s->n_edits = n;
	return 0;
}

static void free_edit(struct mail_edit *e)
{
	if (!e)
		return;
	mbox_index_close(&e->idx);
	free(e->data);
	free(e);
}

static void free_edits(struct mail_session *s)
{
	for (size_t i = 0; i < s->n_edits; i++)
		free_edit(s->edits[i]);
	free(s->edits);
	s->edits = NULL;
	s->n_edits = 0;
}

/* Fills msgs[from..idx.count) from the index. */
static int fill_msgs(struct mail_session *s, size_t from)
{
	size_t n = s->idx.count;
	struct mail_msg *m = realloc(s->msgs, (n ? n : 1) * sizeof *m);
	if (!m || grow_edits(s, n) < 0) {
		s->msgs = m ? m : s->msgs;
		return -1;
	}
	s->msgs = m;
	for (size_t i = from; i < n; i++) {
		m[i] = (struct mail_msg){ .flags = session_flags(s->idx.msgs[i].flags) };
		fill_one(s, i);
	}
	s->n = n;
	return 0;
}

/* Message i with text as its new content, in mbox form with its one-message index; NULL
 * (reason printed) when that cannot be made. */
static struct mail_edit *make_edit(const struct mail_session *s, size_t i, const char *text, size_t len)
{
	struct mail_edit *e = calloc(1, sizeof *e);
	struct result r = { 0 };
	size_t pos;
	const struct mbox_index *v = mail_sess_view(s, i, &pos);
	if (e)
		e->data = mbox_edit_form(v, pos, text, len, s->cfg->mbox_quoting, &e->len);
	if (!e || !e->data || mbox_index_buffer(e->data, e->len, &e->idx, &r) != EX_OK || e->idx.count != 1) {
		fprintf(stderr, "%s\n", r.ex == EX_OK ? "out of memory" : r.reason);
		free_edit(e);     /* its index is closed or empty: closing again is safe */
		return NULL;
	}
	return e;
}

int mail_sess_replace(struct mail_session *s, size_t i, const char *text, size_t len)
{
	struct mail_edit *e = make_edit(s, i, text, len);
	if (!e)
		return -1;
	free_edit(s->edits[i]);
	s->edits[i] = e;
	fill_one(s, i);
	return 0;
}

static void free_msgs(struct mail_session *s)
{
	free(s->msgs);
	s->msgs = NULL;
	s->n = 0;
}

/* The first new message, else the first unread one, else the first: where dot starts. */
static size_t first_current(const struct mail_session *s)
{
	for (size_t i = 0; i < s->n; i++)
		if ((s->msgs[i].flags & (MAIL_M_NEW | MAIL_M_READ)) == MAIL_M_NEW)
			return i;
	for (size_t i = 0; i < s->n; i++)
		if (!(s->msgs[i].flags & MAIL_M_READ))
			return i;
	return 0;
}

/* The session reads its mailbox through a map of the file. Another program that rewrites the
 * file in place (a second mail session's quit where the spool is not the user's to write)
 * truncates it under the map, and reading a page past the new end raises SIGBUS: say what
 * happened instead of dumping core. Nothing of this session was written, and the other
 * program's rewrite is complete, so the mailbox is whole; its view here is not. */
static char bus_note[CFG_PATH_MAX + 160];
static size_t bus_note_len;

static void on_sigbus(int sig)
{
	(void)sig;
	(void)!write(STDERR_FILENO, bus_note, bus_note_len);
	_exit(1);
}

static void watch_for_truncation(const char *path)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	int n = snprintf(bus_note, sizeof bus_note,
			 "mail: %s was rewritten by another program while this session read it; "
			 "nothing was changed by this session, start mail again\n", path);
	bus_note_len = n > 0 && (size_t)n < sizeof bus_note ? (size_t)n : 0;
	sigaction(SIGBUS, &sa, NULL);
}

int mail_sess_open(struct mail_session *s, const char *path, bool system)
{
	struct result r = { 0 };
	struct stat st;
	/* Heirloom: a folder named with -f (or `file`) must exist; "FILE: reason", the name once.
	 * A missing system mailbox is only empty (mail.local creates it on delivery). */
	int bad = stat(path, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (bad && (bad != ENOENT || !system)) {
		fprintf(stderr, "%s: %s\n", path, strerror(bad));
		return -1;
	}
	if (mbox_index_open(path, &s->idx, &r) != EX_OK) {
		fprintf(stderr, "%s: %s\n", path, r.reason);
		return -1;
	}
	if (s->open)
		mail_fmt(s->prev, sizeof s->prev, "%s", s->path);
	mail_fmt(s->path, sizeof s->path, "%s", path);
	watch_for_truncation(s->path);
	s->system = system;
	s->open = true;
	s->n = 0;
	if (fill_msgs(s, 0) < 0) {
		mbox_index_close(&s->idx);
		s->open = false;
		return -1;
	}
	s->n_seen = s->n;
	s->cur = first_current(s);
	s->page = 0;
	return 0;
}

void mail_sess_banner(struct mail_session *s)
{
	size_t newc = 0, unread = 0, del = 0, saved = 0;
	char shown[CFG_PATH_MAX + 2], dir[CFG_PATH_MAX];
	for (size_t i = 0; i < s->n; i++) {
		unsigned f = s->msgs[i].flags;
		newc += (f & MAIL_M_NEW) != 0;
		unread += !(f & MAIL_M_READ);
		del += (f & MAIL_M_DELETED) != 0;
		saved += (f & (MAIL_M_SAVED | MAIL_M_DELETED)) == MAIL_M_SAVED;
	}
	/* Heirloom's newfileinfo(): a mailbox under folder is named +name */
	size_t dl = 0;
	if (mail_var_get("folder") && mail_sess_expand(s, "+", dir, sizeof dir))
		dl = strlen(dir);
	if (dl > 1 && !strncmp(s->path, dir, dl) && s->path[dl])
		mail_fmt(shown, sizeof shown, "+%s", s->path + dl);
	else
		mail_fmt(shown, sizeof shown, "%s", s->path);
	printf("\"%s\": %zu message%s", shown, s->n, s->n == 1 ? "" : "s");
	if (newc)
		printf(" %zu new", newc);
	if (unread > newc)
		printf(" %zu unread", unread);
	if (del)
		printf(" %zu deleted", del);
	if (saved)
		printf(" %zu saved", saved);
	if (s->readonly)
		printf(" [Read only]");
	printf("\n");
}

void mail_sess_headline(struct mail_session *s, size_t i)
{
	char line[2048];
	const char *showto = mail_var_isset("showto") ? s->user : NULL;
	mail_headline(line, sizeof line, &s->msgs[i], i + 1, s->n, i == s->cur, mail_screen_width(), showto);
	puts(line);
}

size_t mail_sess_newmail(struct mail_session *s, bool quiet)
{
	struct stat st;
	struct result r = { 0 };
	struct mbox_index fresh;
	if (!s->open || stat(s->path, &st) != 0 || st.st_size <= s->idx.size)
		return 0;
	if (mbox_index_open(s->path, &fresh, &r) != EX_OK || fresh.count < s->n) {
		/* not a plain append: keep the old view; quit's rewrite will refuse safely */
		if (r.ex == EX_OK)
			mbox_index_close(&fresh);
		return 0;
	}
	size_t old = s->n;
	/* the session flags of the old messages stay; pointers are re-aimed at the new index */
	struct mail_msg *keep = malloc((old ? old : 1) * sizeof *keep);
	if (!keep) {
		mbox_index_close(&fresh);
		return 0;
	}
	memcpy(keep, s->msgs, old * sizeof *keep);
	free_msgs(s);
	mbox_index_close(&s->idx);
	s->idx = fresh;
	if (fill_msgs(s, 0) == 0)
		for (size_t i = 0; i < old; i++)
			s->msgs[i].flags = keep[i].flags;
	free(keep);
	if (!quiet)
		s->n_seen = s->n;
	if (!quiet && s->n > old)
		printf("New mail has arrived.\nLoaded %zu new message%s.\n", s->n - old, s->n - old == 1 ? "" : "s");
	return s->n - old;
}

/* Status/X-Status flags a kept message is written back with. */
static unsigned mbox_flags_of(const struct mail_msg *m)
{
	unsigned f = MBOX_F_OLD;
	if (m->flags & MAIL_M_READ)
		f |= MBOX_F_READ;
	if (m->flags & MAIL_M_ANSWERED)
		f |= MBOX_F_ANSWERED;
	if (m->flags & MAIL_M_FLAGGED)
		f |= MBOX_F_FLAGGED;
	return f;
}

/* UNSEEN: arrived during the session but never announced: kept exactly as it is. */
enum fate { KEEP, DROP, TO_MBOX, UNSEEN };

/* Heirloom's quit rules for one message of the system mailbox (or any file when !system). */
static enum fate fate_of(const struct mail_session *s, size_t i)
{
	const struct mail_msg *m = &s->msgs[i];
	if (i >= s->n_seen)
		return UNSEEN;
	if (m->flags & MAIL_M_DELETED)
		return DROP;
	if (!s->system)
		return KEEP;
	if ((m->flags & MAIL_M_SAVED) && !mail_var_isset("keepsave"))
		return DROP;
	if (m->flags & MAIL_M_PRESERVE)
		return KEEP;
	if (m->flags & MAIL_M_MBOX)
		return TO_MBOX;
	if ((m->flags & MAIL_M_TOUCH) && !mail_var_isset("hold"))
		return TO_MBOX;
	return KEEP;
}

/* Where read mail goes: $MBOX (variable) else ~/mbox. */
static void mbox_path(const struct mail_session *s, char *out, size_t size)
{
	const char *v = mail_var_get("MBOX");
	if (v && *v)
		mail_sess_expand((struct mail_session *)s, v, out, size);
	else
		mail_fmt(out, size, "%s/mbox", s->home);
}

/* saveignore/saveretain apply to what quit moves to ~/mbox too, as in Heirloom (its quit
 * writes those messages as save does). */
static bool quit_drops_field(const char *name, size_t len)
{
	char field[256];
	if (len >= sizeof field)
		return false;
	memcpy(field, name, len);
	field[len] = '\0';
	return mail_save_ignored(field);
}

/* The messages marked TO_MBOX, as mbox_file_messages takes them (count of them in *n);
 * NULL when out of memory. */
static struct mbox_pick *picks_for_mbox(struct mail_session *s, const enum fate *fates, size_t *n)
{
	struct mbox_pick *p = calloc(s->n ? s->n : 1, sizeof *p);
	*n = 0;
	for (size_t i = 0; p && i < s->n; i++) {
		if (fates[i] != TO_MBOX)
			continue;
		p[*n].idx = mail_sess_view(s, i, &p[*n].i);
		p[*n].drop_field = quit_drops_field;
		p[(*n)++].flags = mbox_flags_of(&s->msgs[i]);
	}
	return p;
}

/* Files the messages marked TO_MBOX in dest through the mbox library: at the end when
 * `append` is set, else in front of the old ones, as Heirloom does. They stream from the
 * mailbox (one buffer of all of them was as big as what was read). Returns count or -1. */
static int save_to_mbox(struct mail_session *s, const enum fate *fates, const char *dest)
{
	struct result r = { 0 };
	struct mbox_owner own = { getuid(), (gid_t)-1 };
	size_t count;
	struct mbox_pick *picks = picks_for_mbox(s, fates, &count);
	if (!picks) {
		fprintf(stderr, "%s: out of memory\n", dest);
		return -1;
	}
	if (count)
		mbox_file_messages(dest, &own, false, s->cfg->lock_timeout, picks, count, mail_var_isset("append"),
				   s->cfg->fsync, &r);
	free(picks);
	if (r.ex != EX_OK) {
		fprintf(stderr, "%s: %s\n", dest, r.reason);
		return -1;
	}
	return (int)count;
}

/* True when writing the mailbox back would change anything. */
static bool needs_rewrite(const struct mail_session *s, const struct mbox_plan *plan)
{
	for (size_t i = 0; i < s->n; i++)
		if (!plan[i].keep || plan[i].replace || (plan[i].set_flags && plan[i].flags != s->idx.msgs[i].flags))
			return true;
	return false;
}

static int rewrite(struct mail_session *s, const enum fate *fates, size_t *held)
{
	struct mbox_plan *plan = calloc(s->n ? s->n : 1, sizeof *plan);
	struct result r = { 0 };
	struct mbox_owner own = { getuid(), (gid_t)-1 };
	int rc = 0;
	if (!plan)
		return -1;
	*held = 0;
	for (size_t i = 0; i < s->n; i++) {
		plan[i].keep = fates[i] == KEEP || fates[i] == UNSEEN;
		plan[i].set_flags = fates[i] != UNSEEN;
		plan[i].flags = mbox_flags_of(&s->msgs[i]);
		if (i < s->n_edits && s->edits[i]) {
			plan[i].replace = s->edits[i]->data;
			plan[i].replace_len = s->edits[i]->len;
		}
		*held += fates[i] == KEEP;
	}
	if (needs_rewrite(s, plan) &&
	    mbox_rewrite(&s->idx, plan, &own, s->cfg->lock_timeout, s->system, &r) != EX_OK) {
		fprintf(stderr, "%s: %s\n", s->path, r.reason);
		rc = -1;
	} else if (!needs_rewrite(s, plan)) {
		rc = 1;   /* unchanged */
	}
	free(plan);
	return rc;
}

int mail_sess_close(struct mail_session *s, bool save)
{
	int rc = 0;
	if (!s->open)
		return 0;
	if (save && !s->readonly && s->n) {
		enum fate *fates = calloc(s->n, sizeof *fates);
		char dest[CFG_PATH_MAX];
		size_t held = 0;
		if (!fates)
			return -1;
		mail_sess_newmail(s, true);   /* rewrite from the freshest view; nothing is lost */
		fates = realloc(fates, (s->n ? s->n : 1) * sizeof *fates);
		if (!fates)
			return -1;
		for (size_t i = 0; i < s->n; i++)
			fates[i] = fate_of(s, i);
		mbox_path(s, dest, sizeof dest);
		int saved = save_to_mbox(s, fates, dest);
		if (saved < 0) {
			/* nothing was dropped: keep the mailbox exactly as it is */
			free(fates);
			return -1;
		}
		/* "rewriting in place, backup in ..." is routine: said only with verbose */
		log_set_threshold(mail_var_isset("verbose") ? LOG_DEBUG : LOG_NOTICE);
		int w = rewrite(s, fates, &held);
		if (w < 0)
			rc = -1;
		if (saved > 0)
			printf("Saved %d message%s in %s\n", saved, saved == 1 ? "" : "s", dest);
		if (s->system && held && w >= 0)
			printf("Held %zu message%s in %s\n", held, held == 1 ? "" : "s", s->path);
		else if (!s->system && w == 0)
			printf("\"%s\" complete\n", s->path);
		free(fates);
	}
	free_msgs(s);
	free_edits(s);
	mbox_index_close(&s->idx);
	s->open = false;
	return rc;
}

bool mail_sess_expand(struct mail_session *s, const char *name, char *out, size_t size)
{
	if (!strcmp(name, "%")) {
		const char *mail = getenv("MAIL");
		if (mail && *mail)
			mail_fmt(out, size, "%s", mail);
		else
			mail_fmt(out, size, "%s/%s", s->cfg->spool_dir, s->user);
	} else if (name[0] == '%') {
		mail_fmt(out, size, "%s/%s", s->cfg->spool_dir, name + 1);
	} else if (!strcmp(name, "#")) {
		if (!s->prev[0]) {
			fprintf(stderr, "No previous file\n");
			return false;
		}
		mail_fmt(out, size, "%s", s->prev);
	} else if (!strcmp(name, "&")) {
		const char *v = mail_var_get("MBOX");
		if (v && *v && strcmp(v, "&"))
			return mail_sess_expand(s, v, out, size);
		mail_fmt(out, size, "%s/mbox", s->home);
	} else if (name[0] == '+' || (name[0] == '~' && (name[1] == '/' || !name[1]))) {
		return mail_expand_path(name, s->home, out, size);
	} else {
		mail_fmt(out, size, "%s", name);
	}
	return true;
}
