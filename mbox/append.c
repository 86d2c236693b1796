/* Delivery into an mbox: journaled append with exact rollback; success only after fsync. */
#include "mbox/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* Bytes needed so that what we write starts a new message: a mailbox left by a foreign
 * writer without the blank separator line (or without a final newline) gets it first. */
static int append_padding(int fd, off_t size, size_t *pad)
{
	char tail[2];
	*pad = 0;
	if (size == 0)
		return 0;
	size_t n = size >= 2 ? 2 : 1;
	ssize_t got = pread(fd, tail, n, size - (off_t)n);
	if (got != (ssize_t)n)
		return got < 0 ? errno : EIO;
	if (tail[n - 1] != '\n')
		*pad = 2;
	else if (n == 1 || tail[0] != '\n')
		*pad = 1;
	return 0;
}

/* Undoes a failed append: back to the exact old size. The journal stays when that fails,
 * so the next lock taker repairs it. */
static void append_rollback(int fd, const char *path, off_t p, struct mbox_journal *j)
{
	if (ftruncate(fd, p) != 0 || fsync(fd) != 0) {
		log_msg(LOG_ERR, "%s: cannot truncate back to %jd after a failed delivery: %s", path,
			(intmax_t)p, strerror(errno));
		return;
	}
	mbox_journal_clear(j, fd);
}

/* Copies the spool into w with From_ quoting, plus the missing final newline. */
static int append_spool(struct mbox_writer *w, const struct mbox_spool *sp, enum mbox_quoting q)
{
	struct mbox_qstate st = { 0, 0 };
	off_t off = 0;
	char *in = malloc(MBOX_IO_BUF);
	if (!in)
		return ENOMEM;
	while (off < sp->size && !w->err) {
		size_t want = sp->size - off < MBOX_IO_BUF ? (size_t)(sp->size - off) : MBOX_IO_BUF;
		ssize_t got = pread(sp->fd, in, want, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int err = got < 0 ? errno : EIO;
			free(in);
			return err;
		}
		mbox_quote_feed(&st, q, in, (size_t)got, w);
		off += got;
	}
	free(in);
	mbox_quote_end(&st, w);
	if (sp->size > 0 && !sp->ends_with_newline)
		mbox_writer_put(w, "\n", 1);
	mbox_writer_put(w, "\n", 1);
	return 0;
}

/* The part shared by both appends: journal, write via fill(), verify size, fsync, clear. */
struct append_job {
	const char *from_line;
	size_t from_len;
	const char *headers;
	const struct mbox_spool *sp;
	enum mbox_quoting q;
	const void *raw;
	size_t raw_len;
	mbox_gen_fn gen;      /* or the bytes gen writes (mbox form), body_size of them */
	const void *gen_ctx;
	off_t body_size;      /* bytes after the padding */
	bool do_fsync;
	off_t size_limit;     /* 0: none */
	bool limit_tempfail;
	struct mbox_sizes *sizes;
};

static int append_fill(struct mbox_writer *w, const struct append_job *job)
{
	if (job->raw) {
		mbox_writer_put(w, job->raw, job->raw_len);
		return 0;
	}
	if (job->gen) {
		job->gen(w, job->gen_ctx);
		return 0;
	}
	mbox_writer_put(w, job->from_line, job->from_len);
	if (job->headers)
		mbox_writer_put(w, job->headers, strlen(job->headers));
	return append_spool(w, job->sp, job->q);
}

static int append_locked(struct mbox_lock *lk, const struct append_job *job, struct result *r)
{
	struct stat st;
	struct mbox_journal j;
	struct mbox_writer w;
	size_t pad;
	sigset_t old;
	int err;

	mbox_block_signals(&old);
	err = fstat(lk->fd, &st) != 0 ? errno : append_padding(lk->fd, st.st_size, &pad);
	if (err) {
		mbox_restore_signals(&old);
		return res_errno(r, err, false, "cannot inspect mailbox %s", lk->path);
	}
	off_t p = st.st_size, f = p + (off_t)pad + job->body_size;
	if (job->size_limit > 0 && f > job->size_limit) {
		mbox_restore_signals(&old);
		return res_set(r, job->limit_tempfail ? EX_TEMPFAIL : EX_CANTCREAT, job->limit_tempfail ? "4.2.2" : "5.2.2",
			       "mailbox full: %s holds %jd bytes, the message needs %jd, the limit is %jd", lk->path,
			       (intmax_t)p, (intmax_t)(f - p), (intmax_t)job->size_limit);
	}
	if (job->sizes)
		*job->sizes = (struct mbox_sizes){ p, p };
	mbox_journal_set(&j, lk->fd, lk->path, p, f);
	if (!mbox_writer_init(&w, lk->fd, p)) {
		err = ENOMEM;
		goto fail;
	}
	mbox_writer_put(&w, "\n\n", pad);
	err = append_fill(&w, job);
	int ferr = mbox_writer_finish(&w);
	if (!err)
		err = ferr;
	if (!err && w.off != f) {
		log_msg(LOG_ERR, "%s: append wrote %jd bytes, expected %jd", lk->path,
			(intmax_t)(w.off - p), (intmax_t)(f - p));
		err = EIO;
	}
	if (!err && w.die_after >= 0)
		raise(SIGKILL);       /* test hook: killed after the data, before the journal removal */
	if (!err && job->do_fsync && fsync(lk->fd) != 0)
		err = errno;
	if (err)
		goto fail;
	mbox_journal_clear(&j, lk->fd);
	mbox_restore_signals(&old);
	if (job->sizes)
		job->sizes->after = f;
	*r = res_ok("delivered to mailbox");
	return EX_OK;
fail:
	append_rollback(lk->fd, lk->path, p, &j);
	mbox_restore_signals(&old);
	return res_errno(r, err, false, "cannot write mailbox %s", lk->path);
}

int mbox_append(const struct mbox_delivery *d, struct result *r)
{
	char from[600];
	struct mbox_lock lk;
	struct append_job job = { .headers = d->headers, .sp = d->msg, .q = d->quoting,
				  .do_fsync = d->fsync, .size_limit = d->size_limit,
				  .limit_tempfail = d->limit_tempfail, .sizes = d->sizes };
	if (!d->msg || d->msg->fd < 0 || d->msg->wbuf)
		return res_set(r, EX_SOFTWARE, "4.3.0", "spool not finished before delivery");
	int n = mbox_from_line(from, sizeof from, d->sender, d->arrival);
	if (n < 0)
		return res_set(r, EX_SOFTWARE, "4.3.0", "From_ line too long");
	job.from_line = from;
	job.from_len = (size_t)n;
	job.body_size = (off_t)n + (off_t)(d->headers ? strlen(d->headers) : 0) +
			mbox_spool_mbox_size(d->msg, d->quoting);
	int flags = MBOX_LOCK_WRITE | MBOX_LOCK_CREATE | (d->dotlock ? 0 : MBOX_LOCK_NODOTLOCK);
	if (mbox_lock(d->path, flags, &d->owner, d->lock_timeout, &lk, r) != EX_OK)
		return r->ex;
	append_locked(&lk, &job, r);
	mbox_unlock(&lk);
	return r->ex;
}

int mbox_append_gen(struct mbox_lock *lk, mbox_gen_fn gen, const void *ctx, bool do_fsync, struct result *r)
{
	struct mbox_writer count;
	mbox_writer_init_count(&count);
	gen(&count, ctx);
	struct append_job job = { .gen = gen, .gen_ctx = ctx, .body_size = count.off, .do_fsync = do_fsync };
	if (lk->fd < 0)
		return res_set(r, EX_SOFTWARE, "4.3.0", "mailbox not locked");
	return append_locked(lk, &job, r);
}

int mbox_append_raw(struct mbox_lock *lk, const void *data, size_t len, bool do_fsync,
		    struct result *r)
{
	struct append_job job = { .raw = data, .raw_len = len, .body_size = (off_t)len,
				  .do_fsync = do_fsync };
	if (lk->fd < 0)
		return res_set(r, EX_SOFTWARE, "4.3.0", "mailbox not locked");
	return append_locked(lk, &job, r);
}
