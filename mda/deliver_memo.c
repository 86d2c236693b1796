/* Retry memory: which actions of a message already succeeded, so an MTA retry after a
 * partial temporary failure does not deliver them twice. */
#include "mda/deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/trusted.h"
#include "mda/deliver_int.h"

/* Records older than this are ignored and pruned: Postfix gives up after 5 days. */
#define MEMO_EXPIRE (7 * 24 * 3600)
/* Above this size the state file is rewritten without expired records. */
#define MEMO_PRUNE_SIZE (256 * 1024)
#define MEMO_MAX_READ (4 * 1024 * 1024)
#define MEMO_MAX_KEYS 4096
#define MEMO_LOCK_WAIT_MS 10000

struct memo_hash {
	uint64_t a, b;
};

/* A growing list of keys, at most MEMO_MAX_KEYS. Grown on demand: a fixed 2 x 4096 keys
 * (128 KB) zeroed per delivery cost more page faults than the rest of a delivery. */
struct memo_keys {
	struct memo_hash *v;
	size_t n, cap;
};

struct deliver_memo {
	char dir[CFG_PATH_MAX + 32];  /* TMP/mda-retry.UID */
	char path[CFG_PATH_MAX + 48]; /* DIR/state, for messages */
	const char *why;              /* what made open_state refuse, or NULL */
	const struct mbox_spool *msg;
	char sender[1024];
	bool have_digest;
	struct memo_hash digest;      /* of sender and message bytes */
	struct memo_keys seen;        /* action keys done by earlier runs */
	struct memo_keys done;        /* action keys done by this run */
};

/* Appends k unless the list is full or out of memory (both only lose retry memory). */
static void keys_add(struct memo_keys *l, struct memo_hash k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct memo_hash *v = cap <= MEMO_MAX_KEYS ? realloc(l->v, cap * sizeof *v) : NULL;
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = k;
}

/* Two independent 64-bit hashes (FNV-1a and a multiply-rotate mix): 128 bits against
 * accidental collisions. Not cryptographic: see mda(8) for why that is enough here. */
static void hash_bytes(struct memo_hash *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h->a = (h->a ^ p[i]) * 0x100000001b3ULL;
		h->b = (h->b ^ (p[i] * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
		h->b = (h->b << 23) | (h->b >> 41);
	}
}

static struct memo_hash hash_start(void)
{
	return (struct memo_hash){ 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };
}

static int compute_digest(struct deliver_memo *m)
{
	char *buf = malloc(65536);
	off_t off = 0;
	if (!buf)
		return -1;
	m->digest = hash_start();
	hash_bytes(&m->digest, m->sender, strlen(m->sender) + 1);
	for (;;) {
		ssize_t n = pread(m->msg->fd, buf, 65536, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		hash_bytes(&m->digest, buf, (size_t)n);
		off += n;
	}
	free(buf);
	m->have_digest = true;
	return 0;
}

static struct memo_hash action_key(const struct action *a)
{
	struct memo_hash h = hash_start();
	int kind = (int)a->kind;
	hash_bytes(&h, &kind, sizeof kind);
	hash_bytes(&h, a->target ? a->target : "", a->target ? strlen(a->target) + 1 : 1);
	hash_bytes(&h, a->recipient ? a->recipient : "", a->recipient ? strlen(a->recipient) + 1 : 1);
	hash_bytes(&h, &a->runas->uid, sizeof a->runas->uid);
	return h;
}

/* The state lives in TMP/mda-retry.UID/state: a directory of our own (0700) in the shared
 * tmp_dir, so nobody else can put a file where we read; a name someone else took, or a
 * state file that is not a plain private file of ours, is refused (the caller logs it and
 * delivers without the memory: a planted file must neither suppress nor stop deliveries).
 * Opening never blocks (a FIFO planted anywhere on the way). Returns -1 with errno. */
static int open_state(struct deliver_memo *m, int flags, bool create)
{
	const char *why = NULL;
	int dfd = trusted_private_dir(m->dir, geteuid(), create, &why);
	if (dfd < 0) {
		m->why = why;
		return -1;
	}
	struct trust_rule rule = { .owner = geteuid(), .forbid = 022 };
	int fd = trusted_openat(dfd, "state", flags, 0600, &rule, NULL, &why);
	int err = errno;
	close(dfd);
	m->why = why;
	errno = err;
	return fd;
}

/* A state file is only ever locked by our own uid's deliveries, each for a moment; still,
 * the wait is bounded so that nothing can hold a delivery here. */
static int lock_fd(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	for (int waited_ms = 0; fcntl(fd, F_SETLK, &fl) != 0; waited_ms += 10) {
		if ((errno != EAGAIN && errno != EACCES && errno != EINTR) || waited_ms >= MEMO_LOCK_WAIT_MS)
			return -1;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Reads the whole file (bounded) into a malloc'd NUL-terminated buffer. */
static char *slurp(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size > MEMO_MAX_READ)
		return NULL;
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Line format: "TIME DIGEST_A DIGEST_B KEY_A KEY_B" in hex; calls fn for each fresh record. */
static void scan_records(const char *buf, time_t now,
			 void (*fn)(void *arg, const char *line, size_t len, struct memo_hash d, struct memo_hash k),
			 void *arg)
{
	const char *p = buf;
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		long long t;
		struct memo_hash d, k;
		if (sscanf(p, "%lld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &t, &d.a, &d.b, &k.a, &k.b) == 5 &&
		    t + MEMO_EXPIRE >= now)
			fn(arg, p, len, d, k);
		p += len + (end ? 1 : 0);
	}
}

static void collect_seen(void *arg, const char *line, size_t len, struct memo_hash d, struct memo_hash k)
{
	struct deliver_memo *m = arg;
	(void)line;
	(void)len;
	if (d.a == m->digest.a && d.b == m->digest.b)
		keys_add(&m->seen, k);
}

int deliver_memo_begin(struct deliver_ctx *ctx, const struct envelope *env, const struct mbox_spool *msg,
		       struct result *r)
{
	struct deliver_memo *m = calloc(1, sizeof *m);
	if (!m)
		return res_set(r, EX_OSERR, "4.3.0", "out of memory for the retry memory");
	snprintf(m->dir, sizeof m->dir, "%s/mda-retry.%u", ctx->cfg->tmp_dir, (unsigned)geteuid());
	snprintf(m->path, sizeof m->path, "%s/state", m->dir);
	snprintf(m->sender, sizeof m->sender, "%s", env->sender);
	m->msg = msg;
	ctx->memo = m;
	/* The usual case: no earlier partial failure, no state file, nothing to hash. */
	int fd = open_state(m, O_RDONLY, false);
	if (fd < 0 && errno == ENOENT)
		return EX_OK;
	if (fd < 0 && m->why)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "retry state in %s ignored: %s", m->dir, m->why);
	if (fd < 0)
		return res_errno(r, errno, false, "retry state %s", m->path);
	size_t len = 0;
	char *buf = lock_fd(fd, F_RDLCK) == 0 ? slurp(fd, &len) : NULL;
	close(fd);
	if (!buf)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "cannot read retry state %s", m->path);
	if (len > 0 && compute_digest(m) == 0)
		scan_records(buf, time(NULL), collect_seen, m);
	free(buf);
	return EX_OK;
}

bool deliver_memo_seen(struct deliver_memo *m, const struct action *a)
{
	if (!m || m->seen.n == 0)
		return false;
	struct memo_hash k = action_key(a);
	for (size_t i = 0; i < m->seen.n; i++)
		if (m->seen.v[i].a == k.a && m->seen.v[i].b == k.b)
			return true;
	return false;
}

void deliver_memo_done(struct deliver_memo *m, const struct action *a)
{
	if (m)
		keys_add(&m->done, action_key(a));
}

struct prune_out {
	FILE *fp;
};

static void keep_line(void *arg, const char *line, size_t len, struct memo_hash d, struct memo_hash k)
{
	struct prune_out *po = arg;
	(void)d;
	(void)k;
	fprintf(po->fp, "%.*s\n", (int)len, line);
}

/* Rewrites the state file without expired records (temp file + rename, under our lock). */
static void prune(struct deliver_memo *m, int fd)
{
	char tmp[sizeof m->path + 8];
	size_t len;
	char *buf = slurp(fd, &len);
	/* Inside our private directory: the name is ours, nobody else can have planted it. */
	snprintf(tmp, sizeof tmp, "%s.new", m->path);
	unlink(tmp);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *fp = out >= 0 ? fdopen(out, "w") : NULL;
	if (!buf || !fp) {
		free(buf);
		if (fp)
			fclose(fp);
		else if (out >= 0)
			close(out);
		return;
	}
	struct prune_out po = { fp };
	scan_records(buf, time(NULL), keep_line, &po);
	free(buf);
	if (fflush(fp) == 0 && fsync(fileno(fp)) == 0)
		rename(tmp, m->path);
	fclose(fp);
}

static int append_records(struct deliver_memo *m)
{
	char line[128];
	int fd = open_state(m, O_WRONLY | O_CREAT | O_APPEND, true);
	if (fd < 0 || lock_fd(fd, F_WRLCK) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < m->done.n; i++) {
		int n = snprintf(line, sizeof line, "%lld %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "\n",
				 (long long)time(NULL), m->digest.a, m->digest.b, m->done.v[i].a, m->done.v[i].b);
		if (write(fd, line, (size_t)n) != n) {
			close(fd);
			return -1;
		}
	}
	int rc = fsync(fd);
	struct stat st;
	if (rc == 0 && fstat(fd, &st) == 0 && st.st_size > MEMO_PRUNE_SIZE)
		prune(m, fd);
	close(fd);
	return rc;
}

void deliver_memo_end(struct deliver_ctx *ctx, bool temp_failed)
{
	struct deliver_memo *m = ctx->memo;
	ctx->memo = NULL;
	if (!m)
		return;
	/* Only a run that will be retried needs a record; successful runs cost nothing. */
	if (temp_failed && m->done.n > 0) {
		if ((!m->have_digest && compute_digest(m) != 0) || append_records(m) != 0)
			log_msg(LOG_WARNING, "cannot record completed deliveries in %s: %s; a retry may "
				"deliver them again", m->path, m->why ? m->why : strerror(errno));
	}
	free(m->seen.v);
	free(m->done.v);
	free(m);
}
