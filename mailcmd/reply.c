/* Composing from the reader (Heirloom's cmd3.c): mail, reply/Reply, followup/Followup,
 * forward/Forward, resend/Resend, and what ~f/~m interpolate. */
#include "mailcmd/session.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mbox/header.h"

/* Collects and sends d. Returns 0 when it was sent. */
static int send_draft(struct mail_session *s, struct mail_draft *d)
{
	if (d->to)
		printf("To: %s\n", d->to);
	if (d->subject)
		printf("Subject: %s\n", d->subject);
	else
		mail_ask_headers(d, false);
	fflush(stdout);
	int rc = mail_collect(stdin, true, d, s->home);
	if (rc == 2)
		mail_save_dead(s->cfg, s->user, s->home, d);
	if (rc != 0)
		return -1;
	mail_ask_headers(d, true);
	if (mail_deliver_draft(s->cfg, d, s->user, s->home) != 0) {
		s->status = 1;
		return -1;
	}
	return 0;
}

/* Appends text to d, every line prefixed by prefix. */
static void append_prefixed(struct mail_draft *d, const char *text, size_t len, const char *prefix)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		mail_draft_append(d, prefix, strlen(prefix));
		mail_draft_append(d, p, l);
		mail_draft_append(d, "\n", 1);
		p += l + 1;
	}
}

enum msg_headers { HDR_NONE, HDR_SHOWN, HDR_ALL };

/* Message i as `type` shows it (decoded body; no header, the ignore-filtered ones or all;
 * never the From_ line) in a malloc'd buffer; NULL when out of memory. */
static char *msg_as_text(struct mail_session *s, size_t i, enum msg_headers h, size_t *len)
{
	char *buf = NULL;
	size_t hlen;
	FILE *mem = open_memstream(&buf, len);
	if (!mem)
		return NULL;
	const char *map;
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	const char *hdr = mail_msg_hdr(s, i, &hlen);
	if (h != HDR_NONE)
		mail_show_headers(mem, s, i, h == HDR_ALL, false);
	mail_show_body(mem, hdr, hlen, map + x->body, (size_t)(x->content_end - x->body), h == HDR_ALL);
	if (fclose(mem) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* indentprefix, or Heirloom's tab when it is unset or empty. */
static const char *indent_prefix(void)
{
	const char *p = mail_var_get("indentprefix");
	return p && *p ? p : "\t";
}

/* ~f/~m: the selected messages as `type` shows them (decoded), indented for ~m. */
void mail_interpolate_msgs(void *ctx, const char *list, bool indent, bool all_headers, struct mail_draft *d)
{
	struct mail_session *s = ctx;
	unsigned char *sel = calloc(s->n ? s->n : 1, 1);
	if (!sel || mail_get_list(s, list, MAIL_LIST_UNDELETED, sel) <= 0) {
		free(sel);
		return;
	}
	printf("Interpolating:");
	for (size_t i = 0; i < s->n; i++) {
		size_t len;
		char *text = sel[i] ? msg_as_text(s, i, all_headers ? HDR_ALL : HDR_SHOWN, &len) : NULL;
		if (!text)
			continue;
		append_prefixed(d, text, len, indent ? indent_prefix() : "");
		free(text);
		printf(" %zu", i + 1);
	}
	printf("\n");
	free(sel);
}

/* True when addr (bare) is the user's: the login name, name@anywhere, or an alternates entry. */
static bool is_self(const struct mail_session *s, const char *addr)
{
	size_t ul = strlen(s->user), n;
	if (!strcmp(addr, s->user) || (!strncmp(addr, s->user, ul) && addr[ul] == '@'))
		return true;
	char *const *alt = mail_ignore_entries(MAIL_ALTERNATES, &n);
	for (size_t i = 0; i < n; i++) {
		char bare[512];
		if (!strcasecmp(mail_skin(alt[i], bare, sizeof bare), addr))
			return true;
	}
	return false;
}

/* Removes the user's own addresses (alternates too) from a recipient list unless metoo. */
static void drop_self(struct mail_session *s, char **list)
{
	if (!*list || mail_var_isset("metoo"))
		return;
	char *copy = strdup(*list), *save = NULL, *out = NULL;
	if (!copy)
		return;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char addr[512];
		if (!is_self(s, mail_skin(t, addr, sizeof addr)))
			mail_addr_append(&out, t);
	}
	free(copy);
	free(*list);
	*list = out;
}

/* followup/Forward: the sent copy goes to a file named after the first recipient's local
 * part (Heirloom's recipient_record), in place of `record`. */
static void record_after_recipient(struct mail_draft *d)
{
	char first[512], name[256];
	if (!d->to)
		return;
	mail_fmt(first, sizeof first, "%.*s", (int)strcspn(d->to, ","), d->to);
	if (mail_sender_filename(first, name, sizeof name))
		d->record = strdup(name);
}

/* Heirloom's `quote` for reply/Reply: unset, the draft starts empty; "noheading", the body
 * indented; "headers"/"allheaders", the message with its shown/all headers indented, as ~m
 * and ~M would; any other value, "SENDER wrote:" and a blank line before the body. */
static void quote_reply(struct mail_session *s, size_t i, struct mail_draft *d)
{
	const char *q = mail_var_get("quote");
	enum msg_headers h = HDR_NONE;
	size_t len;
	if (!q)
		return;
	if (!strcmp(q, "headers")) {
		h = HDR_SHOWN;
	} else if (!strcmp(q, "allheaders")) {
		h = HDR_ALL;
	} else if (strcmp(q, "noheading") != 0) {
		const char *map;
		const char *from = mail_sess_msg(s, i, &map)->from;
		char *shown = from ? mail_locale_text(from) : NULL;
		if (shown) {
			mail_draft_append(d, shown, strlen(shown));
			mail_draft_append(d, " wrote:\n\n", strlen(" wrote:\n\n"));
		}
		free(shown);
	}
	char *text = msg_as_text(s, i, h, &len);
	if (text)
		append_prefixed(d, text, len, indent_prefix());
	free(text);
}

void mail_cmd_reply(struct mail_session *s, const unsigned char *sel, bool all, bool followup)
{
	size_t i = 0;
	while (i < s->n && !sel[i])
		i++;
	if (i == s->n)
		return;
	size_t hlen;
	const char *hdr = mail_msg_hdr(s, i, &hlen);
	struct mail_draft d = { 0 };
	char *rt = mail_header_get(hdr, hlen, "Reply-To");
	char *from = rt ? rt : mail_header_get(hdr, hlen, "From");
	const char *map;
	mail_addr_append(&d.to, from ? from : mail_sess_msg(s, i, &map)->envelope_sender);
	if (all) {
		char *to = mail_header_get(hdr, hlen, "To"), *cc = mail_header_get(hdr, hlen, "Cc");
		if (to)
			mail_addr_append(&d.to, to);
		if (cc)
			mail_addr_append(&d.cc, cc);
		free(to);
		free(cc);
		drop_self(s, &d.to);
		drop_self(s, &d.cc);
		if (!d.to)
			mail_addr_append(&d.to, from ? from : "");
	}
	free(from);
	const char *subj = s->msgs[i].subject ? s->msgs[i].subject : "";
	size_t sl = strlen(subj) + 5;
	d.subject = malloc(sl);
	if (d.subject)
		snprintf(d.subject, sl, "%s%s", strncasecmp(subj, "re:", 3) ? "Re: " : "", subj);
	d.in_reply_to = mail_header_get(hdr, hlen, "Message-ID");
	if (d.in_reply_to)
		d.references = strdup(d.in_reply_to);
	quote_reply(s, i, &d);
	if (followup)
		record_after_recipient(&d);
	/* Heirloom: replying touches the message and makes it current; it is marked answered
	 * only when the reply went out and markanswered is set */
	mail_touch(s, i);
	s->cur = i;
	if (send_draft(s, &d) == 0 && mail_var_isset("markanswered"))
		s->msgs[i].flags |= MAIL_M_ANSWERED | MAIL_M_STATUS;
	mail_draft_free(&d);
}

void mail_cmd_mail(struct mail_session *s, const char *arg, bool record)
{
	struct mail_draft d = { 0 };
	while (isspace((unsigned char)*arg))
		arg++;
	if (!*arg) {
		printf("No recipients specified\n");
		return;
	}
	mail_addr_append(&d.to, arg);
	if (record)
		record_after_recipient(&d);
	send_draft(s, &d);
	mail_draft_free(&d);
}


/* The one message forward and resend work on: the list's (forward takes one only), or the
 * current message. Returns its index, -1 with the reason printed. */
static long one_message(struct mail_session *s, char *list, bool only_one)
{
	unsigned char *sel = calloc(s->n ? s->n : 1, 1);
	long found = -1;
	int n = sel ? mail_get_list(s, list, MAIL_LIST_UNDELETED, sel) : -1;
	if (n > 1 && only_one)
		printf("Cannot forward multiple messages at once\n");
	for (size_t i = 0; n == 1 && i < s->n; i++)
		if (sel[i])
			found = (long)i;
	free(sel);
	return found;
}

void mail_cmd_forward(struct mail_session *s, char *arg, bool record)
{
	char *to = mail_split_last(arg);
	if (!to) {
		printf("No recipient specified.\n");
		return;
	}
	long i = one_message(s, arg, true);
	if (i < 0)
		return;
	struct mail_draft d = { 0 };
	size_t len;
	mail_addr_append(&d.to, to);
	const char *subj = s->msgs[i].subject;
	if (subj && *subj && (d.subject = malloc(strlen(subj) + 6)) != NULL)
		snprintf(d.subject, strlen(subj) + 6, "Fwd: %s", subj);
	/* Heirloom's collect(): fwdheading (default its dashed line), then the message with its
	 * header fields, not indented, echoed as it goes into the draft */
	const char *head = mail_var_get("fwdheading");
	head = head ? head : "-------- Original Message --------";
	if (*head) {
		mail_draft_append(&d, head, strlen(head));
		mail_draft_append(&d, "\n", 1);
	}
	char *text = msg_as_text(s, (size_t)i, HDR_ALL, &len);
	if (text)
		mail_draft_append(&d, text, len);
	free(text);
	if (record)
		record_after_recipient(&d);
	mail_touch(s, (size_t)i);
	s->cur = (size_t)i;
	send_draft(s, &d);
	mail_draft_free(&d);
}

/* Heirloom's infix_resend(): the original header without its From_ line and Status, after
 * Resent-Date/From/To/Message-ID when add_resent, then the body as stored. */
static char *resent_text(struct mail_session *s, size_t i, const char *to, bool add_resent, size_t *len)
{
	char *buf = NULL, date[64], id[512], host[256];
	size_t hlen;
	const char *map, *hdr = mail_msg_hdr(s, i, &hlen);
	const struct mbox_msg *x = mail_sess_msg(s, i, &map);
	FILE *mem = open_memstream(&buf, len);
	if (!mem)
		return NULL;
	if (add_resent) {
		time_t now = time(NULL);
		cfg_mail_hostname(s->cfg, host, sizeof host);
		mail_date_value(date, sizeof date, now);
		mail_message_id(id, sizeof id, now, (unsigned long)i, host);
		fprintf(mem, "Resent-Date: %s\nResent-From: %s@%s\nResent-To: %s\nResent-Message-ID: %s\n", date,
			s->user, host, to, id);
	}
	size_t pos = 0;
	struct hdr_field f;
	while (hdr_next(hdr, hlen, &pos, &f))
		if (!hdr_name_is(&f, "Status"))
			fwrite(f.raw, 1, f.raw_len, mem);
	fputc('\n', mem);
	fwrite(map + x->body, 1, (size_t)(x->content_end - x->body), mem);
	if (fclose(mem) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void mail_cmd_resend(struct mail_session *s, char *arg, bool add_resent)
{
	char err[512] = "";
	char *to = mail_split_last(arg);
	if (!to) {
		printf("No recipient specified.\n");
		return;
	}
	unsigned char *sel = calloc(s->n ? s->n : 1, 1);
	if (!sel || mail_get_list(s, arg, MAIL_LIST_UNDELETED, sel) <= 0) {
		free(sel);
		return;
	}
	struct mail_draft d = { 0 };
	mail_addr_append(&d.to, to);
	for (size_t i = 0; i < s->n; i++) {
		size_t len;
		char *text = sel[i] ? resent_text(s, i, to, add_resent, &len) : NULL;
		if (text && mail_send_message(s->cfg, &d, text, len, err, sizeof err) != 0) {
			fprintf(stderr, "mail: %s\n", err);
			s->status = 1;
			free(text);
			break;
		}
		free(text);
	}
	mail_draft_free(&d);
	free(sel);
}
