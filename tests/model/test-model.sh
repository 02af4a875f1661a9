#!/bin/sh
# Checks tests/model/sentinel.pml with spin: the model exhaustively (it must report "errors: 0" and
# a complete search), then each mutant (it must make spin find a violation, so the model's checks
# are not vacuous). Exit 77 (skip) only when spin is missing; a missing C compiler is a failure.
# MODEL_ALL_MUTANTS=1 also runs the slow mutants.
set -eu

here=$(dirname "$(readlink -f "$0")")
model="$here/sentinel.pml"

if ! command -v spin >/dev/null 2>&1; then
        echo "SKIP: spin is not installed"
        exit 77
fi
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=gcc

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cp "$model" "$tmp/sentinel.pml"
cd "$tmp"

failed=0

# run NAME CFLAGS PAN-ARGS [spin -D...]: builds and runs a verifier, output in NAME.out
run() {
        name=$1 cflags=$2 panargs=$3
        shift 3
        rm -f pan pan.* sentinel.pml.trail
        spin "$@" -a sentinel.pml >"$name.spin" 2>&1 || {
                cat "$name.spin"
                echo "FAIL: $name: spin -a failed"
                return 1
        }
        # pan.c is generated code: its warnings are spin's business, not ours
        # shellcheck disable=SC2086
        "$cc" -O2 -w -DSAFETY $cflags -o pan pan.c || {
                echo "FAIL: $name: compiling pan.c failed"
                return 1
        }
        start=$(date +%s)
        # shellcheck disable=SC2086
        ./pan $panargs >"$name.out" 2>&1 || true
        secs=$(($(date +%s) - start))
        errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$name.out" | tail -n 1)
        states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$name.out" | tail -n 1)
        echo "$name: errors: ${errors:-?}, states stored: ${states:-?}, ${secs} s"
}

# The model, exhaustively. Exact state storage (no bitstate, no hash compaction) and a depth bound
# far above the depth reached, so "errors: 0" means no reachable state violates (1), (2) or (3).
if run model "" "-m200000 -w23"; then
        if [ "${errors:-x}" != 0 ]; then
                cat model.out
                spin -t -p sentinel.pml 2>&1 | tail -n 60 || true
                echo "FAIL: the model has errors"
                failed=1
        elif grep -q 'max search depth too small' model.out; then
                cat model.out
                echo "FAIL: the search was cut short by the depth bound"
                failed=1
        else
                grep -E 'State-vector|states, stored|transitions|elapsed time' model.out | sed 's/^/    /'
        fi
else
        failed=1
fi

# The mutants: each must violate an assertion. A violation found by a bitstate search is a real
# counterexample, so bitstate is enough here (and small).
mutants="MUTANT_VOTE_TWICE MUTANT_HEARD_ANY MUTANT_RESTART_HEARD"
if [ "${MODEL_ALL_MUTANTS:-0}" = 1 ]; then
        mutants="$mutants MUTANT_NO_OWN_SDOWN"
fi
for m in $mutants; do
        if run "$m" "-DBITSTATE" "-m200000 -w28" "-D$m"; then
                if [ -z "$errors" ] || [ "$errors" -eq 0 ]; then
                        cat "$m.out"
                        echo "FAIL: $m: spin found no violation; the model's checks may be vacuous"
                        failed=1
                else
                        what=$(spin -t "-D$m" sentinel.pml 2>&1 | sed -n 's/^spin: text of failed assertion: //p' | head -n 1)
                        echo "    violated, as it must be: ${what:-?}"
                fi
        else
                failed=1
        fi
done

[ "$failed" = 0 ] && echo "PASS"
exit "$failed"
