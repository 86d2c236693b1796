/* ESMTP parameter values that LMTP clients send (RFC 3461 DSN, RFC 6531/6533 SMTPUTF8):
 * decoding and validation, no session state. */
#ifndef MDA_LMTP_PARAMS_H
#define MDA_LMTP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool lmtp_utf8_valid(const char *s);
/* True when s has a byte >= 0x80. */
bool lmtp_has_8bit(const char *s);

/* Decodes RFC 3461 xtext ("+HH" escapes, printable ASCII otherwise) into out. False on bad
 * syntax or when it does not fit. */
bool lmtp_xtext_decode(const char *in, char *out, size_t size);

/* ORCPT=addr-type;value: "rfc822;" xtext, or "utf-8;" with RFC 6533 "\x{HEX}" escapes (and
 * xtext "+HH"). The decoded address into out. False on an unknown type or bad syntax. */
bool lmtp_orcpt_decode(const char *value, char *out, size_t size);

/* NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1). */
bool lmtp_notify_valid(const char *value);

#endif
