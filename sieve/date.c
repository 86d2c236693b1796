/* The date and currentdate tests (RFC 5260): RFC 5322 date-times parsed from a header
 * (or after the last ';' as in Received:), shifted to a zone, split into date parts. */
#include "sieve/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

struct scan {
	const char *s;
	size_t len, i;
};

/* Skips blanks and (nested) comments. */
static void skip_cfws(struct scan *sc)
{
	while (sc->i < sc->len) {
		char c = sc->s[sc->i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			sc->i++;
		} else if (c == '(') {
			int depth = 0;
			for (; sc->i < sc->len; sc->i++) {
				if (sc->s[sc->i] == '(')
					depth++;
				else if (sc->s[sc->i] == ')' && --depth == 0)
					break;
			}
			sc->i++;
		} else {
			return;
		}
	}
}

static bool scan_num(struct scan *sc, int min_digits, int max_digits, int *out)
{
	skip_cfws(sc);
	int n = 0, v = 0;
	while (sc->i < sc->len && isdigit((unsigned char)sc->s[sc->i]) && n < max_digits) {
		v = v * 10 + (sc->s[sc->i++] - '0');
		n++;
	}
	*out = v;
	return n >= min_digits;
}

static bool scan_char(struct scan *sc, char c)
{
	skip_cfws(sc);
	if (sc->i < sc->len && sc->s[sc->i] == c) {
		sc->i++;
		return true;
	}
	return false;
}

static size_t scan_word(struct scan *sc, const char **w)
{
	skip_cfws(sc);
	size_t start = sc->i;
	while (sc->i < sc->len && isalpha((unsigned char)sc->s[sc->i]))
		sc->i++;
	*w = sc->s + start;
	return sc->i - start;
}

bool sv_zone_valid(const char *s, size_t len, int *minutes)
{
	if (len != 5 || (s[0] != '+' && s[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59)
		return false;
	*minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

/* RFC 5322 4.3 obsolete zone names; military letters mean nothing reliable: +0000. */
static bool zone_name(const char *w, size_t n, int *minutes)
{
	static const struct { const char *name; int off; } names[] = {
		{ "UT", 0 },        { "GMT", 0 },       { "UTC", 0 },       { "EST", -300 }, { "EDT", -240 },
		{ "CST", -360 },    { "CDT", -300 },    { "MST", -420 },    { "MDT", -360 }, { "PST", -480 },
		{ "PDT", -420 },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i].name) == n && strncasecmp(names[i].name, w, n) == 0) {
			*minutes = names[i].off;
			return true;
		}
	if (n == 1) {
		*minutes = 0;
		return true;
	}
	return false;
}

static int days_in_month(int year, int month)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : d[month - 1];
}

bool sv_date_parse(const char *s, size_t len, time_t *t, int *zone_min)
{
	struct scan sc = { s, len, 0 };
	const char *w;
	size_t n = scan_word(&sc, &w);
	if (n) {             /* day-of-week */
		if (!scan_char(&sc, ','))
			return false;
	}
	int day, year, hour, min, sec = 0;
	if (!scan_num(&sc, 1, 2, &day))
		return false;
	n = scan_word(&sc, &w);
	int month = 0;
	for (int i = 0; i < 12 && n == 3; i++)
		if (strncasecmp(w, months[i], 3) == 0)
			month = i + 1;
	if (!month || !scan_num(&sc, 2, 4, &year))
		return false;
	/* RFC 5322 4.3: two-digit years below 50 are 20xx, other short years count from 1900 */
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	if (!scan_num(&sc, 2, 2, &hour) || !scan_char(&sc, ':') || !scan_num(&sc, 2, 2, &min))
		return false;
	if (scan_char(&sc, ':') && !scan_num(&sc, 2, 2, &sec))
		return false;
	skip_cfws(&sc);
	int zone = 0;
	if (sc.i < len && (s[sc.i] == '+' || s[sc.i] == '-')) {
		if (sc.i + 5 > len || !sv_zone_valid(s + sc.i, 5, &zone))
			return false;
		sc.i += 5;
	} else {
		n = scan_word(&sc, &w);
		if (!n || !zone_name(w, n, &zone))
			return false;
	}
	skip_cfws(&sc);
	if (sc.i != len)
		return false;
	if (day < 1 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 60)
		return false;
	struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = hour,
			 .tm_min = min, .tm_sec = sec > 59 ? 59 : sec };
	*t = timegm(&tm) - (time_t)zone * 60;
	*zone_min = zone;
	return true;
}

/* The date-time in a header value: all of it, else what follows the last ';'. */
static bool header_date(const char *v, size_t len, time_t *t, int *zone)
{
	if (sv_date_parse(v, len, t, zone))
		return true;
	const char *semi = memrchr(v, ';', len);
	return semi && sv_date_parse(semi + 1, len - (size_t)(semi + 1 - v), t, zone);
}

static int local_offset(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

/* The value of date part name for t shown in zone (minutes east of UTC). */
static bool date_part(const char *name, time_t t, int zone, char *out, size_t size)
{
	time_t shifted = t + (time_t)zone * 60;
	struct tm tm;
	if (!gmtime_r(&shifted, &tm))
		return false;
	int az = zone < 0 ? -zone : zone;
	char zs[16];
	snprintf(zs, sizeof zs, "%c%02d%02d", zone < 0 ? '-' : '+', az / 60, az % 60);
	int y = tm.tm_year + 1900;
	if (strcasecmp(name, "year") == 0)
		snprintf(out, size, "%04d", y);
	else if (strcasecmp(name, "month") == 0)
		snprintf(out, size, "%02d", tm.tm_mon + 1);
	else if (strcasecmp(name, "day") == 0)
		snprintf(out, size, "%02d", tm.tm_mday);
	else if (strcasecmp(name, "date") == 0)
		snprintf(out, size, "%04d-%02d-%02d", y, tm.tm_mon + 1, tm.tm_mday);
	else if (strcasecmp(name, "julian") == 0) {
		/* Modified Julian Day: days since 1858-11-17 (the Unix epoch is MJD 40587) */
		long long days = (long long)(shifted >= 0 ? shifted / 86400 : (shifted - 86399) / 86400);
		snprintf(out, size, "%lld", days + 40587);
	} else if (strcasecmp(name, "hour") == 0)
		snprintf(out, size, "%02d", tm.tm_hour);
	else if (strcasecmp(name, "minute") == 0)
		snprintf(out, size, "%02d", tm.tm_min);
	else if (strcasecmp(name, "second") == 0)
		snprintf(out, size, "%02d", tm.tm_sec);
	else if (strcasecmp(name, "time") == 0)
		snprintf(out, size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else if (strcasecmp(name, "iso8601") == 0 && zone == 0)   /* RFC 3339 5.6 "Z", as Pigeonhole */
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
	else if (strcasecmp(name, "iso8601") == 0)
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, zone < 0 ? '-' : '+', az / 60, az % 60);
	else if (strcasecmp(name, "std11") == 0)
		snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d %s", wdays[tm.tm_wday], tm.tm_mday,
			 months[tm.tm_mon], y, tm.tm_hour, tm.tm_min, tm.tm_sec, zs);
	else if (strcasecmp(name, "zone") == 0)
		snprintf(out, size, "%s", zs);
	else if (strcasecmp(name, "weekday") == 0)
		snprintf(out, size, "%d", tm.tm_wday);
	else
		return false;
	return true;
}

int sv_test_date(struct sv_exec *x, const struct sv_cmd *c)
{
	time_t t;
	int orig = 0, zone;
	bool have = false;
	if (c->op == OP_CURRENTDATE) {
		t = x->now;
		orig = local_offset(t);
		have = true;
	} else {
		struct sv_val name;
		size_t n;
		if (!sv_expand(x, c->str[S_HEADER], &name))
			return -1;
		const struct sv_hdrval *v = sv_header_name_valid(name.s, name.len) ? sv_msg_header(x, name.s, name.len, &n)
										   : NULL;
		if (x->failed)
			return -1;
		if (v) {
			size_t i = 0;    /* RFC 5260 4: only the first field, unless :index says */
			if (c->m.index)
				i = c->m.index > n ? n : c->m.last ? n - c->m.index : c->m.index - 1;
			have = i < n && header_date(v[i].s, v[i].len, &t, &orig);
		}
	}
	if (c->m.mt == MT_COUNT)
		return sv_match_count(x, c, c->list[1], have ? 1 : 0);
	if (!have)
		return 0;
	if (c->zone == ZONE_ORIGINAL) {
		zone = orig;
	} else if (c->zone == ZONE_GIVEN) {
		struct sv_val z;
		if (!sv_expand(x, c->str[S_ZONE], &z))
			return -1;
		if (!sv_zone_valid(z.s, z.len, &zone))
			return 0;
	} else {
		zone = local_offset(t);
	}
	struct sv_val part;
	if (!sv_expand(x, c->str[S_DATEPART], &part))
		return -1;
	char buf[64];
	if (!date_part(part.s, t, zone, buf, sizeof buf))
		return 0;
	return sv_match_value(x, c, &c->m, c->list[1], buf, strlen(buf));
}
