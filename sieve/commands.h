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

/* The definition of a command (test false) or test named name, NULL when unknown. */
const struct sv_cmddef *sv_cmd_lookup(const char *name, bool test);

/* Header names the address test accepts (RFC 5228 5.1: headers that hold addresses). */
bool sv_address_header(const char *name);
bool sv_date_part_valid(const char *part);
/* Script names for include: not empty, no '/', no leading '.', no control characters. */
bool sv_include_name_valid(const char *s, size_t len);
/* A redirect target: one addr-spec with a local part and a domain, no blanks or controls. */
bool sv_redirect_address_valid(const char *s, size_t len);

#endif
