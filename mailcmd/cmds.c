/* The reader's commands (type, delete, reply, save, ...) and its command loop. */
#include "mailcmd/session.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/user.h"
#include "mbox/header.h"

#define MAIL_VERSION "12.5-mda"

/* ---- helpers ---- */

int mail_run_sh(const char *cmd, const char *input, size_t len)
{
	int pfd[2] = { -1, -1 }, status = 0;
	fflush(NULL);
	if (input && pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (input) {
			dup2(pfd[0], 0);
			close(pfd[0]);
			close(pfd[1]);
		}
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (input) {
		close(pfd[0]);
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		for (size_t off = 0; pid > 0 && off < len;) {
			ssize_t n = write(pfd[1], input + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(pfd[1]);
		signal(SIGPIPE, old);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int mail_get_list(struct mail_session *s, const char *arg, enum mail_list_mode mode, unsigned char *sel)
{
	char err[256];
	while (isspace((unsigned char)*arg))
		arg++;
	if (!s->n) {
		printf("No messages.\n");
		return -1;
	}
	if (!*arg) {
		memset(sel, 0, s->n);
		if (mode == MAIL_LIST_DELETED) {
			/* undelete without a list: the current message when deleted, as mailx */
			if (!(s->msgs[s->cur].flags & MAIL_M_DELETED)) {
				printf("No applicable messages.\n");
				return -1;
			}
		} else if (s->msgs[s->cur].flags & MAIL_M_DELETED) {
			printf("No applicable messages.\n");
			return -1;
		}
		sel[s->cur] = 1;
		return 1;
	}
	struct mail_order order;
	int n = mail_msglist_parse_in(arg, s->msgs, s->n, s->cur, mode, mail_sess_order(s, &order), sel, err,
				      sizeof err);
	if (n < 0)
		printf("%s\n", err);
	return n;
}

const char *mail_msg_hdr(struct mail_session *s, size_t i, size_t *len)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	*len = (size_t)(x->body - x->headers);
	return map + x->headers;
}

void mail_show_headers(FILE *out, struct mail_session *s, size_t i, bool all, bool from_line)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	size_t hlen;
	const char *hdr = mail_msg_hdr(s, i, &hlen);
	if (from_line)
		fwrite(map + x->start, 1, (size_t)(x->headers - x->start), out);
	mail_put_fields(out, hdr, hlen, all);
	fputc('\n', out);
}

void mail_touch(struct mail_session *s, size_t i)
{
	s->msgs[i].flags |= MAIL_M_READ | MAIL_M_TOUCH | MAIL_M_STATUS;
}

/* Output goes through $PAGER when `crt` says the message is longer than the screen, or
 * always for more/page (force); at a terminal only, as Heirloom's `interactive`. */
static FILE *open_pager(size_t lines, bool force, bool *piped)
{
	const char *crt = mail_var_get("crt");
	*piped = false;
	if ((!crt && !force) || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
		return stdout;
	long limit = crt && *crt ? atol(crt) : 24;
	if (!force && (long)lines <= limit)
		return stdout;
	const char *pager = getenv("PAGER");
	fflush(stdout);
	FILE *p = popen(pager && *pager ? pager : "more", "w");
	if (!p)
		return stdout;
	*piped = true;
	return p;
}

void mail_type_one(struct mail_session *s, size_t i, bool all, FILE *out)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	size_t hlen;
	const char *hdr = mail_msg_hdr(s, i, &hlen);
	if (!mail_var_isset("quiet"))
		fprintf(out, "Message %2zu:\n", i + 1);
	mail_show_headers(out, s, i, all, true);
	mail_show_body(out, hdr, hlen, map + x->body, (size_t)(x->end - x->body), all);
	mail_touch(s, i);
	s->cur = i;
}

/* show/Show: "Message  N:" and the message as stored, From_ line included, no decoding. */
static void show_raw(struct mail_session *s, size_t i, FILE *out)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	if (!mail_var_isset("quiet"))
		fprintf(out, "Message %2zu:\n", i + 1);
	fwrite(map + x->start, 1, (size_t)(x->content_end - x->start), out);
	mail_touch(s, i);
	s->cur = i;
}

enum type_how { TYPE_SHOWN, TYPE_ALL, TYPE_RAW };

/* type/Type/more/More/show: page forces the pager (more, page). */
static void cmd_type(struct mail_session *s, const unsigned char *sel, enum type_how how, bool page)
{
	size_t lines = 0;
	bool piped;
	for (size_t i = 0; i < s->n; i++)
		if (sel[i])
			lines += s->msgs[i].lines;
	FILE *out = open_pager(lines, page, &piped);
	for (size_t i = 0; i < s->n; i++) {
		if (!sel[i])
			continue;
		if (how == TYPE_RAW)
			show_raw(s, i, out);
		else
			mail_type_one(s, i, how == TYPE_ALL, out);
	}
	if (piped)
		pclose(out);
	fflush(stdout);
}

/* Heirloom's top: "Message  N:" and the first toplines+1 lines of the message as it is stored,
 * From_ line and header fields included (toplines 5 shows the From_ line and five more);
 * a blank line between messages when the last line shown was not one. */
static void cmd_top(struct mail_session *s, const unsigned char *sel)
{
	long top = mail_var_num("toplines", 5);
	bool blank = true;
	if (top < 0 || top > 10000)
		top = 5;
	for (size_t i = 0; i < s->n; i++) {
		if (!sel[i])
			continue;
		const char *map;
		const struct mbox_msg *x = mail_sess_msg(s, i, &map);
		const char *p = map + x->start, *end = map + x->end;
		mail_touch(s, i);
		s->cur = i;
		if (!mail_var_isset("quiet"))
			printf("Message %2zu:\n", i + 1);
		if (!blank)
			putchar('\n');
		for (long l = 0; l <= top && p < end; l++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			printf("%.*s\n", (int)len, p);
			blank = len == 0;
			p += len + 1;
		}
	}
}

/* "Edit message N [ynq]?", asked before every message after the first, as Heirloom does.
 * Returns 'y', 'n' or 'q' (end of input is 'q'). */
static int ask_edit(size_t i)
{
	char line[64];
	printf("Edit message %zu [ynq]? ", i + 1);
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 'q';
	return line[0] == 'n' || line[0] == 'q' ? line[0] : 'y';
}

/* One message through the editor; a changed text becomes the session's copy of it. */
static void edit_one(struct mail_session *s, size_t i, bool visual)
{
	size_t pos, len, new_len;
	char *changed = NULL;
	const struct mbox_index *v = mail_sess_view(s, i, &pos);
	char *text = mbox_edit_text(v, pos, s->cfg->mbox_quoting, &len);
	s->cur = i;
	mail_touch(s, i);
	if (!text) {
		fprintf(stderr, "out of memory\n");
		return;
	}
	if (mail_edit_text(visual ? "VISUAL" : "EDITOR", visual ? "vi" : "ed", text, len, s->readonly, &changed,
			   &new_len) == 1)
		mail_sess_replace(s, i, changed, new_len);
	free(changed);
	free(text);
}

/* edit/visual: the messages through $EDITOR (ed) or $VISUAL (vi) in turn; what changed is
 * shown from now on and written back at quit (exit leaves the mailbox as it was). */
static void cmd_edit(struct mail_session *s, const unsigned char *sel, bool visual)
{
	bool first = true;
	for (size_t i = 0; i < s->n; i++) {
		if (!sel[i])
			continue;
		int answer = first ? 'y' : ask_edit(i);
		if (answer == 'q')
			break;
		first = false;
		if (answer == 'y')
			edit_one(s, i, visual);
	}
}

/* Next undeleted message after (dir > 0) or before the current one in the display order
 * (sort, thread); -1 when none. */
static long step(struct mail_session *s, int dir)
{
	for (long k = (long)mail_sess_pos(s, s->cur) + dir; k >= 0 && k < (long)s->n; k += dir) {
		size_t i = mail_sess_nth(s, (size_t)k);
		if (!(s->msgs[i].flags & MAIL_M_DELETED))
			return (long)i;
	}
	return -1;
}

static void type_single(struct mail_session *s, size_t i)
{
	unsigned char *sel = calloc(s->n, 1);
	if (!sel)
		return;
	sel[i] = 1;
	cmd_type(s, sel, TYPE_SHOWN, false);
	free(sel);
}

static void cmd_next(struct mail_session *s, int dir, const char *arg, bool first_time)
{
	while (isspace((unsigned char)*arg))
		arg++;
	if (*arg) {
		unsigned char *sel = calloc(s->n ? s->n : 1, 1);
		if (sel && mail_get_list(s, arg, MAIL_LIST_UNDELETED, sel) > 0)
			for (size_t i = 0; i < s->n; i++)
				if (sel[i]) {
					type_single(s, i);
					break;
				}
		free(sel);
		return;
	}
	/* the very first `next` types the current message if it has not been read yet */
	if (first_time && dir > 0 && s->n && !(s->msgs[s->cur].flags & (MAIL_M_READ | MAIL_M_DELETED))) {
		type_single(s, s->cur);
		return;
	}
	long i = step(s, dir);
	if (i < 0) {
		printf(dir > 0 ? "At EOF\n" : "At BOF\n");
		return;
	}
	type_single(s, (size_t)i);
}

/* Heirloom's screensize(): the screen variable, else the terminal's rows less 4 (24 when
 * standard output is no terminal, so 20). */
static size_t screen_size(void)
{
	struct winsize ws;
	long n = mail_var_num("screen", 0);
	if (n > 0)
		return (size_t)n;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 5)
		return (size_t)ws.ws_row - 4;
	return 20;
}

/* Prints screenful `page` of the undeleted messages' summaries (the last one when page is
 * past the end) and remembers it for z; dot moves to its first message when move_dot, as
 * Heirloom's headers() does for z. */
static void show_page(struct mail_session *s, size_t page, bool move_dot)
{
	size_t size = screen_size(), visible = 0, g = 0, shown = 0;
	for (size_t i = 0; i < s->n; i++)
		visible += !(s->msgs[i].flags & MAIL_M_DELETED);
	if (!visible) {
		printf("No more mail.\n");
		return;
	}
	if (page * size >= visible)
		page = (visible - 1) / size;
	s->page = page;
	for (size_t k = 0; k < s->n && shown < size; k++) {
		size_t i = mail_sess_nth(s, k);
		if (s->msgs[i].flags & MAIL_M_DELETED || g++ < page * size)
			continue;
		if (move_dot && !shown)
			s->cur = i;
		mail_sess_headline(s, i);
		shown++;
	}
}

/* headers [msg]: the screenful holding msg (or the current message), which becomes current. */
static void cmd_headers(struct mail_session *s, const unsigned char *sel, bool explicit)
{
	size_t g = 0;
	for (size_t i = 0; explicit && i < s->n; i++)
		if (sel[i]) {
			s->cur = i;
			break;
		}
	for (size_t k = 0; k < mail_sess_pos(s, s->cur) && k < s->n; k++)
		g += !(s->msgs[mail_sess_nth(s, k)].flags & MAIL_M_DELETED);
	show_page(s, g / screen_size(), false);
}

/* Heirloom's scroll(): z and z+ next screenful, z- previous, z N screenful N, z$ the last,
 * z+N/z-N N on or back. */
static void cmd_z(struct mail_session *s, const char *arg)
{
	size_t size = screen_size();
	long page = (long)s->page;
	while (isspace((unsigned char)*arg))
		arg++;
	if (*arg == '-') {
		page -= arg[1] ? atol(arg + 1) : 1;
		if (page < 0) {
			page = 0;
			printf("On first screenful of messages\n");
		}
	} else if (!*arg || *arg == '+' || *arg == '$' || isdigit((unsigned char)*arg)) {
		if (*arg == '$')
			page = (long)(s->n / size);
		else if (isdigit((unsigned char)*arg))
			page = atol(arg);
		else
			page += arg[0] && arg[1] ? atol(arg + 1) : 1;
		if ((size_t)page * size > s->n) {
			page = (long)(s->n / size);
			printf("On last screenful of messages\n");
		}
	} else {
		printf("Unrecognized scrolling command \"%s\"\n", arg);
		return;
	}
	show_page(s, (size_t)page, true);
}

static void cmd_delete(struct mail_session *s, const unsigned char *sel, bool print_next)
{
	size_t last = 0;
	for (size_t i = 0; i < s->n; i++)
		if (sel[i]) {
			s->msgs[i].flags |= MAIL_M_DELETED | MAIL_M_TOUCH;
			s->msgs[i].flags &= ~(unsigned)(MAIL_M_PRESERVE | MAIL_M_MBOX);
			last = i;
		}
	s->cur = last;
	long next = step(s, 1);
	if (next < 0)
		next = step(s, -1);
	if (next >= 0)
		s->cur = (size_t)next;
	if (print_next) {
		if (next < 0 || (size_t)next < last)
			printf("At EOF\n");
		else
			type_single(s, (size_t)next);
	} else if (next >= 0 && mail_var_isset("autoprint") && (size_t)next > last) {
		type_single(s, (size_t)next);
	}
}

static void set_flag(struct mail_session *s, const unsigned char *sel, unsigned set, unsigned clear)
{
	for (size_t i = 0; i < s->n; i++)
		if (sel[i]) {
			s->msgs[i].flags = (s->msgs[i].flags & ~clear) | set;
			s->cur = i;
		}
}

/* ---- other commands ---- */

static void cmd_folder(struct mail_session *s, const char *arg)
{
	char path[CFG_PATH_MAX];
	while (isspace((unsigned char)*arg))
		arg++;
	if (!*arg) {
		mail_sess_banner(s);
		return;
	}
	if (!mail_sess_expand(s, arg, path, sizeof path))
		return;
	char spool[CFG_PATH_MAX + 64], prev[CFG_PATH_MAX];
	mail_sess_expand(s, "%", spool, sizeof spool);
	snprintf(prev, sizeof prev, "%s", s->path);
	mail_sort_forget(s);
	if (mail_sess_close(s, true) < 0)
		return;
	if (mail_sess_open(s, path, !strcmp(path, spool)) < 0) {
		mail_sess_open(s, prev, !strcmp(prev, spool));
		return;
	}
	mail_fmt(s->prev, sizeof s->prev, "%s", prev);
	mail_sess_banner(s);
	if (mail_var_isset("header")) {
		unsigned char dummy = 0;
		cmd_headers(s, &dummy, false);
	}
}

static void cmd_folders(struct mail_session *s)
{
	char dir[CFG_PATH_MAX];
	const char *folder = mail_var_get("folder");
	if (!folder || !*folder) {
		printf("No value set for \"folder\"\n");
		return;
	}
	mail_sess_expand(s, "+", dir, sizeof dir);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("ls", "ls", "--", dir, (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static void cmd_help(void)
{
	for (const struct mail_cmd *c = mail_cmd_table(); c->name; c++)
		printf("%-10s %s\n", c->name, c->help);
}

static void cmd_list(void)
{
	int col = 0;
	printf("Commands are:\n");
	for (const struct mail_cmd *c = mail_cmd_table(); c->name; c++) {
		int w = (int)strlen(c->name) + 2;
		if (col + w > 78) {
			printf("\n");
			col = 0;
		}
		printf("%s%s", c->name, c[1].name ? ", " : "\n");
		col += w;
	}
}

static void cmd_set(char *arg)
{
	char *w[64];
	size_t n = mail_split_words(arg, w, 64);
	if (!n) {
		mail_var_list(stdout);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');
		if (eq)
			*eq = '\0';
		mail_var_set(w[i], eq ? eq + 1 : NULL);
	}
}

static void cmd_alias(char *arg, bool remove)
{
	char *w[256];
	size_t n = mail_split_words(arg, w, 256);
	if (remove) {
		for (size_t i = 0; i < n; i++)
			mail_alias_remove(w[i]);
	} else if (n == 0) {
		mail_alias_list(stdout);
	} else if (n == 1) {
		const char *v = mail_alias_get(w[0]);
		if (v)
			printf("%s\t%s\n", w[0], v);
		else
			printf("\"%s\": no such alias\n", w[0]);
	} else {
		mail_alias_add(w[0], w + 1, n - 1);
	}
}

/* ignore, retain, saveignore, saveretain and their un- forms (remove); alternates replaces
 * its list, as Heirloom's does. Without names, the list. */
static void cmd_ignore(char *arg, int kind, bool remove)
{
	char *w[128];
	size_t n = mail_split_words(arg, w, 128), have;
	mail_ignore_entries(kind, &have);
	if (!n || (remove && !have)) {
		if (!remove || kind != MAIL_ALTERNATES)
			mail_ignore_list(kind, stdout);
		return;
	}
	if (kind == MAIL_ALTERNATES)
		mail_ignore_clear(kind);
	for (size_t i = 0; i < n; i++) {
		if (remove)
			mail_ignore_remove(kind, w[i]);
		else
			mail_ignore_add(kind, w[i]);
	}
}

static void cmd_size(struct mail_session *s, const unsigned char *sel)
{
	for (size_t i = 0; i < s->n; i++)
		if (sel[i])
			printf("%zu: %zu/%lld\n", i + 1, s->msgs[i].lines, s->msgs[i].bytes);
}

/* ---- if/else/endif (rc files and the prompt) ---- */

#define COND_MAX 16
static bool cond_active[COND_MAX];   /* per open `if`: are its lines being executed */
static size_t cond_depth;
static bool cond_sending;

void mail_cond_mode(bool sending)
{
	cond_sending = sending;
	cond_depth = 0;
}

static bool cond_outer_active(void)
{
	for (size_t i = 0; i + 1 < cond_depth; i++)
		if (!cond_active[i])
			return false;
	return true;
}

/* Heirloom's keywords, by their first letter: r(eceive), s(end), t(erminal). */
static bool cond_eval(const char *arg)
{
	while (isspace((unsigned char)*arg))
		arg++;
	switch (*arg) {
	case 'r': case 'R': return !cond_sending;
	case 's': case 'S': return cond_sending;
	case 't': case 'T': return isatty(STDIN_FILENO);
	default:
		printf("Unrecognized if-keyword: \"%s\"\n", arg);
		return false;
	}
}

/* Handles if/else/endif, and reports whether a line must be skipped because it sits in a
 * branch not taken. Returns true when the caller must not execute line. */
static bool cond_line(const char *line)
{
	char word[8];
	size_t k = 0;
	while (isspace((unsigned char)*line))
		line++;
	while (line[k] && !isspace((unsigned char)line[k]) && k + 1 < sizeof word) {
		word[k] = line[k];
		k++;
	}
	word[k] = '\0';
	/* if, else and endif abbreviate as any command does (Heirloom's "i" is if) */
	const struct mail_cmd *c = isspace((unsigned char)line[k]) || !line[k] ? mail_cmd_lookup(word) : NULL;
	if (c && (c->id == C_IF || c->id == C_ELSE || c->id == C_ENDIF)) {
		if (c->id == C_IF) {
			if (cond_depth == COND_MAX) {
				printf("Too many nested \"if\"s\n");
				return true;
			}
			cond_depth++;
			cond_active[cond_depth - 1] = cond_outer_active() && cond_eval(line + k);
			return true;
		}
		if (c->id == C_ELSE || c->id == C_ENDIF) {
			if (!cond_depth)
				printf("\"%s\" without matching \"if\"\n", c->name);
			else if (c->id == C_ELSE)
				cond_active[cond_depth - 1] = cond_outer_active() && !cond_active[cond_depth - 1];
			else
				cond_depth--;
			return true;
		}
	}
	return cond_depth && !(cond_active[cond_depth - 1] && cond_outer_active());
}

/* Commands that work without a mailbox, shared with .mailrc. Returns true when handled. */
static bool common_command(const struct mail_cmd *c, char *arg)
{
	switch (c->id) {
	case C_SET: cmd_set(arg); return true;
	case C_UNSET: {
		char *w[64];
		size_t n = mail_split_words(arg, w, 64);
		for (size_t i = 0; i < n; i++)
			mail_var_unset(w[i]);
		return true;
	}
	case C_ALIAS: cmd_alias(arg, false); return true;
	case C_UNALIAS: cmd_alias(arg, true); return true;
	case C_IGNORE: cmd_ignore(arg, MAIL_IGNORE, false); return true;
	case C_RETAIN: cmd_ignore(arg, MAIL_RETAIN, false); return true;
	case C_SAVEIGNORE: cmd_ignore(arg, MAIL_SAVEIGNORE, false); return true;
	case C_SAVERETAIN: cmd_ignore(arg, MAIL_SAVERETAIN, false); return true;
	case C_UNIGNORE: cmd_ignore(arg, MAIL_IGNORE, true); return true;
	case C_UNRETAIN: cmd_ignore(arg, MAIL_RETAIN, true); return true;
	case C_UNSAVEIGNORE: cmd_ignore(arg, MAIL_SAVEIGNORE, true); return true;
	case C_UNSAVERETAIN: cmd_ignore(arg, MAIL_SAVERETAIN, true); return true;
	case C_ALTERNATES: cmd_ignore(arg, MAIL_ALTERNATES, false); return true;
	case C_SOURCE: {
		char *w[2];
		if (mail_split_words(arg, w, 2) && mail_source(w[0]) < 0)
			fprintf(stderr, "%s: %s\n", w[0], strerror(errno));
		return true;
	}
	case C_ECHO: {
		while (isspace((unsigned char)*arg))
			arg++;
		printf("%s\n", arg);
		return true;
	}
	default:
		return false;
	}
}

static void msglist_command(struct mail_session *s, const struct mail_cmd *c, char *arg)
{
	enum mail_list_mode mode = c->id == C_UNDELETE ? MAIL_LIST_DELETED : MAIL_LIST_UNDELETED;
	unsigned char *sel = calloc(s->n ? s->n : 1, 1);
	if (!sel)
		return;
	if (c->id == C_HEADERS || c->id == C_FROM) {
		while (isspace((unsigned char)*arg))
			arg++;
		if (c->id == C_HEADERS && !*arg) {
			cmd_headers(s, sel, false);
			free(sel);
			return;
		}
	}
	if (mail_get_list(s, arg, mode, sel) <= 0) {
		free(sel);
		return;
	}
	switch (c->id) {
	case C_TYPE: cmd_type(s, sel, TYPE_SHOWN, false); break;
	case C_TYPE_ALL: cmd_type(s, sel, TYPE_ALL, false); break;
	case C_MORE: cmd_type(s, sel, TYPE_SHOWN, true); break;
	case C_MORE_ALL: cmd_type(s, sel, TYPE_ALL, true); break;
	case C_SHOW: cmd_type(s, sel, TYPE_RAW, false); break;
	case C_TOP: cmd_top(s, sel); break;
	case C_FROM:
		for (size_t k = 0; k < s->n; k++)
			if (sel[mail_sess_nth(s, k)])
				s->cur = mail_sess_nth(s, k);
		for (size_t k = 0; k < s->n; k++)
			if (sel[mail_sess_nth(s, k)])
				mail_sess_headline(s, mail_sess_nth(s, k));
		break;
	case C_HEADERS: cmd_headers(s, sel, true); break;
	case C_DELETE: cmd_delete(s, sel, false); break;
	case C_DP: cmd_delete(s, sel, true); break;
	case C_UNDELETE:   /* Heirloom's undelete touches: the message counts as read */
		set_flag(s, sel, MAIL_M_STATUS, MAIL_M_DELETED | MAIL_M_SAVED);
		for (size_t i = 0; i < s->n; i++)
			if (sel[i])
				mail_touch(s, i);
		break;
	case C_PRESERVE: set_flag(s, sel, MAIL_M_PRESERVE, MAIL_M_MBOX); break;
	case C_MBOX: set_flag(s, sel, MAIL_M_MBOX | MAIL_M_TOUCH, MAIL_M_PRESERVE); break;
	case C_TOUCH: set_flag(s, sel, MAIL_M_TOUCH, MAIL_M_PRESERVE); break;
	case C_UNREAD: set_flag(s, sel, 0, MAIL_M_READ | MAIL_M_TOUCH); break;
	case C_SIZE: cmd_size(s, sel); break;
	case C_FLAG: set_flag(s, sel, MAIL_M_FLAGGED | MAIL_M_STATUS, 0); break;
	case C_UNFLAG: set_flag(s, sel, MAIL_M_STATUS, MAIL_M_FLAGGED); break;
	case C_ANSWERED: set_flag(s, sel, MAIL_M_ANSWERED | MAIL_M_STATUS, 0); break;
	case C_UNANSWERED: set_flag(s, sel, MAIL_M_STATUS, MAIL_M_ANSWERED); break;
	case C_REPLY: mail_cmd_reply(s, sel, true, false); break;
	case C_FOLLOWUP: mail_cmd_reply(s, sel, true, true); break;
	case C_FOLLOWUP_SENDER: mail_cmd_reply(s, sel, false, true); break;
	case C_MOVE_SENDER: mail_cmd_save_sender(s, sel, MAIL_MOVE); break;
	case C_SAVE_SENDER: mail_cmd_save_sender(s, sel, MAIL_SAVE); break;
	case C_COPY_SENDER: mail_cmd_save_sender(s, sel, MAIL_COPY); break;
	case C_REPLY_SENDER: mail_cmd_reply(s, sel, false, false); break;
	case C_EDIT: cmd_edit(s, sel, false); break;
	case C_VISUAL: cmd_edit(s, sel, true); break;
	default: break;
	}
	free(sel);
}

static bool first_next = true;

void mail_sess_execute(struct mail_session *s, char *line)
{
	char word[64];
	size_t k = 0;
	if (cond_line(line))
		return;
	while (isspace((unsigned char)*line))
		line++;
	if (!*line) {
		cmd_next(s, 1, "", first_next);
		first_next = false;
		return;
	}
	if (*line == '#')
		return;
	/* a bare message list means `type`; `!cmd` and `|cmd` need no space */
	if (isdigit((unsigned char)*line) || ((*line == '$' || *line == '^' || *line == '.') && !line[1])) {
		cmd_next(s, 1, line, false);
		first_next = false;
		return;
	}
	if (*line == '!' || *line == '|' || *line == '=' || *line == '?' ||
	    ((*line == '-' || *line == '+') && (!line[1] || isspace((unsigned char)line[1]))))
		word[k++] = *line++;
	else
		/* Heirloom's lex: the name ends at a blank, digit or list character (z-, p2, s/x/) */
		while (*line && k + 1 < sizeof word && !strchr(" \t0123456789$^.:/-+*'\",;(`|!", *line))
			word[k++] = *line++;
	word[k] = '\0';
	const struct mail_cmd *c = mail_cmd_lookup(word);
	if (!c) {
		printf("Unknown command: \"%s\"\n", word);
		return;
	}
	if (common_command(c, line))
		return;
	if (c->id != C_NEXT)
		first_next = false;
	switch (c->id) {
	case C_NEXT: cmd_next(s, 1, line, first_next); first_next = false; break;
	case C_PLUS: cmd_next(s, 1, *line ? line : "+", false); break;
	case C_PREV: cmd_next(s, 1, *line ? line : "-", false); break;
	case C_Z: cmd_z(s, line); break;
	case C_MAIL: mail_cmd_mail(s, line, false); break;
	case C_MAIL_RECORD: mail_cmd_mail(s, line, true); break;
	case C_FORWARD: mail_cmd_forward(s, line, false); break;
	case C_FORWARD_SENDER: mail_cmd_forward(s, line, true); break;
	case C_RESEND: mail_cmd_resend(s, line, true); break;
	case C_RESEND_RAW: mail_cmd_resend(s, line, false); break;
	case C_MOVE: mail_cmd_save(s, line, MAIL_MOVE); break;
	case C_SAVE: mail_cmd_save(s, line, MAIL_SAVE); break;
	case C_COPY: mail_cmd_save(s, line, MAIL_COPY); break;
	case C_SAVE_NOHDR: mail_cmd_save(s, line, MAIL_WRITE); break;
	case C_FOLDER: cmd_folder(s, line); break;
	case C_FOLDERS: cmd_folders(s); break;
	case C_SHELLCMD: mail_run_sh(line, NULL, 0); printf("!\n"); break;
	case C_SHELL: {
		const char *sh = getenv("SHELL");
		mail_run_sh(sh && *sh ? sh : "/bin/sh", NULL, 0);
		break;
	}
	case C_PIPE: mail_cmd_pipe(s, line, false); break;
	case C_PIPE_ALL: mail_cmd_pipe(s, line, true); break;
	case C_QUOTA: mail_cmd_quota(s); break;
	case C_SORT: mail_cmd_sort(s, line); break;
	case C_THREAD: mail_cmd_sort(s, "thread"); break;
	case C_UNSORT: mail_cmd_unsort(s); break;
	case C_EQUALS: printf("%zu\n", s->n ? s->cur + 1 : 0); break;
	case C_HELP: cmd_help(); break;
	case C_LIST: cmd_list(); break;
	case C_VERSION: printf("Mail version %s\n", MAIL_VERSION); break;
	case C_NEWMAIL:
		if (!mail_sess_newmail(s, false))
			printf("No new mail.\n");
		break;
	case C_CD: {
		char *w[2];
		const char *dir = mail_split_words(line, w, 2) ? w[0] : s->home;
		if (chdir(dir) != 0)
			fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		break;
	}
	case C_QUIT:
		if (mail_sess_close(s, true) < 0)
			s->status = 1;
		s->done = true;
		break;
	case C_EXIT:
		mail_sess_close(s, false);
		s->done = true;
		break;
	default:
		msglist_command(s, c, line);
		break;
	}
}

/* ---- rc files ---- */

int mail_rc_line(char *line)
{
	char word[64];
	size_t k = 0;
	if (cond_line(line))
		return 0;
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#')
		return 0;
	while (*line && !isspace((unsigned char)*line) && k + 1 < sizeof word)
		word[k++] = *line++;
	word[k] = '\0';
	const struct mail_cmd *c = mail_cmd_lookup(word);
	if (!c || !common_command(c, line)) {
		fprintf(stderr, "Unknown command in rc file: \"%s\"\n", word);
		return -1;
	}
	return 0;
}

int mail_source(const char *path)
{
	static int depth;
	FILE *fp = depth < 10 ? fopen(path, "r") : NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	if (!fp)
		return -1;
	depth++;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		mail_rc_line(line);
	}
	depth--;
	free(line);
	fclose(fp);
	return 0;
}

void mail_load_rc(const char *home, bool system_rc)
{
	char path[CFG_PATH_MAX + 16];
	const char *sys = getenv("MAIL_SYSRC");
	const char *rc = getenv("MAILRC");
	if (system_rc && !getenv("NAILRC_SKIP_SYSTEM"))
		mail_source(sys && *sys ? sys : "/etc/mail.rc");
	if (rc && *rc)
		mail_fmt(path, sizeof path, "%s", rc);
	else
		mail_fmt(path, sizeof path, "%s/.mailrc", home);
	mail_source(path);
}

/* ---- the reader's main loop ---- */

static void prompt_loop(struct mail_session *s)
{
	char *line = NULL;
	size_t cap = 0;
	bool tty = isatty(STDIN_FILENO);
	while (!s->done) {
		if (s->system)
			mail_sess_newmail(s, false);
		if (tty) {
			const char *p = mail_var_get("prompt");
			fputs(p ? p : mail_var_isset("bsdcompat") ? "& " : "? ", stdout);
		}
		fflush(stdout);
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0) {
			/* EOF is quit, as in mailx */
			if (mail_sess_close(s, true) < 0)
				s->status = 1;
			break;
		}
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		mail_sess_execute(s, line);
	}
	free(line);
}

int mail_read_mode(const struct config *cfg, const struct mail_opts *o)
{
	struct mail_session s = { .cfg = cfg };
	struct user_info ui;
	struct result r = { 0 };
	char path[CFG_PATH_MAX + 64];
	snprintf(s.user, sizeof s.user, "%s", o->user);
	if (user_lookup(cfg, o->user, &ui, &r) == USER_FOUND && !getenv("HOME"))
		snprintf(s.home, sizeof s.home, "%s", ui.home);
	else
		snprintf(s.home, sizeof s.home, "%s", getenv("HOME") ? getenv("HOME") : "/");
	s.readonly = o->read_only;
	bool system = !o->file;
	if (o->file)
		mail_sess_expand(&s, *o->file ? o->file : "&", path, sizeof path);
	else if (o->user_given || !getenv("MAIL") || !*getenv("MAIL"))
		mail_fmt(path, sizeof path, "%s/%s", cfg->spool_dir, o->user);
	else
		mail_fmt(path, sizeof path, "%s", getenv("MAIL"));
	if (mail_sess_open(&s, path, system) < 0)
		return 1;
	if (o->check_only) {
		int rc = s.n ? 0 : 1;
		mail_sess_close(&s, false);
		return rc;
	}
	if (!s.n) {
		if (system)
			printf("No mail for %s\n", o->user);
		else
			printf("\"%s\": 0 messages\n", path);
		mail_sess_close(&s, false);
		return 1;
	}
	if (o->header_only) {
		for (size_t i = 0; i < s.n; i++)
			mail_sess_headline(&s, i);
		mail_sess_close(&s, false);
		return 0;
	}
	if (!mail_var_isset("quiet"))
		printf("Mail version %s.  Type ? for help.\n", MAIL_VERSION);
	mail_sess_banner(&s);
	if (!o->no_summary && mail_var_isset("header")) {
		unsigned char dummy = 0;
		cmd_headers(&s, &dummy, false);
	}
	mail_collect_set_interp(mail_interpolate_msgs, &s);
	prompt_loop(&s);
	mail_collect_set_interp(NULL, NULL);
	return s.status;
}
