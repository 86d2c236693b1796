/* The signature of every command and test this library knows, and the capability names. */
#include "sieve/commands.h"

#include <string.h>

static const struct {
	const char *name;
	uint32_t bit;
} exts[] = {
	{ "fileinto", EXT_FILEINTO },
	{ "reject", EXT_REJECT },
	{ "ereject", EXT_EREJECT },
	{ "envelope", EXT_ENVELOPE },
	{ "encoded-character", EXT_ENCODED },
	{ "copy", EXT_COPY },
	{ "body", EXT_BODY },
	{ "variables", EXT_VARIABLES },
	{ "subaddress", EXT_SUBADDRESS },
	{ "relational", EXT_RELATIONAL },
	{ "comparator-i;ascii-numeric", EXT_NUMERIC },
	{ "imap4flags", EXT_IMAP4FLAGS },
	{ "vacation", EXT_VACATION },
	{ "vacation-seconds", EXT_VACSECONDS },
	{ "date", EXT_DATE },
	{ "index", EXT_INDEX },
	{ "duplicate", EXT_DUPLICATE },
	{ "mailbox", EXT_MAILBOX },
	{ "include", EXT_INCLUDE },
	{ "regex", EXT_REGEX },
	{ "comparator-i;octet", EXT_CMP_BUILTIN },
	{ "comparator-i;ascii-casemap", EXT_CMP_BUILTIN },
};

uint32_t sv_ext_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (strlen(exts[i].name) == len && memcmp(exts[i].name, name, len) == 0)
			return exts[i].bit;
	return 0;
}

const char *sv_ext_name(uint32_t bit)
{
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (exts[i].bit == bit)
			return exts[i].name;
	return "?";
}

uint32_t sv_ext_disabled(const char *list)
{
	uint32_t bits = 0;
	if (!list)
		return 0;
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		if (p > start && *start == '-')
			bits |= sv_ext_lookup(start + 1, (size_t)(p - start - 1));
	}
	/* vacation-seconds is vacation with finer periods: it cannot outlive vacation. */
	if (bits & EXT_VACATION)
		bits |= EXT_VACSECONDS;
	return bits & ~EXT_CMP_BUILTIN;
}

const char *sieve_capabilities(void)
{
	return "fileinto reject ereject envelope encoded-character copy body variables subaddress "
	       "relational comparator-i;ascii-numeric imap4flags vacation vacation-seconds date index "
	       "duplicate mailbox include regex comparator-i;octet comparator-i;ascii-casemap";
}

/* ------------------------------------------------------------------ tags */

static const struct sv_tagdef tags_fileinto[] = {
	{ "copy", EXT_COPY, TA_NONE, B_COPY, 0, 0 },
	{ "create", EXT_MAILBOX, TA_NONE, B_CREATE, 0, 0 },
	{ "flags", EXT_IMAP4FLAGS, TA_LIST, B_HASFLAGS, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_keep[] = {
	{ "flags", EXT_IMAP4FLAGS, TA_LIST, B_HASFLAGS, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_redirect[] = {
	{ "copy", EXT_COPY, TA_NONE, B_COPY, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_size[] = {
	{ "over", 0, TA_NONE, B_OVER, 0, 1 },
	{ "under", 0, TA_NONE, B_UNDER, 0, 1 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_vacation[] = {
	{ "days", 0, TA_NUMBER, B_HASNUM, 0, 1 },
	{ "seconds", 0, TA_NUMBER, B_HASNUM | B_SECONDS, 0, 1 },
	{ "subject", 0, TA_STRING, 0, S_SUBJECT, 2 },
	{ "from", 0, TA_STRING, 0, S_FROM, 4 },
	{ "addresses", 0, TA_LIST, 0, 0, 8 },
	{ "mime", 0, TA_NONE, B_MIME, 0, 0 },
	{ "handle", 0, TA_STRING, 0, S_HANDLE, 16 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_set[] = {
	{ "lower", 0, TA_MODIFIER, 0, MOD_LOWER, 0 },
	{ "upper", 0, TA_MODIFIER, 0, MOD_UPPER, 0 },
	{ "lowerfirst", 0, TA_MODIFIER, 0, MOD_LOWERFIRST, 0 },
	{ "upperfirst", 0, TA_MODIFIER, 0, MOD_UPPERFIRST, 0 },
	{ "quotewildcard", 0, TA_MODIFIER, 0, MOD_QUOTEWILDCARD, 0 },
	{ "quoteregex", EXT_REGEX, TA_MODIFIER, 0, MOD_QUOTEREGEX, 0 },
	{ "length", 0, TA_MODIFIER, 0, MOD_LENGTH, 0 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_include[] = {
	{ "personal", 0, TA_NONE, 0, 0, 1 },
	{ "global", 0, TA_NONE, B_GLOBAL, 0, 1 },
	{ "once", 0, TA_NONE, B_ONCE, 0, 0 },
	{ "optional", 0, TA_NONE, B_OPTIONAL, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 },
};
static const struct sv_tagdef tags_duplicate[] = {
	{ "handle", 0, TA_STRING, 0, S_DUPHANDLE, 1 },
	{ "header", 0, TA_STRING, 0, S_DUPID, 2 },
	{ "uniqueid", 0, TA_STRING, B_UNIQUEID, S_DUPID, 2 },
	{ "seconds", 0, TA_NUMBER, B_HASNUM, 0, 4 },
	{ "last", 0, TA_NONE, B_LAST, 0, 8 },
	{ NULL, 0, 0, 0, 0, 0 },
};

/* ------------------------------------------------------------------ commands and tests */

static const struct sv_cmddef defs[] = {
	/* RFC 5228 control and actions */
	{ "require", OP_REQUIRE, false, 0, 0, NULL, "L0", 0, false, F_CONST_ARGS },
	{ "if", OP_IF, false, 0, 0, NULL, "", 1, true, 0 },
	{ "elsif", OP_ELSIF, false, 0, 0, NULL, "", 1, true, 0 },
	{ "else", OP_ELSE, false, 0, 0, NULL, "", 0, true, 0 },
	{ "stop", OP_STOP, false, 0, 0, NULL, "", 0, false, 0 },
	{ "keep", OP_KEEP, false, 0, 0, tags_keep, "", 0, false, 0 },
	{ "discard", OP_DISCARD, false, 0, 0, NULL, "", 0, false, 0 },
	{ "redirect", OP_REDIRECT, false, 0, 0, tags_redirect, "S0", 0, false, 0 },
	/* extensions */
	{ "fileinto", OP_FILEINTO, false, EXT_FILEINTO, 0, tags_fileinto, "S0", 0, false, 0 },
	{ "reject", OP_REJECT, false, EXT_REJECT, 0, NULL, "S0", 0, false, 0 },
	{ "ereject", OP_EREJECT, false, EXT_EREJECT, 0, NULL, "S0", 0, false, 0 },
	{ "vacation", OP_VACATION, false, EXT_VACATION, 0, tags_vacation, "S0", 0, false, 0 },
	{ "set", OP_SET, false, EXT_VARIABLES, 0, tags_set, "S0S1", 0, false, 0 },
	{ "setflag", OP_SETFLAG, false, EXT_IMAP4FLAGS, 0, NULL, "?L0L1", 0, false, 0 },
	{ "addflag", OP_ADDFLAG, false, EXT_IMAP4FLAGS, 0, NULL, "?L0L1", 0, false, 0 },
	{ "removeflag", OP_REMOVEFLAG, false, EXT_IMAP4FLAGS, 0, NULL, "?L0L1", 0, false, 0 },
	{ "include", OP_INCLUDE, false, EXT_INCLUDE, 0, tags_include, "S0", 0, false, F_CONST_ARGS },
	{ "return", OP_RETURN, false, EXT_INCLUDE, 0, NULL, "", 0, false, 0 },
	{ "global", OP_GLOBAL, false, EXT_INCLUDE, 0, NULL, "L0", 0, false, F_CONST_ARGS },
	/* RFC 5228 tests */
	{ "address", OP_ADDRESS, true, 0, G_CMP | G_MATCH | G_ADDR | G_INDEX, NULL, "L0L1", 0, false, 0 },
	{ "allof", OP_ALLOF, true, 0, 0, NULL, "", 2, false, 0 },
	{ "anyof", OP_ANYOF, true, 0, 0, NULL, "", 2, false, 0 },
	{ "envelope", OP_ENVELOPE, true, EXT_ENVELOPE, G_CMP | G_MATCH | G_ADDR, NULL, "L0L1", 0, false, 0 },
	{ "exists", OP_EXISTS, true, 0, 0, NULL, "L0", 0, false, 0 },
	{ "false", OP_FALSE, true, 0, 0, NULL, "", 0, false, 0 },
	{ "header", OP_HEADER, true, 0, G_CMP | G_MATCH | G_INDEX, NULL, "L0L1", 0, false, 0 },
	{ "not", OP_NOT, true, 0, 0, NULL, "", 1, false, 0 },
	{ "size", OP_SIZE, true, 0, 0, tags_size, "N0", 0, false, 0 },
	{ "true", OP_TRUE, true, 0, 0, NULL, "", 0, false, 0 },
	/* extension tests */
	{ "body", OP_BODY, true, EXT_BODY, G_CMP | G_MATCH | G_BODY, NULL, "L1", 0, false, 0 },
	{ "string", OP_STRING, true, EXT_VARIABLES, G_CMP | G_MATCH, NULL, "L0L1", 0, false, 0 },
	{ "hasflag", OP_HASFLAG, true, EXT_IMAP4FLAGS, G_CMP | G_MATCH, NULL, "?L0L1", 0, false, 0 },
	{ "date", OP_DATE, true, EXT_DATE, G_CMP | G_MATCH | G_ZONE | G_INDEX, NULL, "S1S2L1", 0, false, 0 },
	{ "currentdate", OP_CURRENTDATE, true, EXT_DATE, G_CMP | G_MATCH | G_ZONE, NULL, "S2L1", 0, false, 0 },
	{ "duplicate", OP_DUPLICATE, true, EXT_DUPLICATE, 0, tags_duplicate, "", 0, false, 0 },
	{ "mailboxexists", OP_MAILBOXEXISTS, true, EXT_MAILBOX, 0, NULL, "L0", 0, false, 0 },
};

/* A name of at most SV_NAME_MAX identifier characters as two words, ASCII letters folded to
 * lower case (| 0x20 leaves digits alone and makes '_' DEL, which no name has), zero padded. */
static void name_key(const char *name, size_t len, uint64_t key[2])
{
	unsigned char b[SV_NAME_MAX] = { 0 };
	for (size_t i = 0; i < len && i < SV_NAME_MAX; i++)
		b[i] = (unsigned char)(name[i] | 0x20);
	memcpy(key, b, sizeof b);
}

static size_t key_hash(const uint64_t key[2])
{
	return (size_t)(((key[0] ^ (key[1] * 31)) * 0x9e3779b97f4a7c15u) >> 57) & (SV_NAMES_SLOTS - 1);
}

void sv_names_build(struct sv_names *ix, const void *table, size_t n, size_t size)
{
	memset(ix->slot, 0, sizeof ix->slot);
	ix->table = table;
	ix->size = size;
	for (size_t i = 0; i < n && i < SV_NAMES_SLOTS - 1; i++) {
		const char *name = *(const char *const *)(ix->table + i * size);
		name_key(name, strlen(name), ix->key[i]);
		size_t h = key_hash(ix->key[i]);
		while (ix->slot[h])
			h = (h + 1) & (SV_NAMES_SLOTS - 1);
		ix->slot[h] = (uint8_t)(i + 1);
	}
}

const void *sv_names_find(const struct sv_names *ix, const char *name, size_t len)
{
	if (len == 0 || len > SV_NAME_MAX)
		return NULL;
	uint64_t key[2];
	name_key(name, len, key);
	for (size_t h = key_hash(key); ix->slot[h]; h = (h + 1) & (SV_NAMES_SLOTS - 1)) {
		const uint64_t *k = ix->key[ix->slot[h] - 1];
		if (k[0] == key[0] && k[1] == key[1])
			return ix->table + (size_t)(ix->slot[h] - 1) * ix->size;
	}
	return NULL;
}

_Static_assert(sizeof defs / sizeof defs[0] < SV_NAMES_SLOTS, "an index holds all commands");

void sv_cmd_index(struct sv_names *ix)
{
	sv_names_build(ix, defs, sizeof defs / sizeof defs[0], sizeof defs[0]);
}

bool sv_address_header(const char *name)
{
	/* RFC 5228 5.1's required set, the rest of RFC 5322's address fields and the
	 * common non-standard ones (RFC 2076). */
	static const char *const ok[] = {
		"from", "to", "cc", "bcc", "sender", "resent-from", "resent-to", "reply-to",
		"resent-reply-to", "resent-sender", "resent-cc", "resent-bcc", "return-path",
		"delivered-to", "x-original-to", "errors-to", "apparently-to", "mail-followup-to",
		"mail-reply-to", "disposition-notification-to", "return-receipt-to",
		"read-receipt-to", "x-confirm-reading-to", "for-approval", "for-handling",
		"for-comment", "x-admin", "abuse-reports-to", "x-complaints-to", "x-report-abuse-to",
		"x-beenthere", "x-original-from", "return-receipt-requested",
		"registered-mail-reply-requested-by", "x-envelope-from", "x-envelope-to",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (sv_name_eq(name, ok[i]))
			return true;
	return false;
}

bool sv_date_part_valid(const char *part)
{
	static const char *const parts[] = { "year", "month", "day", "date", "julian", "hour", "minute",
					     "second", "time", "iso8601", "std11", "zone", "weekday" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (sv_name_eq(part, parts[i]))
			return true;
	return false;
}

bool sv_include_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > 255 || s[0] == '.' || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 32 || s[i] == 127)
			return false;
	return sv_utf8_valid(s, len);
}

bool sv_redirect_address_valid(const char *s, size_t len)
{
	if (len == 0 || len > 512 || strlen(s) != len)
		return false;
	const char *at = memrchr(s, '@', len);
	if (!at || at == s || at == s + len - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 32 || ch == 127 || ch == '<' || ch == '>' || ch == ',' || ch == '(' || ch == ')')
			return false;
	}
	return true;
}
