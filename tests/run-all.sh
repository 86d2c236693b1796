#!/bin/bash
# `make test`: the Criterion unit binary, then every end-to-end script; one line per suite,
# every skip with its reason, one closing tally. What the programs under test print (their
# log lines, Criterion's per-test chatter) goes to a log file that is shown only for a
# failure; temporary files live in one directory that is removed at the end.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
work=$(mktemp -d "${TMPDIR:-/tmp}/mda-tests.XXXXXX")
mkdir -p "$work/unit-tmp"
# Tests drop to other users (nobody, the e2e users): the tree must be traversable.
chmod 755 "$work" "$work/unit-tmp"
trap 'rm -rf "$work"' EXIT

# ---- unit: per-suite lines from Criterion's JSON report ----
# Under LeakSanitizer (make check-asan) the exit status of the runner says nothing about our
# code: Criterion's runner itself leaks two small blocks when it runs tests in parallel, and
# a leak in a test's worker process does not fail that test. So leaks do not set the exit
# status here; instead every leak report with a frame in this project's code fails the run.
LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=0 \
	TMPDIR=$work/unit-tmp "$BUILD/tests/unit/all" --json="$work/unit.json" ${CRITERION_FLAGS:-} >"$work/unit.log" 2>&1
unit_rc=$?
our_leaks=$(awk '
	/ERROR: LeakSanitizer/ { block = $0 "\n"; ours = 0; inside = 1; next }
	inside { block = block $0 "\n" }
	inside && / in .* (tests|mbox|mda|mailcmd|aliases|forward|common|sieve)\/[^ ]*\.c:/ { ours = 1 }
	inside && /^SUMMARY: / { if (ours) printf "%s", block; inside = 0 }' "$work/unit.log")
if [ -n "$our_leaks" ]; then
	echo "unit FAIL leaks: LeakSanitizer reports with frames in this project's code:"
	head -60 <<<"$our_leaks" | sed 's/^/    /'
	[ "$unit_rc" -ne 0 ] || unit_rc=1
fi
tally=$(python3 - "$work/unit.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print("unit FAIL: no Criterion report (%s)" % e)
    print("TALLY 0 1 0")
    sys.exit(0)
passed = failed = skipped = 0
for s in sorted(d["test_suites"], key=lambda s: s["name"]):
    n = len(s["tests"])
    bad = [t for t in s["tests"] if t["status"] not in ("PASSED", "SKIPPED")]
    skips = [t for t in s["tests"] if t["status"] == "SKIPPED"]
    passed += n - len(bad) - len(skips)
    failed += len(bad)
    skipped += len(skips)
    extra = ", %d skipped" % len(skips) if skips else ""
    print("unit %s %s (%d tests%s)" % ("FAIL" if bad else "PASS", s["name"], n, extra))
    for t in bad:
        print("    FAIL %s: %s" % (t["name"], "; ".join(t.get("messages", [])) or t["status"]))
    for t in skips:
        print("    SKIP %s: %s" % (t["name"], "; ".join(t.get("messages", []))))
print("TALLY %d %d %d" % (passed, failed, skipped))
EOF
)
grep -v '^TALLY' <<<"$tally"
read -r _ u_pass u_fail u_skip <<<"$(grep '^TALLY' <<<"$tally")"
grep -a 'Synthesis: Tested' "$work/unit.log" | tail -1
if [ "$unit_rc" -ne 0 ]; then
	[ "$u_fail" -gt 0 ] || u_fail=1
	echo "unit: exit status $unit_rc; the failing tests' output:"
	grep -a -B2 -A8 '^\[FAIL\]\|Assertion Failed\|CRASH' "$work/unit.log" | head -150 | sed 's/^/    /'
	# Every test passed but the runner did not exit 0 (a sanitizer report outside the tests):
	grep -a -A8 '^==[0-9]*==ERROR\|^SUMMARY: ' "$work/unit.log" | head -40 | sed 's/^/    /'
fi

# ---- e2e: one line per script (tests/run-e2e.sh keeps each script's output in its log) ----
mkdir -p "$work/e2e-tmp" && chmod 755 "$work/e2e-tmp"
TMPDIR=$work/e2e-tmp tests/run-e2e.sh >"$work/e2e.out" 2>&1
e2e_rc=$?
grep -v '^e2e: ' "$work/e2e.out"
tally=$(grep -a '^e2e: ' "$work/e2e.out" | tail -1)
e_pass=$(sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p' <<<"$tally"); e_pass=${e_pass:-0}
e_fail=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$tally"); e_fail=${e_fail:-0}
e_skip=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$tally"); e_skip=${e_skip:-0}
if [ "$e2e_rc" -ne 0 ] && [ "$e_fail" -eq 0 ]; then e_fail=1; fi

echo "total: $((u_pass + e_pass)) passed, $((u_fail + e_fail)) failed, $((u_skip + e_skip)) skipped" \
	"(unit: $u_pass passed, $u_fail failed, $u_skip skipped; e2e: $e_pass passed, $e_fail failed, $e_skip skipped)"
[ $((u_fail + e_fail)) -eq 0 ]
