/* mailx variables (set/unset), aliases, ignore/retain lists and the word splitter they share. */
#include "mailcmd/mail.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mail_kv {
	char *name;
	char *value;
};

/* Small sorted-on-output arrays: a user has dozens of variables, not thousands. */
static struct mail_kv *vars, *aliases;
static size_t n_vars, n_aliases;
static char **ignores[MAIL_N_LISTS];
static size_t n_ignores[MAIL_N_LISTS];

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

static struct mail_kv *kv_find(struct mail_kv *a, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a[i].name, name))
			return &a[i];
	return NULL;
}

static void kv_remove(struct mail_kv *a, size_t *n, const char *name)
{
	struct mail_kv *k = kv_find(a, *n, name);
	if (!k)
		return;
	free(k->name);
	free(k->value);
	*k = a[--*n];
}

void mail_var_set(const char *name, const char *value)
{
	if (!strncmp(name, "no", 2) && name[2] && !value) {
		mail_var_unset(name + 2);
		return;
	}
	struct mail_kv *k = kv_find(vars, n_vars, name);
	if (k) {
		free(k->value);
		k->value = xstrdup(value);
		return;
	}
	vars = xrealloc(vars, (n_vars + 1) * sizeof *vars);
	vars[n_vars].name = xstrdup(name);
	vars[n_vars++].value = xstrdup(value);
}

void mail_var_unset(const char *name)
{
	kv_remove(vars, &n_vars, name);
}

const char *mail_var_get(const char *name)
{
	struct mail_kv *k = kv_find(vars, n_vars, name);
	return k ? k->value : NULL;
}

bool mail_var_isset(const char *name)
{
	return mail_var_get(name) != NULL;
}

long mail_var_num(const char *name, long def)
{
	const char *v = mail_var_get(name);
	char *end;
	if (!v || !*v)
		return def;
	long n = strtol(v, &end, 10);
	return *end ? def : n;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mail_kv *)a)->name, ((const struct mail_kv *)b)->name);
}

void mail_var_list(FILE *out)
{
	qsort(vars, n_vars, sizeof *vars, kv_cmp);
	for (size_t i = 0; i < n_vars; i++) {
		if (vars[i].value[0])
			fprintf(out, "%s=\"%s\"\n", vars[i].name, vars[i].value);
		else
			fprintf(out, "%s\n", vars[i].name);
	}
}

void mail_vars_reset(void)
{
	while (n_vars)
		kv_remove(vars, &n_vars, vars[0].name);
	while (n_aliases)
		kv_remove(aliases, &n_aliases, aliases[0].name);
	for (int k = 0; k < MAIL_N_LISTS; k++)
		mail_ignore_clear(k);
}

void mail_alias_add(const char *name, char *const *members, size_t n)
{
	struct mail_kv *k = kv_find(aliases, n_aliases, name);
	if (!k) {
		aliases = xrealloc(aliases, (n_aliases + 1) * sizeof *aliases);
		k = &aliases[n_aliases++];
		k->name = xstrdup(name);
		k->value = xstrdup("");
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(k->value) + strlen(members[i]) + 3;
		char *v = xrealloc(NULL, len);
		snprintf(v, len, "%s%s%s", k->value, k->value[0] ? ", " : "", members[i]);
		free(k->value);
		k->value = v;
	}
}

const char *mail_alias_get(const char *name)
{
	struct mail_kv *k = kv_find(aliases, n_aliases, name);
	return k ? k->value : NULL;
}

void mail_alias_list(FILE *out)
{
	qsort(aliases, n_aliases, sizeof *aliases, kv_cmp);
	for (size_t i = 0; i < n_aliases; i++)
		fprintf(out, "%s\t%s\n", aliases[i].name, aliases[i].value);
}

void mail_alias_remove(const char *name)
{
	kv_remove(aliases, &n_aliases, name);
}

/* Appends one address to a growing comma list, expanding aliases depth levels deep. */
static void expand_into(char **out, size_t *len, const char *item, int depth)
{
	const char *members = depth < 8 ? mail_alias_get(item) : NULL;
	if (members) {
		char *copy = xstrdup(members), *save = NULL;
		for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
			expand_into(out, len, t, depth + 1);
		free(copy);
		return;
	}
	size_t add = strlen(item) + 3;
	*out = xrealloc(*out, *len + add);
	*len += (size_t)snprintf(*out + *len, add, "%s%s", *len ? ", " : "", item);
}

char *mail_alias_expand(const char *list)
{
	char *out = xstrdup(""), *copy = xstrdup(list ? list : "");
	size_t len = 0;
	/* addresses with display names stay whole: split on commas only when one is present */
	const char *seps = strchr(copy, ',') || strchr(copy, '<') ? "," : ", \t";
	char *save = NULL;
	for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
		while (isspace((unsigned char)*t))
			t++;
		size_t l = strlen(t);
		while (l && isspace((unsigned char)t[l - 1]))
			t[--l] = '\0';
		if (*t)
			expand_into(&out, &len, t, 0);
	}
	free(copy);
	return out;
}

void mail_ignore_add(int kind, const char *field)
{
	for (size_t i = 0; i < n_ignores[kind]; i++)
		if (!strcasecmp(ignores[kind][i], field))
			return;
	ignores[kind] = xrealloc(ignores[kind], (n_ignores[kind] + 1) * sizeof(char *));
	char *copy = xstrdup(field);
	for (char *p = copy; kind != MAIL_ALTERNATES && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	ignores[kind][n_ignores[kind]++] = copy;
}

void mail_ignore_remove(int kind, const char *field)
{
	for (size_t i = 0; i < n_ignores[kind]; i++)
		if (!strcasecmp(ignores[kind][i], field)) {
			free(ignores[kind][i]);
			memmove(ignores[kind] + i, ignores[kind] + i + 1, (n_ignores[kind] - i - 1) * sizeof(char *));
			n_ignores[kind]--;
			return;
		}
}

void mail_ignore_clear(int kind)
{
	for (size_t i = 0; i < n_ignores[kind]; i++)
		free(ignores[kind][i]);
	free(ignores[kind]);
	ignores[kind] = NULL;
	n_ignores[kind] = 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void mail_ignore_list(int kind, FILE *out)
{
	size_t n = n_ignores[kind];
	if (kind == MAIL_ALTERNATES) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%s ", ignores[kind][i]);
		if (n)
			fputc('\n', out);
		return;
	}
	if (!n) {
		fprintf(out, "No fields currently being %s.\n", kind & 1 ? "retained" : "ignored");
		return;
	}
	char **sorted = xrealloc(NULL, n * sizeof *sorted);
	memcpy(sorted, ignores[kind], n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, str_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\n", sorted[i]);
	free(sorted);
}

char *const *mail_ignore_entries(int kind, size_t *n)
{
	*n = n_ignores[kind];
	return ignores[kind];
}

/* A retain list names the only fields kept; otherwise the ignore list those left out. */
static bool filtered(int ignore, int retain, const char *field)
{
	if (n_ignores[retain]) {
		for (size_t i = 0; i < n_ignores[retain]; i++)
			if (!strcasecmp(ignores[retain][i], field))
				return false;
		return true;
	}
	for (size_t i = 0; i < n_ignores[ignore]; i++)
		if (!strcasecmp(ignores[ignore][i], field))
			return true;
	return false;
}

bool mail_ignored(const char *field)
{
	return filtered(MAIL_IGNORE, MAIL_RETAIN, field);
}

bool mail_save_ignored(const char *field)
{
	return filtered(MAIL_SAVEIGNORE, MAIL_SAVERETAIN, field);
}

size_t mail_split_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *r = line, *w = line;
	while (n < max) {
		while (isspace((unsigned char)*r))
			r++;
		if (!*r)
			break;
		words[n++] = w;
		char quote = 0;
		for (; *r && (quote || !isspace((unsigned char)*r)); r++) {
			if (quote && *r == quote)
				quote = 0;
			else if (!quote && (*r == '"' || *r == '\''))
				quote = *r;
			else if (*r == '\\' && r[1] && quote != '\'')
				*w++ = *++r;
			else
				*w++ = *r;
		}
		if (*r)
			r++;
		*w++ = '\0';
	}
	return n;
}

void mail_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}
