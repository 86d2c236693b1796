#!/bin/bash
# mail(1) against s-nail (Heirloom mailx's maintained successor, run with Heirloom's defaults:
# no system rc, v15-compat off, private HOME and MAILRC): the same command scripts on the same
# system mailbox; compared are the header summaries the script prints (status letter, number,
# subject, current-message mark), the mailbox after quit, ~/mbox and every file the commands
# wrote. A difference fails the test unless it is listed in INTENDED below with its reason.
. "$(dirname "$0")/lib.bash"
command -v s-nail >/dev/null || skip "s-nail is not installed (apt-get install s-nail)"
make_world
export TZ=UTC LC_ALL=C.UTF-8 MAILRC=/dev/null NAILRC_SKIP_SYSTEM=1
unset MAIL

# Differences that remain on purpose: "case:aspect  reason".
INTENDED=(
	# save touches the message (Heirloom's save1 calls touch(): MREAD), so its copy of a new
	# message carries "Status: R" (statusput: R for read, no O while new); s-nail 14.9 saves an
	# unread message without a Status line.
	"save_keeps_dot:file:f1  a saved new message is read: Status: R, as Heirloom (s-nail: none)"
	"keepsave:file:f3  a saved new message is read: Status: R, as Heirloom (s-nail: none)"
	# from/f makes the last listed message current (Heirloom's from(): setdot on the last of
	# the list); s-nail 14.9 makes it the first. mail follows Heirloom.
	"search:summary  from sets dot to the last listed message, as Heirloom (s-nail: the first)"
	"types:summary  from sets dot to the last listed message, as Heirloom (s-nail: the first)"
	# z follows Heirloom's scroll()/headers(): screenfuls of 20 counted from message 1, the
	# last one shown whole from its start (21-25); s-nail 14.9 fills the last screen back to
	# 20 messages and pages z- from there.
	"z_forms:summary  z pages by Heirloom's screenfuls (s-nail refills the last screen)"
	# the summary at start is one screenful: 20 lines when standard output is no terminal,
	# as Heirloom's 24-line default less 4; s-nail 14.9 shows 22
	"delete_range:summary  the summary at start shows 20 messages off a terminal (s-nail: 22)"
	# move and Move are copy plus delete, and copy touches as save does (see above); s-nail
	# 14.9 copies a new message without Status and keeps an unread one's O
	"move:file:m1  a moved new message is read: Status: R, as Heirloom (s-nail: none)"
	"move_sender:file:carol  a moved old message is read: Status: RO, as Heirloom (s-nail: O)"
)

msg() { printf 'From %s Fri Sep 29 04:%02d:11 2023\nFrom: %s\nTo: alice@test.example\nSubject: %s\nMessage-ID: <%s@x>\n%s\n%s\n\n' \
	"$1" "$2" "$1" "$3" "$2" "$4" "$5"; }
make_box() {
	msg bob@example.com 1 "Hello there" "" "first body"
	msg carol@example.com 2 "Lunch" "Status: O
" "second body"
	msg dave@example.com 3 "Invoice" "Status: RO
" "third body"
	msg erin@example.com 4 "Quoted C++ talk" "MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
" "caf=C3=A9 =3D soft=
 break"
	msg frank@example.com 5 "lunch again" "" "fifth body"
}
# a thread: 2 and 4 answer 1, 3 answers 2; Date: fields out of mailbox order
reply_box() {
	msg bob@example.com 1 "Plan" "Date: Fri, 29 Sep 2023 09:00:00 +0000
" "root"
	msg carol@example.com 2 "Re: Plan" "Date: Fri, 29 Sep 2023 08:00:00 -0200
In-Reply-To: <1@x>
" "reply one"
	msg dave@example.com 3 "Re: Re: Plan" "Date: Fri, 29 Sep 2023 12:00:00 +0000
References: <1@x> <2@x>
" "reply two"
	msg erin@example.com 4 "Re: Plan" "Date: Fri, 29 Sep 2023 10:30:00 +0000
In-Reply-To: <1@x>
" "reply three"
}
big_box() { for i in $(seq 1 25); do msg "m$i@example.com" "$i" "number $i" "" "body $i"; done; }

# case name, mailbox maker, script (every script ends with h so dot and letters show, then q/x)
CASES=(
	"read_quit|make_box|t 1\nd 2\nh\nq"
	"save_keeps_dot|make_box|t 2\ns 1 f1\nd\nh\nq"
	"copy_marks_read|make_box|copy 3 f2\nh\nq"
	"keepsave|make_box|set keepsave\ns 1 f3\nh\nq"
	"hold_cmd|make_box|t 1\nho 1\nt 2\nh\nq"
	"hold_var|make_box|set hold\nt 1\nt 5\nh\nq"
	"unread|make_box|t 1\nt 3\nunread 1\nh\nq"
	"mbox_cmd|make_box|mbox 3\nh\nq"
	"exit|make_box|t 1\nd 2\nx"
	"undelete|make_box|d 1\nd 2\nundelete 1\nh\nq"
	"dp|make_box|t 1\ndp\nh\nq"
	"search|make_box|f /lunch\nf /LUN\nf /C++\nq"
	"sender|make_box|f bob\nf carol@example.com\nq"
	"types|make_box|f :n\nf :o\nf :u\nf :r\nq"
	"dash_plus|make_box|p 3\np -\np +\nh\nq"
	"write_qp|make_box|w 4 w1\nh\nq"
	"z_forms|big_box|set screen=20\nz\nz\nz-\nz-\nq"
	"delete_range|big_box|set screen=20\nd 3-7\nd 20-25\nh\nq"
	# the commands that complete Heirloom's set (issue 13, part 3)
	"move|make_box|mv 1 3 m1\nd\nh\nq"
	"move_sender|make_box|Move 2\nh\nq"
	"saveignore|make_box|p 1\np 2\nsaveignore Message-ID To\ncopy 1 c1\nunsaveignore to\ncopy 2 c2\nx"
	"sort_subject|make_box|sort subject\nh\np 3\nn\nn\nh\nq"
	"sort_from|make_box|sort from\nh\nq"
	"sort_size|make_box|sort size\nh\nunsort\nh\nq"
	"sort_date_thread|reply_box|sort date\nh\nthread\np 1\nn\nn\nh\nq"
)

# Runs program ($1: mail or snail) on case dir $2 with script $3.
run_one() {
	local who=$1 d=$2 script=$3 prog
	if [ "$who" = mail ]; then
		prog=("$BUILD/mail" -C "$W/mda.conf")
	else
		# Heirloom's MBOX is ~/mbox (s-nail resolves its default against the cwd)
		prog=(s-nail -n -Sv15-compat=no -Sheadline-plain '-Sheadline=%>%a%m %s' "-SMBOX=$d/home/mbox")
	fi
	mkdir -p "$d/home" "$d/work"
	(cd "$d/work" && printf "$script\n" | env HOME="$d/home" MAIL="$d/spool" "${prog[@]}" >"$d/out" 2>"$d/err") || true
}
# The header summary lines of an output, blanks squeezed: ">N 1 Hello there".
summaries() { sed 's/^\xe2\x96\xb8/>/' "$1" | tr -s ' ' | grep -E '^[> ]?[A-Z ]? ?[0-9]+ ' | sed 's/^\([> ]\)\([A-Z]\) /\1\2 /; s/ *$//' |
	awk '{ cur = substr($0,1,1) == ">" ? ">" : " "; sub(/^[> ]/, ""); letter = $1 ~ /^[A-Z]$/ ? $1 : " ";
	       if (letter != " ") sub(/^[A-Z] /, ""); n = $1; sub(/^[0-9]+ /, ""); sub(/^[^ ]+@[^ ]+ .* [0-9]+\/[0-9]+ /, "");
	       sub(/^[|+\\ ]*[+\\]/, "");   # the thread tree at %i (the s-nail headline has none)
	       print cur letter " " n " " $0 }'; }

same=0 differ=0 intended=0
report() {   # case aspect file-a file-b
	local key="$1:$2"
	if cmp -s "$3" "$4"; then
		same=$((same + 1))
		return
	fi
	for i in "${INTENDED[@]}"; do
		if [ "${i%%  *}" = "$key" ]; then
			intended=$((intended + 1))
			echo "intended  $key: ${i#*  }"
			return
		fi
	done
	differ=$((differ + 1))
	echo "DIFFERS   $key"
	diff "$3" "$4" | sed 's/^/    /' | head -20
}

for c in "${CASES[@]}"; do
	IFS='|' read -r name maker script <<<"$c"
	for who in mail snail; do
		d="$W/$name.$who"
		mkdir -p "$d"
		$maker >"$d/spool"
		run_one "$who" "$d" "$script"
		summaries "$d/out" >"$d/summary"
		[ -f "$d/home/mbox" ] || : >"$d/home/mbox"
	done
	a="$W/$name.mail" b="$W/$name.snail"
	report "$name" summary "$a/summary" "$b/summary"
	report "$name" mailbox "$a/spool" "$b/spool"
	# s-nail ends ~/mbox with one more blank line than the separator; not a difference of
	# content, so trailing blank lines are not compared
	for f in "$a/home/mbox" "$b/home/mbox"; do sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$f" >"$f.cmp"; done
	report "$name" mbox "$a/home/mbox.cmp" "$b/home/mbox.cmp"
	for f in $( (ls "$a/work"; ls "$b/work") | sort -u); do
		[ -f "$a/work/$f" ] || : >"$a/work/$f"
		[ -f "$b/work/$f" ] || : >"$b/work/$f"
		report "$name" "file:$f" "$a/work/$f" "$b/work/$f"
	done
done
echo "mail_compat: ${#CASES[@]} scripts, $same aspects the same, $intended intended differences, $differ unexpected"
[ "$differ" = 0 ] || fail "$differ differences from s-nail that are not listed as intended"
echo "mail_compat: ok"
