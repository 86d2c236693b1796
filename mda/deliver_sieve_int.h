/* Shared between the Sieve script loader (deliver_sieve.c) and its actions (deliver_sieve_run.c). */
#ifndef MDA_DELIVER_SIEVE_INT_H
#define MDA_DELIVER_SIEVE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/user.h"
#include "sieve/sieve.h"

/* Scripts one of sieve_before, sieve_after may name (a directory's *.sieve files). */
#define DELIVER_SIEVE_GLOBAL_MAX 32

struct deliver_sieve_set {
	const struct sieve_script *v[2 * DELIVER_SIEVE_GLOBAL_MAX + 1];
	size_t n;
};

/* The sieve_max_* and sieve_vacation_* keys over the library's defaults.
 * Never fails. */
void deliver_sieve_limits(const struct config *cfg, struct sieve_limits *l);

/* tmpl with a leading "~/" taken as u's home directory into out. False when tmpl is empty
 * (the key is off) or the path does not fit. */
bool deliver_sieve_user_path(const char *tmpl, const struct user_info *u, char *out, size_t size);

#endif
