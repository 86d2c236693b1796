/* sort and thread (Heirloom's thread.c): a display order over the messages that the summary,
 * next, + and -, and message ranges follow, message numbers unchanged; unsort goes back. */
#include "mailcmd/session.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mbox/header.h"

enum sort_by { BY_DATE, BY_FROM, BY_TO, BY_SUBJECT, BY_SIZE, BY_STATUS, BY_THREAD };

static const char *const methods[] = { "date", "from", "to", "subject", "size", "status", "thread" };

/* One message's key: a number or a lowercase string, ties by mailbox order. */
struct sort_key {
	size_t i;
	long long num;
	char *str;
};

static int by_num(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int by_str(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	int c = strcoll(x->str, y->str);
	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* The Date: field as a time, else the From_ line's (Heirloom's rfctime of "date"). */
static long long sent_date(struct mail_session *s, size_t i)
{
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	time_t t = mail_parse_date(x->date);
	return (long long)(t != (time_t)-1 ? t : x->from_date);
}

/* Heirloom's status ranks: deleted first, then read, unread old, new-and-seen (mbox), new
 * read, flagged, new. */
static long long status_rank(unsigned f)
{
	if (f & MAIL_M_DELETED)
		return 1;
	if ((f & (MAIL_M_NEW | MAIL_M_READ)) == MAIL_M_NEW)
		return 90;
	if (f & MAIL_M_FLAGGED)
		return 85;
	if ((f & (MAIL_M_NEW | MAIL_M_MBOX)) == MAIL_M_MBOX)
		return 70;
	if (f & MAIL_M_NEW)
		return 80;
	return f & MAIL_M_READ ? 40 : 60;
}

/* An address field as sort from/to compares it: the bare address, or with showname the real
 * name when there is one; lowercase. */
static char *address_key(const char *field)
{
	char buf[512];
	const char *lt = field ? strchr(field, '<') : NULL;
	if (!field)
		buf[0] = '\0';
	else if (mail_var_isset("showname") && lt && lt > field)
		mail_fmt(buf, sizeof buf, "%.*s", (int)(lt - field), field[0] == '"' ? field + 1 : field);
	else
		mail_skin(field, buf, sizeof buf);
	size_t l = strlen(buf);
	while (l && (isspace((unsigned char)buf[l - 1]) || buf[l - 1] == '"'))
		buf[--l] = '\0';
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return strdup(buf);
}

/* The subject less one leading "Re: " (Heirloom's skipre), lowercase. */
static char *subject_key(const char *subj)
{
	subj = subj ? subj : "";
	if (!strncasecmp(subj, "re:", 3) && isspace((unsigned char)subj[3]))
		for (subj += 4; isspace((unsigned char)*subj); subj++)
			;
	char *k = strdup(subj);
	for (char *p = k; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void fill_key(struct mail_session *s, enum sort_by by, struct sort_key *k)
{
	const struct mail_msg *m = &s->msgs[k->i];
	switch (by) {
	case BY_DATE: k->num = sent_date(s, k->i); break;
	case BY_SIZE: k->num = m->bytes; break;
	case BY_STATUS: k->num = status_rank(m->flags); break;
	case BY_FROM: k->str = address_key(m->from); break;
	case BY_TO: k->str = address_key(m->to); break;
	default: k->str = subject_key(m->subject); break;
	}
}

/* Takes the order in nth[0..n) (malloc'd) as the session's. */
static void set_order(struct mail_session *s, size_t *nth, const char *name)
{
	mail_sort_forget(s);
	s->order = nth;
	s->order_pos = malloc((s->n ? s->n : 1) * sizeof *s->order_pos);
	if (!s->order_pos) {
		mail_sort_forget(s);
		return;
	}
	for (size_t k = 0; k < s->n; k++)
		s->order_pos[nth[k]] = k;
	s->n_order = s->n;
	mail_fmt(s->sorted, sizeof s->sorted, "%s", name);
}

static void sort_plain(struct mail_session *s, enum sort_by by)
{
	struct sort_key *keys = calloc(s->n ? s->n : 1, sizeof *keys);
	size_t *nth = malloc((s->n ? s->n : 1) * sizeof *nth);
	if (!keys || !nth) {
		free(keys);
		free(nth);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		keys[i].i = i;
		fill_key(s, by, &keys[i]);
		if (by >= BY_FROM && by <= BY_SUBJECT && !keys[i].str)
			keys[i].str = strdup("");
	}
	bool strings = by >= BY_FROM && by <= BY_SUBJECT;
	qsort(keys, s->n, sizeof *keys, strings ? by_str : by_num);
	for (size_t k = 0; k < s->n; k++) {
		nth[k] = keys[k].i;
		free(keys[k].str);
	}
	free(keys);
	set_order(s, nth, methods[by]);
}

/* ---- threads ---- */

struct tnode {
	long parent, child, younger;   /* indices, -1 for none */
	size_t level;
	long long date;
};

struct id_entry {
	const char *id;
	size_t len, i;
};

static int id_cmp(const void *a, const void *b)
{
	const struct id_entry *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int c = strncasecmp(x->id, y->id, l);
	return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

/* The <...> message ids of a field value, in order: *n of them into out (at most max). */
static size_t msg_ids(const char *v, struct id_entry *out, size_t max)
{
	size_t n = 0;
	for (const char *p = v ? strchr(v, '<') : NULL; p && n < max; p = strchr(p + 1, '<')) {
		const char *gt = strchr(p, '>');
		if (!gt)
			break;
		out[n].id = p;
		out[n++].len = (size_t)(gt - p) + 1;
		p = gt;
	}
	return n;
}

/* The message whose Message-ID is id, or -1. */
static long find_id(const struct id_entry *ids, size_t n, const struct id_entry *id)
{
	const struct id_entry *hit = bsearch(id, ids, n, sizeof *ids, id_cmp);
	return hit ? (long)hit->i : -1;
}

/* Heirloom's adopt(): child under parent, among its siblings by date; not when that would
 * make a loop. */
static void adopt(struct tnode *t, long parent, long child, size_t dist)
{
	for (long p = parent; p >= 0; p = t[p].parent)
		if (p == child)
			return;
	t[child].parent = parent;
	t[child].level = dist;
	long *link = &t[parent].child;
	while (*link >= 0 && t[*link].date < t[child].date)
		link = &t[*link].younger;
	t[child].younger = *link;
	*link = child;
}

/* Heirloom's lookup(): the parent is the first In-Reply-To id present, else the last present
 * References id, the level growing by one for every reference missing on the way. */
static void find_parent(struct mail_session *s, struct tnode *t, const struct id_entry *ids, size_t n_ids, size_t i)
{
	struct id_entry refs[64];
	size_t hlen;
	const char *hdr = mail_msg_hdr(s, i, &hlen);
	char *irt = mail_header_get(hdr, hlen, "In-Reply-To"), *ref = NULL;
	size_t n = msg_ids(irt, refs, 64);
	for (size_t k = 0; k < n; k++) {
		long p = find_id(ids, n_ids, &refs[k]);
		if (p >= 0 && (size_t)p != i) {
			adopt(t, p, (long)i, 1);
			free(irt);
			return;
		}
	}
	ref = mail_header_get(hdr, hlen, "References");
	n = msg_ids(ref, refs, 64);
	for (size_t k = n, dist = 1; k-- > 0; dist++) {
		long p = find_id(ids, n_ids, &refs[k]);
		if (p >= 0 && (size_t)p != i) {
			adopt(t, p, (long)i, dist);
			break;
		}
	}
	free(irt);
	free(ref);
}

/* Heirloom's putindent() in ASCII: '|' under an ancestor with a younger sibling, '+' before a
 * reply with a younger sibling, '\' before the last one. */
static char *tree_prefix(const struct tnode *t, size_t i)
{
	size_t level = t[i].level;
	char *p = level ? malloc(level + 1) : NULL;
	if (!p)
		return NULL;
	p[level] = '\0';
	p[level - 1] = t[i].younger >= 0 ? '+' : '\\';
	long mq = t[i].parent;
	for (long c = (long)level - 2; c >= 0; c--) {
		if (mq < 0 || c > (long)t[mq].level - 1) {
			p[c] = ' ';
			continue;
		}
		p[c] = t[mq].younger >= 0 ? '|' : ' ';
		mq = t[mq].parent;
	}
	return p;
}

/* Depth first from the roots (by date), each message's level the sum of the distances. */
static void thread_walk(struct mail_session *s, struct tnode *t, long root, size_t *nth, size_t *k)
{
	for (long m = root; m >= 0; m = t[m].younger) {
		if (t[m].parent >= 0)
			t[m].level += t[t[m].parent].level;
		nth[(*k)++] = (size_t)m;
		thread_walk(s, t, t[m].child, nth, k);
	}
}

static struct id_entry *message_ids(struct mail_session *s, char **fields, size_t *n_ids)
{
	struct id_entry *ids = calloc(s->n ? s->n : 1, sizeof *ids);
	*n_ids = 0;
	for (size_t i = 0; ids && i < s->n; i++) {
		size_t hlen;
		const char *hdr = mail_msg_hdr(s, i, &hlen);
		fields[i] = mail_header_get(hdr, hlen, "Message-ID");
		if (msg_ids(fields[i], &ids[*n_ids], 1)) {
			ids[*n_ids].i = i;
			++*n_ids;
		}
	}
	if (ids)
		qsort(ids, *n_ids, sizeof *ids, id_cmp);
	return ids;
}

static void sort_thread(struct mail_session *s)
{
	size_t n = s->n, n_ids = 0, k = 0;
	struct tnode *t = calloc(n ? n : 1, sizeof *t);
	char **fields = calloc(n ? n : 1, sizeof *fields);
	size_t *nth = malloc((n ? n : 1) * sizeof *nth);
	struct id_entry *ids = t && fields && nth ? message_ids(s, fields, &n_ids) : NULL;
	if (ids) {
		for (size_t i = 0; i < n; i++)
			t[i] = (struct tnode){ .parent = -1, .child = -1, .younger = -1, .date = sent_date(s, i) };
		/* a virtual root (index n would do, but a list head is simpler): roots by date */
		long roots = -1, *tail;
		for (size_t i = n; i-- > 0;)
			find_parent(s, t, ids, n_ids, i);
		for (size_t i = 0; i < n; i++) {
			if (t[i].parent >= 0)
				continue;
			for (tail = &roots; *tail >= 0 && t[*tail].date <= t[i].date; tail = &t[*tail].younger)
				;
			t[i].younger = *tail;
			*tail = (long)i;
		}
		thread_walk(s, t, roots, nth, &k);
		set_order(s, nth, "thread");
		nth = NULL;
		s->indent = calloc(n ? n : 1, sizeof *s->indent);
		for (size_t i = 0; s->indent && i < n; i++)
			s->msgs[i].indent = s->indent[i] = tree_prefix(t, i);
	}
	for (size_t i = 0; fields && i < n; i++)
		free(fields[i]);
	free(fields);
	free(ids);
	free(nth);
	free(t);
}

/* ---- the commands ---- */

static void headers_if_set(struct mail_session *s)
{
	if (mail_var_isset("header")) {
		char line[] = "headers";
		mail_sess_execute(s, line);
	}
}

void mail_cmd_sort(struct mail_session *s, const char *arg)
{
	char copy[64], *w[1];
	mail_fmt(copy, sizeof copy, "%s", arg);
	if (!mail_split_words(copy, w, 1)) {
		printf("Current sorting criterion is: %s\n", s->sorted[0] ? s->sorted : "unsorted");
		return;
	}
	const char *word = w[0];
	size_t k = strlen(word);
	size_t m = 0;
	while (m < sizeof methods / sizeof methods[0] && strncmp(methods[m], word, k))
		m++;
	if (m == sizeof methods / sizeof methods[0]) {
		fprintf(stderr, "Unknown sorting method \"%s\"\n", word);
		return;
	}
	if (m == BY_THREAD)
		sort_thread(s);
	else
		sort_plain(s, (enum sort_by)m);
	headers_if_set(s);
}

void mail_cmd_unsort(struct mail_session *s)
{
	mail_sort_forget(s);
	headers_if_set(s);
}

void mail_sort_forget(struct mail_session *s)
{
	for (size_t i = 0; s->indent && i < s->n_order; i++)
		free(s->indent[i]);
	for (size_t i = 0; s->indent && i < s->n; i++)
		s->msgs[i].indent = NULL;
	free(s->indent);
	free(s->order);
	free(s->order_pos);
	s->indent = NULL;
	s->order = s->order_pos = NULL;
	s->n_order = 0;
	s->sorted[0] = '\0';
}

size_t mail_sess_nth(const struct mail_session *s, size_t k)
{
	return s->order && k < s->n_order ? s->order[k] : k;
}

size_t mail_sess_pos(const struct mail_session *s, size_t i)
{
	return s->order && i < s->n_order ? s->order_pos[i] : i;
}

const struct mail_order *mail_sess_order(const struct mail_session *s, struct mail_order *o)
{
	if (!s->order)
		return NULL;
	*o = (struct mail_order){ .nth = s->order, .pos = s->order_pos, .n = s->n_order };
	return o;
}
