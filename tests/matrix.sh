#!/usr/bin/env bash
# The ansible-core version matrix: the collection promises requires_ansible >=2.16 (meta/runtime.yml);
# the project venv (.venv) runs everything on the newest ansible-core, this runs every older release.
#
#   tests/matrix.sh VERSION:PYTHON...      e.g. 2.16:3.11 2.20:3.12 (the Makefile's MATRIX)
#
# Each ansible-core VERSION runs on a Python PYTHON it supports, found by tests/python.sh (PATH, pyenv); a
# missing one stops the matrix before anything runs. For each version, in parallel (a log per step in
# .build/matrix/<version>/):
#   venv         .build/matrix/<version>/venv: tests/requirements-matrix.txt + ansible-core==<version>.*
#                (rebuilt only when that file, the version or the Python changes; pip's download cache is shared;
#                --no-compile: Python compiles what it imports; one venv took 31 s instead of 86 s here)
#   units        pytest tests/unit
#   sanity       ansible-test sanity --local over plugins/ in a copy of the collection tree of its own
#                (MATRIX_SANITY_ARGS, default: every test but pylint, whose rules change per version
#                and which the newest ansible-core runs in `make sanity`; on 2.16 not yamllint either)
#   integration  MATRIX_TESTS (test_backends.py's same playbook through the docker, hoody, dockhand and podman
#                backends) on the engine DOCKER_HOST names (and the Podman service CONTAINEROPS_PODMAN_DIR names,
#                else one of pytest's own), run by that version's ansible-playbook against the
#                installed collection (make collection); one version at a time (they share the engine and the
#                containers' names), beside the CPU-bound steps of the others
# A summary line per version and step at the end; exit 1 if any failed (the failed step's log is printed).
#
# Environment: MATRIX_SANITY_ARGS, MATRIX_TESTS, MATRIX_INTEGRATION (1: run it, 0: skip), MATRIX_DIR
#              (.build/matrix), TREE_SRC (the tree `make tree` copies, .build/tree/ansible_collections/...),
#              COLLECTIONS (the installed collection, default .build/collections).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MATRIX_DIR:-$ROOT/.build/matrix}"
TREE_SRC="${TREE_SRC:-$ROOT/.build/tree/ansible_collections/containerops/lifecycle}"
COLLECTIONS="${COLLECTIONS:-$ROOT/.build/collections}"
MATRIX_SANITY_ARGS="${MATRIX_SANITY_ARGS:---skip-test pylint}"
MATRIX_TESTS="${MATRIX_TESTS:-tests/integration/test_backends.py::test_same_playbook_on_every_backend}"
MATRIX_INTEGRATION="${MATRIX_INTEGRATION:-1}"
REQUIREMENTS="$ROOT/tests/requirements-matrix.txt"
# ansible-test keeps its sanity virtualenvs under ~/.ansible/test, keyed by their requirements: versions that
# share a key would build the same one at once. Each version's ansible-test gets a HOME of its own; pip's
# download cache stays the user's.
PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
export PIP_CACHE_DIR

die() { printf 'matrix: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$#" -gt 0 ] || die "usage: tests/matrix.sh VERSION:PYTHON... (e.g. 2.16:3.11)"
versions=()
declare -A python_of py_version_of
for pair in "$@"; do
    version="${pair%%:*}" py="${pair#*:}"
    [ "$version" != "$pair" ] && [ -n "$py" ] || die "'$pair' is not VERSION:PYTHON (e.g. 2.16:3.11)"
    python_of[$version]="$("$ROOT/tests/python.sh" "$py")" ||
        die "ansible-core $version runs on Python $py here, which is missing (see above)"
    py_version_of[$version]="$py"
    versions+=("$version")
done
[ -d "$TREE_SRC" ] || die "no collection tree at $TREE_SRC (run 'make tree')"
if [ "$MATRIX_INTEGRATION" = 1 ] && ! compgen -G "$COLLECTIONS/ansible_collections/containerops/lifecycle/MANIFEST.json" >/dev/null; then
    die "the collection is not installed in $COLLECTIONS (run 'make collection')"
fi

# The pytest import path (see conftest.py): made once here, not by three pytest processes at once.
link="$ROOT/.build/pytest-tree/ansible_collections/containerops/lifecycle"
[ -L "$link" ] || { mkdir -p "$(dirname "$link")" && ln -s "$ROOT" "$link"; }

stamp_of() {  # what a venv was built from
    printf '%s %s\n' "$1" "${python_of[$1]}"; cat "$REQUIREMENTS" "$ROOT/requirements.txt"
}

build_venv() {  # version
    local dir="$BUILD/$1" venv="$BUILD/$1/venv"
    if [ -x "$venv/bin/python" ] && [ -f "$venv/.stamp" ] && cmp -s <(stamp_of "$1") "$venv/.stamp"; then
        echo "venv up to date: $venv"
        return 0
    fi
    rm -rf "$venv"
    "${python_of[$1]}" -m venv "$venv" &&
        "$venv/bin/python" -m pip install -q --no-compile -r "$REQUIREMENTS" "ansible-core==$1.*" &&
        stamp_of "$1" > "$venv/.stamp"
}

run_units() {  # version; without the engine's address, as `make units`
    local venv="$BUILD/$1/venv"
    (cd "$ROOT" && env -u DOCKER_HOST -u CONTAINEROPS_SUITE_ENGINE "$venv/bin/python" -m pytest tests/unit -q \
        -p no:cacheprovider)
}

run_sanity() {  # version
    local venv="$BUILD/$1/venv" tree="$BUILD/$1/tree/ansible_collections/containerops/lifecycle" skip=()
    # ansible-core 2.16's yamllint test refuses an EXAMPLES of several YAML documents (the inventory plugin's:
    # one config file each), which 2.17 allowed; the newer versions run yamllint over the same files. An
    # ignore entry would do instead, but ansible-lint's sanity rule (Automation Hub's) does not permit it.
    [ "$1" = 2.16 ] && skip=(--skip-test yamllint)
    rm -rf "$BUILD/$1/tree"
    mkdir -p "$(dirname "$tree")"
    cp -a "$TREE_SRC" "$tree"
    rm -rf "$tree/tests/output"
    # shellcheck disable=SC2086 # MATRIX_SANITY_ARGS is a list of arguments
    (cd "$tree" && env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS PATH="$venv/bin:$PATH" \
        HOME="$BUILD/$1/home" "$venv/bin/ansible-test" sanity --local --python "${py_version_of[$1]}" --color no \
        "${skip[@]}" $MATRIX_SANITY_ARGS plugins/)
}

run_integration() {  # version; one at a time (flock)
    local venv="$BUILD/$1/venv"
    # shellcheck disable=SC2086 # MATRIX_TESTS is a list of test ids
    (cd "$ROOT" && flock "$BUILD/integration.lock" env PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" \
        ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" \
        "$venv/bin/python" -m pytest $MATRIX_TESTS -q -p no:cacheprovider)
}

step() {  # version step: run it, log it (<version>/<step>.log), record "<step> passed|FAILED <seconds>"
    local version="$1" name="$2" start rc
    start=$(date +%s)
    "$name" "$version" > "$BUILD/$version/$name.log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "$name passed $(( $(date +%s) - start ))" >> "$BUILD/$version/steps"
    else
        echo "$name FAILED $(( $(date +%s) - start ))" >> "$BUILD/$version/steps"
    fi
    return "$rc"
}

mkdir -p "$BUILD"
for version in "${versions[@]}"; do
    rm -f "$BUILD/$version/"*.log "$BUILD/$version/steps"
    mkdir -p "$BUILD/$version/home"
done

started=$(date +%s)
# The venvs in parallel (downloads), then the get-pip stand-in of each ansible-test (in its HOME).
pids=()
for version in "${versions[@]}"; do
    step "$version" build_venv &
    pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done
for version in "${versions[@]}"; do
    [ -x "$BUILD/$version/venv/bin/python" ] &&
        HOME="$BUILD/$version/home" "$ROOT/tests/ansible-test-pip.sh" "$BUILD/$version/venv/bin/python"
done

pids=()
for version in "${versions[@]}"; do
    if grep -q '^build_venv passed' "$BUILD/$version/steps"; then
        # The integration playbook (waits on the engine and on the other versions') beside sanity (CPU-bound).
        ( step "$version" run_units
          if [ "$MATRIX_INTEGRATION" = 1 ]; then
              step "$version" run_integration &
          fi
          step "$version" run_sanity
          wait
          true ) &
        pids+=("$!")
    fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

failed=0
echo "==> ansible-core matrix ($(( $(date +%s) - started )) s in all)"
for version in "${versions[@]}"; do
    core="$("$BUILD/$version/venv/bin/python" -c 'import ansible; print(ansible.__version__)' 2>/dev/null || echo '?')"
    while read -r name outcome seconds; do
        printf '  ansible-core %-8s Python %-5s %-16s %-7s %4s s\n' "$core" "${py_version_of[$version]}" "$name" \
            "$outcome" "$seconds"
        if [ "$outcome" != passed ]; then
            failed=1
            printf '\n---- %s (ansible-core %s), its last lines ----\n' "$BUILD/$version/$name.log" "$core"
            tail -n 80 "$BUILD/$version/$name.log"
            echo
        fi
    done < "$BUILD/$version/steps"
done
exit "$failed"
