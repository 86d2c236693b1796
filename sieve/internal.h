/* libsieve internals shared by the lexer, parser, validator and interpreter files. */
#ifndef SIEVE_INTERNAL_H
#define SIEVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sieve/sieve.h"

#define SV_PATH_MAX 4096

/* ------------------------------------------------------------------ arena */
/* Everything a compiled program or one execution owns comes from one arena: one free, no
 * leaks on error paths, and a byte budget (the execution's max_memory). */
struct sv_chunk;
struct sv_arena {
	struct sv_chunk *head;
	size_t used;            /* bytes handed out, for the budget */
	size_t limit;           /* 0 = unlimited */
	bool over;              /* an allocation failed (budget or ENOMEM) */
	struct sv_chunk *spare; /* a chunk given back by sv_arena_release, for the next one */
};
struct sv_mark {
	struct sv_chunk *head;
	size_t head_used;
	size_t used;
};

void sv_arena_init(struct sv_arena *a, size_t limit);
void sv_arena_free(struct sv_arena *a);
/* Zeroed memory, NULL when out of budget or memory (a->over then stays set). */
void *sv_alloc(struct sv_arena *a, size_t n);
/* The same, not cleared (the caller fills all n bytes). */
void *sv_alloc_raw(struct sv_arena *a, size_t n);
char *sv_strndup(struct sv_arena *a, const char *s, size_t n);
char *sv_strdup(struct sv_arena *a, const char *s);
/* True when p points into memory handed out by a (and not given back). */
bool sv_arena_owns(const struct sv_arena *a, const void *p);
/* Give back everything allocated since the mark (scratch space of one command). */
struct sv_mark sv_arena_mark(const struct sv_arena *a);
void sv_arena_release(struct sv_arena *a, struct sv_mark m);

/* A growable byte buffer in malloc memory (variables, composed text). */
struct sv_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void sv_buf_add(struct sv_buf *b, const void *s, size_t n);
void sv_buf_str(struct sv_buf *b, const char *s);
void sv_buf_fmt(struct sv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_buf_free(struct sv_buf *b);

/* ------------------------------------------------------------------ diagnostics */
struct sv_diag {
	struct sieve_errors *errs;
	const char *file;
};
void sv_error(struct sv_diag *d, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void sv_warning(struct sv_diag *d, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ extensions */
enum {
	EXT_FILEINTO = 1u << 0,
	EXT_REJECT = 1u << 1,
	EXT_EREJECT = 1u << 2,
	EXT_ENVELOPE = 1u << 3,
	EXT_ENCODED = 1u << 4,
	EXT_COPY = 1u << 5,
	EXT_BODY = 1u << 6,
	EXT_VARIABLES = 1u << 7,
	EXT_SUBADDRESS = 1u << 8,
	EXT_RELATIONAL = 1u << 9,
	EXT_NUMERIC = 1u << 10,
	EXT_IMAP4FLAGS = 1u << 11,
	EXT_VACATION = 1u << 12,
	EXT_VACSECONDS = 1u << 13,
	EXT_DATE = 1u << 14,
	EXT_INDEX = 1u << 15,
	EXT_DUPLICATE = 1u << 16,
	EXT_MAILBOX = 1u << 17,
	EXT_INCLUDE = 1u << 18,
	EXT_REGEX = 1u << 19,
	EXT_CMP_BUILTIN = 1u << 20,   /* comparator-i;octet / i;ascii-casemap: always there */
};
/* The bit for a capability name, 0 when unknown. */
uint32_t sv_ext_lookup(const char *name, size_t len);
/* The capability name of one bit. */
const char *sv_ext_name(uint32_t bit);
/* Bits named in a "-ext -ext2" disable list. */
uint32_t sv_ext_disabled(const char *list);

/* ------------------------------------------------------------------ raw strings */
/* A string argument as the script wrote it (escapes resolved): what the front end
 * (sieve/syntax.h) hands sv_str_compile. */
struct sv_rawstr {
	const char *s;
	size_t len;
	unsigned line, col;
};

/* ------------------------------------------------------------------ compiled form */
enum sv_op {
	OP_NOP, OP_REQUIRE, OP_IF, OP_ELSIF, OP_ELSE, OP_STOP, OP_KEEP, OP_DISCARD, OP_REDIRECT,
	OP_FILEINTO, OP_REJECT, OP_EREJECT, OP_VACATION, OP_SET, OP_SETFLAG, OP_ADDFLAG,
	OP_REMOVEFLAG, OP_INCLUDE, OP_RETURN, OP_GLOBAL,
	/* tests */
	OP_ADDRESS, OP_ALLOF, OP_ANYOF, OP_ENVELOPE, OP_EXISTS, OP_FALSE, OP_HEADER, OP_NOT, OP_SIZE,
	OP_TRUE, OP_BODY, OP_STRING, OP_HASFLAG, OP_DATE, OP_CURRENTDATE, OP_DUPLICATE,
	OP_MAILBOXEXISTS,
};

enum { PART_LIT, PART_VAR, PART_MATCH };
struct sv_part {
	uint8_t kind;
	bool global;            /* PART_VAR: slot in the program's globals */
	uint32_t slot;          /* PART_VAR: variable slot; PART_MATCH: match index */
	const char *s;          /* PART_LIT */
	size_t len;
};
/* A string argument: constant (nparts 0, s/len the value) or a template of parts. */
struct sv_str {
	const char *s;
	size_t len;
	struct sv_part *parts;
	uint32_t nparts;
	unsigned line, col;
};
struct sv_list {
	struct sv_str *v;
	uint32_t n;
};

enum sv_cmp { CMP_CASEMAP, CMP_OCTET, CMP_NUMERIC };
enum sv_mt { MT_IS, MT_CONTAINS, MT_MATCHES, MT_REGEX, MT_COUNT, MT_VALUE };
enum sv_rel { REL_GT, REL_GE, REL_LT, REL_LE, REL_EQ, REL_NE };
enum sv_ap { AP_ALL, AP_LOCAL, AP_DOMAIN, AP_USER, AP_DETAIL };
enum sv_bt { BT_TEXT, BT_RAW, BT_CONTENT };
enum sv_zone { ZONE_LOCAL, ZONE_GIVEN, ZONE_ORIGINAL };

struct sv_regex;

struct sv_match {
	uint8_t cmp, mt, rel, ap;
	bool last;              /* :index ... :last */
	uint32_t index;         /* :index N, 0 = none */
	struct sv_regex **rx;   /* MT_REGEX: one per key, NULL where the key has variables */
};

/* Boolean tags. */
enum {
	B_COPY = 1u << 0, B_CREATE = 1u << 1, B_MIME = 1u << 2, B_OVER = 1u << 3, B_UNDER = 1u << 4,
	B_ONCE = 1u << 5, B_OPTIONAL = 1u << 6, B_GLOBAL = 1u << 7, B_LAST = 1u << 8,
	B_SECONDS = 1u << 9,    /* vacation: num is seconds (else days) */
	B_HASNUM = 1u << 10,    /* vacation :days/:seconds, duplicate :seconds given */
	B_HASFLAGS = 1u << 11,  /* keep/fileinto :flags given */
	B_UNIQUEID = 1u << 12,  /* duplicate: str[1] is :uniqueid (else :header) */
	B_HASVAR = 1u << 13,    /* setflag/addflag/removeflag/hasflag named variables */
};

/* Slots of sv_cmd.str by command. */
enum {
	S_REASON = 0, S_SUBJECT = 1, S_FROM = 2, S_HANDLE = 3,   /* vacation; reject: S_REASON */
	S_TARGET = 0,                                          /* fileinto/redirect/include/set name */
	S_VALUE = 1,                                           /* set value */
	S_ZONE = 0, S_HEADER = 1, S_DATEPART = 2,              /* date/currentdate */
	S_DUPHANDLE = 0, S_DUPID = 1,                          /* duplicate */
};

struct sv_unit;

struct sv_cmd {
	uint16_t op;
	uint8_t zone;           /* date: enum sv_zone */
	uint8_t bt;             /* body: enum sv_bt */
	uint8_t modifiers;      /* set: MOD_* */
	unsigned line, col;
	uint32_t bits;
	struct sv_match m;
	struct sv_list *list[2];   /* header names/sources/flags ..., keys */
	struct sv_list *tlist;     /* :addresses, :flags, :content */
	struct sv_str *str[4];
	uint64_t num;
	uint32_t var;              /* set: slot; setflag & co with one constant name */
	bool var_global;
	struct sv_cmd *test;       /* if/elsif/not */
	struct sv_cmd **tests;     /* allof/anyof */
	uint32_t ntests;
	struct sv_cmd *block;      /* if/elsif/else */
	struct sv_cmd *alt;        /* if/elsif: the elsif/else that follows */
	struct sv_cmd *next;
	struct sv_unit *inc;       /* include: the script, NULL when :optional and missing */
};

enum { MOD_LOWER = 1, MOD_UPPER = 2, MOD_LOWERFIRST = 4, MOD_UPPERFIRST = 8, MOD_QUOTEWILDCARD = 16,
       MOD_LENGTH = 32, MOD_QUOTEREGEX = 64 };

/* One compiled file. */
struct sv_unit {
	const char *name;       /* file name used in messages */
	struct sv_cmd *code;
	uint32_t exts;
	uint32_t nlocals;
	uint32_t index;         /* position in the program's unit table (include :once) */
	bool global_loc;        /* from the global directory */
	bool compiling;         /* on the include stack (loop detection) */
	bool missing;           /* optional include that does not exist */
	char **local_names;     /* names of locals[0..nlocals) */
	uint32_t cap_locals;
	char **global_names;    /* names this unit declared global */
	uint32_t nglobal_names, cap_gnames;
};

struct sv_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *path;
};

struct sieve_script {
	struct sv_arena arena;
	struct sieve_limits lim;
	struct sieve_compile_opts opts;
	uint32_t disabled;      /* extensions turned off by opts->extensions */
	struct sv_unit **units;
	uint32_t nunits, cap_units;
	char **globals;         /* names of the program's global variables */
	uint32_t nglobals, cap_globals;
	struct sv_file *files;
	uint32_t nfiles, cap_files;
	struct sv_regex **regexes;   /* every compiled regex, freed with the program */
	uint32_t nregexes, cap_regexes;
	unsigned include_depth;
	struct sv_diag *diag;
};

/* compile.c: loads NAME from a location for include (and the main file). */
struct sv_unit *sv_compile_include(struct sieve_script *p, const char *name, bool global, bool optional,
				   unsigned line, unsigned col, struct sv_diag *d);

/* strings.c: a raw string argument into a compiled string (encoded characters, variables). */
struct sv_vctx {
	struct sieve_script *p;
	struct sv_unit *u;
	struct sv_diag *d;
};
bool sv_str_compile(struct sv_vctx *c, const struct sv_rawstr *raw, struct sv_str *out, bool variables);
/* Slot of a variable name, declaring it as a local when new. -1 when not a valid name or
 * over the limit (error reported). */
int sv_var_slot(struct sv_vctx *c, const char *name, size_t len, unsigned line, unsigned col, bool *global);
/* Declares a global (the global command). */
bool sv_var_global(struct sv_vctx *c, const char *name, size_t len, unsigned line, unsigned col);
bool sv_identifier_valid(const char *s, size_t len);

/* regex.c */
struct sv_regex *sv_regex_compile(const char *pat, size_t len, int cmp, char *err, size_t errsize);
void sv_regex_free(struct sv_regex *rx);
void sv_regex_jit(struct sv_regex *rx);
/* 1 match (captures into caps[0..*ncaps) as offset pairs), 0 no match, -1 limit/error. */
int sv_regex_match(struct sv_regex *rx, const char *s, size_t len, const struct sieve_limits *lim,
		   size_t *caps, unsigned *ncaps, unsigned maxcaps, const char **why);
/* Adds a regex to the program's table so it is freed with it. */
bool sv_program_keep_regex(struct sieve_script *p, struct sv_regex *rx);
/* The compiled regexes v[0..n) as one malloc'd blob of *len bytes (PCRE2's serialization);
 * NULL when PCRE2 cannot. */
unsigned char *sv_regex_serialize(struct sv_regex *const *v, size_t n, size_t *len);
/* n regexes back from such a blob into out[0..n); false when it is not this PCRE2's, holds
 * another count or memory ran out (out[i] is then NULL where it failed; the caller frees the
 * others). The blob is believed: see cache.c. */
bool sv_regex_deserialize(const unsigned char *blob, size_t len, size_t n, struct sv_regex **out);

/* cache.c: a cache file's payload (after its head) into a program compiled with opts; NULL
 * when anything does not add up. For sieve_cache_load and the fuzz target. */
struct sieve_script *sv_cache_read(const unsigned char *payload, size_t len, const struct sieve_compile_opts *opts);

/* ------------------------------------------------------------------ execution */
#define SV_MATCH_MAX 32

struct sv_val {
	const char *s;
	size_t len;
};

struct sv_var {
	char *s;
	size_t len, cap;
};

struct sv_msg;
struct sv_rb;

/* Case-folded copies of long values (match.c). */
#define SV_FOLD_CACHE 8
#define SV_FOLD_MIN 256
struct sv_fold {
	const char *src;
	size_t len;
	const char *fold;
};

struct sv_exec {
	const struct sieve_script *prog;
	const struct sieve_limits *lim;
	const struct sieve_envelope *env;
	const struct sieve_exec_opts *opts;
	struct sv_msg *msg;
	struct sv_rb *rb;
	struct sv_arena *scratch;
	struct sv_var *globals;
	struct sv_var *locals;
	uint32_t nlocals;
	const struct sv_unit *unit;
	struct sv_var match[SV_MATCH_MAX];
	uint32_t nmatch;
	struct sv_var flags;     /* imap4flags internal variable */
	bool *once;              /* units already run by include :once */
	struct sv_fold fold[SV_FOLD_CACHE];
	unsigned fold_next;
	uint64_t steps;
	uint64_t cpu_start;       /* thread CPU ms when the execution began */
	unsigned depth;
	time_t now;
	bool failed;
	char error[512];
};

/* The interpreter failed: record where and why (first failure wins). Returns -1. */
int sv_fail(struct sv_exec *x, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Counts n steps; fails the execution over the step or CPU limit. Returns false then. */
bool sv_step(struct sv_exec *x, uint64_t n, unsigned line);

/* strings.c: expands a compiled string into scratch memory. False on failure (recorded). */
bool sv_expand(struct sv_exec *x, const struct sv_str *s, struct sv_val *out);
/* Sets a variable to a value (truncated at max_string). */
bool sv_var_set(struct sv_exec *x, struct sv_var *v, const char *s, size_t len);
struct sv_var *sv_var_ref(struct sv_exec *x, uint32_t slot, bool global);
/* Applies set's modifiers. Result in scratch memory. */
bool sv_apply_modifiers(struct sv_exec *x, unsigned mods, struct sv_val *v);

/* match.c: one source value against the key list with the test's match parameters.
 * Returns 1 match, 0 no match, -1 failure. Sets match variables on a :matches/:regex hit
 * when the unit uses variables. */
int sv_match_value(struct sv_exec *x, const struct sv_cmd *c, const struct sv_match *m,
		   const struct sv_list *keys, const char *v, size_t len);
/* :count: compares the number of values with the keys. */
int sv_match_count(struct sv_exec *x, const struct sv_cmd *c, const struct sv_list *keys, size_t count);
/* Comparator equality/order, exposed for hasflag and tests. */
int sv_cmp_order(int cmp, const char *a, size_t alen, const char *b, size_t blen);
bool sv_rel_holds(int rel, int order);
/* Glob match with * ? and \ escapes; caps receive wildcard spans when non-NULL. */
int sv_glob(struct sv_exec *x, int cmp, const char *pat, size_t plen, const char *s, size_t slen, size_t *caps,
	    unsigned *ncaps, unsigned maxcaps);

/* tests.c */
int sv_test(struct sv_exec *x, const struct sv_cmd *c);

/* exec.c: run one unit (and its includes). */
enum { X_CONT, X_STOP, X_RETURN, X_ERROR };
int sv_run_unit(struct sv_exec *x, const struct sv_unit *u);

/* message.c */
struct sv_msg *sv_msg_open(const struct mbox_spool *sp, const struct sieve_limits *lim, struct sv_arena *a);
/* Values of header name (decoded, unfolded, trimmed) in message order; *n their count. */
struct sv_hdrval {
	const char *s;
	size_t len;
	const char *raw;        /* unfolded, not RFC 2047 decoded (address test) */
	size_t raw_len;
};
const struct sv_hdrval *sv_msg_header(struct sv_exec *x, const char *name, size_t len, size_t *n);
off_t sv_msg_size(const struct sv_msg *m);
struct sv_addr;
/* The addresses of a header value (at most 64), parsed once per message: the count as
 * sv_addr_parse returns it (-1: not an address list, *out then holds one pseudo-address),
 * -2 out of memory (the execution has failed). */
int sv_msg_addresses(struct sv_exec *x, const struct sv_hdrval *v, const struct sv_addr **out);
bool sv_header_name_valid(const char *s, size_t len);
/* The body (after the blank line); false when the message has none. */
bool sv_msg_body(struct sv_exec *x, struct sv_val *out);
/* The raw header section bytes. */
struct sv_val sv_msg_head(const struct sv_msg *m);
/* body.c's MIME tree cache and the arena it lives in (the execution's). */
struct sv_mime;
struct sv_mime **sv_msg_mime(struct sv_msg *m);
struct sv_arena *sv_msg_arena(struct sv_msg *m);

/* address.c: RFC 5322 address lists. */
struct sv_addr {
	const char *local;      /* unquoted local part */
	size_t local_len;
	const char *domain;     /* NULL when the address had no '@' */
	size_t domain_len;
	const char *all;        /* local@domain */
	size_t all_len;
};
/* Parses list into at most max addresses in arena memory. Returns the count, -1 when the list
 * is not syntactically valid (then one pseudo-address holding the trimmed text). */
int sv_addr_parse(struct sv_arena *a, const char *s, size_t len, struct sv_addr *out, size_t max);
/* The part of an address a test asks for; false when it has none (:detail without one). */
bool sv_addr_part(const struct sv_addr *ad, int ap, const char *delims, struct sv_val *out);

/* body.c: the values body tests match against. */
struct sv_bodypart {
	const char *s;
	size_t len;
};
int sv_body_values(struct sv_exec *x, const struct sv_cmd *c, const struct sv_bodypart **out, size_t *n);

/* date.c */
int sv_test_date(struct sv_exec *x, const struct sv_cmd *c);
/* Parses an RFC 5322 date; false when malformed. */
bool sv_date_parse(const char *s, size_t len, time_t *t, int *zone_min);
bool sv_zone_valid(const char *s, size_t len, int *minutes);

/* actions.c: result under construction. */
struct sv_rb *sv_rb_new(struct sv_arena *a);
/* A mark of the actions made so far (a failing script's are dropped). */
size_t sv_rb_mark(const struct sv_rb *rb);
void sv_rb_rollback(struct sv_rb *rb, size_t mark);
int sv_act_keep(struct sv_exec *x, const struct sv_cmd *c, const char *const *flags, size_t n);
int sv_act_fileinto(struct sv_exec *x, const struct sv_cmd *c, const char *folder, size_t len,
		    const char *const *flags, size_t n);
int sv_act_redirect(struct sv_exec *x, const struct sv_cmd *c, const char *addr, size_t len);
int sv_act_reject(struct sv_exec *x, const struct sv_cmd *c, const char *reason, size_t len);
int sv_act_discard(struct sv_exec *x, const struct sv_cmd *c);
int sv_act_vacation(struct sv_exec *x, const struct sv_cmd *c, struct sieve_vacation *v);
bool sv_rb_implicit_keep(const struct sv_rb *rb);
void sv_rb_script_start(struct sv_rb *rb);
void sv_rb_add_duplicate(struct sv_rb *rb, const char *key, size_t len, uint64_t period, bool last);
/* Turns the builder into the public result (implicit keep with flags when still in effect). */
void sv_rb_finish(struct sv_exec *x, struct sieve_result *res, bool keep, const char *const *flags, size_t nflags);
struct sv_rb_dup {
	char *key;
	size_t len;
	uint64_t period;
	bool last;
};
const struct sv_rb_dup *sv_result_dups(const struct sieve_result *res, size_t *n);

struct sieve_result_priv {
	struct sv_arena arena;          /* everything the result points to */
	struct sv_arena scratch;        /* per-command temporaries */
	const struct sv_rb_dup *dups;   /* duplicate IDs sieve_commit records */
	size_t ndups;
};
/* setflag & co: the variable named (or the internal one). NULL when unknown. */
struct sv_var *sv_flag_target(struct sv_exec *x, const struct sv_cmd *c, uint32_t i);

/* flags.c: imap4flags sets as space-separated words. */
bool sv_flags_apply(struct sv_exec *x, struct sv_var *v, int op, const struct sv_list *flags);
/* Splits a flag string into distinct flags (arena memory). */
size_t sv_flags_split(struct sv_arena *a, const char *s, size_t len, const char ***out);
int sv_test_hasflag(struct sv_exec *x, const struct sv_cmd *c);
/* The flags of a keep/fileinto (:flags or the internal variable) as a list. */
bool sv_action_flags(struct sv_exec *x, const struct sv_cmd *c, const char *const **out, size_t *n);

/* vacation.c */
int sv_exec_vacation(struct sv_exec *x, const struct sv_cmd *c);
/* state.c: the per-user GDBM memory. 1 present (and unexpired), 0 not, -1 error. */
int sv_state_lookup(const struct sieve_exec_opts *o, const char *key, size_t len, time_t now);
int sv_state_record(const struct sieve_exec_opts *o, const char *const *keys, const size_t *lens,
		    const uint64_t *periods, const bool *refresh, size_t n, time_t now, char *why, size_t size);
/* The state key of a vacation reply to one correspondent. */
char *sv_vacation_key(struct sv_arena *a, const char *handle, const char *to, size_t *len);
/* Duplicate IDs noted so far in this execution. */
const struct sv_rb_dup *sv_rb_dups(const struct sv_rb *rb, size_t *n);
/* duplicate test */
int sv_test_duplicate(struct sv_exec *x, const struct sv_cmd *c);

/* utf8 */
bool sv_utf8_valid(const char *s, size_t len);

#endif
