#!/usr/bin/env bash
# Make targets one after the other, each timed:
#
#   tests/steps.sh [-k] TARGET...
#
# Prints "==> step TARGET passed|FAILED in N s" after each and a summary at the end. Without -k it stops at the
# first failed target; with -k it makes the others too and fails at the end, naming the failed ones.
#
# Environment: MAKE (make), STEP_MAKE_ARGS (more arguments for every make, e.g. "-o collection": made already).
set -uo pipefail

keep_going=0
if [ "${1:-}" = -k ]; then keep_going=1; shift; fi
[ "$#" -gt 0 ] || { echo "usage: tests/steps.sh [-k] TARGET..." >&2; exit 2; }

summary=() failed=()
for target in "$@"; do
    start=$(date +%s)
    # shellcheck disable=SC2086 # STEP_MAKE_ARGS is a list of arguments
    ${MAKE:-make} --no-print-directory ${STEP_MAKE_ARGS:-} "$target"
    rc=$?
    seconds=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then outcome=passed; else outcome=FAILED; failed+=("$target"); fi
    echo "==> step $target $outcome in $seconds s"
    summary+=("$(printf '  %-20s %-7s %5s s' "$target" "$outcome" "$seconds")")
    [ "$rc" -eq 0 ] || [ "$keep_going" = 1 ] || break
done
echo "==> steps:"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "make: failed steps: ${failed[*]}" >&2
    exit 1
fi
