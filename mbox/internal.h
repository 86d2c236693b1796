/* Private helpers shared by the libmbox source files (not for other modules). */
#ifndef MBOX_INTERNAL_H
#define MBOX_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/result.h"
#include "mbox/mbox.h"

#define MBOX_IO_BUF (128 * 1024)
/* liblockfile's setgid helper (Debian: liblockfile-bin), run with a deadline by lock.c. */
#define MBOX_DOTLOCK_HELPER "/usr/bin/dotlockfile"
#define MBOX_JOURNAL_XATTR "user.mda.append"
#define MBOX_REWRITE_XATTR "user.mda.rewrite"
#define MBOX_RECORD_MAX (CFG_PATH_MAX + 256)   /* longest record text, NUL included */

/* Buffered pwrite()s at a running offset; the first error sticks in err. */
struct mbox_writer {
	int fd;
	off_t off;            /* where the next flushed byte goes */
	char *buf;
	size_t len, cap;
	int err;              /* errno of the first failure, 0 if none */
	long long die_after;  /* test hook: SIGKILL ourselves after this many bytes written by
	                       * all writers of the process, -1 off */
	bool counting;        /* only counts the bytes put (in off): mbox_writer_init_count */
};

/* Sets up w writing at off; allocates the buffer. Returns false (errno ENOMEM) on failure. */
bool mbox_writer_init(struct mbox_writer *w, int fd, off_t off);
/* Buffers bytes; flushes when full. Errors are recorded in w->err. */
void mbox_writer_put(struct mbox_writer *w, const void *p, size_t n);
/* Flushes and frees the buffer. Returns 0 or the first errno. */
int mbox_writer_finish(struct mbox_writer *w);
/* Pages of a map of our own that were read are given back (MADV_DONTNEED: the page cache
 * keeps them, a later read faults them in again) a step behind the reading position, so
 * reading a mailbox through a map holds a few MiB of it in the resident set, not all of it. */
#define MBOX_RELEASE_STEP ((size_t)256 << 10)
/* Releases map[*released, pos - MBOX_RELEASE_STEP) once pos is two steps past *released;
 * map must be a page-aligned mapping of ours (never memory a caller lent us). */
void mbox_release_behind(const char *map, size_t *released, size_t pos);
/* mbox_writer_put of map[off, off+n), a step at a time with mbox_release_behind after each
 * when released is not NULL (NULL: map is not ours to release, a plain put). */
void mbox_writer_put_map(struct mbox_writer *w, const char *map, size_t off, size_t n, size_t *released);
/* A writer that writes nothing and counts in off what it was given: the exact size of what
 * a generator makes, for the append journal, before it makes it for real. Never fails. */
void mbox_writer_init_count(struct mbox_writer *w);
/* A writer into a growing memory buffer (fd -1) instead of a file. False (ENOMEM) on failure. */
bool mbox_writer_init_mem(struct mbox_writer *w);
/* Ends a memory writer: its NUL-terminated bytes (malloc'd, length in *len_out), or NULL when
 * it ran out of memory. */
char *mbox_writer_take(struct mbox_writer *w, size_t *len_out);

/* Streaming "^>*From " matcher shared by the spool (counting) and the appender (quoting). */
struct mbox_qstate {
	int k;                /* chars of "From " matched after the '>' run; -1: line is no match */
	size_t gt;            /* '>' characters at the start of the current line */
};

/* Writes n bytes of message text from p to w, adding one '>' to lines matching the quoting
 * rule q. State st carries partial matches across calls; call mbox_quote_end at the end. */
void mbox_quote_feed(struct mbox_qstate *st, enum mbox_quoting q, const char *p, size_t n,
		     struct mbox_writer *w);
/* Emits whatever a partial match held back. */
void mbox_quote_end(struct mbox_qstate *st, struct mbox_writer *w);

/* Writes all of buf at off with pwrite, retrying short writes and EINTR. 0 or errno. */
int mbox_pwrite_all(int fd, const void *buf, size_t n, off_t off);

/* Signals that must not interrupt a critical section (kill -9 is what the journal is for). */
void mbox_block_signals(sigset_t *old);
void mbox_restore_signals(const sigset_t *old);

/* A record kept on a mailbox inode: the xattr, or DIR/.NAME.SUFFIX without user xattrs. */
enum mbox_jkind {
	MBOX_J_APPEND,        /* "pre-append size P, expected final size F, pid" */
	MBOX_J_REWRITE,       /* an in-place rewrite in progress (inplace.c) */
};

struct mbox_journal {
	bool active;
	bool in_file;         /* fallback journal file instead of the xattr */
	enum mbox_jkind kind;
	char file[CFG_PATH_MAX + 32];
};

/* Stores text as the kind's record of the open mailbox fd at path, replacing the previous one
 * atomically (updates stay in the store of the first). durable: on disk when this returns.
 * False when neither store works (a failed first record leaves none behind). */
bool mbox_record_set(struct mbox_journal *j, enum mbox_jkind kind, int fd, const char *path,
		     const char *text, bool durable);
/* Removes the record (durable: and makes the removal durable). Safe when none is active. */
void mbox_record_clear(struct mbox_journal *j, int fd, bool durable);
/* Reads the kind's record of the open mailbox into text. True when there is one for this
 * very inode (a fallback file naming another inode is stale); j is then set up so that
 * mbox_record_set updates it and mbox_record_clear removes it. */
bool mbox_record_get(struct mbox_journal *j, enum mbox_jkind kind, int fd, const char *path, char *text,
		     size_t size);

/* Records P and F for the open mailbox fd at path (xattr, else the journal file). When
 * neither store works the append proceeds without (logged once) and j->active is false. */
void mbox_journal_set(struct mbox_journal *j, int fd, const char *path, off_t p, off_t f);
/* Removes the record written by mbox_journal_set. */
void mbox_journal_clear(struct mbox_journal *j, int fd);
/* Reads a journal for the open mailbox (either store). Returns true with *p and *f set. */
bool mbox_journal_get(int fd, const char *path, off_t *p, off_t *f, bool *in_file);
/* Lock-time repair of a torn tail (see journal.c). fd must be open read-write and locked.
 * Returns 0, or an errno when the repair itself failed (the caller refuses the mailbox). */
int mbox_journal_recover(int fd, const char *path);

/* Writes the complete new content of a mailbox being replaced (rewrite, prepend). */
typedef void (*mbox_gen_fn)(struct mbox_writer *w, const void *ctx);

/* Appends what gen writes (already mbox form, as for mbox_append_raw) to the locked mailbox
 * lk with the journal, rollback and fsync of every append; gen runs twice (once to count).
 * Returns EX_OK or the failure in r. */
int mbox_append_gen(struct mbox_lock *lk, mbox_gen_fn gen, const void *ctx, bool do_fsync, struct result *r);

/* The generator of mbox_file_messages (rewrite.c): the picked messages, each rendered with
 * its flags, read through its index's map (given back behind the reading when it is ours). */
struct mbox_picks {
	const struct mbox_pick *p;
	size_t n;
};
void mbox_gen_picks(struct mbox_writer *w, const void *ctx);

/* Replaces the content of the locked mailbox lk (fstat'ed as st) with what gen writes: temp
 * file + rename when the directory allows (same owner and mode), else mbox_replace_in_place.
 * Callers block signals. Returns 0 or errno. */
int mbox_replace_locked(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx);

/* The in-place replacement (inplace.c): a backup of the current bytes, a durable rewrite
 * record, the overwrite, the record's removal. On failure the old content is put back.
 * Returns 0 or errno. */
int mbox_replace_in_place(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx);
/* Lock-time undo of an in-place rewrite whose process died (see inplace.c). fd open read-write
 * and locked. Returns 0 (also when the record cannot be used: logged, left as is), or an
 * errno when the restore itself failed (the caller refuses the mailbox; the record stays). */
int mbox_inplace_recover(int fd, const char *path);
/* The directory backups of in-place rewrites fall back to (mbox_set_tmp_dir, $TMPDIR, /tmp). */
const char *mbox_tmp_dir(void);

/* FNV-1a continued over n more bytes (mbox_hash is this from MBOX_HASH_SEED). */
#define MBOX_HASH_SEED 1469598103934665603ULL
uint64_t mbox_hash_more(uint64_t h, const void *p, size_t n);

/* fsyncs the directory holding path, making its entries (a new or renamed file) durable.
 * Returns 0 or errno. */
int mbox_fsync_dir(const char *path);

/* Directory part of path into out ("." when there is none). False if it does not fit. */
bool mbox_dirname(const char *path, char *out, size_t size);

/* FNV-1a of n bytes (index boundary checks). */
uint64_t mbox_hash(const char *p, size_t n);

/* Test hook value of MBOX_TEST_DIE_AFTER_BYTES, -1 when unset (see append.c). */
long long mbox_test_die_after(void);

#endif
