/* The header summary line (Heirloom layout), status letters, address skinning, screen width. */
#include "mailcmd/mail.h"

#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

char mail_status_char(unsigned f)
{
	if (f & MAIL_M_DELETED)
		return 'D';
	if (f & MAIL_M_MBOX)
		return 'M';
	if (f & MAIL_M_PRESERVE)
		return 'P';
	if (f & MAIL_M_SAVED)
		return '*';
	if ((f & (MAIL_M_NEW | MAIL_M_READ)) == MAIL_M_NEW)
		return 'N';
	if (!(f & MAIL_M_READ))
		return 'U';
	if (f & MAIL_M_ANSWERED)
		return 'A';
	if (f & MAIL_M_FLAGGED)
		return 'F';
	return ' ';
}

/* Copies src without RFC 5322 comments (parenthesised, nesting) and quotes, trimmed. */
static void strip_comments(const char *src, char *out, size_t size)
{
	size_t o = 0;
	int depth = 0;
	for (const char *p = src; *p && o + 1 < size; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth)
			depth--;
		else if (!depth && *p != '"')
			out[o++] = *p;
	}
	out[o] = '\0';
	char *s = out;
	while (isspace((unsigned char)*s))
		s++;
	memmove(out, s, strlen(s) + 1);
	for (size_t l = strlen(out); l && isspace((unsigned char)out[l - 1]); l--)
		out[l - 1] = '\0';
}

char *mail_skin(const char *addr, char *out, size_t size)
{
	const char *lt = strchr(addr, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt) {
		snprintf(out, size, "%.*s", (int)(gt - lt - 1), lt + 1);
		return out;
	}
	strip_comments(addr, out, size);
	/* only the first of a list */
	char *comma = strchr(out, ',');
	if (comma)
		*comma = '\0';
	return out;
}

bool mail_sender_filename(const char *from, char *out, size_t size)
{
	char addr[512];
	mail_skin(from ? from : "", addr, sizeof addr);
	char *at = strchr(addr, '@');
	if (at)
		*at = '\0';
	for (char *p = addr; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';   /* the sender writes this name: never a path, never a control */
	if (!addr[0] || !strcmp(addr, ".") || !strcmp(addr, ".."))
		return false;
	return snprintf(out, size, "%s", addr) < (int)size;
}

static volatile sig_atomic_t winsize_changed = 1;

static void on_winch(int sig)
{
	(void)sig;
	winsize_changed = 1;
}

/* The terminal's width, asked once and again only after a SIGWINCH: asking for every line
 * of a header summary was two ioctls per message. 0 when stdout is no terminal. */
static int tty_width(void)
{
	static int cols;
	static bool handler;
	if (!handler) {
		struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGWINCH, &sa, NULL);
		handler = true;
	}
	if (winsize_changed) {
		struct winsize ws;
		winsize_changed = 0;
		cols = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
	}
	return cols;
}

int mail_screen_width(void)
{
	const char *c = getenv("COLUMNS");
	if (c && atoi(c) > 10)
		return atoi(c);
	int cols = tty_width();
	return cols > 10 ? cols : 80;
}

/* Display columns of the character at s (wcwidth in the locale) and its byte length in *len;
 * an invalid byte or an unprintable character counts as one column. */
static size_t char_cols(const char *s, size_t *len)
{
	mbstate_t st;
	wchar_t wc;
	/* ASCII is one byte and (printable or not) one column in every locale glibc has: the
	 * header summary of a big mailbox spent half its time in mbrtowc for these. */
	if ((unsigned char)*s < 0x80) {
		*len = 1;
		return 1;
	}
	memset(&st, 0, sizeof st);
	size_t k = mbrtowc(&wc, s, strnlen(s, MB_LEN_MAX), &st);
	if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
		*len = 1;
		return 1;
	}
	*len = k;
	int w = wcwidth(wc);
	return w < 0 ? 1 : (size_t)w;
}

/* Byte length of the longest prefix of s that fits in cols display columns (characters
 * are never split; a double-width one that would straddle the limit is left out). The
 * columns used go to *used. */
static size_t fit_columns(const char *s, size_t cols, size_t *used)
{
	size_t i = 0, u = 0, len;
	while (s[i]) {
		size_t w = char_cols(s + i, &len);
		if (u + w > cols)
			break;
		u += w;
		i += len;
	}
	*used = u;
	return i;
}

/* Appends s left-aligned in exactly w columns (padded or cut). */
static void put_field(char *buf, size_t size, size_t *o, const char *s, size_t w)
{
	size_t cols, bytes = fit_columns(s, w, &cols);
	*o += (size_t)snprintf(buf + *o, *o < size ? size - *o : 0, "%.*s%*s", (int)bytes, s,
			       (int)(w - cols), "");
}

/* Flattens control characters (tabs, stray newlines) in a header text for one-line output. */
static void flatten(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 1 < size; in++)
		out[o++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? ' ' : *in;
	out[o] = '\0';
}

size_t mail_headline(char *buf, size_t size, const struct mail_msg *m, size_t num, size_t total,
		     bool current, int width, const char *showto_user)
{
	char who[512], addr[512], date[32] = "", subj[1024];
	size_t o = 0;
	int numw = 3;
	for (size_t t = total; t >= 1000; t /= 10)
		numw++;
	mail_skin(m->from ? m->from : "", addr, sizeof addr);
	if (showto_user && m->to && mail_from_matches(m->from, showto_user)) {
		char to[512];
		snprintf(who, sizeof who, "To %s", mail_skin(m->to, to, sizeof to));
	} else {
		char *loc = mail_locale_text(addr);
		flatten(loc ? loc : addr, who, sizeof who);
		free(loc);
	}
	if (m->date != (time_t)-1) {
		struct tm tm;
		localtime_r(&m->date, &tm);
		strftime(date, sizeof date, "%a %b %e %H:%M", &tm);
	}
	o += (size_t)snprintf(buf, size, "%c%c%*zu ", current ? '>' : ' ', mail_status_char(m->flags),
			      numw, num);
	put_field(buf, size, &o, who, 18);
	o += (size_t)snprintf(buf + o, o < size ? size - o : 0, " %16s %4zu/%-5lld ", date, m->lines,
			      m->bytes);
	char *loc = mail_locale_text(m->subject ? m->subject : "");
	flatten(loc ? loc : "", subj, sizeof subj);
	free(loc);
	if (o < size && m->subject)
		o += (size_t)snprintf(buf + o, size - o, "\"%s\"", subj);
	if (o >= size)
		o = size - 1;
	/* trim to the screen: mailx keeps the line one column short of the width */
	size_t cols, cut = fit_columns(buf, width > 1 ? (size_t)width - 1 : 79, &cols);
	if (cut < o)
		buf[o = cut] = '\0';
	return o;
}
