#!/bin/sh
# Installs what building and testing need on Debian 12 (run as root). Idempotent.
set -eu
BUILD_PKGS="gcc make pkg-config liblockfile-dev liblockfile-bin libpcre2-dev libgdbm-dev libcriterion-dev"
# Test peers: Postfix (as a real MTA driving mda), s-nail and bsd-mailx (readers of what we write),
# python3 (smtplib.LMTP, pty driver), mandoc (man page lint), swaks (SMTP/LMTP client),
# dovecot-sieve and mailutils (Pigeonhole's sieve-test and GNU sieve, the peers of the Sieve
# differential test; bsd-mailx keeps the mail alternative).
TEST_PKGS="python3 mandoc s-nail bsd-mailx postfix swaks procps dovecot-sieve mailutils"
missing=""
for p in $BUILD_PKGS $TEST_PKGS ${EXTRA_PKGS:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing (run this script as root)" >&2
	exit 1
fi
# Postfix must not ask questions nor start a system instance: tests run their own throwaway one.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
