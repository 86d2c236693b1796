#!/bin/bash
# e2e: mbox_quoting reaches mda: mboxrd by default, mboxo from mda.conf or -o, the -o value
# wins over the file; a bad value or key defers (75: the administrator's to fix, see mda(8))
# with the option or FILE:LINE named, and delivers nothing.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
msg=$'Subject: q\n\nFrom bare\n>From once\n'
deliver() { printf '%s' "$msg" | env -u SENDER -u RECIPIENT "$BUILD/mda" -C "$W/mda.conf" -f s@x "$@" alice; }
body() { sed -n '/^Subject: q$/,$p' "$W/spool/alice" | sed '1,2d'; }
deliver || fail "default delivery"
[ "$(body)" = $'>From bare\n>>From once' ] || fail "mboxrd default: $(body)"
rm "$W/spool/alice"
deliver -o mbox_quoting=mboxo || fail "-o mboxo delivery"
[ "$(body)" = $'>From bare\n>From once' ] || fail "mboxo by -o: $(body)"
rm "$W/spool/alice"
echo "mbox_quoting = mboxo" >>"$W/mda.conf"
deliver || fail "mboxo from the file"
[ "$(body)" = $'>From bare\n>From once' ] || fail "mboxo from mda.conf: $(body)"
rm "$W/spool/alice"
deliver -o mbox_quoting=mboxrd || fail "-o over the file"
[ "$(body)" = $'>From bare\n>>From once' ] || fail "-o mboxrd over the file: $(body)"
rm "$W/spool/alice"
rc=0
deliver -o mbox_quoting=mboxcl2 2>"$W/err" || rc=$?
[ "$rc" = 75 ] || fail "bad -o value exited $rc, want 75"
grep -q 'mbox_quoting=mboxcl2: expected mboxrd or mboxo' "$W/err" || fail "stderr: $(cat "$W/err")"
[ ! -e "$W/spool/alice" ] || fail "delivered despite a bad option"
echo "bad = 1" >>"$W/mda.conf"
rc=0
deliver 2>"$W/err" || rc=$?
[ "$rc" = 75 ] || fail "bad config exited $rc, want 75"
grep -q "mda.conf:$(wc -l <"$W/mda.conf"): unknown key" "$W/err" || fail "stderr: $(cat "$W/err")"
echo "ok"
