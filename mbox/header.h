/* RFC 5322 header-section helpers on memory: field iteration, unfolding, RFC 2047, addresses. */
#ifndef MBOX_HEADER_H
#define MBOX_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* One header field as it sits in the buffer (nothing is copied). */
struct hdr_field {
	const char *name;     /* field name without the colon; name_len 0 for a malformed line */
	size_t name_len;
	const char *value;    /* after the colon and leading blanks, still folded, line end
	                       * (LF or CRLF) of the last line excluded */
	size_t value_len;
	const char *raw;      /* the whole field including continuation lines and final line end */
	size_t raw_len;
};

/* Steps to the next field of the header section buf[0..len) starting at *pos (start at 0).
 * Returns true with *f filled and *pos advanced; false at the blank line that ends the section
 * (then *pos is just past it) or at the end of buf. A line that is not "name:" (no colon, or a
 * name with blanks/controls) is returned with name_len 0 so callers can skip it. */
bool hdr_next(const char *buf, size_t len, size_t *pos, struct hdr_field *f);

/* Finds the first field called name (ASCII case-insensitive) in the header section.
 * Returns false when there is none. */
bool hdr_find(const char *buf, size_t len, const char *name, struct hdr_field *f);

/* True when the field's name equals name, ignoring ASCII case.
 * Never fails. */
bool hdr_name_is(const struct hdr_field *f, const char *name);

/* Unfolds a field value: line breaks before blanks removed, trailing blanks trimmed,
 * NUL bytes turned into spaces. Returns a malloc'd string, NULL when out of memory. */
char *hdr_unfold(const char *value, size_t len);

/* Decodes RFC 2047 encoded-words (B and Q) in s to UTF-8 with iconv(3); blanks between
 * adjacent encoded-words are dropped and their bytes joined before conversion (multibyte
 * characters split across words survive). Malformed words or unknown charsets are left as
 * they are; decoded control characters become '?'. Returns malloc'd text, NULL on ENOMEM. */
char *hdr_decode_2047(const char *s, size_t len);

/* Decode a base64 or quoted-printable body (RFC 2045) of n bytes into out, which needs n
 * bytes; return the decoded length. Lenient as mail readers are: base64 skips what is not
 * of its alphabet and stops at '='; quoted-printable keeps a '=' that starts no escape and
 * takes "=" with trailing blanks before a line end as a soft line break. */
size_t mime_decode_base64(const char *s, size_t n, char *out);
size_t mime_decode_qp(const char *s, size_t n, char *out);

/* Extracts the bare address ("addr") of the first address in s: "Name <addr>",
 * "addr (comment)", "<addr>", quoted names and comments with '<' in them are understood.
 * Returns false if s holds no address or it does not fit into out (size bytes, NUL included). */
bool hdr_skin_address(const char *s, size_t len, char *out, size_t size);

/* The display name of the first address in s: the phrase before "<addr>" (quotes and
 * backslash escapes removed), else the text of a trailing "(comment)"; RFC 2047 decoded.
 * Returns a malloc'd string, or NULL when there is no name (or out of memory). */
char *hdr_display_name(const char *s, size_t len);

#endif
