/* Rewriting an mbox (quit, expunge, flag updates) without ever losing a message.
 *
 * Before writing, the locked file is checked against the index: same inode, not shorter,
 * the first and last 4 KiB of the indexed bytes hash the same, and every indexed From_ line
 * is still at its offset with the same bytes. Size + mtime alone would miss a rewrite by
 * another program that happens to keep the size; a full compare would double the cost. With
 * every boundary verified, the bytes we copy are whatever the file holds now between
 * boundaries we know, so an in-place edit of a body by someone else is carried over, not lost.
 */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mbox/header.h"

static char rw_tmp_dir[CFG_PATH_MAX];

void mbox_set_tmp_dir(const char *dir)
{
	snprintf(rw_tmp_dir, sizeof rw_tmp_dir, "%s", dir ? dir : "");
}

const char *mbox_tmp_dir(void)
{
	const char *t = getenv("TMPDIR");
	if (rw_tmp_dir[0])
		return rw_tmp_dir;
	return t && *t ? t : "/tmp";
}

/* Status holds R and O as mailx writes them, X-Status D, A and F; empty ones are left out. */
static void rw_status_fields(struct mbox_writer *w, unsigned flags)
{
	char line[32];
	size_t n = 0;
	n += (size_t)snprintf(line, sizeof line, "Status: %s%s\n", flags & MBOX_F_READ ? "R" : "",
			      flags & MBOX_F_OLD ? "O" : "");
	if (flags & (MBOX_F_READ | MBOX_F_OLD))
		mbox_writer_put(w, line, n);
	n = (size_t)snprintf(line, sizeof line, "X-Status: %s%s%s\n", flags & MBOX_F_DELETED ? "D" : "",
			     flags & MBOX_F_ANSWERED ? "A" : "", flags & MBOX_F_FLAGGED ? "F" : "");
	if (flags & (MBOX_F_DELETED | MBOX_F_ANSWERED | MBOX_F_FLAGGED))
		mbox_writer_put(w, line, n);
}

/* Writes message m of d with its Status/X-Status replaced (at the first old one) or
 * inserted before the blank line that ends the header section. released: as for
 * mbox_writer_put_map (NULL unless d is a map of ours). */
static void rw_render(struct mbox_writer *w, const char *d, const struct mbox_msg *m, unsigned flags,
		      bool (*drop)(const char *name, size_t len), size_t *released)
{
	struct hdr_field f, tail = { 0 };
	size_t end = (size_t)m->end, pos = (size_t)m->headers, before = pos;
	bool done = false;
	mbox_writer_put(w, d + m->start, (size_t)(m->headers - m->start));
	while (hdr_next(d, end, &pos, &f)) {
		if (hdr_name_is(&f, "Status") || hdr_name_is(&f, "X-Status")) {
			if (!done)
				rw_status_fields(w, flags);
			done = true;
		} else if (drop && f.name_len && f.raw[f.raw_len - 1] == '\n' && drop(f.name, f.name_len)) {
			/* left out, with its continuation lines (hdr_next gives the whole field) */
		} else if (f.raw[f.raw_len - 1] != '\n' && f.raw[0] != ' ' && f.raw[0] != '\t') {
			/* The file ends inside this last line: new fields go before it, since a
			 * newline added after it could make a blank line of a lone CR. (One that
			 * starts with a blank would continue them: it stays first.) */
			tail = f;
		} else {
			mbox_writer_put(w, f.raw, f.raw_len);
		}
		before = pos;
	}
	if (!done) {
		if (!tail.raw && d[before - 1] != '\n')
			mbox_writer_put(w, "\n", 1);     /* a From_ line ending the file */
		rw_status_fields(w, flags);
	}
	if (tail.raw)
		mbox_writer_put(w, tail.raw, tail.raw_len);
	mbox_writer_put_map(w, d, before, end - before, released);
}

char *mbox_render_message(const struct mbox_index *idx, size_t i, unsigned flags, size_t *len_out)
{
	struct mbox_writer w;
	if (i >= idx->count || !mbox_writer_init_mem(&w))
		return NULL;
	rw_render(&w, idx->map, &idx->msgs[i], flags, NULL, NULL);
	return mbox_writer_take(&w, len_out);
}

void mbox_gen_picks(struct mbox_writer *w, const void *ctx)
{
	const struct mbox_picks *c = ctx;
	const struct mbox_index *mapped = NULL;     /* the one map released behind the reading */
	size_t released = 0;
	for (size_t k = 0; k < c->n && !w->err; k++) {
		const struct mbox_index *idx = c->p[k].idx;
		const struct mbox_msg *m = &idx->msgs[c->p[k].i];
		size_t *rel = NULL;
		if (idx->mapped && (!mapped || mapped == idx)) {
			mapped = idx;
			rel = &released;
			mbox_release_behind(idx->map, rel, (size_t)m->start);
		}
		rw_render(w, idx->map, m, c->p[k].flags, c->p[k].drop_field, rel);
	}
}

/* Is a plan's replacement one whole message in mbox form: From_ line at 0, nothing the
 * index would split into a second message, and the blank separator at the end? Anything
 * else would glue it to the next message or add one. */
static bool rw_replacement_ok(const struct mbox_plan *p)
{
	struct mbox_index ri;
	struct result r = { 0 };
	const char *t = p->replace;
	size_t n = p->replace_len;
	if (n < 7 || memcmp(t, "From ", 5) != 0 || t[n - 1] != '\n' ||
	    !(t[n - 2] == '\n' || (t[n - 2] == '\r' && t[n - 3] == '\n')))
		return false;
	if (mbox_index_buffer(t, n, &ri, &r) != EX_OK)
		return false;
	bool one = ri.count == 1 && ri.msgs[0].start == 0 && (size_t)ri.msgs[0].end == n;
	mbox_index_close(&ri);
	return one;
}

/* Writes a kept message that the plan replaces, its flags set as for any other message. */
static void rw_replacement(struct mbox_writer *w, const struct mbox_plan *p)
{
	struct mbox_index ri;
	struct result r = { 0 };
	if (!p->set_flags) {
		mbox_writer_put(w, p->replace, p->replace_len);
		return;
	}
	if (mbox_index_buffer(p->replace, p->replace_len, &ri, &r) != EX_OK || ri.count != 1) {
		if (!w->err)
			w->err = r.ex == EX_OK ? EINVAL : ENOMEM;
		if (r.ex == EX_OK)
			mbox_index_close(&ri);
		return;
	}
	rw_render(w, ri.map, &ri.msgs[0], p->flags, NULL, NULL);
	mbox_index_close(&ri);
}

/* The new mailbox: leading junk, kept messages, then everything that arrived after idx.
 * d is rw_locked's map of the mailbox: what has been copied leaves the resident set, so
 * the rewrite holds a few MiB of the mailbox whatever its size. */
static void rw_generate(struct mbox_writer *w, const char *d, size_t size, const struct mbox_index *idx,
			const struct mbox_plan *plan)
{
	size_t first = idx->count ? (size_t)idx->msgs[0].start : (size_t)idx->size, released = 0;
	mbox_writer_put_map(w, d, 0, first, &released);
	for (size_t i = 0; i < idx->count; i++) {
		const struct mbox_msg *m = &idx->msgs[i];
		mbox_release_behind(d, &released, (size_t)m->start);
		if (!plan[i].keep)
			continue;
		if (plan[i].replace)
			rw_replacement(w, &plan[i]);
		else if (plan[i].set_flags && plan[i].flags != m->flags)
			rw_render(w, d, m, plan[i].flags, NULL, &released);
		else
			mbox_writer_put_map(w, d, (size_t)m->start, (size_t)(m->end - m->start), &released);
	}
	mbox_writer_put_map(w, d, (size_t)idx->size, size - (size_t)idx->size, &released);
}

static bool rw_needed(const struct mbox_index *idx, const struct mbox_plan *plan)
{
	for (size_t i = 0; i < idx->count; i++)
		if (!plan[i].keep || plan[i].replace ||
		    (plan[i].set_flags && plan[i].flags != idx->msgs[i].flags))
			return true;
	return false;
}

/* Is the locked file d[0..size) still what idx describes (plus appended bytes)? */
static bool rw_unchanged(const struct mbox_index *idx, const char *d, size_t size)
{
	size_t isz = (size_t)idx->size, n = isz < 4096 ? isz : 4096;
	size_t released = 0;
	if (size < isz || mbox_hash(d, n) != idx->head_hash || mbox_hash(d + isz - n, n) != idx->tail_hash)
		return false;
	for (size_t i = 0; i < idx->count; i++) {
		const struct mbox_msg *m = &idx->msgs[i];
		size_t s = (size_t)m->start, h = (size_t)m->headers;
		mbox_release_behind(d, &released, s);
		if (h > isz || memcmp(d + s, "From ", 5) != 0)
			return false;
		size_t fl = h > s && d[h - 1] == '\n' ? h - 1 : h;
		if (mbox_hash(d + s, fl - s) != m->from_hash)
			return false;
		if (i > 0 && !(d[s - 1] == '\n'))
			return false;
	}
	return true;
}

/* Writes what gen produces to fd (from offset 0), truncates and fsyncs. Returns 0 or errno. */
static int rw_write_file(int fd, mbox_gen_fn gen, const void *ctx, off_t *len)
{
	struct mbox_writer w;
	if (!mbox_writer_init(&w, fd, 0))
		return ENOMEM;
	gen(&w, ctx);
	int err = mbox_writer_finish(&w);
	*len = w.off;
	if (!err && (ftruncate(fd, w.off) != 0 || fsync(fd) != 0))
		err = errno;
	return err;
}

/* Rename mode: new file next to the mailbox with the old owner and mode, then rename.
 * Returns 0, EACCES-like errors when the directory is not writable (caller goes in place),
 * or another errno. *fallback says whether in-place is still worth trying. */
static int rw_by_rename(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx,
			bool *fallback)
{
	char dir[CFG_PATH_MAX], tmp[CFG_PATH_MAX + 64];
	const char *base = strrchr(lk->path, '/');
	off_t len;
	*fallback = false;
	if (!mbox_dirname(lk->path, dir, sizeof dir) ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.rewrite.XXXXXX", dir, base ? base + 1 : lk->path) >=
		    (int)sizeof tmp)
		return ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*fallback = errno == EACCES || errno == EPERM;
		return errno;
	}
	int err = rw_write_file(fd, gen, ctx, &len);
	/* The replacement must look like the old file; when we cannot make it so (not root,
	 * foreign group), rewriting in place keeps owner and mode by construction. */
	if (!err && (fchown(fd, st->st_uid, st->st_gid) != 0 || fchmod(fd, st->st_mode & 07777) != 0)) {
		err = errno;
		*fallback = true;
	}
	if (!err && rename(tmp, lk->path) != 0)
		err = errno;
	close(fd);
	if (err) {
		unlink(tmp);
		return err;
	}
	return mbox_fsync_dir(lk->path);
}

static bool rw_test_in_place(void)
{
	/* Test-only: the in-place path in a directory the tests can write (backup beside the
	 * mailbox, the journal-file store), as when rename mode cannot keep owner and group. */
	const char *v = getenv("MBOX_TEST_IN_PLACE");
	return v && *v == '1';
}

int mbox_replace_locked(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx)
{
	bool fallback = true;
	int err = rw_test_in_place() ? EACCES : rw_by_rename(lk, st, gen, ctx, &fallback);
	if (err && fallback)
		err = mbox_replace_in_place(lk, st, gen, ctx);
	return err;
}

/* What rw_generate needs, for mbox_replace_locked's generator. */
struct rw_plan_ctx {
	const char *d;
	size_t size;
	const struct mbox_index *idx;
	const struct mbox_plan *plan;
};

static void rw_gen_plan(struct mbox_writer *w, const void *ctx)
{
	const struct rw_plan_ctx *c = ctx;
	rw_generate(w, c->d, c->size, c->idx, c->plan);
}

static int rw_locked(struct mbox_lock *lk, const struct mbox_index *idx, const struct mbox_plan *plan,
		     struct result *r)
{
	struct stat st;
	if (fstat(lk->fd, &st) != 0)
		return res_errno(r, errno, false, "cannot stat %s", lk->path);
	if (st.st_dev != idx->dev || st.st_ino != idx->ino || st.st_size < idx->size)
		return res_set(r, EX_TEMPFAIL, "4.2.0", "%s was replaced or truncated since it was read",
			       lk->path);
	size_t size = (size_t)st.st_size;
	char *d = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, lk->fd, 0) : (char *)"";
	if (d == MAP_FAILED)
		return res_errno(r, errno, false, "cannot map %s", lk->path);
	int err = 0;
	if (!rw_unchanged(idx, d, size)) {
		res_set(r, EX_TEMPFAIL, "4.2.0", "%s was changed by another program since it was read",
			lk->path);
	} else {
		sigset_t old;
		mbox_block_signals(&old);
		struct rw_plan_ctx c = { d, size, idx, plan };
		err = mbox_replace_locked(lk, &st, rw_gen_plan, &c);
		mbox_restore_signals(&old);
		if (err)
			res_errno(r, err, false, "cannot rewrite %s", lk->path);
		else
			*r = res_ok("mailbox rewritten");
	}
	if (size)
		munmap(d, size);
	return r->ex;
}

int mbox_rewrite(const struct mbox_index *idx, const struct mbox_plan *plan, const struct mbox_owner *owner,
		 int lock_timeout, bool dotlock, struct result *r)
{
	struct mbox_lock lk;
	for (size_t i = 0; i < idx->count; i++)
		if (plan[i].keep && plan[i].replace && !rw_replacement_ok(&plan[i]))
			return res_set(r, EX_DATAERR, "5.6.0", "%s: the new text of message %zu is not one "
				       "mbox message; nothing was changed", idx->path, i + 1);
	if (idx->ino == 0 || !rw_needed(idx, plan)) {
		*r = res_ok("nothing to change");
		return EX_OK;
	}
	int flags = MBOX_LOCK_WRITE | (dotlock ? 0 : MBOX_LOCK_NODOTLOCK);
	if (mbox_lock(idx->path, flags, owner, lock_timeout, &lk, r) != EX_OK)
		return r->ex;
	rw_locked(&lk, idx, plan, r);
	mbox_unlock(&lk);
	return r->ex;
}
