/* Unit tests for mda/lmtp_params.c: xtext, ORCPT address types, NOTIFY, UTF-8 validity. */
#include <criterion/criterion.h>
#include <string.h>

#include "mda/lmtp_params.h"

Test(lmtp_params, xtext_decodes_escapes_and_refuses_bad_ones)
{
	char out[64];
	cr_assert(lmtp_xtext_decode("a+2Bb+3Dc", out, sizeof out));
	cr_assert_str_eq(out, "a+b=c");
	cr_assert_not(lmtp_xtext_decode("a+2", out, sizeof out), "cut escape");
	cr_assert_not(lmtp_xtext_decode("a+zz", out, sizeof out), "not hex");
	cr_assert_not(lmtp_xtext_decode("a=b", out, sizeof out), "= must be escaped");
	cr_assert_not(lmtp_xtext_decode("a+00", out, sizeof out), "NUL");
	cr_assert_not(lmtp_xtext_decode("0123456789", out, 5), "does not fit");
}

Test(lmtp_params, orcpt_types)
{
	char out[64];
	cr_assert(lmtp_orcpt_decode("rfc822;list+2Bx@example.org", out, sizeof out));
	cr_assert_str_eq(out, "list+x@example.org");
	cr_assert(lmtp_orcpt_decode("UTF-8;\\x{E9}t\\x{E9}@example.fr", out, sizeof out));
	cr_assert_str_eq(out, "\xc3\xa9t\xc3\xa9@example.fr");
	cr_assert_not(lmtp_orcpt_decode("utf-8;\\x{D800}@x", out, sizeof out), "surrogate");
	cr_assert_not(lmtp_orcpt_decode("utf-8;\\x{110000}@x", out, sizeof out), "beyond Unicode");
	cr_assert_not(lmtp_orcpt_decode("x400;a", out, sizeof out), "unknown type");
	cr_assert_not(lmtp_orcpt_decode("rfc822", out, sizeof out), "no type separator");
	cr_assert_not(lmtp_orcpt_decode("rfc822;", out, sizeof out), "empty address");
}

Test(lmtp_params, notify_values)
{
	cr_assert(lmtp_notify_valid("NEVER"));
	cr_assert(lmtp_notify_valid("success,failure,DELAY"));
	cr_assert_not(lmtp_notify_valid("NEVER,SUCCESS"));
	cr_assert_not(lmtp_notify_valid("SUCCESS,"));
	cr_assert_not(lmtp_notify_valid(""));
	cr_assert_not(lmtp_notify_valid("ALWAYS"));
}

Test(lmtp_params, utf8_validity)
{
	cr_assert(lmtp_utf8_valid("plain"));
	cr_assert(lmtp_utf8_valid("J\xc3\xbcrgen \xe7\x94\xb0\xe4\xb8\xad \xf0\x9f\x93\xa7"));
	cr_assert_not(lmtp_utf8_valid("\xc0\xaf"), "overlong");
	cr_assert_not(lmtp_utf8_valid("\xed\xa0\x80"), "surrogate");
	cr_assert_not(lmtp_utf8_valid("\xf4\x90\x80\x80"), "beyond U+10FFFF");
	cr_assert_not(lmtp_utf8_valid("\xe2\x82"), "cut");
	cr_assert(lmtp_has_8bit("\xc3\xa9") && !lmtp_has_8bit("ascii"));
}

/* ---- lmtp_xforward_clients: who may send XFORWARD ---- */
#include <arpa/inet.h>
#include <pwd.h>
#include <unistd.h>
#include "mda/lmtp_peer.h"

static struct lmtp_peer inet_peer(int family, const char *addr)
{
	struct lmtp_peer p = { .kind = PEER_ADDR, .family = family };
	cr_assert_eq(inet_pton(family, addr, p.addr), 1);
	return p;
}

Test(lmtp_params, xforward_clients_by_address_network_and_user)
{
	struct lmtp_peer v4 = inet_peer(AF_INET, "192.0.2.77"), v6 = inet_peer(AF_INET6, "2001:db8::5");
	cr_assert_not(lmtp_peer_listed(&v4, ""), "an empty list trusts nobody");
	cr_assert(lmtp_peer_listed(&v4, "192.0.2.77"));
	cr_assert(lmtp_peer_listed(&v4, "10.0.0.1, 192.0.2.64/26"));
	cr_assert_not(lmtp_peer_listed(&v4, "192.0.2.0/26"), ".77 is outside .0-.63");
	cr_assert_not(lmtp_peer_listed(&v4, "192.0.2.77/33 2001:db8::/32"), "bad prefix, other family");
	cr_assert(lmtp_peer_listed(&v6, "192.0.2.77 2001:db8::/32"));
	cr_assert_not(lmtp_peer_listed(&v6, "2001:db9::/32"));
	struct passwd *me = getpwuid(getuid());
	cr_assert_not_null(me);
	struct lmtp_peer local = { .kind = PEER_UID, .uid = me->pw_uid };
	cr_assert(lmtp_peer_listed(&local, me->pw_name), "a local client running as a listed user");
	cr_assert_not(lmtp_peer_listed(&v4, me->pw_name), "a user name never matches a remote address");
	local.uid = me->pw_uid + 1;
	cr_assert_not(lmtp_peer_listed(&local, me->pw_name), "another uid");
	cr_assert_not(lmtp_peer_listed(&local, "no-such-user-here"));
}
