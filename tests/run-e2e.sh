#!/bin/bash
# Runs every tests/e2e/*.sh (or those named) with BUILD set to an absolute path and a private
# TMPDIR. A script passes with exit 0, is skipped with exit 77 (it says why), fails otherwise.
set -u
cd "$(dirname "$0")/.."
BUILD=$(cd "${BUILD:-build}" && pwd)
export BUILD SRCDIR=$(pwd)
pass=0 fail=0 skip=0 failed=()
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(tests/e2e/*.sh)
for t in "${scripts[@]}"; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$name.XXXXXX")
	start=$(date +%s)
	TMPDIR=$dir timeout "${E2E_TIMEOUT:-600}" bash "$t" >"$dir/.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "e2e PASS $name (${secs}s)"; rm -rf "$dir" ;;
	77) skip=$((skip + 1)); echo "e2e SKIP $name: $(tail -1 "$dir/.log")"; rm -rf "$dir" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "e2e FAIL $name (exit $rc, ${secs}s); last lines:"
	   tail -25 "$dir/.log" | sed 's/^/    /' ;;
	esac
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
