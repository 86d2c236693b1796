/* Edited messages (the reader's edit/visual): the text an editor gets, and the mbox form of
 * what it leaves, for mbox_plan.replace.
 *
 * The editor sees the message as its author wrote it: From_ quoting is taken off the body
 * with the mailbox's own rule and put back with the same rule afterwards, so an unchanged
 * text makes the very same bytes and an edit never adds a '>' to the lines it did not touch.
 * The From_ line stays out of the editor's reach: it is the envelope and the message
 * boundary, and a user deleting it would glue the message to the one before.
 */
#include "mbox/internal.h"

#include <stdlib.h>
#include <string.h>

#include "mbox/header.h"

/* Length of the '>' quoting to take off the line at p: one '>' when the line is a quoted
 * From_ line under rule q (mboxrd: >+From, mboxo: exactly >From), else none. */
static size_t ed_unquote_len(const char *p, size_t n, enum mbox_quoting q)
{
	size_t gt = 0;
	while (gt < n && p[gt] == '>')
		gt++;
	if (gt == 0 || n - gt < 5 || memcmp(p + gt, "From ", 5) != 0)
		return 0;
	return q == QUOTE_MBOXRD || gt == 1 ? 1 : 0;
}

/* Writes body[0..n) with one level of From_ quoting removed. */
static void ed_put_unquoted(struct mbox_writer *w, const char *p, size_t n, enum mbox_quoting q)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t line = nl ? (size_t)(nl - p) + 1 : n;
		size_t skip = ed_unquote_len(p, line, q);
		mbox_writer_put(w, p + skip, line - skip);
		p += line;
		n -= line;
	}
}

char *mbox_edit_text(const struct mbox_index *idx, size_t i, enum mbox_quoting q, size_t *len_out)
{
	struct mbox_writer w;
	struct hdr_field f;
	if (i >= idx->count || !mbox_writer_init_mem(&w))
		return NULL;
	const struct mbox_msg *m = &idx->msgs[i];
	const char *d = idx->map;
	size_t pos = (size_t)m->headers, before = pos, body = (size_t)m->body;
	while (hdr_next(d, body, &pos, &f)) {
		if (!hdr_name_is(&f, "Status") && !hdr_name_is(&f, "X-Status"))
			mbox_writer_put(&w, f.raw, f.raw_len);
		before = pos;
	}
	mbox_writer_put(&w, d + before, body - before);      /* the blank line, when there is one */
	ed_put_unquoted(&w, d + body, (size_t)(m->content_end - m->body), q);
	return mbox_writer_take(&w, len_out);
}

char *mbox_edit_form(const struct mbox_index *idx, size_t i, const char *text, size_t len, enum mbox_quoting q,
		     size_t *len_out)
{
	struct mbox_writer w;
	struct mbox_qstate st = { 0, 0 };
	if (i >= idx->count || !mbox_writer_init_mem(&w))
		return NULL;
	const struct mbox_msg *m = &idx->msgs[i];
	size_t from_len = (size_t)(m->headers - m->start);
	mbox_writer_put(&w, idx->map + m->start, from_len);
	if (from_len == 0 || idx->map[m->start + from_len - 1] != '\n')
		mbox_writer_put(&w, "\n", 1);
	mbox_quote_feed(&st, q, text, len, &w);
	mbox_quote_end(&st, &w);
	if (len > 0 && text[len - 1] != '\n')
		mbox_writer_put(&w, "\n", 1);
	mbox_writer_put(&w, "\n", 1);
	return mbox_writer_take(&w, len_out);
}
