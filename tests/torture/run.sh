#!/bin/bash
# Runs every torture part (or those named) with BUILD absolute and a private temp dir each.
# QUICK=1 runs the short CI sizes. A part passes with exit 0, skips with 77 (it says why).
set -u
cd "$(dirname "$0")/../.."
BUILD=$(cd "${BUILD:-build}" && pwd)
TORTURE_QUICK=${QUICK:-${TORTURE_QUICK:-0}}
export BUILD TORTURE_QUICK
parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
	# The security parts are one file per attack family: security.sh, sec_*.sh.
	parts=(killnine concurrency diskfull hostile security multihost)
	for f in tests/torture/sec_*.sh; do [ -f "$f" ] && parts+=("$(basename "$f" .sh)"); done
fi
pass=0 fail=0 skip=0 failed=()
[ "$TORTURE_QUICK" = 1 ] && echo "torture: quick mode (QUICK=1)"
for p in "${parts[@]}"; do
	t=tests/torture/${p%.sh}.sh
	[ -f "$t" ] || { echo "torture: no such part $p"; fail=$((fail + 1)); continue; }
	name=$(basename "$t" .sh)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/torture-$name.XXXXXX")
	chmod 755 "$dir"
	start=$(date +%s)
	T=$dir timeout "${TORTURE_TIMEOUT:-3600}" bash "$t" >"$dir/.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "torture PASS $name (${secs}s)"; grep '^  ' "$dir/.log" | sed 's/^/    /'; rm -rf "$dir" ;;
	77) skip=$((skip + 1)); echo "torture SKIP $name: $(tail -1 "$dir/.log")"; rm -rf "$dir" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "torture FAIL $name (exit $rc, ${secs}s); log in $dir/.log, last lines:"
	   tail -30 "$dir/.log" | sed 's/^/    /' ;;
	esac
done
echo "torture: $pass passed, $fail failed, $skip skipped${failed[*]:+ (failed: ${failed[*]})}"
[ "$fail" -eq 0 ]
