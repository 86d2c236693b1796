/* The table of Sieve commands and tests: names, extensions, tags and positional arguments. */
#ifndef SIEVE_COMMANDS_H
#define SIEVE_COMMANDS_H

#include "sieve/internal.h"

/* Generic tag groups a command accepts. */
enum { G_CMP = 1, G_MATCH = 2, G_ADDR = 4, G_INDEX = 8, G_ZONE = 16, G_BODY = 32 };
/* What a command's own tag takes. */
enum { TA_NONE, TA_STRING, TA_LIST, TA_NUMBER, TA_MODIFIER };
/* Command flags. */
enum { F_CONST_ARGS = 1 };   /* positional strings are not variable-expanded */

struct sv_tagdef {
	const char *name;
	uint32_t ext;       /* extension the tag needs, 0 for none */
	uint8_t arg;        /* TA_* */
	uint32_t bit;       /* B_* set when present */
	int slot;           /* TA_STRING: str slot; TA_MODIFIER: the MOD_* bit */
	unsigned excl;      /* tags sharing an excl bit exclude each other */
};

struct sv_cmddef {
	const char *name;
	uint16_t op;
	bool test;
	uint32_t ext;
	unsigned groups;            /* G_* */
	const struct sv_tagdef *tags;
	const char *pos;            /* positional: S string, L list, N number, each with its slot
	                             * digit; '?' makes the next one optional (leading) */
	uint8_t tests;              /* 0 none, 1 one test, 2 a test list */
	bool block;
	unsigned flags;             /* F_* */
};

/* A hash index over a constant table whose entries begin with their name (a const char *
 * in lower case, at most SV_NAME_MAX bytes), for identifiers (letters, digits, '_') that a
 * script wrote in any case. Built once per validation (a few instructions an entry), it
 * finds a name in a few dozen: a search with strcasecmp cost a tenth of a compile. Names
 * are compared as two words of their case-folded bytes. At most SV_NAMES_SLOTS - 1 entries. */
#define SV_NAMES_SLOTS 128
#define SV_NAME_MAX 16
struct sv_names {
	const char *table;
	size_t size;                    /* bytes per entry */
	uint8_t slot[SV_NAMES_SLOTS];   /* entry index + 1, 0 for none */
	uint64_t key[SV_NAMES_SLOTS - 1][2];   /* by entry */
};
void sv_names_build(struct sv_names *ix, const void *table, size_t n, size_t size);
const void *sv_names_find(const struct sv_names *ix, const char *name, size_t len);
/* An index of the commands and tests (their names are unique across both). */
void sv_cmd_index(struct sv_names *ix);

/* s against lit, which is in lower case, ignoring ASCII case (RFC 5228 2.4: identifiers,
 * tags, comparator names ...): <0, 0 or >0 as strcmp of s in lower case. Inline: names
 * are compared hundreds of times a compile. */
static inline int sv_name_cmp(const char *s, const char *lit)
{
	for (;; s++, lit++) {
		unsigned c = (unsigned char)*s;
		if (c - 'A' < 26u)
			c += 'a' - 'A';
		if (c != (unsigned char)*lit || c == 0)
			return (int)c - (unsigned char)*lit;
	}
}

static inline bool sv_name_eq(const char *s, const char *lit)
{
	return sv_name_cmp(s, lit) == 0;
}

/* Header names the address test accepts (RFC 5228 5.1: headers that hold addresses). */
bool sv_address_header(const char *name);
bool sv_date_part_valid(const char *part);
/* Script names for include: not empty, no '/', no leading '.', no control characters. */
bool sv_include_name_valid(const char *s, size_t len);
/* A redirect target: one addr-spec with a local part and a domain, no blanks or controls. */
bool sv_redirect_address_valid(const char *s, size_t len);

#endif
