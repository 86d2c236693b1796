#!/bin/bash
# e2e: mail(1)'s messages for folders that cannot be read, as Heirloom mailx gives them:
# "FILE: reason" with the name once, exit 1; a missing system mailbox is only "No mail".
. "$SRCDIR/tests/e2e/lib.bash"
make_world
MAIL=$BUILD/mail
run_mail() { HOME=$W/home/alice MAILRC=/dev/null "$MAIL" -C "$W/mda.conf" "$@" </dev/null; }

rc=0; out=$(run_mail -f "$W/nosuch" 2>&1) || rc=$?
check "missing -f file: exit 1 (got $rc)" [ "$rc" = 1 ]
check "missing -f file: '$out'" [ "$out" = "$W/nosuch: No such file or directory" ]
rc=0; out=$(run_mail -f "$W/home" 2>&1) || rc=$?
check "directory: exit 1 (got $rc)" [ "$rc" = 1 ]
check "directory named once: '$out'" [ "$out" = "$W/home: Is a directory" ]
rc=0; out=$(run_mail -u alice 2>&1) || rc=$?
check "no system mailbox yet: not an error about a file ($out)" [ -n "${out##*No such file*}" ]
echo ok
