/* libmbox: the only code that opens a mailbox for writing: spool, append, lock, index, rewrite. */
#ifndef MBOX_MBOX_H
#define MBOX_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"
#include "common/result.h"

/* ------------------------------------------------------------------------------------------
 * Message spool: a message read once from outside (stdin, LMTP DATA), kept in an unlinked
 * temporary file with CRLF turned into LF, plus what the appender needs to know the exact
 * size of the mbox form in advance (the kill -9 journal relies on that).
 * ------------------------------------------------------------------------------------------ */
struct mbox_spool {
	int fd;                   /* memfd or unlinked temp file; -1 when closed */
	off_t size;               /* bytes of the LF-normalised message */
	off_t header_size;        /* bytes of the header section up to and including the blank
	                           * line, or size when the message has no blank line */
	size_t quote_rd;          /* lines matching ^>*From  : mboxrd adds one '>' to each */
	size_t quote_o;           /* lines matching ^From    : mboxo adds one '>' to each */
	bool ends_with_newline;
	/* streaming state, private */
	bool pending_cr;
	bool in_headers;
	int line_state;           /* progress through ">*From " at the start of a line */
	int line_gt;              /* '>' seen at the start of the current line */
	char last_char;
	char *wbuf;
	size_t wlen;
	bool in_memory;           /* fd is a memfd, moved to a temp file past SPOOL_MEM_MAX */
	char tmp_dir[CFG_PATH_MAX];
};

/* Creates an empty spool: in memory (memfd) up to 1 MiB, then in tmp_dir (O_TMPFILE, else
 * mkstemp+unlink). EX_TEMPFAIL on failure. */
int mbox_spool_open(struct mbox_spool *sp, const char *tmp_dir, struct result *r);
/* Appends raw bytes (any chunking; CRLF split across calls is handled). EX_TEMPFAIL on I/O error. */
int mbox_spool_write(struct mbox_spool *sp, const void *buf, size_t len, struct result *r);
/* Flushes; after this the counters are final and fd may be read with pread. */
int mbox_spool_finish(struct mbox_spool *sp, struct result *r);
/* Closes the file. Safe to call twice. */
void mbox_spool_close(struct mbox_spool *sp);
/* Exact number of bytes mbox_append will write for this spool after the From_ line and the
 * prepended headers: quoted message + final newline if missing + one blank separator line. */
off_t mbox_spool_mbox_size(const struct mbox_spool *sp, enum mbox_quoting q);

/* ------------------------------------------------------------------------------------------
 * Locking: dotlock PATH.lock through liblockfile (its stale-lock rules; the setgid helper when
 * the spool directory is not writable) plus an fcntl lock on the open mailbox, both within
 * timeout seconds. Taking the lock for writing also undoes an in-place rewrite whose process
 * died (see Rewriting) and repairs a torn tail left by a killed appender.
 * ------------------------------------------------------------------------------------------ */
enum {
	MBOX_LOCK_WRITE = 1,     /* F_WRLCK (else F_RDLCK) */
	MBOX_LOCK_CREATE = 2,    /* create a missing mailbox (0600, owner/group from the call) */
	MBOX_LOCK_NODOTLOCK = 4, /* fcntl only (files outside any spool, e.g. ~/mbox saves) */
};

struct mbox_lock {
	int fd;                   /* open mailbox, O_NOFOLLOW, -1 when unlocked */
	char path[CFG_PATH_MAX];
	char lock_path[CFG_PATH_MAX + 8];
	bool dotlocked;
	bool helper;              /* the dotlock is made and removed by the setgid dotlockfile */
	dev_t dev;
	ino_t ino;
};

/* Safety expectations for opening a mailbox. owner (uid_t)-1 skips the owner check. */
struct mbox_owner {
	uid_t uid;                /* expected owner; new mailboxes are chowned to it when possible */
	gid_t gid;                /* group for a new mailbox ((gid_t)-1: leave as created) */
};

/* Opens and locks path. Refuses (EX_TEMPFAIL, logged) a symlink, a non-regular file, a file
 * with more than one hard link, or one owned by someone other than owner->uid. A lock not
 * had within timeout seconds is EX_TEMPFAIL 4.2.1 ("mailbox locked"); a repair that fails
 * on I/O is EX_TEMPFAIL with the mailbox unlocked (the next lock retries it). */
int mbox_lock(const char *path, int flags, const struct mbox_owner *owner, int timeout,
	      struct mbox_lock *lk, struct result *r);
/* Releases both locks and closes the file. Safe on an unlocked lk. */
void mbox_unlock(struct mbox_lock *lk);
/* Process-wide (config key shared_spool): true when other hosts lock the same mailboxes.
 * Dotlocks are then made without a PID and judged stale by age only (liblockfile without
 * L_PID: 5 minutes), since kill(PID, 0) cannot see another host's processes. Never fails. */
void mbox_set_shared_spool(bool shared);

/* ------------------------------------------------------------------------------------------
 * Append: the delivery primitive. Success only after fsync; on any failure the mailbox is
 * truncated back to its exact previous size and the result is temporary.
 * ------------------------------------------------------------------------------------------ */
struct mbox_delivery {
	const char *path;             /* mailbox file */
	struct mbox_owner owner;
	bool dotlock;                 /* false for plain files outside a spool directory */
	const char *sender;           /* envelope sender; "" or NULL gives MAILER-DAEMON */
	time_t arrival;               /* date of the From_ line */
	const char *headers;          /* LF-terminated lines written after the From_ line, or NULL */
	const struct mbox_spool *msg;
	enum mbox_quoting quoting;
	int lock_timeout;             /* seconds */
	bool fsync;
	off_t size_limit;             /* bytes the mailbox may hold after the append, 0 = any */
	bool limit_tempfail;          /* over the limit: 452 4.2.2 (retry) instead of 552 5.2.2 */
	struct mbox_sizes *sizes;     /* when not NULL: the mailbox's size before and after */
};

/* What an append found and left (quota warnings compare the two with the limit). */
struct mbox_sizes {
	off_t before, after;
};

/* Appends one message; see above. A message that would take the mailbox past size_limit
 * (measured under the lock, so concurrent deliveries cannot overshoot together) is refused
 * with the mailbox untouched: EX_CANTCREAT 5.2.2, or EX_TEMPFAIL 4.2.2 with limit_tempfail.
 * Returns EX_OK or the failure in r. */
int mbox_append(const struct mbox_delivery *d, struct result *r);

/* Appends bytes that are already in mbox form (From_ line first, quoted, ending with the blank
 * separator) to an already locked mailbox, with the same journal/rollback/fsync guarantees.
 * Used by the mail reader's save/copy and quit-to-mbox. */
int mbox_append_raw(struct mbox_lock *lk, const void *data, size_t len, bool do_fsync,
		    struct result *r);

/* Puts data (mbox form, as for mbox_append_raw) before the existing messages of path, locking
 * and creating it; the file is replaced as mbox_rewrite does, so after a crash the old or the
 * new mailbox is whole (in place: once the next lock has undone it). Returns EX_OK, or the (temporary) failure in r with the file untouched. */
int mbox_prepend(const char *path, const struct mbox_owner *owner, bool dotlock, int lock_timeout,
		 const void *data, size_t len, bool do_fsync, struct result *r);

/* A message to file elsewhere: message i of idx (a reader's index, or an edited copy's),
 * written with Status/X-Status from flags. */
struct mbox_pick {
	const struct mbox_index *idx;
	size_t i;
	unsigned flags;
	/* When not NULL: header fields to leave out of the copy (mail's saveignore/saveretain
	 * at quit), asked with the field's name; Status and X-Status are never asked. */
	bool (*drop_field)(const char *name, size_t len);
};

/* Files copies of the n picked messages in path (mbox form, as mbox_render_message makes
 * each), locking it (dotlock when asked) and creating it when missing: after its messages
 * when append, else in front of them as mbox_prepend does. The messages stream from their
 * indexes: memory does not grow with their size. Returns EX_OK, or the (temporary) failure
 * in r with path as it was. */
int mbox_file_messages(const char *path, const struct mbox_owner *owner, bool dotlock, int lock_timeout,
		       const struct mbox_pick *picks, size_t n, bool append, bool do_fsync, struct result *r);

/* Formats "From SENDER Www Mmm dd hh:mm:ss yyyy\n" into buf (asctime layout, local time).
 * Returns the length, or -1 when buf is too small. */
int mbox_from_line(char *buf, size_t size, const char *sender, time_t when);

/* ------------------------------------------------------------------------------------------
 * Reading: an index of the messages in an mbox, built from a memory map with memchr.
 * Tolerates mboxo/mboxrd, CRLF files, NUL bytes, a missing final blank line, lying
 * Content-Length, 8-bit headers.
 * ------------------------------------------------------------------------------------------ */
enum {
	MBOX_F_READ = 1 << 0,       /* Status: R */
	MBOX_F_OLD = 1 << 1,        /* Status: O (seen by a reader before, not new) */
	MBOX_F_DELETED = 1 << 2,    /* X-Status: D */
	MBOX_F_ANSWERED = 1 << 3,   /* X-Status: A */
	MBOX_F_FLAGGED = 1 << 4,    /* X-Status: F */
};

struct mbox_msg {
	off_t start;            /* offset of the From_ line */
	off_t headers;          /* offset of the first header line */
	off_t body;             /* offset of the first body byte (after the blank line) */
	off_t end;              /* offset just past the message and its separator blank line */
	off_t content_end;      /* offset just past the body (the separator excluded) */
	size_t lines;           /* lines from the From_ line to end, as mailx counts */
	unsigned flags;         /* MBOX_F_* from Status/X-Status */
	time_t from_date;       /* date of the From_ line, (time_t)-1 if unparseable */
	char *envelope_sender;  /* sender word of the From_ line */
	char *return_path;      /* Return-Path: bare address ("" for <>), or NULL when absent */
	char *from;             /* From: header, unfolded and RFC 2047-decoded to UTF-8, or NULL */
	char *subject;          /* Subject:, unfolded and decoded, or NULL */
	char *to;               /* To:, unfolded and decoded, or NULL (mail's showto) */
	char *date;             /* Date: header as written, or NULL */
	uint64_t from_hash;     /* hash of the From_ line bytes (mbox_rewrite checks boundaries) */
};

struct mbox_index {
	char path[CFG_PATH_MAX];
	const char *map;        /* read-only map of the file as indexed (may be NULL if empty) */
	size_t map_len;
	struct mbox_msg *msgs;
	size_t count;
	dev_t dev;
	ino_t ino;
	off_t size;             /* file size when indexed (bytes of an append in progress
	                         * by a live writer, per its journal, are left out) */
	uint64_t head_hash;     /* hash of the first and last 4 KiB of [0, size): mbox_rewrite */
	uint64_t tail_hash;     /* refuses when they changed (file rewritten by someone else) */
	bool mapped;            /* map is ours to munmap */
	struct idx_block *strings; /* private: where the messages' text fields live */
};

/* Indexes path under a shared fcntl lock (up to 10 s, then unlocked), so no append or rewrite
 * is under way; the map stays live after. A missing file is an empty index with ENOENT-free
 * success. Fails with EX_NOINPUT/EX_TEMPFAIL. */
int mbox_index_open(const char *path, struct mbox_index *idx, struct result *r);
/* Indexes bytes already in memory (tests, fuzzers). The index points into data. */
int mbox_index_buffer(const char *data, size_t len, struct mbox_index *idx, struct result *r);
/* Frees everything and unmaps. Safe twice. */
void mbox_index_close(struct mbox_index *idx);

/* ------------------------------------------------------------------------------------------
 * Rewriting (the reader's quit, expunge, edit; mbox_prepend too): under lock, writes the kept
 * messages (with new Status/X-Status when asked) followed by every byte that arrived after
 * idx->size, then replaces the mailbox:
 * - temp file + rename when the directory is writable: a crash leaves the old or the new
 *   mailbox whole.
 * - otherwise in place (Debian's /var/mail is 2775 root:mail, mail is not set-id): a complete
 *   fsynced backup of the old bytes, then a durable rewrite record on the mailbox (xattr
 *   user.mda.rewrite; DIR/.NAME.mda-rewrite only where the file system has no user xattrs)
 *   naming the backup by path, dev/ino, size and checksum, then the overwrite. Record files
 *   and backups are believed only when they are plain single-link files of the mailbox's
 *   owner that nobody else can write (backups: private, and named as only a backup of this
 *   mailbox is), so nothing planted in a shared spool or tmp dir is ever acted on. If the process dies before the record is removed, the
 *   next mbox_lock for writing (every delivery, every rewrite) puts the old bytes back and
 *   keeps after them whatever another writer (Postfix local(8)) appended since, so the
 *   mailbox is exactly as before the rewrite plus the new mail; logged as one warning. The
 *   undo survives its own kill. It assumes that what others append never starts with a NUL
 *   byte (mbox messages start with "From "). A backup that is missing, another file, shorter
 *   or with other content is never used: the mailbox is left as it is, the record stays and
 *   every lock logs an error quoting it (restore by hand, then remove the record).
 *   Where the backup lives: beside the mailbox (.NAME.mda-backup.XXXXXX) when that directory
 *   is writable, else tmp_dir (mbox-rewrite.NAME.XXXXXX). Process deaths (kill -9, OOM,
 *   crash, hangup) are always undone; a power loss during the overwrite is undone only if
 *   tmp_dir survives the reboot, which /tmp on tmpfs does not (then: the error above). Put
 *   tmp_dir on disk (/var/tmp, /var/lib/mda) where power loss matters.
 *   Without any record store (no user xattrs and the directory not writable) the rewrite
 *   still goes ahead, logging a warning naming the backup: a crash then needs a hand restore.
 * A reader that indexes a mailbox whose rewrite was interrupted (the lock died with its
 * process) sees the mixed bytes until the next writer's lock undoes it; its rewrite then
 * checks the file again.
 * Refuses with EX_TEMPFAIL if the mailbox changed other than by appending since idx was built.
 * ------------------------------------------------------------------------------------------ */
struct mbox_plan {
	bool keep;              /* false: drop the message */
	bool set_flags;         /* rewrite Status/X-Status from flags */
	unsigned flags;
	const char *replace;    /* non-NULL: these bytes take the message's place (an edited copy):
	                         * one message in mbox form, From_ line first, body quoted, ending
	                         * with the blank separator, as mbox_edit_form makes it */
	size_t replace_len;
};

/* Returns EX_OK, or the failure in r with the mailbox untouched: EX_TEMPFAIL (lock, I/O,
 * changed by someone else), EX_DATAERR when a replacement is not exactly one mbox message. */
int mbox_rewrite(const struct mbox_index *idx, const struct mbox_plan *plan, const struct mbox_owner *owner,
		 int lock_timeout, bool dotlock, struct result *r);

/* Where mbox_rewrite keeps the backup copy when it must rewrite in place and the mailbox's
 * directory is not writable: the configuration's tmp_dir. Default $TMPDIR, else /tmp. It
 * must survive a reboot for the power-loss guarantee above. Never fails. */
void mbox_set_tmp_dir(const char *dir);

/* Message i of idx as an editor should get it: the header section without the From_ line and
 * Status/X-Status, then the body with one level of From_ quoting (rule q) taken off. The
 * result is malloc'd and NUL-terminated (length in *len_out); NULL when out of memory. */
char *mbox_edit_text(const struct mbox_index *idx, size_t i, enum mbox_quoting q, size_t *len_out);
/* The mbox form of text (what the editor left of mbox_edit_text's output): message i's own
 * From_ line, text From_-quoted with rule q, a final newline if missing and the blank
 * separator; fit for mbox_plan.replace and mbox_index_buffer. malloc'd; NULL when out of memory. */
char *mbox_edit_form(const struct mbox_index *idx, size_t i, const char *text, size_t len, enum mbox_quoting q,
		     size_t *len_out);

/* Renders message i of idx in mbox form with Status/X-Status set from flags into a malloc'd
 * buffer (for saves and ~/mbox). Returns NULL on allocation failure. */
char *mbox_render_message(const struct mbox_index *idx, size_t i, unsigned flags, size_t *len_out);

#endif
