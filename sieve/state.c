/* The per-user memory of vacation replies and duplicate IDs: one GDBM file opened only
 * when it is a private regular file of the user (trusted_open), keys expiring, expired
 * ones purged at most once a day, lock waits bounded. */
#include "sieve/internal.h"

#include "common/trusted.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PURGE_KEY "\001purge"
#define LOCK_TRIES 100          /* 100 x 20 ms: a delivery never waits more than 2 s */

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Opens the state file; NULL with errno (ENOENT when it does not exist and !write). */
static GDBM_FILE state_open(const struct sieve_exec_opts *o, bool write, const char **why)
{
	struct trust_rule rule = { .owner = o->state_owner, .forbid = 022 };
	int fd = trusted_open(o->state_path, write ? O_RDWR | O_CREAT : O_RDONLY, 0600, &rule, NULL, why);
	if (fd < 0)
		return NULL;
	for (int i = 0; i < LOCK_TRIES; i++) {
		int dupfd = dup(fd);
		if (dupfd < 0)
			break;
		GDBM_FILE db = gdbm_fd_open(dupfd, o->state_path, 0, write ? GDBM_WRCREAT : GDBM_READER, NULL);
		if (db) {
			close(fd);
			return db;
		}
		close(dupfd);
		if (gdbm_errno != GDBM_CANT_BE_READER && gdbm_errno != GDBM_CANT_BE_WRITER)
			break;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	close(fd);
	if (why && !*why)
		*why = gdbm_strerror(gdbm_errno);
	errno = EIO;
	return NULL;
}

int sv_state_lookup(const struct sieve_exec_opts *o, const char *key, size_t len, time_t now)
{
	if (!o->state_path)
		return 0;
	const char *why = NULL;
	GDBM_FILE db = state_open(o, false, &why);
	if (!db)
		return errno == ENOENT ? 0 : -1;
	datum k = { (char *)key, (int)len };
	datum v = gdbm_fetch(db, k);
	gdbm_close(db);
	if (!v.dptr)
		return 0;
	int r = v.dsize == 8 && get64((unsigned char *)v.dptr) > (uint64_t)now;
	free(v.dptr);
	return r;
}

/* Deletes expired keys, at most once a day. */
static void state_purge(GDBM_FILE db, time_t now)
{
	datum pk = { PURGE_KEY, (int)sizeof PURGE_KEY - 1 };
	datum last = gdbm_fetch(db, pk);
	bool due = !last.dptr || last.dsize != 8 || get64((unsigned char *)last.dptr) + 86400 < (uint64_t)now;
	free(last.dptr);
	if (!due)
		return;
	datum dead[256];
	size_t n = 0;
	for (datum k = gdbm_firstkey(db); k.dptr && n < 256;) {
		datum v = gdbm_fetch(db, k);
		bool expired = v.dptr && v.dsize == 8 && get64((unsigned char *)v.dptr) <= (uint64_t)now &&
			       !(k.dsize == pk.dsize && memcmp(k.dptr, pk.dptr, (size_t)k.dsize) == 0);
		free(v.dptr);
		datum next = gdbm_nextkey(db, k);
		if (expired)
			dead[n++] = k;
		else
			free(k.dptr);
		k = next;
	}
	for (size_t i = 0; i < n; i++) {
		gdbm_delete(db, dead[i]);
		free(dead[i].dptr);
	}
	unsigned char b[8];
	put64(b, (uint64_t)now);
	datum v = { (char *)b, 8 };
	gdbm_store(db, pk, v, GDBM_REPLACE);
}

int sv_state_record(const struct sieve_exec_opts *o, const char *const *keys, const size_t *lens,
		    const uint64_t *periods, const bool *refresh, size_t n, time_t now, char *why, size_t size)
{
	if (!o->state_path || n == 0)
		return 0;
	const char *reason = NULL;
	GDBM_FILE db = state_open(o, true, &reason);
	if (!db) {
		snprintf(why, size, "%s: %s", o->state_path, reason ? reason : strerror(errno));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		datum k = { (char *)keys[i], (int)lens[i] };
		if (!refresh[i]) {
			/* without :last the first sighting decides when the ID expires */
			datum old = gdbm_fetch(db, k);
			bool live = old.dptr && old.dsize == 8 && get64((unsigned char *)old.dptr) > (uint64_t)now;
			free(old.dptr);
			if (live)
				continue;
		}
		unsigned char b[8];
		put64(b, (uint64_t)now + periods[i]);
		datum v = { (char *)b, 8 };
		if (gdbm_store(db, k, v, GDBM_REPLACE) != 0) {
			snprintf(why, size, "%s: %s", o->state_path, gdbm_strerror(gdbm_errno));
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		state_purge(db, now);
	if (gdbm_sync(db) != 0 && rc == 0) {
		snprintf(why, size, "%s: %s", o->state_path, gdbm_strerror(gdbm_errno));
		rc = -1;
	}
	gdbm_close(db);
	return rc;
}

/* ------------------------------------------------------------------ keys */

/* "v" handle NUL address / "d" handle NUL id: the two kinds never collide. */
static char *state_key(struct sv_arena *a, char kind, const char *handle, size_t hlen, const char *id, size_t ilen,
		       size_t *len)
{
	char *k = sv_alloc(a, hlen + ilen + 3);
	if (!k)
		return NULL;
	k[0] = kind;
	memcpy(k + 1, handle, hlen);
	k[1 + hlen] = '\0';
	memcpy(k + 2 + hlen, id, ilen);
	*len = hlen + ilen + 2;
	return k;
}

char *sv_vacation_key(struct sv_arena *a, const char *handle, const char *to, size_t *len)
{
	char *k = state_key(a, 'v', handle, strlen(handle), to, strlen(to), len);
	/* addresses compare case-insensitively here: one reply per correspondent */
	for (size_t i = strlen(handle) + 2; k && i < *len; i++)
		if (k[i] >= 'A' && k[i] <= 'Z')
			k[i] = (char)(k[i] + 32);
	return k;
}

int sv_test_duplicate(struct sv_exec *x, const struct sv_cmd *c)
{
	struct sv_val handle = { "", 0 }, id;
	if (c->str[S_DUPHANDLE] && !sv_expand(x, c->str[S_DUPHANDLE], &handle))
		return -1;
	if (c->bits & B_UNIQUEID) {
		if (!sv_expand(x, c->str[S_DUPID], &id))
			return -1;
	} else {
		struct sv_val name = { "Message-ID", 10 };
		size_t n;
		if (c->str[S_DUPID] && !sv_expand(x, c->str[S_DUPID], &name))
			return -1;
		const struct sv_hdrval *v = sv_header_name_valid(name.s, name.len) ? sv_msg_header(x, name.s, name.len, &n)
										   : NULL;
		if (x->failed)
			return -1;
		if (!v || v[0].len == 0)
			return 0;    /* nothing to track: never a duplicate */
		id.s = v[0].s;
		id.len = v[0].len;
	}
	uint64_t period = (c->bits & B_HASNUM) ? c->num : x->lim->duplicate_default_period;
	if (x->lim->duplicate_max_period && period > x->lim->duplicate_max_period)
		period = x->lim->duplicate_max_period;
	size_t klen;
	char *key = state_key(x->scratch, 'd', handle.s, handle.len, id.s, id.len, &klen);
	if (!key)
		return sv_fail(x, c->line, "out of memory");
	/* seen earlier in this same delivery? */
	size_t nd;
	const struct sv_rb_dup *pending = sv_rb_dups(x->rb, &nd);
	for (size_t i = 0; i < nd; i++)
		if (pending[i].len == klen && memcmp(pending[i].key, key, klen) == 0)
			return 1;
	int r = sv_state_lookup(x->opts, key, klen, x->now);
	if (r < 0)
		r = 0;    /* an unreadable memory must not lose mail: treat as new */
	sv_rb_add_duplicate(x->rb, key, klen, period, (c->bits & B_LAST) != 0);
	return r;
}

int sieve_commit(const struct sieve_result *res, const struct sieve_exec_opts *opts, char *why, size_t size)
{
	if (why && size)
		why[0] = '\0';
	if (!res || !opts || !opts->state_path || res->failed)
		return 0;
	size_t nd;
	const struct sv_rb_dup *d = sv_result_dups(res, &nd);
	size_t max = nd + res->count;
	const char **keys = calloc(max ? max : 1, sizeof *keys);
	size_t *lens = calloc(max ? max : 1, sizeof *lens);
	uint64_t *periods = calloc(max ? max : 1, sizeof *periods);
	bool *refresh = calloc(max ? max : 1, sizeof *refresh);
	struct sv_arena a;
	sv_arena_init(&a, 0);
	size_t n = 0;
	int rc = -1;
	if (!keys || !lens || !periods || !refresh) {
		snprintf(why, size, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nd; i++, n++) {
		keys[n] = d[i].key;
		lens[n] = d[i].len;
		periods[n] = d[i].period;
		refresh[n] = d[i].last;
	}
	for (size_t i = 0; i < res->count; i++) {
		const struct sieve_action *ac = &res->actions[i];
		if (ac->kind != SIEVE_ACT_VACATION || !ac->vacation->send)
			continue;
		keys[n] = sv_vacation_key(&a, ac->vacation->handle, ac->vacation->to, &lens[n]);
		if (!keys[n])
			continue;
		periods[n] = ac->vacation->period;
		refresh[n] = true;
		n++;
	}
	time_t now = opts->now ? opts->now : time(NULL);
	rc = sv_state_record(opts, keys, lens, periods, refresh, n, now, why, size);
out:
	free(keys);
	free(lens);
	free(periods);
	free(refresh);
	sv_arena_free(&a);
	return rc;
}
