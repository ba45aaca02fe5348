#!/usr/bin/env bash
# Print the path of a Python interpreter of version X.Y, or say where to get one and exit 1.
#
#   tests/python.sh 3.13
#
# Looked for, in this order: pythonX.Y on PATH, pyenv's newest X.Y.* ($(pyenv root), else ~/.pyenv),
# /usr/local/bin and /usr/bin. Each candidate is run once to check that it really is X.Y (a pyenv shim
# of a version that is not active answers with an error).
set -euo pipefail

want="${1:?usage: tests/python.sh X.Y}"

is_version() {  # interpreter
    [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]
}

candidates=()
if command -v "python$want" >/dev/null 2>&1; then
    candidates+=("$(command -v "python$want")")
fi
pyenv_root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
if [ -d "$pyenv_root/versions" ]; then
    while IFS= read -r dir; do
        candidates+=("$dir/bin/python$want")
    done < <(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name "$want.[0-9]*" | sort -rV)
fi
candidates+=("/usr/local/bin/python$want" "/usr/bin/python$want")

for candidate in "${candidates[@]}"; do
    if is_version "$candidate"; then
        "$candidate" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done
{
    echo "python: ERROR: no Python $want found (pythonX.Y on PATH, pyenv versions, /usr/local/bin, /usr/bin)."
    echo "python: the suite needs it; install it, e.g. 'pyenv install $want' (https://github.com/pyenv/pyenv),"
    echo "python: or your distribution's python$want package, then re-run."
} >&2
exit 1
