#!/usr/bin/env bash
# Seed ansible-test's pip bootstrap cache so that it works without internet access.
#
# ansible-test creates the virtualenvs of sanity tests (pylint, validate-modules, yamllint, ...)
# with `venv --without-pip` and bootstraps pip into them with a get-pip script it downloads
# from https://ci-files.testing.ansible.com/ (not reachable here) into
# ~/.ansible/test/cache/get_pip_<X_Y>.py. Its own error message says that file may be provided
# by hand, which is what this does: it downloads the pip wheel of that version from the
# package index (ordinary `pip download`) and writes a small stand-in script that runs
# `pip install` from that wheel. A real, previously downloaded get-pip script is left alone.
#
# usage: tests/ansible-test-pip.sh [PYTHON]   (PYTHON: the interpreter that has ansible-test,
#                                             default .venv/bin/python of this checkout)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${1:-$HERE/../.venv/bin/python}"
CACHE="${HOME}/.ansible/test/cache"

die() { printf 'ansible-test-pip: ERROR: %s\n' "$*" >&2; exit 1; }
[ -x "$PY" ] || die "python '$PY' not found (run 'make venv')"

# The packages ansible-test pins for its virtualenvs' bootstrap, one "name==version" a line: pip, and on
# ansible-core 2.16 and 2.17 also setuptools and wheel (installed by the same get-pip call).
PINS="$("$PY" - <<'EOF'
import os
import re

try:
    from ansible_test._internal.host_configs import NativePythonConfig
    from ansible_test._internal.python_requirements import get_venv_packages

    for name, version in get_venv_packages(NativePythonConfig(version="3", path="python")).items():
        print(f"{name}=={version}")
except Exception:  # internal API moved: fall back to reading the pin from the source
    import ansible_test

    path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(path, encoding="utf-8") as f:
        print("pip==" + re.search(r"pip=['\"]([0-9][^'\"]*)['\"]", f.read()).group(1))
EOF
)" || die "cannot determine the pip version ansible-test uses"
PIP_VERSION="$(sed -n 's/^pip==//p' <<<"$PINS")"
[ -n "$PIP_VERSION" ] || die "no pip pin among ansible-test's bootstrap packages: $PINS"

SCRIPT="$CACHE/get_pip_${PIP_VERSION//./_}.py"
WHEEL="$CACHE/pip-${PIP_VERSION}-py3-none-any.whl"
# The wheels the stand-in installs from (pip's, and setuptools' and wheel's where pinned).
wheels_present() {
    local pin
    while IFS= read -r pin; do
        compgen -G "$CACHE/${pin%%==*}-${pin#*==}-*.whl" >/dev/null || return 1
    done <<<"$PINS"
}

if [ -f "$SCRIPT" ] && { ! grep -q 'containerops stand-in' "$SCRIPT" || wheels_present; }; then
    exit 0
fi

mkdir -p "$CACHE"
if ! wheels_present; then
    echo "ansible-test-pip: fetching $(tr '\n' ' ' <<<"$PINS")for ansible-test's sanity virtualenvs" >&2
    # shellcheck disable=SC2086 # one argument per pin
    "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$CACHE" $PINS >/dev/null ||
        die "pip download $(tr '\n' ' ' <<<"$PINS")failed (needs access to the package index)"
fi
[ -f "$WHEEL" ] || die "expected $WHEEL after download"

cat >"$SCRIPT.tmp" <<EOF
"""containerops stand-in for ansible-test's get-pip-${PIP_VERSION}.py (written by tests/ansible-test-pip.sh).

Runs \`pip install ARGS\` from the pip wheel next to this file; get-pip-only flags are dropped.
"""

import os
import runpy
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_wheel = os.path.join(_here, "pip-${PIP_VERSION}-py3-none-any.whl")
sys.path.insert(0, _wheel)
_args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", "--no-index", "--find-links", _here, *_args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
EOF
mv "$SCRIPT.tmp" "$SCRIPT"
