/* libFuzzer target: the mail reader's message-list parser (mailcmd/msglist.c) against a small
 * fake mailbox. Input: the first line is the message list as typed; the next byte picks the
 * flags pattern, the current message and the mode; the remaining lines are From/Subject pairs
 * of up to eight messages (defaults when missing), so hostile headers meet hostile lists. */
#include <stdbool.h>
#include <string.h>

#include "mailcmd/mail.h"
#include "tests/fuzz/fuzz.h"

#define NMSG 8

static const char *const default_from[NMSG] = {
	"Alice <alice@example.org>", "bob@example.org (Bob)", "\"Carol, C.\" <carol@x>", NULL,
	"=?UTF-8?B?w6lsw6g=?= <e@x>", "MAILER-DAEMON", "alice", "<>",
};
static const char *const default_subject[NMSG] = {
	"hello", "Re: hello", NULL, "[list] x", "caf\xc3\xa9", "", "re: [x", "\xff\xfe",
};

/* Splits off the next line of [*p, end) into a fresh string; NULL when nothing is left. */
static char *take_line(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	char *s = strndup(*p, n);
	FUZZ_CHECK(s != NULL);
	*p += n + (nl != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *spec = take_line(&p, end);
	if (!spec)
		return 0;
	unsigned knobs = p < end ? (unsigned char)*p++ : 0;
	struct mail_msg msgs[NMSG];
	char *owned[2 * NMSG] = { 0 };
	size_t n = (knobs & 7) + 1, cur = (knobs >> 3) % n;
	enum mail_list_mode mode = knobs & 0x80 ? MAIL_LIST_DELETED : MAIL_LIST_UNDELETED;
	for (size_t i = 0; i < n; i++) {
		memset(&msgs[i], 0, sizeof msgs[i]);
		/* a fixed spread of flags: new, read, deleted, answered, flagged, mixed */
		msgs[i].flags = (unsigned)((i * 37 + knobs) % 512) &
				(MAIL_M_NEW | MAIL_M_READ | MAIL_M_DELETED | MAIL_M_ANSWERED | MAIL_M_FLAGGED);
		owned[2 * i] = take_line(&p, end);
		owned[2 * i + 1] = take_line(&p, end);
		msgs[i].from = owned[2 * i] ? owned[2 * i] : default_from[i];
		msgs[i].subject = owned[2 * i + 1] ? owned[2 * i + 1] : default_subject[i];
		msgs[i].date = (time_t)-1;
	}
	unsigned char sel[NMSG];
	char err[256];
	memset(sel, 0xAA, sizeof sel);
	int got = mail_msglist_parse(spec, msgs, n, cur, mode, sel, err, sizeof err);
	if (got < 0) {
		FUZZ_CHECK(got == -1 && err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	} else {
		int count = 0;
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(sel[i] == 0 || sel[i] == 1);
			count += sel[i];
		}
		FUZZ_CHECK(got == count && got > 0);
	}
	for (size_t i = n; i < NMSG; i++)
		FUZZ_CHECK(sel[i] == 0xAA);          /* nothing written past the mailbox */
	for (size_t i = 0; i < 2 * NMSG; i++)
		free(owned[i]);
	free(spec);
	return 0;
}
