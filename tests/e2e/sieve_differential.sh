#!/bin/bash
# e2e: the actions mda-sieve-test prints for every script x message of tests/data/sieve agree
# with Pigeonhole's sieve-test (Debian dovecot-sieve), and for the scripts it can compile with
# GNU Mailutils' sieve when installed, except the pairs listed with their RFC section in
# tests/data/sieve/known-differences{,-mailutils} (tests/e2e/sieve_diff.py does the work).
. "$SRCDIR/tests/e2e/lib.bash"
command -v sieve-test >/dev/null || skip "Pigeonhole's sieve-test is missing (apt-get install dovecot-sieve)"
command -v python3 >/dev/null || skip "python3 is missing"
[ -x "$BUILD/mda-sieve-test" ] || fail "$BUILD/mda-sieve-test is not built"
if [ "$(id -u)" -eq 0 ]; then
	command -v runuser >/dev/null || skip "runuser is missing (sieve-test refuses to run as root)"
	chmod 755 "$W"
fi
python3 "$SRCDIR/tests/e2e/sieve_diff.py" "$BUILD/mda-sieve-test" "$W/diff" ${SIEVE_DIFF_VERBOSE:+--verbose}
