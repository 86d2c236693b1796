/* libFuzzer target: the mbox reader/indexer (mbox/index.c) on an arbitrary file, and the
 * renderer that rewrites Status/X-Status (mbox_render_message). The input is indexed from
 * memory and from a real file; both must agree, the messages must tile the file exactly, and
 * a rendered message must index back as one message carrying the flags it was given. */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

#include "mbox/mbox.h"
#include "tests/fuzz/fuzz.h"

static size_t count_nl(const char *p, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

static void check_index(const struct mbox_index *idx, const char *d, size_t len)
{
	FUZZ_CHECK((size_t)idx->size == len);
	for (size_t i = 0; i < idx->count; i++) {
		const struct mbox_msg *m = &idx->msgs[i];
		FUZZ_CHECK(m->start >= 0 && m->start < m->headers);
		FUZZ_CHECK(m->headers <= m->body);
		FUZZ_CHECK(m->body <= m->content_end && m->content_end <= m->end);
		FUZZ_CHECK((size_t)m->end <= len);
		FUZZ_CHECK(memcmp(d + m->start, "From ", 5) == 0);
		/* messages tile the rest of the file: no byte lost, none counted twice */
		FUZZ_CHECK(i + 1 < idx->count ? m->end == idx->msgs[i + 1].start : (size_t)m->end == len);
		FUZZ_CHECK(m->lines == count_nl(d + m->start, (size_t)(m->end - m->start)));
		FUZZ_CHECK(m->envelope_sender != NULL);
		FUZZ_CHECK(!m->from || !strpbrk(m->from, "\r\n"));
		FUZZ_CHECK(!m->subject || !strpbrk(m->subject, "\r\n"));
	}
}

static void same_index(const struct mbox_index *a, const struct mbox_index *b)
{
	FUZZ_CHECK(a->count == b->count);
	for (size_t i = 0; i < a->count; i++) {
		const struct mbox_msg *x = &a->msgs[i], *y = &b->msgs[i];
		FUZZ_CHECK(x->start == y->start && x->body == y->body && x->end == y->end);
		FUZZ_CHECK(x->flags == y->flags && x->lines == y->lines);
	}
}

/* The same bytes through mbox_index_open (mmap, journal check). */
static void check_file(const struct mbox_index *mem, const uint8_t *data, size_t size)
{
	char path[300];
	struct mbox_index idx;
	struct result r;
	snprintf(path, sizeof path, "%s/mbox", fuzz_tmpdir());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	FUZZ_CHECK(mbox_index_open(path, &idx, &r) == EX_OK);
	same_index(mem, &idx);
	mbox_index_close(&idx);
	unlink(path);
}

static void check_render(const struct mbox_index *idx, size_t i, unsigned flags)
{
	struct mbox_index again;
	struct result r;
	size_t len;
	char *msg = mbox_render_message(idx, i, flags, &len);
	FUZZ_CHECK(msg != NULL);
	FUZZ_CHECK(mbox_index_buffer(msg, len, &again, &r) == EX_OK);
	FUZZ_CHECK(again.count >= 1);
	FUZZ_CHECK(again.msgs[0].flags == flags);
	mbox_index_close(&again);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbox_index idx;
	struct result r;
	const char *d = (const char *)data;
	FUZZ_CHECK(mbox_index_buffer(d, size, &idx, &r) == EX_OK);
	check_index(&idx, d, size);
	check_file(&idx, data, size);
	unsigned flags = size ? data[size - 1] & 0x1f : 0;
	for (size_t i = 0; i < idx.count && i < 8; i++)
		check_render(&idx, i, (flags + i) & 0x1f);
	mbox_index_close(&idx);
	return 0;
}
