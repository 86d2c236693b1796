/* Quota limits per user, crossing of warning thresholds, warning text. */
#include "common/quota.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define QUOTA_LINE_MAX 512
#define QUOTA_FILE_MAX (16 * 1024 * 1024)

/* "123", "10k", "50M", "2G": bytes. False on anything else. */
static bool parse_size(const char *s, off_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	unsigned long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ULL * 1024 * 1024, end++;
	if (*end || n > (unsigned long long)INT64_MAX / mul)
		return false;
	*out = (off_t)(n * mul);
	return true;
}

/* One line of the quota file: NULL when it is fine (a blank or comment line, another
 * user's line, or user's, which sets *found and *limit), else what is wrong with it. */
static const char *quota_line(char *line, const char *user, bool *found, off_t *limit)
{
	char name[QUOTA_LINE_MAX], size[QUOTA_LINE_MAX], extra[2];
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	int n = sscanf(line, "%511s %511s %1s", name, size, extra);
	if (n <= 0)
		return NULL;
	if (n != 2)
		return "expected: user size";
	off_t v;
	if (!parse_size(size, &v))
		return "bad size (bytes, or a number with k, M or G)";
	if (strcmp(name, user) == 0) {
		*found = true;
		*limit = v;
	}
	return NULL;
}

int quota_limit(const struct config *cfg, const char *user, off_t *limit, struct result *r)
{
	char line[QUOTA_LINE_MAX + 2];
	bool found = false;
	int lineno = 0;
	*limit = (off_t)cfg->mailbox_size_limit;
	if (!cfg->quota_file[0])
		return EX_OK;
	/* Read at each delivery: a change applies to the next message. The first line of a
	 * user wins, as in aliases(5); the rest of the file is still checked. */
	FILE *fp = fopen(cfg->quota_file, "re");
	if (!fp)
		return res_errno(r, errno, false, "cannot read quota_file %s", cfg->quota_file);
	while (fgets(line, sizeof line, fp)) {
		off_t v = 0;
		bool match = false;
		const char *err = !strchr(line, '\n') && !feof(fp) ? "line too long" : quota_line(line, user, &match, &v);
		lineno++;
		if (err) {
			fclose(fp);
			return res_set(r, EX_CONFIG, "4.3.5", "%s:%d: %s", cfg->quota_file, lineno, err);
		}
		if (match && !found)
			*limit = v;
		found |= match;
	}
	fclose(fp);
	return EX_OK;
}

/* The percentages of quota_warning, in the order given; -1 on a bad list. */
static int warning_levels(const char *spec, int *out, int max)
{
	int n = 0;
	const char *p = spec;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '%')
			p++;
		if (!*p)
			break;
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > 100 || n == max)
			return -1;
		out[n++] = (int)v;
		p = end;
		if (*p == '%')
			p++;
		if (*p && *p != ' ' && *p != ',')
			return -1;
	}
	return n;
}

int quota_check_config(const struct config *cfg, struct result *r)
{
	int lv[16];
	if (strcmp(cfg->quota_scope, "spool") != 0 && strcmp(cfg->quota_scope, "all") != 0)
		return res_set(r, EX_CONFIG, "4.3.5", "quota_scope = %s: expected spool or all", cfg->quota_scope);
	if (warning_levels(cfg->quota_warning, lv, 16) < 0)
		return res_set(r, EX_CONFIG, "4.3.5", "quota_warning = %s: expected percentages 1..100, e.g. 80 95",
			       cfg->quota_warning);
	return EX_OK;
}

int quota_crossed(const struct config *cfg, off_t limit, off_t before, off_t after)
{
	int lv[16], n = warning_levels(cfg->quota_warning, lv, 16), best = 0;
	if (limit <= 0 || n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		/* at = the size at which lv[i] percent is reached, rounded up */
		long double at = (long double)limit * lv[i] / 100.0L;
		if ((long double)before < at && (long double)after >= at && lv[i] > best)
			best = lv[i];
	}
	return best;
}

static char *default_text(const char *user, int percent, off_t size, off_t limit)
{
	char *out = NULL;
	if (asprintf(&out, "Your mailbox is %d%% full: %jd of %jd bytes.\n\nWhen it is full, new mail for %s is "
		     "refused (the sender gets it back).\nDelete or save some messages to make room.\n", percent,
		     (intmax_t)size, (intmax_t)limit, user) < 0)
		return NULL;
	return out;
}

/* The template with %u %p %s %l (and %%) replaced. */
static char *fill_template(const char *t, const char *user, int percent, off_t size, off_t limit)
{
	size_t cap = strlen(t) + 256 + strlen(user) * 4, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = t; *p && n + 80 + strlen(user) < cap; p++) {
		if (*p != '%' || !p[1]) {
			out[n++] = *p;
			continue;
		}
		p++;
		if (*p == 'u')
			n += (size_t)snprintf(out + n, cap - n, "%s", user);
		else if (*p == 'p')
			n += (size_t)snprintf(out + n, cap - n, "%d", percent);
		else if (*p == 's')
			n += (size_t)snprintf(out + n, cap - n, "%jd", (intmax_t)size);
		else if (*p == 'l')
			n += (size_t)snprintf(out + n, cap - n, "%jd", (intmax_t)limit);
		else
			out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

char *quota_warning_message(const struct config *cfg, const char *user, const char *hostname, int percent,
			    off_t size, off_t limit)
{
	char *body = NULL, *msg = NULL, date[64];
	if (cfg->quota_warning_file[0]) {
		FILE *fp = fopen(cfg->quota_warning_file, "re");
		char *t = fp ? calloc(1, 65536) : NULL;
		if (t && fread(t, 1, 65535, fp) > 0)
			body = fill_template(t, user, percent, size, limit);
		free(t);
		if (fp)
			fclose(fp);
	} else {
		body = default_text(user, percent, size, limit);
	}
	if (!body)
		return NULL;
	time_t now = time(NULL);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime(&now));
	/* A template may bring its own Subject: header block; the built-in text has none. */
	bool own_headers = strncmp(body, "Subject:", 8) == 0;
	if (asprintf(&msg, "From: Mail Delivery System <MAILER-DAEMON@%s>\nTo: %s\nDate: %s\n%s"
		     "Auto-Submitted: auto-generated\nPrecedence: bulk\nMIME-Version: 1.0\n"
		     "Content-Type: text/plain; charset=utf-8\n%s%s", hostname, user, date,
		     own_headers ? "" : "Subject: Your mailbox is filling up\n", own_headers ? "" : "\n", body) < 0)
		msg = NULL;
	free(body);
	return msg;
}

/* nftw has no context argument; a delivery (or a mail session) is one thread. */
static off_t walk_bytes;
static size_t walk_files;

static int count_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		walk_bytes += st->st_size;
	return ++walk_files > 100000;    /* a folder tree that big is not mail: stop counting */
}

static off_t file_size(const char *path)
{
	struct stat st;
	return path && lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

off_t quota_bytes_elsewhere(const struct config *cfg, const char *spool_path, const char *folder_dir,
			    const char *target)
{
	if (strcmp(cfg->quota_scope, "all") != 0)
		return 0;
	walk_bytes = 0;
	walk_files = 0;
	if (folder_dir && folder_dir[0])
		nftw(folder_dir, count_file, 16, FTW_PHYS | FTW_MOUNT);
	off_t total = walk_bytes + file_size(spool_path) - file_size(target);
	return total > 0 ? total : 0;
}

int quota_usage(const struct config *cfg, const char *user, const char *home, struct quota_usage *u,
		struct result *r)
{
	memset(u, 0, sizeof *u);
	if (quota_limit(cfg, user, &u->limit, r) != EX_OK)
		return r->ex;
	const char *dir = cfg->mail_folder_dir;
	bool in_home = dir[0] == '~' && dir[1] == '/';
	int n = snprintf(u->spool, sizeof u->spool, "%s/%s", cfg->spool_dir, user), m = 0;
	if (!strcmp(cfg->quota_scope, "all") && dir[0])
		m = snprintf(u->folders, sizeof u->folders, "%s%s", in_home ? home : "", in_home ? dir + 1 : dir);
	if (n < 0 || (size_t)n >= sizeof u->spool || m < 0 || (size_t)m >= sizeof u->folders)
		return res_set(r, EX_CONFIG, "4.3.5", "the mailbox or folder path of %s is too long", user);
	/* the spool mailbox as the target: quota_bytes_elsewhere then counts the folders alone */
	u->used = file_size(u->spool) + quota_bytes_elsewhere(cfg, u->spool, u->folders, u->spool);
	return EX_OK;
}
