#!/usr/bin/env bash
# Commands side by side, each with a log of its own:
#
#   tests/parallel.sh LOGDIR NAME=COMMAND...
#
# Every COMMAND (run by bash) starts at once; its output goes to LOGDIR/NAME.log and, each line prefixed with
# "[NAME] ", to this output as it comes. At the end: how long each took and whether it passed; the last lines of
# the log of each one that failed; exit 1 if any failed. Each runs in a session of its own: a TERM or INT here
# is passed on to all of them (tests/suite_engine.py then removes its engine).
set -uo pipefail

[ "$#" -ge 2 ] || { echo "usage: tests/parallel.sh LOGDIR NAME=COMMAND..." >&2; exit 2; }
logdir="$1"; shift
mkdir -p "$logdir"

names=() pids=()
stop() {
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    wait
    exit 143
}
trap stop TERM INT

started=$(date +%s)
for spec in "$@"; do
    name="${spec%%=*}" command="${spec#*=}"
    [ "$name" != "$spec" ] && [ -n "$name" ] || { echo "parallel: '$spec' is not NAME=COMMAND" >&2; exit 2; }
    rm -f "$logdir/$name.log" "$logdir/$name.status"
    setsid bash -c '
        start=$(date +%s)
        bash -c "$1" 2>&1 | tee "$2" | sed -u "s/^/[$3] /"
        rc=${PIPESTATUS[0]}
        echo "$rc $(( $(date +%s) - start ))" > "$2.status"
        exit "$rc"' parallel "$command" "$logdir/$name.log" "$name" &
    names+=("$name") pids+=("$!")
    echo "==> [$name] started: $command (log: $logdir/$name.log)"
done
for pid in "${pids[@]}"; do wait "$pid"; done

failed=()
echo "==> side by side ($(( $(date +%s) - started )) s in all)"
for name in "${names[@]}"; do
    read -r rc seconds < "$logdir/$name.log.status" 2>/dev/null || { rc=killed seconds=?; }
    if [ "$rc" = 0 ]; then outcome=passed; else outcome=FAILED; failed+=("$name"); fi
    printf '  %-16s %-7s %5s s  (%s)\n' "$name" "$outcome" "$seconds" "$logdir/$name.log"
done
for name in "${failed[@]}"; do
    printf '\n---- [%s] FAILED: the last 150 lines of %s ----\n' "$name" "$logdir/$name.log"
    tail -n 150 "$logdir/$name.log"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "make: failed side by side: ${failed[*]}" >&2
    exit 1
fi
