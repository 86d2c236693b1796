/* Which Sieve scripts run for a user: compiled once per process, kept while their files stay
 * the same (the LMTP session serves many messages), read with the user's identity. */
#include "mda/deliver_sieve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privs.h"
#include "mda/deliver_sieve_int.h"
#include "sieve/sieve.h"

/* Users an LMTP session keeps compiled; the next one replaces the oldest entry. */
#define SIEVE_CACHE_USERS 64

/* Deliveries of a cached script before its regexes are JIT-compiled here: the executions
 * happen in forked children, whose use counts never come back (sieve_script_jit). */
#define SIEVE_JIT_AFTER 4

struct cached_script {
	uid_t uid;
	unsigned uses;
	struct sieve_script *s;   /* sieve_script_name(s) is the path it was compiled from */
};

/* sieve_before or sieve_after: a file or a directory, recompiled when it or a file changes. */
struct global_scripts {
	char path[CFG_PATH_MAX];
	struct stat st;           /* of path when compiled (a directory's mtime tells of new files) */
	bool loaded;
	unsigned uses;            /* deliveries since compiled (SIEVE_JIT_AFTER) */
	struct sieve_script *v[DELIVER_SIEVE_GLOBAL_MAX];
	size_t n;
};

struct deliver_sieve {
	struct cached_script users[SIEVE_CACHE_USERS];
	size_t next;
	struct global_scripts before, after;
	struct deliver_sieve_set set;
};

void deliver_sieve_limits(const struct config *cfg, struct sieve_limits *l)
{
	sieve_limits_default(l);
	l->max_actions = (unsigned)cfg->sieve_max_actions;
	l->max_redirects = (unsigned)cfg->sieve_max_redirects;
	l->max_cpu_ms = cfg->sieve_max_cpu_time > 3600 ? 3600000u : (unsigned)cfg->sieve_max_cpu_time * 1000u;
	l->max_script_size = (size_t)cfg->sieve_max_script_size;
	l->vacation_min_period = (uint64_t)cfg->sieve_vacation_min_period;
	l->vacation_max_period = (uint64_t)cfg->sieve_vacation_max_period;
	l->vacation_default_period = (uint64_t)cfg->sieve_vacation_default_period;
}

bool deliver_sieve_user_path(const char *tmpl, const struct user_info *u, char *out, size_t size)
{
	int n;
	if (!tmpl[0])
		return false;
	if (tmpl[0] == '~' && tmpl[1] == '/')
		n = snprintf(out, size, "%s/%s", u->home, tmpl + 2);
	else
		n = snprintf(out, size, "%s", tmpl);
	return n > 0 && (size_t)n < size;
}

/* One warning per script left out: its first error is FILE:LINE:COLUMN: reason. */
static void log_unused(const char *who, const char *path, const struct sieve_errors *errs)
{
	int err = errno;
	char first[512];
	sieve_errors_first(errs, first, sizeof first);
	log_msg(LOG_WARNING, "sieve: %s script %s not used (%s): %s", who, path,
		err == EPERM || err == ELOOP ? "unsafe" : "does not compile", first[0] ? first : strerror(err));
}

static void globals_free(struct global_scripts *g)
{
	for (size_t i = 0; i < g->n; i++)
		sieve_script_free(g->v[i]);
	g->n = 0;
	g->loaded = false;
}

static bool globals_current(const struct global_scripts *g, const char *path)
{
	struct stat st;
	if (!g->loaded || strcmp(g->path, path) != 0)
		return false;
	if (!path[0])
		return true;
	if (stat(path, &st) != 0 || st.st_ino != g->st.st_ino || st.st_dev != g->st.st_dev ||
	    st.st_size != g->st.st_size || st.st_mtim.tv_sec != g->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != g->st.st_mtim.tv_nsec)
		return false;
	for (size_t i = 0; i < g->n; i++)
		if (!sieve_script_is_current(g->v[i]))
			return false;
	return true;
}

/* The administrator's scripts must belong to root or to the user mda runs as. */
static void globals_load(struct global_scripts *g, const char *path, const struct sieve_compile_opts *co,
			 const char *who)
{
	struct sieve_errors errs;
	if (globals_current(g, path)) {
		if (++g->uses == SIEVE_JIT_AFTER)
			for (size_t i = 0; i < g->n; i++)
				sieve_script_jit(g->v[i]);
		return;
	}
	globals_free(g);
	g->uses = 0;
	snprintf(g->path, sizeof g->path, "%s", path);
	g->loaded = true;
	if (!path[0])
		return;
	if (stat(path, &g->st) != 0) {
		log_msg(LOG_WARNING, "sieve: %s %s not used: %s", who, path, strerror(errno));
		return;
	}
	if (S_ISDIR(g->st.st_mode)) {
		if (sieve_compile_dir(path, co, g->v, DELIVER_SIEVE_GLOBAL_MAX, &g->n, &errs) != 0)
			log_unused(who, path, &errs);
		return;
	}
	if ((g->v[0] = sieve_compile_file(path, co, &errs)) != NULL)
		g->n = 1;
	else
		log_unused(who, path, &errs);
}

static struct cached_script *cache_find(struct deliver_sieve *c, uid_t uid, const char *path)
{
	for (size_t i = 0; i < SIEVE_CACHE_USERS; i++)
		if (c->users[i].s && c->users[i].uid == uid && strcmp(sieve_script_name(c->users[i].s), path) == 0)
			return &c->users[i];
	return NULL;
}

static void cache_drop(struct cached_script *e)
{
	sieve_script_free(e->s);
	e->s = NULL;
}

/* What user_script needs inside privs_call_as. */
struct user_load {
	struct deliver_sieve *c;
	const struct user_info *u;
	struct sieve_compile_opts co;
	const char *path;
	const char *disk;          /* the compiled form on disk (sieve_cache), NULL: none */
	struct sieve_script *out;
};

/* The user's script compiled, from the form kept on disk when it is current. The disk form
 * is read and written only by a process that is the user and nothing more (stdin mode run
 * by the MTA as the user): a root LMTP daemon keeps its programs in memory instead, and
 * never believes a file the user could have crafted. */
static struct sieve_script *compile_user(struct user_load *ul, struct sieve_errors *errs)
{
	bool disk = ul->disk && privs_only_user(ul->u->uid);
	struct sieve_script *s = disk ? sieve_cache_load(ul->disk, ul->path, &ul->co) : NULL;
	if (s)
		return s;
	s = sieve_compile_file(ul->path, &ul->co, errs);
	/* a home it cannot write only costs the next delivery a compile */
	if (s && disk)
		(void)sieve_cache_save(s, ul->disk, ul->path, &ul->co);
	return s;
}

static int user_script(void *arg)
{
	struct user_load *ul = arg;
	struct sieve_errors errs;
	struct stat st;
	struct cached_script *e = cache_find(ul->c, ul->u->uid, ul->path);
	if (e && sieve_script_is_current(e->s)) {
		if (++e->uses == SIEVE_JIT_AFTER)
			sieve_script_jit(e->s);
		ul->out = e->s;
		return 0;
	}
	if (e)
		cache_drop(e);
	/* No script is the common case: one lstat, nothing logged. */
	if (lstat(ul->path, &st) != 0 && errno == ENOENT)
		return 0;
	struct sieve_script *s = compile_user(ul, &errs);
	if (!s) {
		log_unused(ul->u->name, ul->path, &errs);
		return 0;
	}
	e = &ul->c->users[ul->c->next];
	ul->c->next = (ul->c->next + 1) % SIEVE_CACHE_USERS;
	cache_drop(e);
	e->uid = ul->u->uid;
	e->uses = 0;
	e->s = s;
	ul->out = s;
	return 0;
}

static struct sieve_script *load_user(struct deliver_sieve *c, const struct config *cfg,
					    const struct user_info *u, const struct sieve_compile_opts *global)
{
	char path[CFG_PATH_MAX], dir[CFG_PATH_MAX], disk[CFG_PATH_MAX];
	struct result r;
	struct user_load ul = { .c = c, .u = u, .co = *global, .path = path };
	if (!deliver_sieve_user_path(cfg->sieve, u, path, sizeof path))
		return NULL;
	if (deliver_sieve_user_path(cfg->sieve_cache, u, disk, sizeof disk))
		ul.disk = disk;
	ul.co.owner = u->uid;
	ul.co.personal_dir = deliver_sieve_user_path(cfg->sieve_dir, u, dir, sizeof dir) ? dir : NULL;
	if (privs_call_as(u->uid, u->gid, user_script, &ul, &r) < 0)
		log_msg(LOG_WARNING, "sieve: script of %s not used: %s", u->name, r.reason);
	return ul.out;
}

static void set_add(struct deliver_sieve_set *set, struct sieve_script *const *v, size_t n)
{
	for (size_t i = 0; i < n && set->n < sizeof set->v / sizeof set->v[0]; i++)
		set->v[set->n++] = v[i];
}

const struct deliver_sieve_set *deliver_sieve_load(struct deliver_sieve **cache, const struct config *cfg,
						   const struct user_info *u)
{
	struct sieve_limits lim;
	if (!cfg->sieve[0] && !cfg->sieve_before[0] && !cfg->sieve_after[0])
		return NULL;
	if (!*cache && !(*cache = calloc(1, sizeof **cache))) {
		log_msg(LOG_WARNING, "sieve: out of memory, delivering without scripts");
		return NULL;
	}
	struct deliver_sieve *c = *cache;
	deliver_sieve_limits(cfg, &lim);
	struct sieve_compile_opts co = {
		.limits = &lim, .check_owner = true, .owner = geteuid(),
		.global_dir = cfg->sieve_global_dir[0] ? cfg->sieve_global_dir : NULL,
		.extensions = cfg->sieve_extensions[0] ? cfg->sieve_extensions : NULL,
	};
	globals_load(&c->before, cfg->sieve_before, &co, "sieve_before");
	globals_load(&c->after, cfg->sieve_after, &co, "sieve_after");
	struct sieve_script *mine = load_user(c, cfg, u, &co);
	c->set.n = 0;
	set_add(&c->set, c->before.v, c->before.n);
	set_add(&c->set, &mine, mine ? 1 : 0);
	set_add(&c->set, c->after.v, c->after.n);
	return c->set.n ? &c->set : NULL;
}

void deliver_sieve_free(struct deliver_sieve *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SIEVE_CACHE_USERS; i++)
		cache_drop(&c->users[i]);
	globals_free(&c->before);
	globals_free(&c->after);
	free(c);
}
