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

#include "mbox/header.h"

/* Heirloom's attrlist positions: N new, U unread, R read now, O read before, S saved,
 * P preserved, M mboxed, F flagged, A answered (then T K + - J, unused here). */
enum { AT_NEW, AT_UNREAD, AT_READ_NOW, AT_OLD, AT_SAVED, AT_PRESERVED, AT_MBOX, AT_FLAGGED, AT_ANSWERED,
       AT_COUNT };

/* Heirloom's dispc(): the later tests win, so flagged beats mboxed beats ... beats read. */
static char status_char(unsigned f, const char *attrs)
{
	int a = -1;
	unsigned rn = f & (MAIL_M_READ | MAIL_M_NEW);
	if (rn == MAIL_M_READ)
		a = AT_OLD;
	if (rn == (MAIL_M_READ | MAIL_M_NEW))
		a = AT_READ_NOW;
	if (f & MAIL_M_ANSWERED)
		a = AT_ANSWERED;
	if (rn == MAIL_M_NEW)
		a = AT_NEW;
	if (rn == 0)
		a = AT_UNREAD;
	if (f & MAIL_M_SAVED)
		a = AT_SAVED;
	if (f & MAIL_M_PRESERVE)
		a = AT_PRESERVED;
	if (f & MAIL_M_MBOX)
		a = AT_MBOX;
	if (f & MAIL_M_FLAGGED)
		a = AT_FLAGGED;
	return a >= 0 && a < (int)strlen(attrs) ? attrs[a] : ' ';
}

/* attrlist, else Heirloom's letters (the BSD ones with bsdcompat or bsdflags). */
static const char *attr_letters(void)
{
	const char *v = mail_var_get("attrlist");
	if (v && strlen(v) >= AT_COUNT)
		return v;
	return mail_var_isset("bsdcompat") || mail_var_isset("bsdflags") ? "NU  *HMFATK+-J" : "NUROSPMFATK+-J";
}

char mail_status_char(unsigned f)
{
	return status_char(f, attr_letters());
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

/* Flattens control characters (tabs, stray newlines) in a header text for one-line output. */
static void flatten(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 1 < size; in++)
		out[o++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? ' ' : *in;
	out[o] = '\0';
}

/* The summary line being built: bytes and display columns so far. */
struct hl_line {
	char *buf;
	size_t size, o, cols;
};

static void hl_add(struct hl_line *l, const char *s, size_t len, size_t cols)
{
	if (l->o + len >= l->size)
		len = l->o + 1 < l->size ? l->size - l->o - 1 : 0;
	memcpy(l->buf + l->o, s, len);
	l->o += len;
	l->buf[l->o] = '\0';
	l->cols += cols;
}

/* An ASCII field formatted by printf (numbers, dates): as many columns as bytes. */
static void hl_num(struct hl_line *l, const char *fmt, int w, long long v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof tmp, fmt, w, v);
	hl_add(l, tmp, n > 0 ? (size_t)n : 0, n > 0 ? (size_t)n : 0);
}

/* Heirloom's colalign(): s cut to w columns, padded with blanks when fill. */
static void hl_text(struct hl_line *l, const char *s, size_t w, bool fill)
{
	size_t cols, bytes = fit_columns(s, w, &cols);
	hl_add(l, s, bytes, cols);
	for (; fill && cols < w; cols++)
		hl_add(l, " ", 1, 1);
}

/* Display columns of the literal text of fmt from here on (the subject gets what is left). */
static size_t literal_cols(const char *fmt)
{
	size_t n = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			n++;
			continue;
		}
		fmt++;
		fmt += *fmt == '-' || *fmt == '+';
		while (isdigit((unsigned char)*fmt))
			fmt++;
		if (!*fmt)
			break;
	}
	return n;
}

/* What a summary shows of one message, prepared once per line. */
struct hl_fields {
	const struct mail_msg *m;
	size_t num;
	bool current, isto;
	const char *who, *date, *subj;
	int width;
};

/* One %-directive of Heirloom's headline format; n is its (signed) width, 0 for none. */
static void hl_directive(struct hl_line *l, const struct hl_fields *f, char c, int n, const char *rest)
{
	switch (c) {
	case '%': hl_add(l, "%", 1, 1); break;
	case '>': case '<': hl_add(l, f->current ? &c : " ", 1, 1); break;
	case 'a': { char a = status_char(f->m->flags, attr_letters()); hl_add(l, &a, 1, 1); break; }
	case 'm': case 't': hl_num(l, "%*lld", n ? n : 3, (long long)f->num); break;
	case 'f': {
		size_t w = n > 0 ? (size_t)n : 18;
		if (f->isto)
			hl_add(l, "To ", 3, 3);
		hl_text(l, f->who, f->isto && w > 3 ? w - 3 : w, true);
		break;
	}
	case 'd': {
		size_t w = n > 0 ? (size_t)n : 16, len = strlen(f->date);
		for (size_t k = len; k < w; k++)
			hl_add(l, " ", 1, 1);
		hl_add(l, f->date, len < w ? len : w, len < w ? len : w);
		break;
	}
	case 'l':
		if (f->m->lines)
			hl_num(l, "%*lld", n ? n : 4, (long long)f->m->lines);
		else
			hl_text(l, "", (size_t)(n ? abs(n) : 4), true);
		break;
	case 'o': hl_num(l, "%*lld", n ? n : -5, f->m->bytes); break;
	case 's': case 'S': {
		long room = (long)f->width - (long)l->cols - (long)literal_cols(rest) - 2 - (c == 'S' ? 2 : 0);
		size_t w = n > 0 ? (size_t)n : room > 0 ? (size_t)room : 0;
		if (!f->m->subject)
			break;
		if (c == 'S')
			hl_add(l, "\"", 1, 1);
		hl_text(l, f->subj, w, false);
		if (c == 'S')
			hl_add(l, "\"", 1, 1);
		break;
	}
	case 'i':         /* the thread's tree in threaded mode (sort thread) */
		if (f->m->indent)
			hl_add(l, f->m->indent, strlen(f->m->indent), strlen(f->m->indent));
		break;
	default: break;   /* %U, %e, %c: nothing without IMAP or scores */
	}
}

/* headline, else Heirloom's default or, with bsdcompat/bsdheadline, its BSD layout (which
 * quotes the subject). */
static const char *headline_format(void)
{
	const char *v = mail_var_get("headline");
	if (v && *v)
		return v;
	if (mail_var_isset("bsdcompat") || mail_var_isset("bsdheadline"))
		return "%>%a%m %20f  %16d %3l/%-5o %i%S";
	return "%>%a%m %18f %16d %4l/%-5o %i%s";
}

static void hl_format(struct hl_line *l, const struct hl_fields *f, const char *fmt)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			size_t len, cols = char_cols(p, &len);
			hl_add(l, p, len, cols);
			p += len - 1;
			continue;
		}
		int sign = 1, n = 0;
		p++;
		if (*p == '-' || *p == '+')
			sign = *p++ == '-' ? -1 : 1;
		while (isdigit((unsigned char)*p) && n < 1000)
			n = n * 10 + (*p++ - '0');
		if (!*p)
			break;
		hl_directive(l, f, *p, n * sign, p + 1);
	}
}

size_t mail_headline(char *buf, size_t size, const struct mail_msg *m, size_t num, size_t total,
		     bool current, int width, const char *showto_user)
{
	char who[512], addr[512], date[32] = "", subj[1024];
	struct hl_line l = { buf, size, 0, 0 };
	struct hl_fields f = { .m = m, .num = num, .current = current, .who = who, .date = date, .subj = subj,
			       .width = width > 2 ? width : 80 };
	(void)total;   /* Heirloom widens the number only in threaded view */
	mail_skin(m->from ? m->from : "", addr, sizeof addr);
	if (showto_user && m->to && mail_from_matches(m->from, showto_user)) {
		mail_skin(m->to, addr, sizeof addr);
		f.isto = true;
	} else if (mail_var_isset("showname") && m->from) {
		char *name = hdr_display_name(m->from, strlen(m->from));
		if (name && *name)
			snprintf(addr, sizeof addr, "%s", name);
		free(name);
	}
	char *loc = mail_locale_text(addr);
	flatten(loc ? loc : addr, who, sizeof who);
	free(loc);
	if (m->date != (time_t)-1) {
		struct tm tm;
		localtime_r(&m->date, &tm);
		strftime(date, sizeof date, "%a %b %e %H:%M", &tm);
	}
	loc = mail_locale_text(m->subject ? m->subject : "");
	flatten(loc ? loc : "", subj, sizeof subj);
	free(loc);
	buf[0] = '\0';
	hl_format(&l, &f, headline_format());
	/* a user's headline may be wider than the screen: never wrap */
	size_t cols, cut = fit_columns(buf, (size_t)f.width - 1, &cols);
	if (cut < l.o)
		buf[l.o = cut] = '\0';
	return l.o;
}
