/* libmbox internals: buffered positional writer, From_ quoting stream, signal masks, paths. */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int mbox_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t got = pwrite(fd, p, n, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno;
		if (got == 0)
			return EIO;
		p += got;
		n -= (size_t)got;
		off += got;
	}
	return 0;
}

long long mbox_test_die_after(void)
{
	/* Test-only: tests/unit/test_mbox_append.c sets this in a forked child to stop a writer
	 * mid-message with a real SIGKILL, the way kill -9 or the OOM killer would. */
	const char *v = getenv("MBOX_TEST_DIE_AFTER_BYTES");
	if (!v || !*v)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end == '\0' && n >= 0 ? n : -1;
}

bool mbox_writer_init(struct mbox_writer *w, int fd, off_t off)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->off = off;
	w->cap = MBOX_IO_BUF;
	w->die_after = mbox_test_die_after();
	w->buf = malloc(w->cap);
	if (!w->buf) {
		errno = ENOMEM;
		return false;
	}
	return true;
}

/* Bytes all writers of this process wrote while the die-after test hook is set: counting
 * across writers lets a test kill a rewrite in its second file (the in-place overwrite).
 * Nothing is counted without the hook, so a forked test child starts from zero. */
static long long test_written;

static void mbox_writer_flush(struct mbox_writer *w)
{
	size_t n = w->len;
	w->len = 0;
	if (w->err || n == 0)
		return;
	if (w->die_after >= 0 && test_written + (long long)n > w->die_after) {
		size_t part = (size_t)(w->die_after - test_written);
		mbox_pwrite_all(w->fd, w->buf, part, w->off);
		raise(SIGKILL);
	}
	w->err = mbox_pwrite_all(w->fd, w->buf, n, w->off);
	if (!w->err) {
		w->off += (off_t)n;
		if (w->die_after >= 0)
			test_written += (long long)n;
	}
}

bool mbox_writer_init_mem(struct mbox_writer *w)
{
	if (!mbox_writer_init(w, -1, 0))
		return false;
	w->die_after = -1;     /* the kill -9 test hook is about files, not memory */
	return true;
}

/* Memory mode: a full buffer doubles instead of being written out. */
static void mbox_writer_grow(struct mbox_writer *w)
{
	char *bigger = w->cap <= SIZE_MAX / 2 ? realloc(w->buf, w->cap * 2) : NULL;
	if (!bigger) {
		w->err = ENOMEM;
		return;
	}
	w->buf = bigger;
	w->cap *= 2;
}

void mbox_writer_init_count(struct mbox_writer *w)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->die_after = -1;
	w->counting = true;
}

void mbox_writer_put(struct mbox_writer *w, const void *p, size_t n)
{
	const char *s = p;
	if (w->counting) {
		w->off += (off_t)n;
		return;
	}
	while (n > 0 && !w->err) {
		size_t room = w->cap - w->len;
		size_t take = n < room ? n : room;
		memcpy(w->buf + w->len, s, take);
		w->len += take;
		s += take;
		n -= take;
		if (w->len == w->cap && w->fd < 0)
			mbox_writer_grow(w);
		else if (w->len == w->cap)
			mbox_writer_flush(w);
	}
}

void mbox_release_behind(const char *map, size_t *released, size_t pos)
{
	if (pos < *released + 2 * MBOX_RELEASE_STEP)
		return;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t upto = (pos - MBOX_RELEASE_STEP) / page * page;     /* a step of slack behind */
	madvise((char *)map + *released, upto - *released, MADV_DONTNEED);
	*released = upto;
}

void mbox_writer_put_map(struct mbox_writer *w, const char *map, size_t off, size_t n, size_t *released)
{
	while (n > 0 && !w->err) {
		size_t k = released && n > MBOX_RELEASE_STEP ? MBOX_RELEASE_STEP : n;
		mbox_writer_put(w, map + off, k);
		off += k;
		n -= k;
		if (released)
			mbox_release_behind(map, released, off);
	}
}

char *mbox_writer_take(struct mbox_writer *w, size_t *len_out)
{
	char *buf = w->buf;     /* put keeps len < cap in memory mode: room for the NUL */
	w->buf = NULL;
	if (w->err) {
		free(buf);
		return NULL;
	}
	buf[w->len] = '\0';
	if (len_out)
		*len_out = w->len;
	return buf;
}

int mbox_writer_finish(struct mbox_writer *w)
{
	mbox_writer_flush(w);
	free(w->buf);
	w->buf = NULL;
	return w->err;
}

static const char FROM_[] = "From ";

/* Emits what a partial match held back: the '>' run and the matched part of "From ". */
static void mbox_quote_release(struct mbox_qstate *st, struct mbox_writer *w, bool add_one)
{
	if (add_one)
		mbox_writer_put(w, ">", 1);
	for (size_t i = 0; i < st->gt; i++)
		mbox_writer_put(w, ">", 1);
	if (st->k > 0)
		mbox_writer_put(w, FROM_, (size_t)st->k);
	st->k = -1;
	st->gt = 0;
}

void mbox_quote_feed(struct mbox_qstate *st, enum mbox_quoting q, const char *p, size_t n,
		     struct mbox_writer *w)
{
	size_t i = 0;
	while (i < n) {
		if (st->k < 0) {
			/* Not a candidate line: copy through the end of the line in one go. */
			const char *nl = memchr(p + i, '\n', n - i);
			size_t upto = nl ? (size_t)(nl - p) + 1 : n;
			mbox_writer_put(w, p + i, upto - i);
			i = upto;
			if (nl) {
				st->k = 0;
				st->gt = 0;
			}
			continue;
		}
		char c = p[i];
		if (st->k == 0 && c == '>') {
			st->gt++;
			i++;
		} else if (c == FROM_[st->k]) {
			i++;
			if (++st->k == 5)
				mbox_quote_release(st, w, q == QUOTE_MBOXRD || st->gt == 0);
		} else {
			mbox_quote_release(st, w, false);    /* c itself is handled by the k < 0 path */
		}
	}
}

void mbox_quote_end(struct mbox_qstate *st, struct mbox_writer *w)
{
	if (st->k > 0 || st->gt > 0)
		mbox_quote_release(st, w, false);
	st->k = 0;
	st->gt = 0;
}

void mbox_block_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXFSZ, SIGPIPE, SIGALRM,
		       SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

void mbox_restore_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

int mbox_fsync_dir(const char *path)
{
	char dir[CFG_PATH_MAX];
	if (!mbox_dirname(path, dir, sizeof dir))
		return ENAMETOOLONG;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int err = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	return err;
}

bool mbox_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, size, ".");
		return true;
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return false;
	memcpy(out, path, n);
	out[n] = '\0';
	return true;
}

uint64_t mbox_hash_more(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}
