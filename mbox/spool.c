/* Message spool: a memfd (small messages) or an unlinked temp file holding the LF-normalised
 * message plus quoting counts. */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BUF (64 * 1024)
#define SPOOL_MEM_MAX ((off_t)1 << 20)

/* O_TMPFILE never has a name; the mkstemp fallback unlinks at once so a crash leaves nothing. */
static int spool_tmpfile(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char tmpl[CFG_PATH_MAX + 32];
	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/mda-spool.XXXXXX", dir) >= sizeof tmpl) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(tmpl);
	return fd;
}

int mbox_spool_open(struct mbox_spool *sp, const char *tmp_dir, struct result *r)
{
	memset(sp, 0, sizeof *sp);
	sp->fd = -1;
	sp->in_headers = true;
	sp->last_char = '\n';     /* the message starts at a line start */
	snprintf(sp->tmp_dir, sizeof sp->tmp_dir, "%s", tmp_dir && *tmp_dir ? tmp_dir : "/tmp");
	sp->wbuf = malloc(SPOOL_BUF);
	if (!sp->wbuf)
		return res_errno(r, ENOMEM, false, "spool buffer");
	/* Most mail is small: a memfd costs no inode, orphan-list or journal work on the spool's
	 * file system, which is a good part of a one-shot delivery's time. */
	sp->fd = memfd_create("mda-spool", MFD_CLOEXEC);
	sp->in_memory = sp->fd >= 0;
	if (sp->fd < 0)
		sp->fd = spool_tmpfile(sp->tmp_dir);
	if (sp->fd < 0) {
		int err = errno;
		free(sp->wbuf);
		sp->wbuf = NULL;
		return res_errno(r, err, false, "cannot create spool file in %s", sp->tmp_dir);
	}
	return EX_OK;
}

/* Moves a spool that outgrew SPOOL_MEM_MAX from its memfd to a temp file in tmp_dir: a big
 * message must not sit in RAM (or swap). */
static int spool_to_disk(struct mbox_spool *sp, off_t used, struct result *r)
{
	int fd = spool_tmpfile(sp->tmp_dir);
	char *buf = fd >= 0 ? malloc(SPOOL_BUF) : NULL;
	int err = fd < 0 ? errno : buf ? 0 : ENOMEM;
	for (off_t off = 0; !err && off < used;) {
		ssize_t n = pread(sp->fd, buf, SPOOL_BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		err = n < 0 ? errno : n == 0 ? EIO : mbox_pwrite_all(fd, buf, (size_t)n, off);
		off += n > 0 ? n : 0;
	}
	free(buf);
	if (err) {
		if (fd >= 0)
			close(fd);
		return res_errno(r, err, false, "cannot create spool file in %s", sp->tmp_dir);
	}
	close(sp->fd);
	sp->fd = fd;
	sp->in_memory = false;
	return EX_OK;
}

static int spool_flush(struct mbox_spool *sp, struct result *r)
{
	size_t n = sp->wlen;
	sp->wlen = 0;
	if (sp->in_memory && sp->size > SPOOL_MEM_MAX && spool_to_disk(sp, sp->size - (off_t)n, r) != EX_OK)
		return r->ex;
	int err = mbox_pwrite_all(sp->fd, sp->wbuf, n, sp->size - (off_t)n);
	if (err)
		return res_errno(r, err, false, "cannot write spool file");
	return EX_OK;
}

/* Tracks ^>*From  at line starts (for the counts) and the end of the header section. */
static void spool_track(struct mbox_spool *sp, char c)
{
	if (sp->in_headers && c == '\n' && sp->last_char == '\n') {
		sp->in_headers = false;
		sp->header_size = sp->size;      /* size already includes this '\n' */
	}
	if (sp->line_state >= 0) {
		static const char from_[] = "From ";
		if (sp->line_state == 0 && c == '>') {
			sp->line_gt = 1;
		} else if (c == from_[sp->line_state]) {
			if (++sp->line_state == 5) {
				sp->quote_rd++;
				if (!sp->line_gt)
					sp->quote_o++;
				sp->line_state = -1;
			}
		} else {
			sp->line_state = -1;
		}
	}
	if (c == '\n') {
		sp->line_state = 0;
		sp->line_gt = 0;
	}
	sp->last_char = c;
}

/* Adds one output byte (already CRLF-normalised). */
static int spool_emit(struct mbox_spool *sp, char c, struct result *r)
{
	sp->wbuf[sp->wlen++] = c;
	sp->size++;
	spool_track(sp, c);
	if (sp->wlen == SPOOL_BUF)
		return spool_flush(sp, r);
	return EX_OK;
}

int mbox_spool_write(struct mbox_spool *sp, const void *buf, size_t len, struct result *r)
{
	const char *p = buf;
	if (sp->fd < 0 || !sp->wbuf)
		return res_set(r, EX_SOFTWARE, "4.3.0", "spool is not open");
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		/* Only a CR immediately before LF is dropped; the decision on a CR at the end of
		 * a chunk waits for the next byte (pending_cr). */
		if (sp->pending_cr && c != '\n' && spool_emit(sp, '\r', r) != EX_OK)
			return r->ex;
		sp->pending_cr = c == '\r';
		if (c != '\r' && spool_emit(sp, c, r) != EX_OK)
			return r->ex;
	}
	return EX_OK;
}

int mbox_spool_finish(struct mbox_spool *sp, struct result *r)
{
	if (sp->fd < 0 || !sp->wbuf)
		return res_set(r, EX_SOFTWARE, "4.3.0", "spool is not open");
	if (sp->pending_cr) {
		sp->pending_cr = false;
		if (spool_emit(sp, '\r', r) != EX_OK)
			return r->ex;
	}
	if (spool_flush(sp, r) != EX_OK)
		return r->ex;
	if (sp->in_headers)
		sp->header_size = sp->size;
	sp->ends_with_newline = sp->size > 0 && sp->last_char == '\n';
	free(sp->wbuf);
	sp->wbuf = NULL;
	return EX_OK;
}

void mbox_spool_close(struct mbox_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	free(sp->wbuf);
	sp->wbuf = NULL;
}

off_t mbox_spool_mbox_size(const struct mbox_spool *sp, enum mbox_quoting q)
{
	off_t quotes = (off_t)(q == QUOTE_MBOXRD ? sp->quote_rd : sp->quote_o);
	off_t missing_nl = sp->size > 0 && !sp->ends_with_newline ? 1 : 0;
	return sp->size + quotes + missing_nl + 1;
}
