#!/usr/bin/env bash
# What `make test` needs on the machine, installed when missing (as root on Debian/Ubuntu, with apt), else said.
#
#   tests/setup.sh [X.Y ...]    the programs below, and a Python of each version given (the Makefile passes the
#                               venv's and the matrix's), which apt cannot provide: found through pyenv or PATH
#                               (tests/python.sh), or named with the command that installs it
#
#   program        Debian package           used by
#   git            git                      make tree (the files ansible-test sees)
#   python3 venv   python3-venv             venvs made from Debian's own python3 (ensurepip)
#   pip's TLS      ca-certificates          pip, from PyPI
#   ip             iproute2                 the bridges of the suite's own engines (tests/suite-engine.sh)
#   dockerd        docker.io                the suite's own engine; the docker CLI of the tests and scenarios
#   podman         podman                   the suite's own Podman service (tests/integration/podman_service.py)
#   CNI plugins    containernetworking-plugins  its networks (CNI, as its containers.conf says; not netavark)
#   CNI dnsname    golang-github-containernetworking-plugin-dnsname  names and aliases resolved on its networks
#                                           (dnsmasq per network; the alias and blue_green tests reach the alias)
#   busybox        busybox-static           the registry-free test image (tests/images/build-test-image.sh)
#   java (17+)     openjdk-17-jre-headless  ansible-rulebook's rule engine (tests/integration/test_eda.py)
#   chromium       chromium                 looks at the rendered docs (tests/docs/test_docs.py)
#   openssl        openssl                  the TLS tests' private CA and certificates (tests/certificates.py)
#   socat          socat                    the TLS fronts of tests/integration/test_tls.py (expired, REST)
#   sshd, ssh      openssh-server           docker_host: ssh:// through a real sshd (tests/integration/test_ssh.py)
#   make           make                     (needed to get here: .ci/run installs it first)
#
# Quiet when everything is there. Not root, or not Debian, and something missing: the list and the command that
# installs it, and exit 1: the suite never skips what it cannot run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'setup: %s\n' "$*" >&2; }

has_static_busybox() {
    local candidate
    for candidate in ${BUSYBOX:-} /usr/bin/busybox /bin/busybox; do
        # A static ELF has no interpreter: ldd says "not a dynamic executable" and fails.
        if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then
            return 0
        fi
    done
    return 1
}

has_java17() {
    command -v java >/dev/null 2>&1 &&
        java -version 2>&1 | head -n 1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'
}

has_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

has_system_venv() {  # Debian's python3 has no ensurepip (hence no venv) without python3-venv
    [ ! -x /usr/bin/python3 ] || /usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1
}

# package|check, in the order of the table above
requirements=(
    "git|command -v git"
    "python3-venv|has_system_venv"
    "ca-certificates|test -s /etc/ssl/certs/ca-certificates.crt"
    "iproute2|command -v ip"
    "docker.io|command -v dockerd && command -v docker"
    "podman|command -v podman"
    "containernetworking-plugins|test -x /usr/lib/cni/bridge"
    "golang-github-containernetworking-plugin-dnsname|test -x /usr/lib/cni/dnsname"
    "busybox-static|has_static_busybox"
    "openjdk-17-jre-headless|has_java17"
    "chromium|has_chromium"
    "openssl|command -v openssl"
    "socat|command -v socat"
    "openssh-server|test -x /usr/sbin/sshd && command -v ssh && command -v ssh-keygen"
    "make|command -v make"
)

missing=()
for requirement in "${requirements[@]}"; do
    if ! eval "${requirement#*|}" >/dev/null 2>&1; then
        missing+=("${requirement%%|*}")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "ERROR: the test suite needs these, which are missing: ${missing[*]}"
        if command -v apt-get >/dev/null 2>&1; then
            log "install them as root, then re-run:  sudo apt-get install -y --no-install-recommends ${missing[*]}"
        else
            log "(Debian package names; install the equivalents with your package manager), then re-run"
        fi
        exit 1
    fi
    log "installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

failed=0
for version in "$@"; do
    "$HERE/python.sh" "$version" >/dev/null || failed=1
done
exit "$failed"
