/* The expansion engine: recipient -> aliases -> ~/.forward -> :include: -> delivery actions,
 * with privileges decided per source, loop/depth/size limits and de-duplication. */
#include "mda/expand.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases/aliases.h"
#include "common/intern.h"
#include "common/log.h"
#include "forward/forward.h"
#include "mda/expand_int.h"

#define EXPAND_DEPTH_HARD_MAX 100      /* whatever expansion_depth says, the C stack is finite */
#define EXPAND_MAX_STEPS      100000   /* names visited per recipient: alias bombs stop here */
#define EXPAND_CHAIN_MAX      1024
#define EXPAND_ADDR_MAX       512

struct expander {
	const struct config *cfg;
	struct alias_db *db;          /* NULL: not opened yet, or there are no aliases */
	bool have_state;              /* db/no_aliases reflect db_id */
	struct stat db_id;            /* the file db was opened from */
	char hostname[256];
};

/* ---- Names already expanded ---- */

/* 1 when key was added to set, 0 when already there, -1 on allocation failure. */
static int done_add(struct arena *set, const char *key)
{
	const char *p;
	return arena_intern(set, key, &p);
}

/* ---- Engine state for one recipient ---- */

enum frame_kind { FR_ALIAS, FR_USER, FR_INCLUDE };

struct frame {
	enum frame_kind kind;
	char *name;
};

/* Whose privileges commands and files of the current list run with. */
struct privs {
	bool exec_ok;                 /* false: commands/files bounce with why */
	const char *why;
	struct user_info user;
};

/* What a list being expanded inherits. */
struct xctx {
	const struct privs *privs;
	const struct privs *readas;   /* :include: files of this list are read as its user */
	const char *sender;           /* owner-NAME override or NULL */
	const char *ext;              /* address extension or NULL */
	const struct user_info *fwd_user;  /* the list is (included from) this user's .forward */
	const char *self;             /* the alias or user whose list this is */
	const char *recipient;        /* Delivered-To for files/commands of this list */
	const char *file;             /* the :include: file this list is, else NULL */
	unsigned long line;           /* in file: the line of the item being expanded */
};

struct xstate {
	struct expander *ex;
	const struct config *cfg;
	const char *orig;
	struct action_builder list;   /* the actions emitted so far */
	struct arena done;            /* names already expanded in the same context */
	unsigned long steps;
	size_t text_held;             /* bytes of .forward/:include: text being expanded */
	struct frame stack[EXPAND_DEPTH_HARD_MAX + 1];
	int depth, max_depth;
	bool alias_privs_ready, default_privs_ready;
	struct privs alias_privs, default_privs;
	struct result *r;
};

static void chain_text(const struct xstate *st, const char *last, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", st->orig);
	for (int i = 0; i < st->depth && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, " -> %s", st->stack[i].name);
	if (last && n < cap)
		snprintf(buf + n, cap - n, " -> %s", last);
}

static int fail(struct xstate *st, int ex, const char *dsn, const char *what, const char *last)
{
	char chain[EXPAND_CHAIN_MAX];
	chain_text(st, last, chain, sizeof chain);
	return res_set(st->r, ex, dsn, "%s: %s", what, chain), -1;
}

static int no_memory(struct xstate *st)
{
	return res_errno(st->r, ENOMEM, false, "expansion"), -1;
}

/* How texts name an item: itself, or for an :include: file (whose text may be someone else's)
 * only where it is. */
static const char *item_name(const struct xctx *c, const char *text, char *buf, size_t cap)
{
	if (!c->file)
		return text;
	snprintf(buf, cap, "%s:%lu", c->file, c->line);
	return buf;
}

static int push(struct xstate *st, enum frame_kind kind, const char *name)
{
	if (st->depth >= st->max_depth) {
		char what[96];
		snprintf(what, sizeof what, "alias expansion deeper than %d levels", st->max_depth);
		return fail(st, EX_DATAERR, "5.4.6", what, name);
	}
	if (!(st->stack[st->depth].name = strdup(name)))
		return no_memory(st);
	st->stack[st->depth++].kind = kind;
	return 0;
}

static void pop(struct xstate *st)
{
	free(st->stack[--st->depth].name);
}

static bool on_stack(const struct xstate *st, enum frame_kind kind, const char *name)
{
	for (int i = 0; i < st->depth; i++)
		if (st->stack[i].kind == kind && strcmp(st->stack[i].name, name) == 0)
			return true;
	return false;
}

/* ---- Emitting actions ---- */

static int emit(struct xstate *st, const struct xctx *c, enum action_kind kind, const char *target,
		const char *recipient, const struct user_info *runas, const struct result *status)
{
	char chain[EXPAND_CHAIN_MAX], what[96];
	chain_text(st, NULL, chain, sizeof chain);
	struct action_spec spec = { kind, target, recipient, c->ext, c->sender, chain, runas, status };
	switch (action_list_add(&st->list, &spec)) {
	case ACTION_ADDED:
	case ACTION_DUPLICATE:
		return 0;
	case ACTION_FULL:
		snprintf(what, sizeof what, "more than %zu destinations (expansion_limit)", st->list.limit);
		return fail(st, EX_UNAVAILABLE, "5.2.4", what, NULL);
	default:
		return no_memory(st);
	}
}

static int bounce(struct xstate *st, const struct xctx *c, int ex, const char *dsn, const char *fmt,
		  const char *arg)
{
	struct result s;
	res_set(&s, ex, dsn, fmt, arg);
	return emit(st, c, ACT_BOUNCE, NULL, c->recipient, NULL, &s);
}

/* A bad item of a list: "what: text", or for an :include: file "what at FILE:LINE". */
static int bounce_item(struct xstate *st, const struct xctx *c, int ex, const char *dsn, const char *what,
		       const char *text)
{
	struct result s;
	if (c->file)
		res_set(&s, ex, dsn, "%s at %s:%lu", what, c->file, c->line);
	else
		res_set(&s, ex, dsn, "%s: %.100s", what, text);
	return emit(st, c, ACT_BOUNCE, NULL, c->recipient, NULL, &s);
}

/* ---- Privileges ---- */

static void privs_none(struct privs *p, const char *why)
{
	memset(p, 0, sizeof *p);
	p->why = why;
}

/* The owner of a file, or default_privs when that is root; never root itself. */
static int privs_for_owner(struct xstate *st, uid_t owner, struct privs *p)
{
	struct result lr;
	enum user_status us;
	privs_none(p, "no unprivileged user to run it as");
	if (owner == 0)
		us = user_lookup(st->cfg, st->cfg->default_privs, &p->user, &lr);
	else
		us = user_lookup_uid(st->cfg, owner, &p->user, &lr);
	if (us == USER_LOOKUP_ERROR) {
		*st->r = lr;
		return -1;
	}
	p->exec_ok = us == USER_FOUND && p->user.uid != 0;
	if (us == USER_FOUND && p->user.uid == 0)
		p->why = "commands and files are never run as root";
	return 0;
}

static int alias_privs(struct xstate *st)
{
	struct alias_db_info info;
	if (st->alias_privs_ready)
		return 0;
	alias_db_info(st->ex->db, &info);
	if (privs_for_owner(st, info.owner, &st->alias_privs) != 0)
		return -1;
	st->alias_privs_ready = true;
	return 0;
}

/* Whose rights an :include: file of list c is read with: the list's user (.forward owner,
 * alias database owner, including file's owner), default_privs instead of root, as Postfix's
 * local(8) does. *reader is NULL when there is no such user (default_privs unknown or root). */
static int include_reader(struct xstate *st, const struct xctx *c, const struct user_info **reader)
{
	*reader = NULL;
	if (c->readas->exec_ok)
		return *reader = &c->readas->user, 0;
	if (!st->default_privs_ready && privs_for_owner(st, 0, &st->default_privs) != 0)
		return -1;
	st->default_privs_ready = true;
	if (st->default_privs.exec_ok)
		*reader = &st->default_privs.user;
	return 0;
}

/* ---- The recursion ---- */

static int expand_local(struct xstate *st, const char *name, const struct xctx *c, bool top);
static int expand_item(struct xstate *st, const struct alias_item *it, const struct xctx *c);

/* True when a .forward holds no item at all (empty, blank or only comments). */
static bool list_empty(const char *text)
{
	struct alias_item *it = malloc(sizeof *it);
	const char *p = text, *err;
	bool empty = it && alias_next_item(&p, true, it, &err) == 0;
	free(it);
	return empty;
}

static unsigned long newlines(const char *from, const char *to)
{
	unsigned long n = 0;
	while (from < to && (from = memchr(from, '\n', (size_t)(to - from))) != NULL) {
		n++;
		from++;
	}
	return n;
}

static void log_bad_entry(const struct xstate *st, const struct xctx *c, const char *err)
{
	if (c->file)
		log_msg(LOG_WARNING, "%s: skipping a bad entry at %s:%lu: %s", st->orig, c->file, c->line, err);
	else
		log_msg(LOG_WARNING, "%s: skipping a bad entry in the list of %s: %s", st->orig,
			c->self ? c->self : "?", err);
}

/* Parses text into items and expands each. lines: .forward/:include: syntax. */
static int expand_list(struct xstate *st, const char *text, bool lines, const struct xctx *c)
{
	struct alias_item *it = malloc(sizeof *it);
	struct xctx ic = *c;   /* c with the line of the current item */
	const char *p = text, *counted = text, *err;
	int rc, out = 0;
	if (!it)
		return no_memory(st);
	ic.line = 1;
	while (out == 0 && (rc = alias_next_item(&p, lines, it, &err)) != 0) {
		ic.line += newlines(counted, p);   /* p is still on the item's line */
		counted = p;
		if (rc < 0) {
			log_bad_entry(st, &ic, err);
			continue;
		}
		out = expand_item(st, it, &ic);
	}
	free(it);
	return out;
}

static int lookup_alias(struct xstate *st, const char *key, char **value)
{
	if (!st->ex->db)
		return *value = NULL, 0;
	return alias_db_lookup(st->ex->db, key, value, st->r);
}

/* owner-NAME: its existence makes it the envelope sender of NAME's expansion (Postfix). */
static int owner_sender(struct xstate *st, const char *key, char *buf, size_t cap, const char **sender)
{
	char okey[ALIAS_NAME_MAX + 8], *v = NULL;
	if (strncmp(key, "owner-", 6) == 0 || strlen(key) > ALIAS_NAME_MAX)
		return 0;
	snprintf(okey, sizeof okey, "owner-%s", key);
	int rc = lookup_alias(st, okey, &v);
	free(v);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		snprintf(buf, cap, "%s%s%s", okey, st->ex->hostname[0] ? "@" : "", st->ex->hostname);
		*sender = buf;
	}
	return 0;
}

static int expand_alias(struct xstate *st, const char *key, const char *value, const struct xctx *c)
{
	char done_key[ALIAS_NAME_MAX * 2 + 64], sbuf[ALIAS_NAME_MAX + 300];
	struct xctx sub = *c;
	if (on_stack(st, FR_ALIAS, key))
		return fail(st, EX_DATAERR, "5.4.6", "alias loop", key);
	if (owner_sender(st, key, sbuf, sizeof sbuf, &sub.sender) != 0 || alias_privs(st) != 0)
		return -1;
	snprintf(done_key, sizeof done_key, "A\x1f%s\x1f%s", key, sub.sender ? sub.sender : "");
	int fresh = done_add(&st->done, done_key);
	if (fresh <= 0)
		return fresh == 0 ? 0 : no_memory(st);
	if (push(st, FR_ALIAS, key) != 0)
		return -1;
	sub.privs = sub.readas = &st->alias_privs;
	sub.fwd_user = NULL;
	sub.self = key;
	sub.recipient = key;
	sub.file = NULL;
	int rc = expand_list(st, value, false, &sub);
	pop(st);
	return rc;
}

/* A uid 0 account of the system's user database (root, toor): its mailbox is read by nobody
 * and would be written as root. A passwd_file lists the users its administrator (or a test
 * world run as root) chose, and is taken as written. */
static bool superuser(const struct config *cfg, const struct user_info *u)
{
	return u->uid == 0 && !cfg->passwd_file[0];
}

/* Temporary, so the mail waits in the MTA's queue (mailq shows why) until the alias exists. */
static void root_refusal(struct result *r, const char *name, const char *compiler)
{
	res_set(r, EX_TEMPFAIL, "4.3.5", "mail for %s (uid 0) is not delivered to a mailbox: alias %s to a "
		"person in /etc/aliases and run %s", name, name, compiler);
}

static int mailbox(struct xstate *st, const struct xctx *c, const struct user_info *u)
{
	struct result rr;
	if (!superuser(st->cfg, u))
		return emit(st, c, ACT_MAILBOX, u->name, u->name, u, NULL);
	root_refusal(&rr, u->name, "mda-newaliases");
	return emit(st, c, ACT_BOUNCE, NULL, c->recipient, NULL, &rr);
}

/* Looks a user up; 1 found, 0 unknown (bounced or failed per top), -1 whole failure. */
static int find_user(struct xstate *st, const char *name, const struct xctx *c, bool top,
		     struct user_info *u)
{
	struct result lr;
	enum user_status us = user_lookup(st->cfg, name, u, &lr);
	if (us == USER_FOUND)
		return 1;
	if (us == USER_LOOKUP_ERROR)
		return *st->r = lr, -1;
	if (top)
		return res_set(st->r, EX_NOUSER, "5.1.1", "unknown user: %s", name), -1;
	return bounce_item(st, c, EX_NOUSER, "5.1.1", "unknown user", name);
}

/* Expands a list text held in memory: its bytes count against the text a recipient may hold. */
static int expand_text(struct xstate *st, const char *text, const struct xctx *c)
{
	size_t len = strlen(text);
	st->text_held += len;
	int rc = expand_list(st, text, true, c);
	st->text_held -= len;
	return rc;
}

/* A local user: ~/.forward if there is a usable one, else the mailbox. */
static int expand_user(struct xstate *st, const char *name, const struct xctx *c, bool top)
{
	struct user_info u;
	struct privs fp;
	char *content = NULL;
	int rc = find_user(st, name, c, top, &u);
	if (rc <= 0)
		return rc;
	if (top && superuser(st->cfg, &u))
		return root_refusal(st->r, name, "mda-newaliases"), -1;
	if (superuser(st->cfg, &u))
		return mailbox(st, c, &u);   /* the refusal: root's .forward is not read either */
	if (c->fwd_user && c->self && strcmp(c->self, name) == 0)
		return mailbox(st, c, &u);   /* `me` in my own .forward: no loop, my mailbox */
	if (on_stack(st, FR_USER, name))
		return fail(st, EX_DATAERR, "5.4.6", "mail forwarding loop", name);
	switch (fwd_read(&u, &content, st->r)) {
	case FWD_ERROR:
		return -1;
	case FWD_NONE:
	case FWD_IGNORED:
		return mailbox(st, c, &u);
	case FWD_FOUND:
		break;
	}
	privs_none(&fp, "commands and files in root's .forward are not run");
	fp.user = u;
	fp.exec_ok = u.uid != 0;
	struct xctx sub = { .privs = &fp, .readas = &fp, .sender = c->sender, .ext = c->ext,
			    .fwd_user = &u, .self = name, .recipient = name };
	if (list_empty(content)) {   /* only comments: as if there were no .forward */
		free(content);
		return mailbox(st, c, &u);
	}
	rc = push(st, FR_USER, name);
	if (rc == 0) {
		rc = expand_text(st, content, &sub);
		pop(st);
	}
	free(content);
	return rc;
}

/* Splits name at the first recipient_delimiter character: base and extension. */
static void split_ext(const struct config *cfg, const char *name, char *base, size_t cap, const char **ext)
{
	size_t n = cfg->recipient_delimiter[0] ? strcspn(name, cfg->recipient_delimiter) : strlen(name);
	*ext = NULL;
	if (n == 0 || name[n] == '\0') {
		snprintf(base, cap, "%s", name);
		return;
	}
	snprintf(base, cap, "%.*s", (int)n, name);
	*ext = name + n + 1;
}

static void lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int expand_local(struct xstate *st, const char *name, const struct xctx *c, bool top)
{
	char full[ALIAS_NAME_MAX + 1], base[ALIAS_NAME_MAX + 1], where[CFG_PATH_MAX + 32], *value = NULL;
	const char *ext;
	struct xctx sub = *c;
	int rc;
	if (++st->steps > EXPAND_MAX_STEPS)
		return fail(st, EX_DATAERR, "5.4.6", "alias expansion too large",
			    item_name(c, name, where, sizeof where));
	if (strlen(name) > ALIAS_NAME_MAX || !user_name_valid(name)) {
		if (top)
			return res_set(st->r, EX_NOUSER, "5.1.3", "bad recipient name: %.100s", name), -1;
		return bounce_item(st, c, EX_NOUSER, "5.1.3", "bad recipient name", name);
	}
	snprintf(full, sizeof full, "%s", name);
	lowercase(full);
	split_ext(st->cfg, full, base, sizeof base, &ext);
	if (ext)
		sub.ext = ext;
	const char *key = full;
	/* A name in its own list (`joe: joe, joe@elsewhere`, or `joe` in joe's .forward) is the
	 * user, not the alias again: no alias lookup, so no loop. */
	if (c->self && (strcmp(c->self, full) == 0 || strcmp(c->self, base) == 0))
		return expand_user(st, base, &sub, top);
	rc = lookup_alias(st, full, &value);
	if (rc == 0 && ext) {
		key = base;
		rc = lookup_alias(st, base, &value);
	}
	if (rc < 0)
		return -1;
	if (rc == 1) {
		rc = expand_alias(st, key, value, &sub);
		free(value);
		return rc;
	}
	/* Not an alias (or the alias naming itself: `joe: joe, joe@elsewhere`): a user. */
	return expand_user(st, base, &sub, top);
}

static bool remote_valid(const char *a)
{
	const char *at = strrchr(a, '@');
	if (strlen(a) > EXPAND_ADDR_MAX || a[0] == '-' || a[0] == '@' || !at || !at[1])
		return false;
	for (; *a; a++)
		if ((unsigned char)*a < 0x21 || *a == 0x7f)
			return false;
	return true;
}

static int run_action(struct xstate *st, const struct xctx *c, enum action_kind kind, const char *target)
{
	bool allowed = kind == ACT_COMMAND ? st->cfg->allow_commands : st->cfg->allow_files;
	const char *what = kind == ACT_COMMAND ? "command" : "file";
	char why[160];
	if (!allowed) {
		snprintf(why, sizeof why, "%s delivery is disabled (allow_%ss = no)", what, what);
		return bounce(st, c, EX_NOPERM, "5.7.1", "%s", why);
	}
	if (!c->privs->exec_ok) {
		snprintf(why, sizeof why, "%s delivery refused: %s", what, c->privs->why);
		return bounce(st, c, EX_NOPERM, "5.7.1", "%s", why);
	}
	return emit(st, c, kind, target, c->recipient, &c->privs->user, NULL);
}

/* Reads path with the list's reader's rights; 1 with *content, 0 when bounced, -1 failure. */
static int read_include(struct xstate *st, const struct xctx *c, const char *path, char **content,
			uid_t *owner)
{
	struct fwd_include_req q = { .path = path };
	struct result ir;
	if (include_reader(st, c, &q.reader) != 0)
		return -1;
	q.for_user = c->fwd_user ? q.reader : NULL;   /* the reader's own, or anyone's to read */
	if (!q.reader && geteuid() == 0)   /* never as root: that is what default_privs is for */
		return bounce(st, c, EX_TEMPFAIL, "4.3.5", "cannot read :include: file %s: default_privs is "
			      "not an unprivileged user", path);
	q.max = st->text_held < FWD_INCLUDE_SIZE_MAX ? FWD_INCLUDE_SIZE_MAX - st->text_held : 0;
	int rc = fwd_read_include(&q, content, owner, &ir);
	if (rc != EX_OK && res_is_temp(&ir))
		return *st->r = ir, -1;
	if (rc != EX_OK)
		return emit(st, c, ACT_BOUNCE, NULL, c->recipient, NULL, &ir);
	return 1;
}

static int expand_include(struct xstate *st, const char *path, const struct xctx *c)
{
	char *content = NULL;
	uid_t owner;
	struct privs ip;
	if (on_stack(st, FR_INCLUDE, path))
		return fail(st, EX_DATAERR, "5.4.6", ":include: loop", path);
	int rc = read_include(st, c, path, &content, &owner);
	if (rc <= 0)
		return rc;
	if (privs_for_owner(st, owner, &ip) != 0 || push(st, FR_INCLUDE, path) != 0) {
		free(content);
		return -1;
	}
	struct xctx sub = *c;
	sub.privs = &ip;
	/* Nested includes are read as this file's owner, or as before when root owns it. */
	sub.readas = owner != 0 && ip.exec_ok ? &ip : c->readas;
	sub.self = NULL;   /* names in a list file are never "itself" */
	sub.file = st->stack[st->depth - 1].name;
	rc = expand_text(st, content, &sub);
	pop(st);
	free(content);
	return rc;
}

static int expand_item(struct xstate *st, const struct alias_item *it, const struct xctx *c)
{
	struct user_info u;
	struct result s;
	int rc;
	switch (it->kind) {
	case AI_LOCAL:
		return expand_local(st, it->text, c, false);
	case AI_NOALIAS: {
		char base[ALIAS_NAME_MAX + 1];
		const char *ext;
		split_ext(st->cfg, it->text, base, sizeof base, &ext);
		lowercase(base);
		if (!user_name_valid(base))
			return bounce_item(st, c, EX_NOUSER, "5.1.3", "bad recipient name", it->text);
		rc = find_user(st, base, c, false, &u);
		return rc <= 0 ? rc : mailbox(st, c, &u);
	}
	case AI_REMOTE:
		if (!remote_valid(it->text))
			return bounce_item(st, c, EX_DATAERR, "5.1.3", "bad address", it->text);
		return emit(st, c, ACT_FORWARD, it->text, it->text, &c->privs->user, NULL);
	case AI_COMMAND:
		return run_action(st, c, ACT_COMMAND, it->text);
	case AI_FILE:
		return run_action(st, c, ACT_FILE, it->text);
	case AI_INCLUDE:
		return expand_include(st, it->text, c);
	case AI_ERROR:   /* the list author's own words for the bounce */
		res_set(&s, it->dsn[0] == '4' ? EX_TEMPFAIL : strcmp(it->dsn, "5.1.1") == 0 ? EX_NOUSER
			: EX_UNAVAILABLE, it->dsn, "%s", it->text);
		return emit(st, c, ACT_BOUNCE, NULL, c->recipient, NULL, &s);
	}
	return 0;
}

/* ---- Database state ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_size == b->st_size;
}

/* Makes ex->db match the file on disk: one stat() per recipient when nothing changed. */
static int refresh_db(struct expander *ex, struct result *r)
{
	struct stat st, src;
	const struct config *cfg = ex->cfg;
	if (!cfg->aliases_db[0])
		return EX_OK;
	if (stat(cfg->aliases_db, &st) != 0) {
		if (errno != ENOENT)
			return res_errno(r, errno, false, "cannot stat %s", cfg->aliases_db);
		alias_db_close(ex->db);
		ex->db = NULL;
		ex->have_state = false;
		if (!cfg->aliases_file[0] || stat(cfg->aliases_file, &src) != 0 || src.st_size == 0)
			return EX_OK;   /* no aliases at all */
		return res_set(r, EX_TEMPFAIL, "4.3.0", "aliases database %s is missing but %s exists: "
			       "run newaliases", cfg->aliases_db, cfg->aliases_file);
	}
	if (ex->have_state && same_file(&st, &ex->db_id))
		return EX_OK;
	alias_db_close(ex->db);
	ex->db = NULL;
	ex->have_state = false;
	if (alias_db_open(cfg->aliases_db, &ex->db, r) != EX_OK) {
		r->ex = EX_TEMPFAIL;   /* even "missing": it existed a moment ago */
		snprintf(r->dsn, sizeof r->dsn, "4.3.0");
		return r->ex;
	}
	ex->db_id = st;
	ex->have_state = true;
	return EX_OK;
}

/* ---- Public ---- */

struct expander *expand_new(const struct config *cfg)
{
	struct expander *ex = calloc(1, sizeof *ex);
	if (!ex)
		return NULL;
	ex->cfg = cfg;
	if (cfg->hostname[0])
		snprintf(ex->hostname, sizeof ex->hostname, "%s", cfg->hostname);
	else if (gethostname(ex->hostname, sizeof ex->hostname - 1) != 0)
		ex->hostname[0] = '\0';
	return ex;
}

void expand_free(struct expander *ex)
{
	if (!ex)
		return;
	alias_db_close(ex->db);
	free(ex);
}

/* The local part of rcpt (the domain dropped), or NULL when there is none. */
static const char *local_part(const char *rcpt, char *buf, size_t cap)
{
	const char *at = strrchr(rcpt, '@');
	size_t n = at ? (size_t)(at - rcpt) : strlen(rcpt);
	if (n == 0 || n >= cap)
		return NULL;
	memcpy(buf, rcpt, n);
	buf[n] = '\0';
	return buf;
}

static void state_free(struct xstate *st)
{
	while (st->depth > 0)
		pop(st);
	arena_free(&st->done);
}

static struct xstate *state_new(struct expander *ex, const char *rcpt, struct action_list *out,
				struct result *r)
{
	struct xstate *st = calloc(1, sizeof *st);
	if (!st || action_list_begin(&st->list, out, rcpt, expand_limit(ex->cfg)) != 0) {
		if (st)
			action_list_end(&st->list, false);
		free(st);
		return NULL;
	}
	st->ex = ex;
	st->cfg = ex->cfg;
	st->orig = rcpt;
	st->r = r;
	st->max_depth = ex->cfg->expansion_depth < 1 ? 1 : ex->cfg->expansion_depth;
	if (st->max_depth > EXPAND_DEPTH_HARD_MAX)
		st->max_depth = EXPAND_DEPTH_HARD_MAX;
	return st;
}

/* The top of an expansion: the list for rcpt, or NULL with r filled. */
static struct xstate *start(struct expander *ex, const char *rcpt, struct action_list *out, char *local,
			    struct result *r)
{
	struct xstate *st;
	memset(out, 0, sizeof *out);
	if (!local_part(rcpt, local, ALIAS_NAME_MAX + 1))
		return res_set(r, EX_NOUSER, "5.1.3", "bad recipient address: %.100s", rcpt), NULL;
	if (!(st = state_new(ex, rcpt, out, r)))
		return res_errno(r, ENOMEM, false, "expansion"), NULL;
	return st;
}

static int finish(struct xstate *st, int rc, const char *rcpt, struct result *r)
{
	size_t n = st->list.out->n;
	action_list_end(&st->list, rc == 0);
	state_free(st);
	free(st);
	if (rc != 0) {
		if (r->ex == EX_OK)
			res_set(r, EX_SOFTWARE, "4.3.0", "expansion failed");
		return r->ex;
	}
	*r = res_ok("%s: %zu actions", rcpt, n);
	return EX_OK;
}

int expand_mailbox(struct expander *ex, const char *rcpt, struct action_list *out, struct result *r)
{
	char local[ALIAS_NAME_MAX + 1], base[ALIAS_NAME_MAX + 1];
	const char *ext;
	struct user_info u;
	struct privs none;
	struct xstate *st = start(ex, rcpt, out, local, r);
	if (!st)
		return r->ex;
	lowercase(local);
	split_ext(ex->cfg, local, base, sizeof base, &ext);
	privs_none(&none, "not from a trusted source");
	struct xctx top = { .privs = &none, .readas = &none, .recipient = base, .ext = ext };
	int rc = -1;
	if (!user_name_valid(base))
		res_set(r, EX_NOUSER, "5.1.3", "bad recipient name: %.100s", base);
	else if ((rc = find_user(st, base, &top, true, &u)) == 1 && superuser(ex->cfg, &u))
		rc = (root_refusal(r, base, "newaliases"), -1);
	else if (rc == 1)
		rc = mailbox(st, &top, &u);
	return finish(st, rc, rcpt, r);
}

int expand_recipient(struct expander *ex, const char *rcpt, struct action_list *out, struct result *r)
{
	char local[ALIAS_NAME_MAX + 1];
	struct privs none;
	struct xstate *st;
	if (refresh_db(ex, r) != EX_OK)
		return memset(out, 0, sizeof *out), r->ex;
	if (!(st = start(ex, rcpt, out, local, r)))
		return r->ex;
	privs_none(&none, "not from a trusted source");
	struct xctx top = { .privs = &none, .readas = &none, .recipient = local };
	int rc = expand_local(st, local, &top, true);
	if (rc == 0 && out->n == 0)
		rc = bounce(st, &top, EX_NOUSER, "5.1.1", "%s expands to no recipients", rcpt);
	return finish(st, rc, rcpt, r);
}
