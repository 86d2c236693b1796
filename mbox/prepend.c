/* Putting messages in front of a mailbox's existing ones (mailx's quit with `append` unset
 * files read mail at the top of ~/mbox). An append can be undone by truncating; a prepend
 * moves every old byte, so it goes through the rewriter's replacement (new file + rename,
 * else in place behind a complete backup and a rewrite record): after a crash the old or the
 * new mailbox is whole, an interrupted in-place one once the next lock has undone it.
 */
#include "mbox/internal.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/* The new content: what gen writes (the messages), then the old mailbox as it is. */
struct pp_ctx {
	mbox_gen_fn gen;
	const void *gen_ctx;
	const char *old;
	size_t old_len;
};

static void pp_gen(struct mbox_writer *w, const void *ctx)
{
	const struct pp_ctx *c = ctx;
	size_t released = 0;     /* old is our map: a big ~/mbox passes through a few MiB */
	c->gen(w, c->gen_ctx);
	mbox_writer_put_map(w, c->old, 0, c->old_len, &released);
}

static int pp_locked(struct mbox_lock *lk, mbox_gen_fn gen, const void *gen_ctx, bool do_fsync, struct result *r)
{
	struct stat st;
	if (fstat(lk->fd, &st) != 0)
		return res_errno(r, errno, false, "cannot stat %s", lk->path);
	if (st.st_size == 0)   /* nothing to move: the journaled append is enough */
		return mbox_append_gen(lk, gen, gen_ctx, do_fsync, r);
	size_t old_len = (size_t)st.st_size;
	char *old = mmap(NULL, old_len, PROT_READ, MAP_SHARED, lk->fd, 0);
	if (old == MAP_FAILED)
		return res_errno(r, errno, false, "cannot map %s", lk->path);
	struct pp_ctx c = { gen, gen_ctx, old, old_len };
	sigset_t mask;
	mbox_block_signals(&mask);
	int err = mbox_replace_locked(lk, &st, pp_gen, &c);
	mbox_restore_signals(&mask);
	munmap(old, old_len);
	if (err)
		return res_errno(r, err, false, "cannot write %s", lk->path);
	*r = res_ok("messages prepended");
	return EX_OK;
}

/* Locks path (created when missing) and puts what gen writes after its messages (append)
 * or in front of them. */
static int pp_file(const char *path, const struct mbox_owner *owner, bool dotlock, int lock_timeout,
		   mbox_gen_fn gen, const void *gen_ctx, bool append, bool do_fsync, struct result *r)
{
	struct mbox_lock lk;
	int flags = MBOX_LOCK_WRITE | MBOX_LOCK_CREATE | (dotlock ? 0 : MBOX_LOCK_NODOTLOCK);
	if (mbox_lock(path, flags, owner, lock_timeout, &lk, r) != EX_OK)
		return r->ex;
	if (append)
		mbox_append_gen(&lk, gen, gen_ctx, do_fsync, r);
	else
		pp_locked(&lk, gen, gen_ctx, do_fsync, r);
	mbox_unlock(&lk);
	return r->ex;
}

struct pp_bytes {
	const void *data;
	size_t len;
};

static void pp_gen_bytes(struct mbox_writer *w, const void *ctx)
{
	const struct pp_bytes *b = ctx;
	mbox_writer_put(w, b->data, b->len);
}

int mbox_prepend(const char *path, const struct mbox_owner *owner, bool dotlock, int lock_timeout,
		 const void *data, size_t len, bool do_fsync, struct result *r)
{
	struct pp_bytes b = { data, len };
	return pp_file(path, owner, dotlock, lock_timeout, pp_gen_bytes, &b, false, do_fsync, r);
}

int mbox_file_messages(const char *path, const struct mbox_owner *owner, bool dotlock, int lock_timeout,
		       const struct mbox_pick *picks, size_t n, bool append, bool do_fsync, struct result *r)
{
	struct mbox_picks p = { picks, n };
	return pp_file(path, owner, dotlock, lock_timeout, mbox_gen_picks, &p, append, do_fsync, r);
}
