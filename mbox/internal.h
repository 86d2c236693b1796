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
#define MBOX_JOURNAL_XATTR "user.mda.append"

/* Buffered pwrite()s at a running offset; the first error sticks in err. */
struct mbox_writer {
	int fd;
	off_t off;            /* where the next flushed byte goes */
	char *buf;
	size_t len, cap;
	int err;              /* errno of the first failure, 0 if none */
	long long die_after;  /* test hook: SIGKILL ourselves after this many bytes written by
	                       * all writers of the process, -1 off */
};

/* Sets up w writing at off; allocates the buffer. Returns false (errno ENOMEM) on failure. */
bool mbox_writer_init(struct mbox_writer *w, int fd, off_t off);
/* Buffers bytes; flushes when full. Errors are recorded in w->err. */
void mbox_writer_put(struct mbox_writer *w, const void *p, size_t n);
/* Flushes and frees the buffer. Returns 0 or the first errno. */
int mbox_writer_finish(struct mbox_writer *w);
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

/* The append journal: "pre-append size P, expected final size F, pid" for one inode. */
struct mbox_journal {
	bool active;
	bool in_file;         /* fallback journal file instead of the xattr */
	char file[CFG_PATH_MAX + 32];
};

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
/* The journal file name for path: DIR/.NAME.mda-journal. False if it does not fit. */
bool mbox_journal_path(const char *path, char *out, size_t size);

/* Writes the complete new content of a mailbox being replaced (rewrite, prepend). */
typedef void (*mbox_gen_fn)(struct mbox_writer *w, const void *ctx);

/* Replaces the content of the locked mailbox lk (fstat'ed as st) with what gen writes: temp
 * file + rename when the directory allows (same owner and mode), else in place behind a
 * complete backup in tmp_dir (see rewrite.c). Callers block signals. Returns 0 or errno. */
int mbox_replace_locked(struct mbox_lock *lk, const struct stat *st, mbox_gen_fn gen, const void *ctx);

/* Directory part of path into out ("." when there is none). False if it does not fit. */
bool mbox_dirname(const char *path, char *out, size_t size);

/* FNV-1a of n bytes (index boundary checks). */
uint64_t mbox_hash(const char *p, size_t n);

/* Test hook value of MBOX_TEST_DIE_AFTER_BYTES, -1 when unset (see append.c). */
long long mbox_test_die_after(void);

#endif
