/* Compiled programs kept on disk, for the delivery that compiles a script once per process
 * (stdin mode), as Pigeonhole keeps .svbin files: the resolved tree is written once as
 * fixed records and strings, and read back with every length, count and index checked; the
 * regexes go through PCRE2's own serialization. Reading one back costs a fraction of lexing, parsing,
 * validating and compiling the regexes again. A program is used only while every file it
 * was compiled from is unchanged (sieve_script_is_current) and the options that shape a
 * compile are the same (key_of).
 *
 * PCRE2 does not check serialized bytecode, and the tree is believed as written: a cache is
 * read only by a process that is its owner and nothing more (see sieve.h), so a crafted one
 * can do nothing its owner could not do anyway; the checksum catches a torn or damaged file. */
#include "sieve/internal.h"

#include "common/trusted.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bumped whenever the layout below or the meaning of a compiled field changes: a file of
 * another format is ignored (and replaced by the next save). */
#define CACHE_FORMAT 2
static const char cache_magic[8] = "mdasvc\r\n";
#define NONE UINT32_MAX
/* Files larger than this are not caches this code wrote for a script within the limits. */
#define CACHE_MAX (64u << 20)

struct cache_head {
	char magic[8];
	uint32_t format;
	uint32_t shape;          /* sizes of the structures read back: another build's layout */
	uint64_t key;            /* the compile options (key_of) */
	uint64_t sum;            /* checksum of the payload */
	uint64_t len;            /* payload bytes after the head */
};

/* ------------------------------------------------------------------ hashing */

static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* A checksum of a payload, 16 bytes a step in two lanes: it catches a torn or damaged file.
 * It is not a defence against its owner, who may write anything there (see the top). */
static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t a = 0x243f6a8885a308d3ULL ^ n, b = 0x13198a2e03707344ULL;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		uint64_t w[2];
		memcpy(w, p + i, 16);
		a = mix(a, w[0]);
		b = mix(b, w[1]);
	}
	uint64_t tail[2] = { 0, 0 };
	memcpy(tail, p + i, n - i);
	return mix(mix(a, tail[0]) ^ b, tail[1]);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return s ? checksum((const unsigned char *)s, strlen(s)) ^ mix(h, 1) : mix(h, 0);
}

/* Everything in the options and limits a compile depends on. */
static uint64_t key_of(const char *script, const struct sieve_compile_opts *o)
{
	struct sieve_limits def;
	sieve_limits_default(&def);
	const struct sieve_limits *l = o->limits ? o->limits : &def;
	uint64_t h = mix(CACHE_FORMAT, sv_ext_disabled(o->extensions));
	h = mix(mix(mix(h, l->max_script_size), l->max_include_depth), l->max_includes);
	h = mix(mix(mix(h, l->max_nesting), l->max_string), l->max_variables);
	h = mix(mix(h, o->check_owner), (uint64_t)o->owner);
	return mix_str(mix_str(mix_str(h, script), o->personal_dir), o->global_dir);
}

static uint32_t shape(void)
{
	return (uint32_t)(sizeof(struct sv_cmd) << 16 ^ sizeof(struct sv_str) << 8 ^ sizeof(struct sv_part) ^
			  sizeof(struct sv_unit) << 4);
}

/* ------------------------------------------------------------------ records */
/* The fixed part of each object, written and read in one piece (cleared first, so the
 * padding is always zero): a read is then one bounds check, not one per field. */
struct str_rec {
	uint32_t len;            /* NONE: no constant value */
	uint32_t line, col, nparts;
};
struct part_rec {
	uint8_t kind, global, pad[2];
	uint32_t slot, len;      /* len NONE: no text */
};
enum { HAS_TEST = 1, HAS_ALT = 2, HAS_STR = 4 /* << i for str[i] */ };
struct cmd_rec {
	uint64_t num;
	uint32_t op, line, col, bits, m_index, var, ntests, inc, nblock;
	uint8_t zone, bt, modifiers, cmp, mt, rel, ap, last, var_global, has, pad[2];
};

/* ------------------------------------------------------------------ writing */

/* The tree being written, and the regexes met on the way, in the order the reader meets
 * their keys again. */
struct writer {
	struct sv_buf b;
	struct sv_regex **rx;
	size_t nrx, cap;
	bool oom;
};

static void w_regex(struct writer *w, struct sv_regex *rx)
{
	if (w->nrx == w->cap) {
		size_t nc = w->cap ? 2 * w->cap : 16;
		struct sv_regex **a = realloc(w->rx, nc * sizeof *a);
		if (!a) {
			w->oom = true;
			return;
		}
		w->rx = a;
		w->cap = nc;
	}
	w->rx[w->nrx++] = rx;
}

static void w_u8(struct writer *w, unsigned v)
{
	unsigned char c = (unsigned char)v;
	sv_buf_add(&w->b, &c, 1);
}

static void w_u32(struct writer *w, uint32_t v)
{
	sv_buf_add(&w->b, &v, sizeof v);
}

static void w_u64(struct writer *w, uint64_t v)
{
	sv_buf_add(&w->b, &v, sizeof v);
}

/* Bytes with their length; NULL as NONE. */
static void w_bytes(struct writer *w, const char *s, size_t len)
{
	w_u32(w, s ? (uint32_t)len : NONE);
	if (s)
		sv_buf_add(&w->b, s, len);
}

static void w_cstr(struct writer *w, const char *s)
{
	w_bytes(w, s, s ? strlen(s) : 0);
}

static void w_str(struct writer *w, const struct sv_str *s)
{
	struct str_rec rec = { s->s ? (uint32_t)s->len : NONE, s->line, s->col, s->nparts };
	sv_buf_add(&w->b, &rec, sizeof rec);
	if (s->s)
		sv_buf_add(&w->b, s->s, s->len);
	for (uint32_t i = 0; i < s->nparts; i++) {
		const struct sv_part *pt = &s->parts[i];
		struct part_rec pr;
		memset(&pr, 0, sizeof pr);
		pr.kind = pt->kind;
		pr.global = pt->global;
		pr.slot = pt->slot;
		pr.len = pt->s ? (uint32_t)pt->len : NONE;
		sv_buf_add(&w->b, &pr, sizeof pr);
		if (pt->s)
			sv_buf_add(&w->b, pt->s, pt->len);
	}
}

static void w_list(struct writer *w, const struct sv_list *l)
{
	w_u32(w, l ? l->n : NONE);
	for (uint32_t i = 0; l && i < l->n; i++)
		w_str(w, &l->v[i]);
}

static void w_cmd(struct writer *w, const struct sv_cmd *c);

static uint32_t chain_length(const struct sv_cmd *c)
{
	uint32_t n = 0;
	for (; c; c = c->next)
		n++;
	return n;
}

static void w_cmd_rec(struct writer *w, const struct sv_cmd *c)
{
	struct cmd_rec rec;
	memset(&rec, 0, sizeof rec);
	rec.num = c->num;
	rec.op = c->op, rec.line = c->line, rec.col = c->col, rec.bits = c->bits;
	rec.m_index = c->m.index, rec.var = c->var, rec.ntests = c->ntests;
	rec.inc = c->inc ? c->inc->index : NONE;
	rec.nblock = chain_length(c->block);
	rec.zone = c->zone, rec.bt = c->bt, rec.modifiers = c->modifiers;
	rec.cmp = c->m.cmp, rec.mt = c->m.mt, rec.rel = c->m.rel, rec.ap = c->m.ap, rec.last = c->m.last;
	rec.var_global = c->var_global;
	rec.has = (c->test ? HAS_TEST : 0) | (c->alt ? HAS_ALT : 0);
	for (int i = 0; i < 4; i++)
		if (c->str[i])
			rec.has |= (uint8_t)(HAS_STR << i);
	sv_buf_add(&w->b, &rec, sizeof rec);
}

/* The record, then the lists, strings, test, tests, block and alternative it announces. */
static void w_cmd(struct writer *w, const struct sv_cmd *c)
{
	w_cmd_rec(w, c);
	w_list(w, c->list[0]);
	w_list(w, c->list[1]);
	w_list(w, c->tlist);
	for (int i = 0; i < 4; i++)
		if (c->str[i])
			w_str(w, c->str[i]);
	if (c->test)
		w_cmd(w, c->test);
	for (uint32_t i = 0; i < c->ntests; i++)
		w_cmd(w, c->tests[i]);
	for (const struct sv_cmd *k = c->block; k; k = k->next)
		w_cmd(w, k);
	if (c->alt)
		w_cmd(w, c->alt);
	for (uint32_t i = 0; c->m.mt == MT_REGEX && c->m.rx && c->list[1] && i < c->list[1]->n; i++)
		if (c->m.rx[i])
			w_regex(w, c->m.rx[i]);
}

/* A unit's code: its commands in order (linked by next when read back). */
static void w_chain(struct writer *w, const struct sv_cmd *c)
{
	w_u32(w, chain_length(c));
	for (; c; c = c->next)
		w_cmd(w, c);
}

static void w_names(struct writer *w, char *const *names, uint32_t n)
{
	w_u32(w, n);
	for (uint32_t i = 0; i < n; i++)
		w_cstr(w, names[i]);
}

static void w_program(struct writer *w, const struct sieve_script *p)
{
	w_names(w, p->globals, p->nglobals);
	w_u32(w, p->nfiles);
	for (uint32_t i = 0; i < p->nfiles; i++) {
		const struct sv_file *f = &p->files[i];
		w_u64(w, (uint64_t)f->dev);
		w_u64(w, (uint64_t)f->ino);
		w_u64(w, (uint64_t)f->size);
		w_u64(w, (uint64_t)f->mtime.tv_sec);
		w_u64(w, (uint64_t)f->mtime.tv_nsec);
		w_cstr(w, f->path);
	}
	w_u32(w, p->nunits);
	for (uint32_t i = 0; i < p->nunits; i++) {
		const struct sv_unit *u = p->units[i];
		w_cstr(w, u->name);
		w_u32(w, u->exts);
		w_u8(w, u->global_loc);
		w_u8(w, u->missing);
		w_names(w, u->local_names, u->nlocals);
		w_names(w, u->global_names, u->nglobal_names);
		w_chain(w, u->code);
	}
}

/* Writes to a new file beside path and renames it over path: a reader sees the old file or
 * the whole new one. Mode 0600, as the script's owner (the caller runs as that user). */
static bool write_whole(const char *path, const struct cache_head *h, const struct sv_buf *b)
{
	char tmp[SV_PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
		return false;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = fchmod(fd, 0600) == 0 && write(fd, h, sizeof *h) == (ssize_t)sizeof *h &&
		  write(fd, b->p, b->len) == (ssize_t)b->len;
	if (close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) == 0)
		return true;
	unlink(tmp);
	return false;
}

/* The payload: the regexes as PCRE2 serialized them, then the tree. */
static bool payload(const struct sieve_script *s, struct sv_buf *out)
{
	struct writer w = { 0 };
	w_program(&w, s);
	size_t blob_len = 0;
	unsigned char *blob = w.nrx ? sv_regex_serialize(w.rx, w.nrx, &blob_len) : NULL;
	bool ok = !w.oom && !w.b.oom && (w.nrx == 0 || blob);
	if (ok) {
		uint64_t head[2] = { w.nrx, blob_len };
		sv_buf_add(out, head, sizeof head);
		sv_buf_add(out, blob, blob_len);
		sv_buf_add(out, w.b.p, w.b.len);
		ok = !out->oom && out->len <= CACHE_MAX;
	}
	free(blob);
	free(w.rx);
	sv_buf_free(&w.b);
	return ok;
}

bool sieve_cache_save(const struct sieve_script *s, const char *cache_path, const char *script_path,
		      const struct sieve_compile_opts *opts)
{
	struct sv_buf b = { 0 };
	if (!payload(s, &b)) {
		sv_buf_free(&b);
		return false;
	}
	struct cache_head h = { .format = CACHE_FORMAT, .shape = shape(), .key = key_of(script_path, opts),
				.len = b.len };
	memcpy(h.magic, cache_magic, sizeof h.magic);
	h.sum = checksum((const unsigned char *)b.p, b.len);
	bool ok = write_whole(cache_path, &h, &b);
	sv_buf_free(&b);
	return ok;
}

/* ------------------------------------------------------------------ reading */

struct reader {
	const unsigned char *p;
	size_t left;
	bool bad;
	struct sieve_script *prog;
	unsigned depth;
	uint32_t rx_next;        /* the next of prog->regexes a :regex key takes */
};

static inline bool take(struct reader *r, void *out, size_t n)
{
	if (__builtin_expect(!r->bad && r->left >= n, 1)) {
		memcpy(out, r->p, n);
		r->p += n;
		r->left -= n;
		return true;
	}
	r->bad = true;
	memset(out, 0, n);
	return false;
}

static unsigned r_u8(struct reader *r)
{
	unsigned char c;
	take(r, &c, 1);
	return c;
}

static uint32_t r_u32(struct reader *r)
{
	uint32_t v;
	take(r, &v, sizeof v);
	return v;
}

static uint64_t r_u64(struct reader *r)
{
	uint64_t v;
	take(r, &v, sizeof v);
	return v;
}

/* A count of items of at least min bytes each that the rest of the payload can hold. */
static uint32_t r_count(struct reader *r, size_t min)
{
	uint32_t n = r_u32(r);
	if ((size_t)n * min > r->left)
		r->bad = true;
	return r->bad ? 0 : n;
}

/* len bytes at the cursor, copied NUL-terminated into the program's arena; NULL for NONE. */
static const char *r_text(struct reader *r, uint32_t len)
{
	if (r->bad || len == NONE)
		return NULL;
	if (len > r->left) {
		r->bad = true;
		return NULL;
	}
	char *t = sv_strndup(&r->prog->arena, (const char *)r->p, len);
	r->p += len;
	r->left -= len;
	if (!t)
		r->bad = true;
	return t;
}

/* Bytes as written by w_bytes. */
static const char *r_bytes(struct reader *r, size_t *len)
{
	uint32_t n = r_u32(r);
	const char *s = r_text(r, n);
	*len = s ? n : 0;
	return s;
}

static char *r_cstr(struct reader *r)
{
	size_t len;
	const char *s = r_bytes(r, &len);
	if (!s || strlen(s) != len)
		r->bad = true;
	return (char *)s;
}

static void *r_alloc(struct reader *r, size_t n)
{
	void *p = r->bad ? NULL : sv_alloc(&r->prog->arena, n ? n : 1);
	if (!p)
		r->bad = true;
	return p;
}

static void r_part(struct reader *r, struct sv_part *pt)
{
	struct part_rec pr;
	take(r, &pr, sizeof pr);
	pt->kind = pr.kind;
	pt->global = pr.global != 0;
	pt->slot = pr.slot;
	pt->s = r_text(r, pr.len);
	pt->len = pt->s ? pr.len : 0;
	if (pt->kind > PART_MATCH || (pt->kind == PART_LIT && !pt->s) ||
	    (pt->kind == PART_VAR && pt->global && pt->slot >= r->prog->nglobals))
		r->bad = true;
}

static void r_str(struct reader *r, struct sv_str *s)
{
	struct str_rec rec;
	take(r, &rec, sizeof rec);
	s->s = r_text(r, rec.len);
	s->len = s->s ? rec.len : 0;
	s->line = rec.line;
	s->col = rec.col;
	s->nparts = rec.nparts;
	if ((size_t)s->nparts * sizeof(struct part_rec) > r->left)
		r->bad = true;
	s->parts = s->nparts && !r->bad ? r_alloc(r, s->nparts * sizeof *s->parts) : NULL;
	for (uint32_t i = 0; s->parts && i < s->nparts && !r->bad; i++)
		r_part(r, &s->parts[i]);
}

static struct sv_list *r_list(struct reader *r)
{
	uint32_t n = r_u32(r);
	if (r->bad || n == NONE)
		return NULL;
	if ((size_t)n * 16 > r->left) {
		r->bad = true;
		return NULL;
	}
	struct sv_list *l = r_alloc(r, sizeof *l);
	if (!l)
		return NULL;
	l->n = n;
	l->v = r_alloc(r, (n ? n : 1) * sizeof *l->v);
	for (uint32_t i = 0; l->v && i < n && !r->bad; i++)
		r_str(r, &l->v[i]);
	return l;
}

/* The regexes of a :regex test's constant keys, compiled as the validator compiles them. */
/* The regexes of a :regex test's constant keys, in the order they were written. */
static void r_regexes(struct reader *r, struct sv_cmd *c)
{
	const struct sv_list *keys = c->list[1];
	if (c->m.mt != MT_REGEX || !keys || r->bad)
		return;
	c->m.rx = r_alloc(r, (keys->n ? keys->n : 1) * sizeof *c->m.rx);
	for (uint32_t i = 0; c->m.rx && i < keys->n && !r->bad; i++) {
		if (keys->v[i].nparts)
			continue;   /* a key with variables is compiled when it is expanded */
		if (r->rx_next >= r->prog->nregexes)
			r->bad = true;
		else
			c->m.rx[i] = r->prog->regexes[r->rx_next++];
	}
}

/* The serialized regexes, kept by the program (freed with it whatever comes next). */
static void r_regex_table(struct reader *r)
{
	uint64_t head[2];
	take(r, head, sizeof head);
	if (r->bad || head[1] > r->left || head[0] > (uint64_t)r->left || (head[0] == 0) != (head[1] == 0)) {
		r->bad = true;
		return;
	}
	size_t n = (size_t)head[0];
	struct sv_regex **v = n ? calloc(n, sizeof *v) : NULL;
	if (n && (!v || !sv_regex_deserialize(r->p, (size_t)head[1], n, v)))
		r->bad = true;
	for (size_t i = 0; v && i < n; i++)
		if (v[i] && !sv_program_keep_regex(r->prog, v[i])) {
			sv_regex_free(v[i]);
			r->bad = true;
		}
	free(v);
	r->p += head[1];
	r->left -= head[1];
}

static struct sv_cmd *r_cmd(struct reader *r);

/* A unit's code. */
static struct sv_cmd *r_chain(struct reader *r, uint32_t n)
{
	struct sv_cmd *head = NULL, **tail = &head;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		*tail = r_cmd(r);
		if (*tail)
			tail = &(*tail)->next;
	}
	return head;
}

static bool cmd_rec_valid(const struct cmd_rec *rec, const struct reader *r)
{
	return rec->op <= OP_MAILBOXEXISTS && rec->zone <= ZONE_ORIGINAL && rec->bt <= BT_CONTENT &&
	       rec->cmp <= CMP_NUMERIC && rec->mt <= MT_VALUE && rec->rel <= REL_NE && rec->ap <= AP_DETAIL &&
	       (rec->inc == NONE || rec->inc < r->prog->nunits) &&
	       (size_t)rec->ntests + rec->nblock <= r->left / sizeof(struct cmd_rec);
}

static void r_cmd_rec(struct reader *r, struct sv_cmd *c, struct cmd_rec *rec)
{
	if (!take(r, rec, sizeof *rec) || !cmd_rec_valid(rec, r)) {
		r->bad = true;
		memset(rec, 0, sizeof *rec);
		rec->inc = NONE;
		return;
	}
	c->num = rec->num;
	c->op = (uint16_t)rec->op, c->line = rec->line, c->col = rec->col, c->bits = rec->bits;
	c->m.index = rec->m_index, c->var = rec->var, c->ntests = rec->ntests;
	c->zone = rec->zone, c->bt = rec->bt, c->modifiers = rec->modifiers;
	c->m.cmp = rec->cmp, c->m.mt = rec->mt, c->m.rel = rec->rel, c->m.ap = rec->ap, c->m.last = rec->last != 0;
	c->var_global = rec->var_global != 0;
	if (rec->inc != NONE)
		c->inc = r->prog->units[rec->inc];
}

static struct sv_cmd *r_cmd(struct reader *r)
{
	/* as deep as the validator lets a script nest, tests and blocks counted */
	if (++r->depth > 2 * r->prog->lim.max_nesting + 8)
		r->bad = true;
	struct sv_cmd *c = r_alloc(r, sizeof *c);
	if (!c)
		return NULL;
	struct cmd_rec rec;
	r_cmd_rec(r, c, &rec);
	c->list[0] = r_list(r);
	c->list[1] = r_list(r);
	c->tlist = r_list(r);
	for (int i = 0; i < 4; i++)
		if ((rec.has & (HAS_STR << i)) && (c->str[i] = r_alloc(r, sizeof *c->str[i])) != NULL)
			r_str(r, c->str[i]);
	if (rec.has & HAS_TEST)
		c->test = r_cmd(r);
	c->tests = c->ntests ? r_alloc(r, c->ntests * sizeof *c->tests) : NULL;
	for (uint32_t i = 0; c->tests && i < c->ntests && !r->bad; i++)
		c->tests[i] = r_cmd(r);
	c->block = r_chain(r, rec.nblock);
	if (rec.has & HAS_ALT)
		c->alt = r_cmd(r);
	r_regexes(r, c);
	r->depth--;
	return c;
}

static char **r_names(struct reader *r, uint32_t *n)
{
	*n = r_count(r, 4);
	char **v = *n ? r_alloc(r, *n * sizeof *v) : NULL;
	for (uint32_t i = 0; v && i < *n && !r->bad; i++)
		v[i] = r_cstr(r);
	return v;
}

static void r_files(struct reader *r, struct sieve_script *p)
{
	p->nfiles = p->cap_files = r_count(r, 44);
	p->files = p->nfiles ? r_alloc(r, p->nfiles * sizeof *p->files) : NULL;
	for (uint32_t i = 0; p->files && i < p->nfiles && !r->bad; i++) {
		struct sv_file *f = &p->files[i];
		f->dev = (dev_t)r_u64(r);
		f->ino = (ino_t)r_u64(r);
		f->size = (off_t)r_u64(r);
		f->mtime.tv_sec = (time_t)r_u64(r);
		f->mtime.tv_nsec = (long)r_u64(r);
		f->path = r_cstr(r);
	}
}

static void r_units(struct reader *r, struct sieve_script *p)
{
	p->nunits = p->cap_units = r_count(r, 20);
	if (p->nunits == 0 || p->nunits > p->lim.max_includes + 1u)
		r->bad = true;
	p->units = r_alloc(r, (p->nunits ? p->nunits : 1) * sizeof *p->units);
	for (uint32_t i = 0; p->units && i < p->nunits && !r->bad; i++)
		if ((p->units[i] = r_alloc(r, sizeof *p->units[i])) != NULL)
			p->units[i]->index = i;
	for (uint32_t i = 0; p->units && i < p->nunits && !r->bad; i++) {
		struct sv_unit *u = p->units[i];
		u->name = r_cstr(r);
		u->exts = r_u32(r);
		u->global_loc = r_u8(r) != 0;
		u->missing = r_u8(r) != 0;
		u->local_names = r_names(r, &u->nlocals);
		u->cap_locals = u->nlocals;
		u->global_names = r_names(r, &u->nglobal_names);
		u->cap_gnames = u->nglobal_names;
		u->code = r_chain(r, r_count(r, sizeof(struct cmd_rec)));
	}
}

struct sieve_script *sv_cache_read(const unsigned char *p, size_t len, const struct sieve_compile_opts *o)
{
	struct sieve_script *prog = calloc(1, sizeof *prog);
	if (!prog)
		return NULL;
	sv_arena_init(&prog->arena, 0);
	if (o->limits)
		prog->lim = *o->limits;
	else
		sieve_limits_default(&prog->lim);
	prog->opts = *o;
	prog->opts.limits = NULL;
	prog->opts.extensions = NULL;
	prog->disabled = sv_ext_disabled(o->extensions);
	struct reader r = { p, len, false, prog, 0, 0 };
	r_regex_table(&r);
	prog->opts.personal_dir = o->personal_dir ? sv_strdup(&prog->arena, o->personal_dir) : NULL;
	prog->opts.global_dir = o->global_dir ? sv_strdup(&prog->arena, o->global_dir) : NULL;
	prog->globals = r_names(&r, &prog->nglobals);
	prog->cap_globals = prog->nglobals;
	r_files(&r, prog);
	r_units(&r, prog);
	if (r.bad || r.left != 0 || r.rx_next != prog->nregexes || prog->arena.over) {
		sieve_script_free(prog);
		return NULL;
	}
	return prog;
}

/* The whole file, if it is one this code wrote for these options; NULL otherwise. */
static unsigned char *read_whole(const char *path, uid_t owner, uint64_t key, size_t *len)
{
	struct trust_rule rule = { .owner = owner, .forbid = 022 };
	struct stat st;
	const char *why = NULL;
	int fd = trusted_open(path, O_RDONLY, 0, &rule, &st, &why);
	if (fd < 0)
		return NULL;
	struct cache_head h;
	unsigned char *buf = NULL;
	if (st.st_size > (off_t)sizeof h && st.st_size <= CACHE_MAX && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
	    memcmp(h.magic, cache_magic, sizeof h.magic) == 0 && h.format == CACHE_FORMAT && h.shape == shape() &&
	    h.key == key && h.len == (uint64_t)st.st_size - sizeof h && (buf = malloc(h.len ? h.len : 1)) != NULL) {
		if (pread(fd, buf, h.len, sizeof h) != (ssize_t)h.len || checksum(buf, h.len) != h.sum) {
			free(buf);
			buf = NULL;
		}
		*len = h.len;
	}
	close(fd);
	return buf;
}

struct sieve_script *sieve_cache_load(const char *cache_path, const char *script_path,
				      const struct sieve_compile_opts *opts)
{
	size_t len = 0;
	unsigned char *buf = read_whole(cache_path, opts->owner, key_of(script_path, opts), &len);
	if (!buf)
		return NULL;
	struct sieve_script *p = sv_cache_read(buf, len, opts);
	free(buf);
	if (p && (p->nfiles == 0 || strcmp(p->files[0].path, script_path) != 0 || !sieve_script_is_current(p))) {
		sieve_script_free(p);
		return NULL;
	}
	return p;
}
