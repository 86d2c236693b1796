#!/bin/bash
# Interop with s-nail: a mailbox that mail(1) read, deleted from and quit is seen by
# `s-nail -f` with the same messages and flags, and the other way round.
. "$(dirname "$0")/lib.bash"
command -v s-nail >/dev/null || skip "s-nail is not installed"
make_world
export HOME=$W/home/alice MAILRC=/dev/null NAILRC_SKIP_SYSTEM=1 TZ=UTC
msg() { printf 'From %s@example.com Fri Sep 29 04:0%s:11 2023\nFrom: %s@example.com\nSubject: %s\n%s\nbody %s\n\n' "$1" "$2" "$1" "$3" "$4" "$3"; }
make_box() {
	{ msg bob 1 one ""; msg carol 2 two "Status: O
"; msg dave 3 three "Status: RO
"; msg eve 4 four ""; } >"$1"
}
# s-nail's view: attribute letter and subject per message (N new, U unread-old, O read-old, R read-new)
snail_view() { s-nail -n -S headline-plain -S 'headline=%a %s' -Hf "$1" | tr -s ' ' | sed 's/ *$//'; }

make_box "$W/box1"
printf 't 1\nd 2\nq\n' | "$BUILD/mail" -C "$W/mda.conf" -f "$W/box1" >/dev/null || fail "mail quit"
got=$(snail_view "$W/box1")
want=$'O one\nO three\nU four'
[ "$got" = "$want" ] || fail "s-nail sees after mail: [$got] want [$want]"

make_box "$W/box2"
printf 't 1\nd 2\nq\n' | s-nail -n -S headline-plain -f "$W/box2" >/dev/null 2>&1 || fail "s-nail quit"
got=$(snail_view "$W/box2")
[ "$got" = "$want" ] || echo "note: s-nail's own view after its quit: [$got]"
ours=$("$BUILD/mail" -C "$W/mda.conf" -Hf "$W/box2" | awk '{print substr($0,2,1) "|" $NF}')
want_ours=$'O|one\nO|three\nU|four'   # Heirloom's letters, as s-nail shows them
[ "$ours" = "$want_ours" ] || fail "mail sees after s-nail: [$ours] want [$want_ours]"

# the bytes of kept messages: both programs write the same Status lines
grep -c '^Status: ' "$W/box1" >/dev/null
diff <(grep -E '^(Subject|Status):' "$W/box1") <(grep -E '^(Subject|Status):' "$W/box2") ||
	fail "Status headers differ between mail and s-nail"
echo "mail_interop: ok"
