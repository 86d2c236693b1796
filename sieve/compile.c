/* Compiling: reading a script file under the trust rule, parsing and validating it, and
 * resolving its includes (RFC 6609) into one program. */
#include "sieve/commands.h"
#include "sieve/syntax.h"

#include "common/trusted.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sieve_limits_default(struct sieve_limits *l)
{
	*l = (struct sieve_limits){
		.max_script_size = 1 << 20,
		.max_include_depth = 10,
		.max_includes = 255,
		.max_nesting = 64,
		.max_steps = 5000000,
		.max_cpu_ms = 5000,
		.max_string = 4096,
		.max_variables = 255,
		.max_actions = 32,
		.max_redirects = 4,
		.max_header_bytes = 1 << 20,
		.max_body_bytes = 4 << 20,
		.max_mime_parts = 512,
		.max_memory = 32 << 20,
		.regex_match_limit = 100000,
		.regex_depth_limit = 1000,
		.regex_heap_limit_kb = 8192,
		.vacation_min_period = 86400,
		.vacation_max_period = 0,
		.vacation_default_period = 7 * 86400,
		.duplicate_default_period = 14 * 86400,
		.duplicate_max_period = 7 * 86400,
	};
}

static void *grow(struct sieve_script *p, void *arr, uint32_t n, uint32_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	uint32_t nc = *cap ? *cap * 2 : 8;
	void *a = sv_alloc(&p->arena, nc * size);
	if (!a)
		return NULL;
	if (n)
		memcpy(a, arr, n * size);
	*cap = nc;
	return a;
}

bool sv_program_keep_regex(struct sieve_script *p, struct sv_regex *rx)
{
	struct sv_regex **a = grow(p, p->regexes, p->nregexes, &p->cap_regexes, sizeof *a);
	if (!a)
		return false;
	p->regexes = a;
	p->regexes[p->nregexes++] = rx;
	return true;
}

static bool remember_file(struct sieve_script *p, const char *path, const struct stat *st)
{
	struct sv_file *a = grow(p, p->files, p->nfiles, &p->cap_files, sizeof *a);
	if (!a)
		return false;
	p->files = a;
	struct sv_file *f = &p->files[p->nfiles++];
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->path = sv_strdup(&p->arena, path);
	return f->path != NULL;
}

/* Reads a script file the trust rule allows into arena memory. NULL with errno set (ENOENT
 * missing, EPERM untrusted, EFBIG too large) and the error reported. */
static char *read_script(struct sieve_script *p, const char *path, bool global, size_t *len, struct sv_diag *d)
{
	struct trust_rule rule = { .owner = (uid_t)-1, .forbid = p->opts.check_owner ? 022 : 0 };
	struct stat st;
	const char *why = NULL;
	int fd = trusted_open(path, O_RDONLY, 0, &rule, &st, &why);
	if (fd < 0) {
		int err = errno;
		if (why)
			sv_error(d, 0, 0, "not used: %s", why);
		else
			sv_error(d, 0, 0, "cannot open: %s", strerror(err));
		errno = err;
		return NULL;
	}
	uid_t want = global ? geteuid() : p->opts.owner;
	if (p->opts.check_owner && st.st_uid != 0 && st.st_uid != want) {
		close(fd);
		sv_error(d, 0, 0, "not used: owned by uid %u, not by %u or root", (unsigned)st.st_uid, (unsigned)want);
		errno = EPERM;
		return NULL;
	}
	if ((size_t)st.st_size > p->lim.max_script_size) {
		close(fd);
		sv_error(d, 0, 0, "script too large (%lld bytes, limit %zu)", (long long)st.st_size, p->lim.max_script_size);
		errno = EFBIG;
		return NULL;
	}
	char *buf = sv_alloc_raw(&p->arena, (size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[got] = '\0';
	if (!buf || got != (size_t)st.st_size) {
		sv_error(d, 0, 0, "cannot read the script");
		errno = EIO;
		return NULL;
	}
	if (!remember_file(p, path, &st)) {
		errno = ENOMEM;
		return NULL;
	}
	*len = got;
	return buf;
}

static struct sv_unit *new_unit(struct sieve_script *p, const char *name, bool global)
{
	struct sv_unit **a = grow(p, p->units, p->nunits, &p->cap_units, sizeof *a);
	struct sv_unit *u = sv_alloc(&p->arena, sizeof *u);
	if (!a || !u)
		return NULL;
	p->units = a;
	u->name = sv_strdup(&p->arena, name);
	u->global_loc = global;
	u->index = p->nunits;
	p->units[p->nunits++] = u;
	return u->name ? u : NULL;
}

/* Parses and validates text as unit u. The syntax tree lives in an arena of its own that
 * is gone after validation; the strings the program keeps come from the program's. */
static bool compile_text(struct sieve_script *p, struct sv_unit *u, const char *text, size_t len, struct sv_diag *d)
{
	struct sv_lexer lx;
	struct sv_arena tree_arena;
	bool ok;
	sv_arena_init(&tree_arena, 0);
	sv_lex_init(&lx, text, len, &p->arena, d);
	struct sv_gnode *tree = sv_parse(&lx, &tree_arena, p->lim.max_nesting, &ok);
	if (ok) {
		u->compiling = true;
		ok = sv_validate(p, u, tree, d);
		u->compiling = false;
		if ((p->arena.over || tree_arena.over) && ok) {
			sv_error(d, 0, 0, "out of memory");
			ok = false;
		}
	}
	sv_arena_free(&tree_arena);
	return ok;
}

struct sv_unit *sv_compile_include(struct sieve_script *p, const char *name, bool global, bool optional,
				   unsigned line, unsigned col, struct sv_diag *d)
{
	const char *dir = global ? p->opts.global_dir : p->opts.personal_dir;
	if (!dir) {
		sv_error(d, line, col, "include: no %s script directory is configured", global ? "global" : "personal");
		return NULL;
	}
	char path[SV_PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s.sieve", dir, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		sv_error(d, line, col, "include: script path too long");
		return NULL;
	}
	for (uint32_t i = 0; i < p->nunits; i++) {
		struct sv_unit *u = p->units[i];
		if (u->global_loc != global || strcmp(u->name, path) != 0)
			continue;
		if (u->compiling) {
			sv_error(d, line, col, "include: '%s' includes itself (directly or through others)", name);
			return NULL;
		}
		return u;
	}
	if (p->nunits > p->lim.max_includes) {
		sv_error(d, line, col, "include: too many scripts (limit %u)", p->lim.max_includes);
		return NULL;
	}
	if (p->include_depth >= p->lim.max_include_depth) {
		sv_error(d, line, col, "include: nested too deeply (limit %u)", p->lim.max_include_depth);
		return NULL;
	}
	struct sv_unit *u = new_unit(p, path, global);
	if (!u) {
		sv_error(d, line, col, "out of memory");
		return NULL;
	}
	struct sv_diag sub = { d->errs, u->name };
	size_t len;
	char *text = read_script(p, path, global, &len, &sub);
	if (!text) {
		if (optional && errno == ENOENT) {
			/* the error line just written is not an error after all */
			d->errs->count--;
			char *nl = d->errs->len ? memrchr(d->errs->text, '\n', d->errs->len - 1) : NULL;
			d->errs->len = nl ? (size_t)(nl - d->errs->text) + 1 : 0;
			d->errs->text[d->errs->len] = '\0';
			u->missing = true;
			return u;
		}
		sv_error(d, line, col, "include: cannot use script '%s'", name);
		return NULL;
	}
	p->include_depth++;
	bool ok = compile_text(p, u, text, len, &sub);
	p->include_depth--;
	if (!ok) {
		sv_error(d, line, col, "include: script '%s' has errors", name);
		return NULL;
	}
	return u;
}

static struct sieve_script *new_program(const struct sieve_compile_opts *opts)
{
	struct sieve_script *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	sv_arena_init(&p->arena, 0);
	if (opts)
		p->opts = *opts;
	if (opts && opts->limits)
		p->lim = *opts->limits;
	else
		sieve_limits_default(&p->lim);
	p->opts.limits = NULL;
	p->disabled = sv_ext_disabled(p->opts.extensions);
	p->opts.extensions = NULL;
	/* The directories are copied: callers may pass temporary strings. */
	if (p->opts.personal_dir)
		p->opts.personal_dir = sv_strdup(&p->arena, p->opts.personal_dir);
	if (p->opts.global_dir)
		p->opts.global_dir = sv_strdup(&p->arena, p->opts.global_dir);
	return p;
}

struct sieve_script *sieve_compile_buffer(const char *name, const char *text, size_t len,
					  const struct sieve_compile_opts *opts, struct sieve_errors *errs)
{
	struct sieve_errors scratch;
	if (!errs)
		errs = &scratch;
	sieve_errors_clear(errs);
	struct sieve_script *p = new_program(opts);
	if (!p)
		return NULL;
	struct sv_unit *u = new_unit(p, name, false);
	struct sv_diag d = { errs, u ? u->name : name };
	if (!u) {
		sv_error(&d, 0, 0, "out of memory");
	} else if (len > p->lim.max_script_size) {
		sv_error(&d, 0, 0, "script too large (%zu bytes, limit %zu)", len, p->lim.max_script_size);
	} else if (compile_text(p, u, text, len, &d) && errs->count == 0) {
		return p;
	}
	sieve_script_free(p);
	return NULL;
}

struct sieve_script *sieve_compile_file(const char *path, const struct sieve_compile_opts *opts,
					struct sieve_errors *errs)
{
	struct sieve_errors scratch;
	if (!errs)
		errs = &scratch;
	sieve_errors_clear(errs);
	struct sieve_compile_opts o = opts ? *opts : (struct sieve_compile_opts){ 0 };
	char dir[SV_PATH_MAX];
	if (!o.personal_dir) {
		const char *slash = strrchr(path, '/');
		if (slash && (size_t)(slash - path) < sizeof dir) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
			o.personal_dir = slash == path ? "/" : dir;
		} else {
			o.personal_dir = ".";
		}
	}
	struct sieve_script *p = new_program(&o);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	struct sv_unit *u = new_unit(p, path, false);
	struct sv_diag d = { errs, path };
	int err = 0;
	if (!u) {
		sv_error(&d, 0, 0, "out of memory");
		err = ENOMEM;
	} else {
		size_t len;
		char *text = read_script(p, path, false, &len, &d);
		if (!text)
			err = errno;
		else if (compile_text(p, u, text, len, &d) && errs->count == 0)
			return p;
		else
			err = EINVAL;
	}
	sieve_script_free(p);
	errno = err;
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sieve_compile_dir(const char *dir, const struct sieve_compile_opts *opts, struct sieve_script **out, size_t max,
		      size_t *n, struct sieve_errors *errs)
{
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	char *names[256];
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL && count < sizeof names / sizeof names[0]) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 6 || strcmp(e->d_name + len - 6, ".sieve") != 0)
			continue;
		if (!(names[count] = strdup(e->d_name)))
			break;
		count++;
	}
	closedir(dp);
	qsort(names, count, sizeof names[0], cmp_str);
	int failed = 0;
	struct sieve_errors one;
	for (size_t i = 0; i < count; i++) {
		char path[SV_PATH_MAX];
		int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		free(names[i]);
		if (len < 0 || (size_t)len >= sizeof path || *n >= max) {
			failed++;
			continue;
		}
		struct sieve_script *s = sieve_compile_file(path, opts, &one);
		if (errs && (one.count || one.warnings) && errs->len + one.len < sizeof errs->text) {
			memcpy(errs->text + errs->len, one.text, one.len + 1);
			errs->len += one.len;
			errs->count += one.count;
			errs->warnings += one.warnings;
		}
		if (s)
			out[(*n)++] = s;
		else
			failed++;
	}
	return failed;
}

bool sieve_script_is_current(const struct sieve_script *s)
{
	for (uint32_t i = 0; i < s->nfiles; i++) {
		struct stat st;
		const struct sv_file *f = &s->files[i];
		if (lstat(f->path, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino || st.st_size != f->size ||
		    st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec)
			return false;
	}
	return true;
}

void sieve_script_jit(struct sieve_script *s)
{
	for (uint32_t i = 0; s && i < s->nregexes; i++)
		sv_regex_jit(s->regexes[i]);
}

const char *sieve_script_name(const struct sieve_script *s)
{
	return s && s->nunits ? s->units[0]->name : "";
}

void sieve_script_free(struct sieve_script *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nregexes; i++)
		sv_regex_free(s->regexes[i]);
	sv_arena_free(&s->arena);
	free(s);
}
