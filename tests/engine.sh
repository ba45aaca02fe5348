#!/usr/bin/env bash
# Make sure a Docker engine answers.
#
#   tests/engine.sh ensure   quiet no-op when an engine answers (DOCKER_HOST or the default
#                            socket); otherwise, as root on Debian, install docker.io if dockerd
#                            is missing, start dockerd in the background and wait for it.
#   tests/engine.sh status   exit 0 if an engine answers, 1 otherwise.
#
# Environment: DOCKER_HOST (honoured by the docker CLI), ENGINE_WAIT (seconds, default 60).
set -euo pipefail

LOG=/tmp/containerops-dockerd.log
PIDFILE=/tmp/containerops-dockerd.pid
WAIT="${ENGINE_WAIT:-60}"

log() { printf 'engine: %s\n' "$*" >&2; }
die() { printf 'engine: ERROR: %s\n' "$*" >&2; exit 1; }

answers() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

is_debian() { [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }

apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" = 0 ]; then
        apt-get update -q >/dev/null
        apt_updated=1
    fi
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure() {
    if answers; then
        return 0
    fi

    local where="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    if [ "$(id -u)" -ne 0 ]; then
        die "no Docker engine answers at $where. Start one (e.g. 'sudo systemctl start docker' or 'sudo dockerd &'), make sure your user may use its socket (member of group 'docker'), or point DOCKER_HOST at a running engine; then re-run."
    fi
    if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
        die "DOCKER_HOST=$DOCKER_HOST does not answer; refusing to start a local dockerd for a remote engine. Unset DOCKER_HOST or start that engine."
    fi
    is_debian || die "no Docker engine answers at $where and this is not Debian/Ubuntu; install and start Docker yourself."

    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        log "installing docker.io (apt)"
        apt_install docker.io
    fi

    # Our own dockerd still starting up? Then just wait for it.
    local pid=""
    if [ -f "$PIDFILE" ]; then
        pid="$(cat "$PIDFILE" 2>/dev/null || true)"
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            pid=""
        fi
    fi
    if [ -z "$pid" ]; then
        local host_args=()
        if [ -n "${DOCKER_HOST:-}" ]; then
            host_args=(--host "$DOCKER_HOST")
        fi
        log "starting dockerd in the background (log: $LOG)"
        # Own session so that it survives the calling make/CI shell.
        nohup setsid dockerd "${host_args[@]}" >>"$LOG" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PIDFILE"
    fi

    local i
    for ((i = 0; i < WAIT; i++)); do
        if answers; then
            log "dockerd (pid $pid) answers"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$LOG" >&2 || true
            die "dockerd exited; see $LOG"
        fi
        sleep 1
    done
    tail -n 30 "$LOG" >&2 || true
    die "dockerd (pid $pid) did not answer within ${WAIT}s; see $LOG"
}

case "${1:-}" in
    ensure) ensure ;;
    status) answers ;;
    *)
        echo "usage: $0 ensure|status" >&2
        exit 2
        ;;
esac
