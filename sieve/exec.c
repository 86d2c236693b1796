/* The interpreter: walks the compiled commands of each script in order, counting steps
 * and CPU time, and turns every failure into the implicit keep plus one error line. */
#include "sieve/internal.h"

#include "mbox/mbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int sv_fail(struct sv_exec *x, unsigned line, const char *fmt, ...)
{
	if (x->failed)
		return -1;
	x->failed = true;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = '?';
	const char *name = x->unit ? x->unit->name : "sieve";
	if (line)
		snprintf(x->error, sizeof x->error, "%s:%u: %s", name, line, msg);
	else
		snprintf(x->error, sizeof x->error, "%s: %s", name, msg);
	return -1;
}

static uint64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool sv_step(struct sv_exec *x, uint64_t n, unsigned line)
{
	if (x->failed)
		return false;
	uint64_t before = x->steps;
	x->steps += n;
	if (x->steps > x->lim->max_steps) {
		sv_fail(x, line, "too many steps (limit %llu)", (unsigned long long)x->lim->max_steps);
		return false;
	}
	if ((before >> 12) != (x->steps >> 12) && x->lim->max_cpu_ms && cpu_ms() - x->cpu_start > x->lim->max_cpu_ms) {
		sv_fail(x, line, "CPU time limit reached (%u ms)", x->lim->max_cpu_ms);
		return false;
	}
	return true;
}

/* A variable by name at run time (setflag/hasflag name their variables). */
static struct sv_var *var_by_name(struct sv_exec *x, const char *name, size_t len)
{
	const struct sv_unit *u = x->unit;
	if (len > 7 && strncasecmp(name, "global.", 7) == 0)
		name += 7, len -= 7;
	for (uint32_t i = 0; i < u->nglobal_names; i++)
		if (strlen(u->global_names[i]) == len && strncasecmp(u->global_names[i], name, len) == 0)
			for (uint32_t g = 0; g < x->prog->nglobals; g++)
				if (strcasecmp(x->prog->globals[g], u->global_names[i]) == 0)
					return &x->globals[g];
	for (uint32_t i = 0; i < u->nlocals; i++)
		if (strlen(u->local_names[i]) == len && strncasecmp(u->local_names[i], name, len) == 0)
			return &x->locals[i];
	return NULL;
}

struct sv_var *sv_flag_target(struct sv_exec *x, const struct sv_cmd *c, uint32_t i)
{
	if (!(c->bits & B_HASVAR))
		return &x->flags;
	const struct sv_str *s = &c->list[0]->v[i];
	return var_by_name(x, s->s, s->len);
}

static int exec_block(struct sv_exec *x, const struct sv_cmd *c);

static int exec_set(struct sv_exec *x, const struct sv_cmd *c)
{
	struct sv_val v;
	if (!sv_expand(x, c->str[S_VALUE], &v) || !sv_apply_modifiers(x, c->modifiers, &v))
		return X_ERROR;
	struct sv_var *var = sv_var_ref(x, c->var, c->var_global);
	if (!var)
		return sv_fail(x, c->line, "unknown variable"), X_ERROR;
	return sv_var_set(x, var, v.s, v.len) ? X_CONT : X_ERROR;
}

static int exec_include(struct sv_exec *x, const struct sv_cmd *c)
{
	const struct sv_unit *u = c->inc;
	if (!u || u->missing)
		return X_CONT;
	if ((c->bits & B_ONCE) && x->once[u->index])
		return X_CONT;
	x->once[u->index] = true;
	if (x->depth >= x->prog->lim.max_include_depth) {
		sv_fail(x, c->line, "include nested too deeply (limit %u)", x->prog->lim.max_include_depth);
		return X_ERROR;
	}
	x->depth++;
	int r = sv_run_unit(x, u);
	x->depth--;
	return r == X_RETURN ? X_CONT : r;
}

static int exec_action(struct sv_exec *x, const struct sv_cmd *c)
{
	struct sv_val v;
	const char *const *flags = NULL;
	size_t nflags = 0;
	switch (c->op) {
	case OP_KEEP:
		if (!sv_action_flags(x, c, &flags, &nflags))
			return X_ERROR;
		return sv_act_keep(x, c, flags, nflags) < 0 ? X_ERROR : X_CONT;
	case OP_DISCARD:
		return sv_act_discard(x, c) < 0 ? X_ERROR : X_CONT;
	case OP_FILEINTO:
		if (!sv_expand(x, c->str[S_TARGET], &v) || !sv_action_flags(x, c, &flags, &nflags))
			return X_ERROR;
		return sv_act_fileinto(x, c, v.s, v.len, flags, nflags) < 0 ? X_ERROR : X_CONT;
	case OP_REDIRECT:
		if (!sv_expand(x, c->str[S_TARGET], &v))
			return X_ERROR;
		return sv_act_redirect(x, c, v.s, v.len) < 0 ? X_ERROR : X_CONT;
	case OP_REJECT:
	case OP_EREJECT:
		if (!sv_expand(x, c->str[S_REASON], &v))
			return X_ERROR;
		return sv_act_reject(x, c, v.s, v.len) < 0 ? X_ERROR : X_CONT;
	case OP_VACATION:
		return sv_exec_vacation(x, c) < 0 ? X_ERROR : X_CONT;
	default:
		sv_fail(x, c->line, "unknown command");
		return X_ERROR;
	}
}

static int exec_cmd(struct sv_exec *x, const struct sv_cmd *c)
{
	if (!sv_step(x, 1, c->line))
		return X_ERROR;
	switch (c->op) {
	case OP_IF:
	case OP_ELSIF: {
		int r = sv_test(x, c->test);
		if (r < 0)
			return X_ERROR;
		if (r)
			return exec_block(x, c->block);
		return c->alt ? exec_cmd(x, c->alt) : X_CONT;
	}
	case OP_ELSE:
		return exec_block(x, c->block);
	case OP_STOP:
		return X_STOP;
	case OP_RETURN:
		return X_RETURN;
	case OP_SET:
		return exec_set(x, c);
	case OP_SETFLAG:
	case OP_ADDFLAG:
	case OP_REMOVEFLAG: {
		struct sv_var *v = sv_flag_target(x, c, 0);
		if (!v)
			return sv_fail(x, c->line, "unknown variable"), X_ERROR;
		return sv_flags_apply(x, v, c->op, c->list[1]) ? X_CONT : X_ERROR;
	}
	case OP_INCLUDE:
		return exec_include(x, c);
	case OP_NOP:
		return X_CONT;
	default:
		return exec_action(x, c);
	}
}

static int exec_block(struct sv_exec *x, const struct sv_cmd *c)
{
	for (; c; c = c->next) {
		/* What a command leaves in scratch memory is dead once it is done: anything that
		 * lives on was copied into a variable or the result. */
		struct sv_mark m = sv_arena_mark(x->scratch);
		int r = exec_cmd(x, c);
		sv_arena_release(x->scratch, m);
		if (x->failed)
			return X_ERROR;
		if (r != X_CONT)
			return r;
	}
	return X_CONT;
}

static void free_vars(struct sv_var *v, uint32_t n)
{
	for (uint32_t i = 0; v && i < n; i++)
		free(v[i].s);
	free(v);
}

int sv_run_unit(struct sv_exec *x, const struct sv_unit *u)
{
	const struct sv_unit *saved_unit = x->unit;
	struct sv_var *saved_locals = x->locals;
	uint32_t saved_n = x->nlocals;
	x->unit = u;
	x->nlocals = u->nlocals;
	x->locals = u->nlocals ? calloc(u->nlocals, sizeof *x->locals) : NULL;
	int r;
	if (u->nlocals && !x->locals) {
		sv_fail(x, 0, "out of memory");
		r = X_ERROR;
	} else {
		r = exec_block(x, u->code);
	}
	free_vars(x->locals, x->nlocals);
	x->unit = saved_unit;
	x->locals = saved_locals;
	x->nlocals = saved_n;
	return r;
}

/* ------------------------------------------------------------------ public */

static bool run_script(struct sv_exec *x, const struct sieve_script *s, bool *keep)
{
	x->prog = s;
	x->globals = s->nglobals ? calloc(s->nglobals, sizeof *x->globals) : NULL;
	x->once = calloc(s->nunits ? s->nunits : 1, sizeof *x->once);
	x->unit = NULL;
	x->depth = 0;
	x->nmatch = 0;
	/* x->flags lives on: Pigeonhole carries the imap4flags internal variable from one
	 * script of the sequence to the next. */
	if ((s->nglobals && !x->globals) || !x->once) {
		sv_fail(x, 0, "out of memory");
	} else {
		size_t mark = sv_rb_mark(x->rb);
		sv_rb_script_start(x->rb);
		int r = sv_run_unit(x, s->units[0]);
		if (r == X_ERROR || x->failed)
			sv_rb_rollback(x->rb, mark);
		else
			*keep = sv_rb_implicit_keep(x->rb);
	}
	free_vars(x->globals, s->nglobals);
	x->globals = NULL;
	free(x->once);
	x->once = NULL;
	return !x->failed;
}

struct sieve_result *sieve_execute(const struct sieve_script *const *scripts, size_t n, const struct mbox_spool *msg,
				   const struct sieve_envelope *env, const struct sieve_exec_opts *opts)
{
	static const struct sieve_exec_opts no_opts;
	static const struct sieve_envelope no_env;
	struct sieve_limits defaults;
	sieve_limits_default(&defaults);
	if (!opts)
		opts = &no_opts;
	if (!env)
		env = &no_env;
	struct sieve_result *res = calloc(1, sizeof *res);
	struct sieve_result_priv *priv = calloc(1, sizeof *priv);
	if (!res || !priv) {
		free(res);
		free(priv);
		return NULL;
	}
	res->priv = priv;
	const struct sieve_limits *lim = opts->limits ? opts->limits : &defaults;
	sv_arena_init(&priv->arena, lim->max_memory);
	sv_arena_init(&priv->scratch, lim->max_memory);
	struct sv_exec x = { .lim = lim, .env = env, .opts = opts, .scratch = &priv->scratch };
	x.now = opts->now ? opts->now : time(NULL);
	x.rb = sv_rb_new(&priv->arena);
	x.msg = sv_msg_open(msg, lim, &priv->arena);
	x.cpu_start = cpu_ms();
	bool keep = true;
	if (!x.rb || !x.msg) {
		sv_fail(&x, 0, "cannot read the message");
	} else {
		for (size_t i = 0; i < n && keep; i++) {
			if (scripts[i] && !run_script(&x, scripts[i], &keep))
				break;
		}
	}
	if (x.failed)
		keep = true;
	const char **flags = NULL;
	size_t nflags = x.failed ? 0 : sv_flags_split(&priv->arena, x.flags.s ? x.flags.s : "", x.flags.len, &flags);
	sv_rb_finish(&x, res, keep, flags, nflags);
	if (x.failed) {
		res->failed = true;
		snprintf(res->error, sizeof res->error, "%s", x.error);
	}
	for (unsigned i = 0; i < SV_MATCH_MAX; i++)
		free(x.match[i].s);
	free(x.flags.s);
	sv_arena_free(&priv->scratch);
	return res;
}

void sieve_result_free(struct sieve_result *res)
{
	if (!res)
		return;
	if (res->priv) {
		sv_arena_free(&res->priv->arena);
		free(res->priv);
	}
	free(res);
}
