#!/bin/bash
# `make test`: the Criterion unit binary, then every end-to-end script; one closing tally.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

unit_log=$(mktemp)
"$BUILD/tests/unit/all" ${CRITERION_FLAGS:-} 2>&1 | tee "$unit_log"
unit_rc=${PIPESTATUS[0]}
synth=$(grep -a 'Synthesis: Tested' "$unit_log" | tail -1)
rm -f "$unit_log"
u_pass=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$synth"); u_pass=${u_pass:-0}
u_fail=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$synth"); u_fail=${u_fail:-0}
u_crash=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$synth"); u_crash=${u_crash:-0}
if [ "$unit_rc" -ne 0 ] && [ $((u_fail + u_crash)) -eq 0 ]; then u_fail=1; fi

e2e_log=$(mktemp)
tests/run-e2e.sh 2>&1 | tee "$e2e_log"
e2e_rc=${PIPESTATUS[0]}
tally=$(grep -a '^e2e: ' "$e2e_log" | tail -1)
rm -f "$e2e_log"
e_pass=$(sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p' <<<"$tally"); e_pass=${e_pass:-0}
e_fail=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$tally"); e_fail=${e_fail:-0}
e_skip=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$tally"); e_skip=${e_skip:-0}
if [ "$e2e_rc" -ne 0 ] && [ "$e_fail" -eq 0 ]; then e_fail=1; fi

echo "total: $((u_pass + e_pass)) passed, $((u_fail + u_crash + e_fail)) failed, $e_skip skipped"
[ $((u_fail + u_crash + e_fail)) -eq 0 ]
