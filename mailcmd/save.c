/* The saving family (Heirloom's cmd2.c): save, copy, write with its attachments, Save/Copy,
 * pipe. None of them moves the current message; all of them touch what they save. */
#include "mailcmd/session.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox/header.h"

static bool is_list_token(const char *w)
{
	return strchr("*$.^:/", w[0]) || isdigit((unsigned char)w[0]);
}

char *mail_split_last(char *arg)
{
	size_t l = strlen(arg);
	while (l && isspace((unsigned char)arg[l - 1]))
		arg[--l] = '\0';
	char *sp = strrchr(arg, ' ');
	char *tab = strrchr(arg, '\t');
	if (tab > sp)
		sp = tab;
	if (!sp) {
		static char single[CFG_PATH_MAX];
		if (!*arg || is_list_token(arg))
			return NULL;
		mail_fmt(single, sizeof single, "%s", arg);
		arg[0] = '\0';
		return single;
	}
	*sp = '\0';
	return sp + 1;
}

static size_t count_lines(const char *p, size_t len)
{
	size_t n = 0;
	for (const char *e = p + len; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		n++;
	return n;
}

/* saveignore/saveretain: the header fields save, copy and move leave out of the message
 * rendered in mbox form in data[0..len), removed in place. Returns the new length. */
static size_t drop_save_ignored(char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	size_t pos = nl ? (size_t)(nl - data) + 1 : len, out = pos, at = pos;
	struct hdr_field f;
	char name[128];
	while (hdr_next(data, len, &pos, &f)) {
		at = pos;
		mail_fmt(name, sizeof name, "%.*s", (int)f.name_len, f.name);
		/* Status and X-Status carry the session's flags: never filtered, as Heirloom's
		 * statusput writes them apart from the ignore tables */
		if (f.name_len && mail_save_ignored(name) && !hdr_name_is(&f, "Status") && !hdr_name_is(&f, "X-Status"))
			continue;
		memmove(data + out, f.raw, f.raw_len);
		out += f.raw_len;
	}
	/* at: where the blank line after the header starts; it stays with the body */
	memmove(data + out, data + at, len - at);
	return out + len - at;
}

/* Appends message i in mbox form under the lock lk; adds what it wrote to the counts. */
static int append_one(struct mail_session *s, size_t i, struct mbox_lock *lk, size_t *lines, long long *bytes)
{
	struct result r = { 0 };
	size_t len, pos;
	/* saving touches: the copy is read; old only if it was before (Heirloom's statusput) */
	unsigned f = MBOX_F_READ | ((s->msgs[i].flags & MAIL_M_NEW) ? 0 : MBOX_F_OLD);
	const struct mbox_index *v = mail_sess_view(s, i, &pos);
	char *data = mbox_render_message(v, pos, f, &len);
	if (data)
		len = drop_save_ignored(data, len);
	if (!data || mbox_append_raw(lk, data, len, s->cfg->fsync, &r) != EX_OK) {
		fprintf(stderr, "%s: %s\n", lk->path, data ? r.reason : "out of memory");
		free(data);
		return -1;
	}
	*lines += count_lines(data, len);
	*bytes += (long long)len;
	free(data);
	return 0;
}

/* save/copy: the messages appended in mbox form, through the mbox library's lock. */
static int save_msgs(struct mail_session *s, const unsigned char *sel, const char *path, bool mark,
		     size_t *lines, long long *bytes)
{
	struct mbox_lock lk;
	struct result r = { 0 };
	struct mbox_owner own = { getuid(), (gid_t)-1 };
	if (mbox_lock(path, MBOX_LOCK_WRITE | MBOX_LOCK_CREATE | MBOX_LOCK_NODOTLOCK, &own, s->cfg->lock_timeout,
		      &lk, &r) != EX_OK) {
		fprintf(stderr, "%s: %s\n", path, r.reason);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!sel[i])
			continue;
		if (append_one(s, i, &lk, lines, bytes) < 0) {
			mbox_unlock(&lk);
			return -1;
		}
		mail_touch(s, i);
		if (mark)
			s->msgs[i].flags |= MAIL_M_SAVED;
	}
	mbox_unlock(&lk);
	return 0;
}

/* ---- write: decoded text, attachments under their own names ---- */

struct write_job {
	struct mail_session *s;
	FILE *out;                 /* the file named on the command line */
	size_t lines;
	long long bytes;
	bool tty;
};

/* The sender's file name reduced to a name in the current directory: the part after the
 * last '/', control characters made '_'; false when nothing safe remains (".", ".."). */
static bool safe_name(const char *name, char *out, size_t size)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	snprintf(out, size, "%s", base);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	return out[0] && strcmp(out, ".") && strcmp(out, "..");
}

/* Asks for the name of a part's file, suggesting def. Returns false to skip the part. */
static bool ask_name(const struct mail_part *p, const char *def, char *out, size_t size)
{
	char *line = NULL;
	size_t cap = 0;
	printf("Enter filename for part %s (%s)%s%s%s: ", p->id, p->type, def ? " [" : "", def ? def : "",
	       def ? "]" : "");
	fflush(stdout);
	ssize_t n = getline(&line, &cap, stdin);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	bool ok = n >= 0 && strcmp(line, "-") != 0 && (n > 0 || def);
	if (ok)
		snprintf(out, size, "%s", n > 0 ? line : def);
	free(line);
	return ok;
}

/* Creates name for a part; an existing file is never replaced (at a terminal the user is asked
 * for another name, up to three times). Returns the fd or -1 (reason printed). */
static int create_part_file(struct write_job *w, const struct mail_part *p, char *name, size_t size)
{
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0)
			return fd;
		fprintf(stderr, "\"%s\": %s%s\n", name, strerror(errno), w->tty ? "" : ", part not saved");
		if (errno != EEXIST || !w->tty || !ask_name(p, NULL, name, size))
			return -1;
	}
	return -1;
}

/* A part after the first: asked for at a terminal (as Heirloom's write does), else saved
 * under its own name; `|command` pipes it. */
static void save_part(struct write_job *w, const struct mail_part *p, const char *data, size_t len)
{
	char given[256], def[256], name[CFG_PATH_MAX];
	bool has_def = mail_part_filename(p, given, sizeof given) && safe_name(given, def, sizeof def);
	if (w->tty) {
		if (!ask_name(p, has_def ? def : NULL, name, sizeof name))
			return;
	} else if (has_def) {
		snprintf(name, sizeof name, "%s", def);
	} else {
		printf("Part %s (%s) has no file name: not saved.\n", p->id, p->type);
		return;
	}
	if (name[0] == '|') {
		mail_run_sh(name + 1, data, len);
		return;
	}
	int fd = create_part_file(w, p, name, sizeof name);
	if (fd < 0)
		return;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "\"%s\": %s\n", name, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	close(fd);
}

static void write_leaf(void *ctx, const struct mail_part *p)
{
	struct write_job *w = ctx;
	size_t len;
	char *data = mail_part_decode(p, &len);
	if (!data) {
		fprintf(stderr, "out of memory\n");
		return;
	}
	/* part 1 (the whole body of a simple message) goes to the named file, as in Heirloom */
	if (!strcmp(p->id, "1")) {
		/* the line end before a boundary belongs to the boundary (RFC 2046): text gets its
		 * last line ended again */
		bool end_line = len && data[len - 1] != '\n' && !strncmp(p->type, "text/", 5);
		fwrite(data, 1, len, w->out);
		if (end_line)
			fputc('\n', w->out);
		w->lines += count_lines(data, len) + end_line;
		w->bytes += (long long)len + end_line;
	} else {
		save_part(w, p, data, len);
	}
	free(data);
}

static int write_msgs(struct mail_session *s, const unsigned char *sel, const char *path, size_t *lines,
		      long long *bytes)
{
	struct write_job w = { .s = s, .tty = isatty(STDIN_FILENO) };
	w.out = fopen(path, "a");
	if (!w.out) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!sel[i])
			continue;
		size_t hlen;
		const char *map, *hdr = mail_msg_hdr(s, i, &hlen);
		const struct mbox_msg *x = mail_sess_msg(s, i, &map);
		mail_mime_walk(hdr, hlen, map + x->body, (size_t)(x->content_end - x->body), write_leaf, &w);
		mail_touch(s, i);
	}
	int rc = fclose(w.out) == 0 ? 0 : -1;
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	*lines = w.lines;
	*bytes = w.bytes;
	return rc;
}

/* move: what was saved is deleted (and counts as saved); dot goes to the first message left
 * after the last one moved, else before it, in the order shown (Heirloom's save1 with domove
 * and first()). */
static void moved(struct mail_session *s, const unsigned char *sel)
{
	size_t last = 0;
	for (size_t i = 0; i < s->n; i++)
		if (sel[i]) {
			s->msgs[i].flags = (s->msgs[i].flags | MAIL_M_DELETED | MAIL_M_SAVED) & ~(unsigned)MAIL_M_PRESERVE;
			last = i;
		}
	size_t at = mail_sess_pos(s, last);
	for (size_t k = at; k < s->n; k++)
		if (!(s->msgs[mail_sess_nth(s, k)].flags & MAIL_M_DELETED)) {
			s->cur = mail_sess_nth(s, k);
			return;
		}
	for (size_t k = at; k-- > 0;)
		if (!(s->msgs[mail_sess_nth(s, k)].flags & MAIL_M_DELETED)) {
			s->cur = mail_sess_nth(s, k);
			return;
		}
}

/* Saves the selection into file and prints Heirloom's `"path" [New file] lines/bytes`. */
static void save_to(struct mail_session *s, const unsigned char *sel, const char *file, enum mail_save_kind kind)
{
	char path[CFG_PATH_MAX];
	size_t lines = 0;
	long long bytes = 0;
	if (!mail_sess_expand(s, file, path, sizeof path))
		return;
	bool exists = access(path, F_OK) == 0;
	int rc = kind == MAIL_WRITE ? write_msgs(s, sel, path, &lines, &bytes)
				    : save_msgs(s, sel, path, kind == MAIL_SAVE, &lines, &bytes);
	if (rc != 0)
		return;
	printf("\"%s\" %s %zu/%lld\n", path, exists ? "[Appended]" : "[New file]", lines, bytes);
	if (kind == MAIL_MOVE)
		moved(s, sel);
}

void mail_cmd_save(struct mail_session *s, char *arg, enum mail_save_kind kind)
{
	char *file = mail_split_last(arg);
	if (!file && kind == MAIL_WRITE) {
		printf("No file specified.\n");
		return;
	}
	unsigned char *sel = calloc(s->n ? s->n : 1, 1);
	if (sel && mail_get_list(s, arg, MAIL_LIST_UNDELETED, sel) > 0)
		save_to(s, sel, file ? file : "&", kind);
	free(sel);
}

/* Save/Copy: into a file named after the sender of the first message (under folder when
 * outfolder is set), as Heirloom does. */
void mail_cmd_save_sender(struct mail_session *s, const unsigned char *sel, enum mail_save_kind kind)
{
	char name[256], file[260];
	size_t i = 0;
	while (i < s->n && !sel[i])
		i++;
	if (i == s->n)
		return;
	if (!mail_sender_filename(s->msgs[i].from, name, sizeof name)) {
		printf("Cannot make a file name from the sender of message %zu\n", i + 1);
		return;
	}
	mail_fmt(file, sizeof file, "%s%s", mail_var_isset("outfolder") ? "+" : "", name);
	save_to(s, sel, file, kind);
}

/* ---- pipe ---- */

/* Heirloom's laststring() for a quoted command: when arg ends in a quote, the text from the
 * matching quote (a backslash escapes it) is the command, unquoted, and arg keeps the list.
 * Returns NULL when arg does not end in a quote. */
static char *quoted_command(char *arg)
{
	size_t l = strlen(arg);
	while (l && isspace((unsigned char)arg[l - 1]))
		arg[--l] = '\0';
	if (l < 2 || (arg[l - 1] != '"' && arg[l - 1] != '\''))
		return NULL;
	char q = arg[l - 1];
	arg[--l] = '\0';
	while (l > 0) {
		l--;
		if (arg[l] != q)
			continue;
		if (l && arg[l - 1] == '\\') {
			memmove(arg + l - 1, arg + l, strlen(arg + l) + 1);
			continue;
		}
		arg[l] = '\0';
		return arg + l + 1;
	}
	return NULL;
}

/* Splits "msglist command": arg keeps the list; the command (malloc'd, NULL when none) is a
 * trailing quoted string, else everything after the leading message-list tokens (Heirloom
 * would take only the last word of unquoted text). */
static char *split_command(char *arg)
{
	char *cmd = quoted_command(arg);
	if (cmd)
		return strdup(cmd);
	cmd = arg;
	while (isspace((unsigned char)*cmd))
		cmd++;
	while (*cmd && is_list_token(cmd)) {
		while (*cmd && !isspace((unsigned char)*cmd))
			cmd++;
		while (isspace((unsigned char)*cmd))
			cmd++;
	}
	if (!*cmd)
		return NULL;
	char *copy = strdup(cmd);
	*cmd = '\0';
	return copy;
}

void mail_cmd_pipe(struct mail_session *s, char *arg, bool all_headers)
{
	char *cmd = split_command(arg);
	const char *run = cmd ? cmd : mail_var_get("cmd");
	unsigned char *sel = NULL;
	char *buf = NULL;
	size_t len = 0;
	if (!run || !*run) {
		fprintf(stderr, "variable cmd not set\n");
		goto out;
	}
	sel = calloc(s->n ? s->n : 1, 1);
	if (!sel || mail_get_list(s, arg, MAIL_LIST_UNDELETED, sel) <= 0)
		goto out;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		goto out;
	for (size_t i = 0; i < s->n; i++)
		if (sel[i])
			mail_type_one(s, i, all_headers, mem);
	if (fclose(mem) != 0)
		goto out;
	printf("Pipe to: \"%s\"\n", run);
	if (mail_run_sh(run, buf, len) >= 0)
		printf("\"%s\" %zu/%zu\n", run, count_lines(buf, len), len);
out:
	free(cmd);
	free(buf);
	free(sel);
}
