/* Reading an mbox: split a memory map into messages and parse each header section only.
 *
 * Splitting rule: a message starts at a line beginning "From " at offset 0 or right after a
 * blank line ("\n\n", "\r\n\r\n"); the From_ line itself is not validated further, so the
 * usual variants (seconds or not, time zone, "remote from") all split. Content-Length is
 * ignored: every Debian writer (Postfix local, mail.local, this library) quotes body lines
 * starting with "From ", so the From_ split is authoritative, whereas Content-Length is
 * often stale after gateways or editors and honouring it would glue or cut messages.
 * Leading bytes before the first From_ line are not a message; mbox_rewrite copies them
 * through unchanged so they are never lost.
 * A file is mapped and split under a shared fcntl lock (idx_lock): no writer is mid-way then.
 */
#include "mbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/log.h"
#include "mbox/header.h"

uint64_t mbox_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;     /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* True when the newline at q ends a blank line and "From " follows it: a message boundary. */
static inline bool idx_boundary(const char *d, size_t len, size_t q)
{
	if (q + 6 > len || memcmp(d + q + 1, "From ", 5) != 0)
		return false;
	return (q >= 1 && d[q - 1] == '\n') || (q >= 2 && d[q - 1] == '\r' && d[q - 2] == '\n');
}

#ifdef __SSE2__
/* Sum of the byte counters in acc (each at most 255). */
static inline size_t idx_hsum(__m128i acc)
{
	__m128i s = _mm_sad_epu8(acc, _mm_setzero_si128());
	return (size_t)_mm_cvtsi128_si64(s) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}

/* The SSE2 part of idx_scan: 16 bytes a step, newlines counted in byte counters and
 * summed every 255 steps, and only a newline followed by 'F' looked at closer. Advances
 * *i (stopping 17 bytes before len) and *n; returns the boundary's newline offset + 1, or 0. */
static size_t idx_scan_sse2(const char *d, size_t len, size_t *i, size_t *n)
{
	const __m128i vnl = _mm_set1_epi8('\n'), vF = _mm_set1_epi8('F');
	__m128i acc = _mm_setzero_si128();
	unsigned steps = 0;
	for (; *i + 17 <= len; *i += 16) {
		__m128i isnl = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(d + *i)), vnl);
		__m128i nextF = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(d + *i + 1)), vF);
		acc = _mm_sub_epi8(acc, isnl);
		unsigned cand = (unsigned)_mm_movemask_epi8(_mm_and_si128(isnl, nextF));
		while (cand) {
			unsigned b = (unsigned)__builtin_ctz(cand);
			if (idx_boundary(d, len, *i + b)) {
				/* Newlines of this step after the boundary belong to the next message. */
				unsigned after = (unsigned)_mm_movemask_epi8(isnl) >> (b + 1);
				*n += idx_hsum(acc) - (size_t)__builtin_popcount(after);
				return *i + b + 1;
			}
			cand &= cand - 1;
		}
		if (++steps == 255) {
			*n += idx_hsum(acc);
			acc = _mm_setzero_si128();
			steps = 0;
		}
	}
	*n += idx_hsum(acc);
	return 0;
}
#endif

/* Scans from off for the next message boundary, counting newlines on the way.
 * Returns the start of the next message (len if none); *lines gets the newlines before it.
 * SSE2 where the compiler has it (every x86-64), then eight bytes at a time: a word's
 * newline bytes are found with the classic zero-byte trick, so the per-line cost is a few
 * instructions instead of a memchr call. The header summary of a big mailbox is this loop. */
static size_t idx_scan(const char *d, size_t len, size_t off, size_t *lines)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	const uint64_t nl = ones * '\n', low7 = ~highs;
	size_t i = off, n = 0;
#ifdef __SSE2__
	size_t next = idx_scan_sse2(d, len, &i, &n);
	if (next) {
		*lines += n;
		return next;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, d + i, 8);
		uint64_t x = w ^ nl;
		uint64_t z = ~(((x & low7) + low7) | x | low7);   /* 0x80 exactly at '\n' bytes */
		while (z) {
			size_t q = i + (size_t)(__builtin_ctzll(z) >> 3);
			n++;
			if (d[q + 1 < len ? q + 1 : q] == 'F' && idx_boundary(d, len, q)) {
				*lines += n;
				return q + 1;
			}
			z &= z - 1;
		}
	}
#else
	(void)ones; (void)highs; (void)nl; (void)low7;
#endif
	for (; i < len; i++) {
		if (d[i] != '\n')
			continue;
		n++;
		if (idx_boundary(d, len, i)) {
			*lines += n;
			return i + 1;
		}
	}
	*lines += n;
	return len;
}

static const char idx_months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Splits the From_ line (without "From ") into blank-separated words. */
static int idx_words(const char *p, size_t n, const char *w[], size_t wl[], int max)
{
	int k = 0;
	size_t i = 0;
	while (i < n && k < max) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i >= n)
			break;
		w[k] = p + i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		wl[k] = (size_t)(p + i - w[k]);
		k++;
	}
	return k;
}

static bool idx_num(const char *p, size_t n, int *out)
{
	int v = 0;
	if (n == 0 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* "hh:mm[:ss]" in exactly the n bytes at p. A bounded parser, not sscanf: the word lies in a
 * memory-mapped mailbox with no NUL after it (sscanf would scan on for one, past the end of
 * the mapping once a concurrent append fills the last page, and over the whole rest of the
 * file for every message). */
static bool idx_clock(const char *p, size_t n, struct tm *tm)
{
	int *parts[3] = { &tm->tm_hour, &tm->tm_min, &tm->tm_sec };
	size_t start = 0;
	int k = 0;
	for (size_t i = 0; i <= n && k < 3; i++) {
		if (i < n && p[i] != ':')
			continue;
		if (i - start > 2 || !idx_num(p + start, i - start, parts[k]))
			return false;
		k++;
		start = i + 1;
		if (i == n)
			return k >= 2;
	}
	return false;
}

/* mktime of a local time, without mktime's cost per call: glibc's mktime runs tzset, which
 * stats /etc/localtime (and rereads it when it changed) every time, and that stat per From_
 * line was a third of `mail -H` on a big mailbox. The fields are converted as UTC minus the
 * offset of the previous conversion and the result is checked by converting it back with
 * localtime_r (which reads the zone once per process); only when that does not give the same
 * fields at the same offset (the first call, a DST change between two messages, a time that
 * does not exist or needs normalising) is mktime asked, and its offset remembered. In a
 * repeated hour at the end of DST both answers are right; this one keeps the previous offset. */
static time_t idx_mktime(struct tm *tm)
{
	static long offset;
	static bool known;
	if (known) {
		time_t t = timegm(&(struct tm){ .tm_year = tm->tm_year, .tm_mon = tm->tm_mon,
						.tm_mday = tm->tm_mday, .tm_hour = tm->tm_hour,
						.tm_min = tm->tm_min, .tm_sec = tm->tm_sec });
		struct tm back;
		if (t != (time_t)-1 && localtime_r(&(time_t){ t - offset }, &back) && back.tm_gmtoff == offset &&
		    back.tm_year == tm->tm_year && back.tm_mon == tm->tm_mon && back.tm_mday == tm->tm_mday &&
		    back.tm_hour == tm->tm_hour && back.tm_min == tm->tm_min && back.tm_sec == tm->tm_sec)
			return t - offset;
	}
	time_t t = mktime(tm);
	if (t != (time_t)-1) {
		offset = tm->tm_gmtoff;
		known = true;
	}
	return t;
}

/* Parses "Www Mmm dd hh:mm[:ss] [zone...] yyyy [remote from host]" from the words after the
 * sender. Returns (time_t)-1 when it does not look like that. */
static time_t idx_from_date(const char *w[], const size_t wl[], int k)
{
	struct tm tm = { .tm_isdst = -1 };
	int mon = -1, i;
	for (i = 1; i < k && mon < 0; i++)
		for (int m = 0; m < 12; m++)
			if (wl[i] == 3 && strncasecmp(w[i], idx_months[m], 3) == 0)
				mon = m;
	if (mon < 0 || i + 1 >= k || !idx_num(w[i], wl[i], &tm.tm_mday))
		return (time_t)-1;
	i++;
	if (!idx_clock(w[i], wl[i], &tm))
		return (time_t)-1;
	for (i++; i < k; i++)
		if (wl[i] == 4 && idx_num(w[i], wl[i], &tm.tm_year))
			break;
	if (i >= k)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon = mon;
	return idx_mktime(&tm);
}

/* The text fields of an index live in blocks of IDX_BLOCK bytes, freed together: a malloc
 * per field (six per message, each with its own header and rounding) made the index of a
 * 50,000-message mailbox twice the size of s-nail's whole process. */
#define IDX_BLOCK ((size_t)64 << 10)

struct idx_block {
	struct idx_block *next;
	size_t used, cap;
	char data[];
};

/* A NUL-terminated copy of [p, p+n) in idx's blocks; NULL when out of memory. A field too
 * big for a block gets a block of its own, behind the current one, which stays current. */
static char *idx_keep(struct mbox_index *idx, const char *p, size_t n)
{
	struct idx_block *b = idx->strings;
	if (!b || b->cap - b->used < n + 1) {
		bool own = n + 1 > IDX_BLOCK / 4;
		size_t cap = own ? n + 1 : IDX_BLOCK - sizeof *b;
		struct idx_block *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (own && b) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			idx->strings = nb;
		}
		b = nb;
	}
	char *s = b->data + b->used;
	memcpy(s, p, n);
	s[n] = '\0';
	b->used += n + 1;
	return s;
}

/* idx_keep for a malloc'd string, which it frees; NULL in, NULL out. */
static char *idx_keep_str(struct mbox_index *idx, char *s)
{
	char *k = s ? idx_keep(idx, s, strlen(s)) : NULL;
	free(s);
	return k;
}

/* Envelope sender and date from the From_ line [p, p+n) (line end excluded). */
static bool idx_parse_from_line(struct mbox_index *idx, struct mbox_msg *m, const char *p, size_t n)
{
	const char *w[16];
	size_t wl[16];
	int k = idx_words(p + 5, n - 5, w, wl, 16);
	m->envelope_sender = k > 0 ? idx_keep(idx, w[0], wl[0]) : idx_keep(idx, "", 0);
	m->from_date = k > 1 ? idx_from_date(w, wl, k) : (time_t)-1;
	return m->envelope_sender != NULL;
}

static unsigned idx_flags(const struct hdr_field *f, const char *letters, const unsigned *bits)
{
	unsigned out = 0;
	for (size_t i = 0; i < f->value_len; i++) {
		const char *c = strchr(letters, f->value[i]);
		if (c && f->value[i])
			out |= bits[c - letters];
	}
	return out;
}

/* Unfolds and decodes a field into *dst (first occurrence wins). */
static bool idx_text(struct mbox_index *idx, char **dst, const struct hdr_field *f, bool decode)
{
	if (*dst)
		return true;
	char *u = hdr_unfold(f->value, f->value_len);
	if (u && decode) {
		char *dec = hdr_decode_2047(u, strlen(u));
		free(u);
		u = dec;
	}
	*dst = idx_keep_str(idx, u);
	return *dst != NULL;
}

/* Return-Path: the bare address, "" for the null sender <> (first occurrence wins). */
static bool idx_return_path(struct mbox_index *idx, char **dst, const struct hdr_field *f)
{
	char addr[CFG_PATH_MAX];
	if (*dst)
		return true;
	if (!hdr_skin_address(f->value, f->value_len, addr, sizeof addr))
		addr[0] = '\0';
	*dst = idx_keep(idx, addr, strlen(addr));
	return *dst != NULL;
}

/* Parses the header section starting at m->headers; sets m->body. */
static bool idx_headers(struct mbox_index *idx, struct mbox_msg *m, const char *d, size_t len)
{
	static const unsigned status_bits[] = { MBOX_F_READ, MBOX_F_OLD };
	static const unsigned xstatus_bits[] = { MBOX_F_DELETED, MBOX_F_ANSWERED, MBOX_F_FLAGGED };
	struct hdr_field f;
	size_t pos = (size_t)m->headers;
	bool ok = true;
	while (ok && hdr_next(d, len, &pos, &f)) {
		if (f.name_len == 0)
			continue;
		switch (f.name[0] | 0x20) {
		case 'f':
			if (hdr_name_is(&f, "From"))
				ok = idx_text(idx, &m->from, &f, true);
			break;
		case 's':
			if (hdr_name_is(&f, "Subject"))
				ok = idx_text(idx, &m->subject, &f, true);
			else if (hdr_name_is(&f, "Status"))
				m->flags |= idx_flags(&f, "RO", status_bits);
			break;
		case 'd':
			if (hdr_name_is(&f, "Date"))
				ok = idx_text(idx, &m->date, &f, false);
			break;
		case 'r':
			if (hdr_name_is(&f, "Return-Path"))
				ok = idx_return_path(idx, &m->return_path, &f);
			break;
		case 't':
			if (hdr_name_is(&f, "To"))
				ok = idx_text(idx, &m->to, &f, true);
			break;
		case 'x':
			if (hdr_name_is(&f, "X-Status"))
				m->flags |= idx_flags(&f, "DAF", xstatus_bits);
			break;
		}
	}
	m->body = (off_t)pos;
	return ok;
}

static size_t idx_count_nl(const char *p, size_t n)
{
	size_t c = 0;
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		c++;
	return c;
}

/* Length of the separator blank line at the end of [start, end), 0 if there is none. */
static size_t idx_separator(const char *d, size_t start, size_t end)
{
	if (end - start >= 2 && d[end - 1] == '\n' && d[end - 2] == '\n')
		return 1;
	if (end - start >= 4 && d[end - 1] == '\n' && d[end - 2] == '\r' && d[end - 3] == '\n')
		return 2;
	return 0;
}

static bool idx_grow(struct mbox_index *idx, size_t *cap)
{
	if (idx->count < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 256;
	struct mbox_msg *m = realloc(idx->msgs, ncap * sizeof *m);
	if (!m)
		return false;
	idx->msgs = m;
	*cap = ncap;
	return true;
}

/* Parses the message starting at s; returns the start of the next one. */
static size_t idx_message(struct mbox_index *idx, struct mbox_msg *m, const char *d, size_t len, size_t s,
			  bool *ok)
{
	memset(m, 0, sizeof *m);
	m->start = (off_t)s;
	const char *eol = memchr(d + s, '\n', len - s);
	size_t fl_end = eol ? (size_t)(eol - d) : len;
	size_t fl_len = fl_end > s && d[fl_end - 1] == '\r' ? fl_end - 1 - s : fl_end - s;
	m->from_hash = mbox_hash(d + s, fl_end - s);
	m->headers = (off_t)(eol ? fl_end + 1 : len);
	*ok = idx_parse_from_line(idx, m, d + s, fl_len) && idx_headers(idx, m, d, len);
	size_t next = (size_t)m->body;
	size_t lines = idx_count_nl(d + s, next - s);
	/* The blank line ending the headers can be the separator before the next From_. */
	if (!(next < len && next >= 1 && d[next - 1] == '\n' && next + 5 <= len &&
	      memcmp(d + next, "From ", 5) == 0))
		next = idx_scan(d, len, (size_t)m->body, &lines);
	m->end = (off_t)next;
	m->content_end = m->end - (off_t)idx_separator(d, s, next);
	if (m->content_end < m->body)
		m->body = m->content_end;
	m->lines = lines;
	return next;
}

/* The first message: a From_ line at offset 0, else the first line starting "From ". */
static size_t idx_first(const char *d, size_t len)
{
	if (len >= 5 && memcmp(d, "From ", 5) == 0)
		return 0;
	const char *hit = len ? memmem(d, len, "\nFrom ", 6) : NULL;
	return hit ? (size_t)(hit - d) + 1 : len;
}

static void idx_hashes(struct mbox_index *idx, const char *d, size_t len)
{
	size_t n = len < 4096 ? len : 4096;
	if (!d)
		d = "";     /* an empty file has no map, and NULL + 0 is undefined behaviour */
	idx->head_hash = mbox_hash(d, n);
	idx->tail_hash = mbox_hash(d + len - n, n);
}

/* Scanned parts of our own file mapping leave the process's resident set as the scan goes
 * (mbox_release_behind): indexing a 1 GB mailbox does not show (or count against limits) as
 * a 1 GB process. A buffer lent by mbox_index_buffer is not ours to release. */
static void idx_release(const struct mbox_index *idx, size_t *released, size_t pos)
{
	if (idx->mapped)
		mbox_release_behind(idx->map, released, pos);
}

static int idx_build(struct mbox_index *idx, const char *d, size_t len, struct result *r)
{
	size_t cap = 0, released = 0, pos = idx_first(d, len);
	idx->size = (off_t)len;
	idx_hashes(idx, d, len);
	while (pos < len) {
		bool ok;
		idx_release(idx, &released, pos);
		if (!idx_grow(idx, &cap))
			return res_errno(r, ENOMEM, false, "cannot index %s", idx->path);
		pos = idx_message(idx, &idx->msgs[idx->count], d, len, pos, &ok);
		idx->count++;
		if (!ok)
			return res_errno(r, ENOMEM, false, "cannot index %s", idx->path);
	}
	*r = res_ok("%zu messages", idx->count);
	return EX_OK;
}

int mbox_index_buffer(const char *data, size_t len, struct mbox_index *idx, struct result *r)
{
	memset(idx, 0, sizeof *idx);
	idx->map = data;
	idx->map_len = len;
	if (idx_build(idx, data, len, r) != EX_OK) {
		mbox_index_close(idx);
		return r->ex;
	}
	return EX_OK;
}

/* Bytes of the file that are settled: an appender's unfinished bytes (journal says
 * P <= S < F: it died, or it is live and the lock wait gave up) are left out; the next lock
 * taker either sees them completed or removes them. */
static size_t idx_settled(int fd, const char *path, size_t size)
{
	off_t p, f;
	bool in_file;
	if (mbox_journal_get(fd, path, &p, &f, &in_file) && (off_t)size >= p && (off_t)size < f)
		return (size_t)p;
	return size;
}

/* How long a reader waits for writers to finish before it reads the file as it is. Appends
 * and rewrites hold the lock for milliseconds; a lock held longer is someone stuck, and the
 * reader should not hang with them. MBOX_TEST_INDEX_LOCK_MS (test-only) shortens the wait. */
static long idx_lock_wait_ms(void)
{
	const char *v = getenv("MBOX_TEST_INDEX_LOCK_MS");
	return v && *v ? atol(v) : 10000;
}

/* A shared fcntl lock (open file description lock) on fd while the file is mapped and split:
 * every writer (mbox_lock, Postfix local(8), mailx) holds the exclusive lock while it appends
 * or rewrites, and a rewrite in place (the spool directory is not ours to write) moves every
 * byte and truncates the file. Read without the lock, it gave a view mixing old and new
 * bytes (messages missing, or seen twice) or killed the reader with SIGBUS when the file
 * shrank under the scan. A rewrite by rename never needed it (the old file is not touched).
 * False when not locked (no OFD locks here, or a writer holds it too long: logged): the file
 * is then read as before, unlocked. A POSIX lock is not a fallback: closing any descriptor
 * of the file would drop the caller's own POSIX locks on it. */
static bool idx_lock(int fd, const char *path)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	long waited = 0, step = 1, limit = idx_lock_wait_ms();
	while (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return false;
		if (waited >= limit) {
			log_msg(LOG_WARNING, "%s: still locked by a writer after %ld ms; reading it unlocked",
				path, waited);
			return false;
		}
		nanosleep(&(struct timespec){ step / 1000, (step % 1000) * 1000000L }, NULL);
		waited += step;
		step = step < 16 ? step * 2 : 16;
	}
	return true;
}

static void idx_unlock(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	fcntl(fd, F_OFD_SETLK, &fl);     /* explicit: the map keeps the open file, so its lock */
}

/* Opens path read-only and takes the shared lock, again when a rewrite renamed a new file
 * over the name while we waited: the view is then of the mailbox as it is now, not of the
 * file the rewrite left behind. Returns the fd (*locked says whether the lock is held), or
 * -1 with errno. */
static int idx_open_locked(const char *path, bool *locked)
{
	for (int tries = 0;; tries++) {
		struct stat st, now;
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -1;
		*locked = idx_lock(fd, path);
		if (!*locked || tries == 9 || fstat(fd, &st) != 0 || stat(path, &now) != 0 ||
		    (st.st_dev == now.st_dev && st.st_ino == now.st_ino))
			return fd;
		idx_unlock(fd);
		close(fd);
	}
}

/* Maps the st_size bytes of fd into idx, minus a dead appender's torn tail. */
static int idx_map(int fd, const char *path, const struct stat *st, struct mbox_index *idx, size_t *len,
		   struct result *r)
{
	idx->dev = st->st_dev;
	idx->ino = st->st_ino;
	*len = (size_t)st->st_size;
	if (*len == 0)
		return EX_OK;
	void *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return res_errno(r, errno, false, "cannot map %s", path);
	madvise(map, *len, MADV_WILLNEED);    /* start readahead of the whole file */
	idx->map = map;
	idx->map_len = *len;
	idx->mapped = true;
	*len = idx_settled(fd, path, *len);
	return EX_OK;
}

int mbox_index_open(const char *path, struct mbox_index *idx, struct result *r)
{
	struct stat st;
	bool locked = false;
	size_t len = 0;
	memset(idx, 0, sizeof *idx);
	if (snprintf(idx->path, sizeof idx->path, "%s", path) >= (int)sizeof idx->path)
		return res_set(r, EX_NOINPUT, "5.1.3", "mailbox path too long");
	int fd = idx_open_locked(path, &locked);
	if (fd < 0 && errno == ENOENT) {
		*r = res_ok("no mailbox");
		return EX_OK;
	}
	if (fd < 0)
		return res_errno(r, errno, false, "cannot open %s", path);
	int ex;
	if (fstat(fd, &st) != 0)
		ex = res_errno(r, errno, false, "cannot stat %s", path);
	else if (!S_ISREG(st.st_mode))
		ex = res_set(r, EX_NOINPUT, "5.2.0", "%s is not a regular file", path);
	else if ((ex = idx_map(fd, path, &st, idx, &len, r)) == EX_OK)
		ex = idx_build(idx, idx->map, len, r);
	if (locked)
		idx_unlock(fd);
	close(fd);
	if (ex != EX_OK)
		mbox_index_close(idx);
	return ex;
}

void mbox_index_close(struct mbox_index *idx)
{
	for (struct idx_block *b = idx->strings, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	idx->strings = NULL;
	free(idx->msgs);
	idx->msgs = NULL;
	idx->count = 0;
	if (idx->mapped && idx->map)
		munmap((void *)idx->map, idx->map_len);
	idx->map = NULL;
	idx->map_len = 0;
	idx->mapped = false;
}
