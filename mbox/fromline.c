/* The mbox From_ line: writing it (asctime layout) and parsing the variants found in the wild. */
#include "mbox/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FROM_SENDER_MAX 512

int mbox_from_line(char *buf, size_t size, const char *sender, time_t when)
{
	static const char wday[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mon[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char who[FROM_SENDER_MAX + 1];
	struct tm tm;
	size_t n = 0;

	if (!sender || !*sender)
		sender = "MAILER-DAEMON";
	/* Blanks or controls would split the sender word for every reader: make them '_'. */
	for (; sender[n] && n < FROM_SENDER_MAX; n++) {
		unsigned char c = (unsigned char)sender[n];
		who[n] = c <= ' ' || c == 127 ? '_' : (char)c;
	}
	who[n] = '\0';
	if (!localtime_r(&when, &tm))
		memset(&tm, 0, sizeof tm);
	int len = snprintf(buf, size, "From %s %s %s %2d %02d:%02d:%02d %d\n", who,
			   wday[(unsigned)tm.tm_wday % 7], mon[(unsigned)tm.tm_mon % 12], tm.tm_mday,
			   tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	if (len < 0 || (size_t)len >= size)
		return -1;
	return len;
}
