#!/usr/bin/env bash
# Build the local test image containerops/busybox:test WITHOUT any registry.
#
# The image is a tiny root filesystem holding Debian's statically linked busybox
# (package busybox-static) plus applet symlinks, imported with `docker import`.
# Its default command is `sleep infinity`; as PID 1 that process ignores SIGTERM,
# so `docker stop -t N` has to escalate to SIGKILL after N seconds (wanted by tests).
#
# Idempotent: the sha256 of the busybox binary is recorded in the image label
# containerops.busybox_sha; when the image exists with the same sha nothing is rebuilt.
#
# Environment:
#   IMAGE    image name (default containerops/busybox:test)
#   BUSYBOX  path of the static busybox binary (default: auto-detect)
#   FORCE=1  rebuild even if the image is up to date
set -euo pipefail

IMAGE="${IMAGE:-containerops/busybox:test}"
LABEL_KEY="containerops.busybox_sha"

log() { printf 'build-test-image: %s\n' "$*" >&2; }
die() { printf 'build-test-image: ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run 'tests/engine.sh ensure' first)"
docker version >/dev/null 2>&1 || die "no Docker engine answers (run 'tests/engine.sh ensure' first)"

is_static() {
    # A dynamically linked binary would not run inside the empty image.
    local f="$1"
    [ -x "$f" ] || return 1
    if command -v file >/dev/null 2>&1; then
        file -L "$f" | grep -q 'statically linked' && return 0
        return 1
    fi
    # No `file`: a static ELF has no PT_INTERP, so ldd says "not a dynamic executable".
    if command -v ldd >/dev/null 2>&1; then
        ! ldd "$f" >/dev/null 2>&1 && return 0
        return 1
    fi
    return 0
}

find_busybox() {
    local c
    for c in ${BUSYBOX:-} /usr/bin/busybox /bin/busybox; do
        if [ -n "$c" ] && is_static "$c"; then
            readlink -f "$c"
            return 0
        fi
    done
    return 1
}

BB="$(find_busybox || true)"
if [ -z "$BB" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "static busybox missing; installing Debian package busybox-static"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q busybox-static >/dev/null 2>&1 || {
            apt-get update -q >/dev/null
            apt-get install -y -q busybox-static >/dev/null
        }
        BB="$(find_busybox || true)"
    fi
    [ -n "$BB" ] || die "a statically linked busybox is required: as root run 'apt-get install -y busybox-static' (Debian), or set BUSYBOX=/path/to/static/busybox"
fi

SHA="$(sha256sum "$BB" | cut -d' ' -f1)"

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    have="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$IMAGE" 2>/dev/null || true)"
    if [ "$have" = "$SHA" ]; then
        log "$IMAGE is up to date (busybox sha256 $SHA)"
        echo "$IMAGE"
        exit 0
    fi
    log "$IMAGE exists but was built from another busybox (${have:-no label}); rebuilding"
fi

ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/containerops-rootfs.XXXXXX")"
trap 'rm -rf "$ROOTFS"' EXIT

mkdir -p "$ROOTFS"/{bin,etc,tmp,root,proc,sys,dev,var/www}
chmod 1777 "$ROOTFS/tmp"
install -m 0755 "$BB" "$ROOTFS/bin/busybox"

# The applets the tests rely on (must exist), then every other applet busybox offers.
required=(sh sleep httpd wget nslookup cat echo ls mkdir rm touch test kill date true false)
available=" $("$BB" --list | tr '\n' ' ') "
for a in "${required[@]}"; do
    case "$available" in
        *" $a "*) ;;
        *) die "busybox at $BB has no '$a' applet" ;;
    esac
done
for a in $available; do
    [ "$a" = busybox ] && continue
    ln -sf busybox "$ROOTFS/bin/$a"
done

cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

# Some busybox builds reject `sleep infinity` ("invalid number"); fall back to a large number.
"$BB" sleep infinity >/dev/null 2>&1 &
pid=$!
sleep 0.3
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    CMD='CMD ["sleep","infinity"]'
else
    log "busybox sleep does not support 'infinity'; using a large number"
    CMD='CMD ["sleep","2147483647"]'
fi

log "importing $IMAGE from $BB (sha256 $SHA)"
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import \
        --change "$CMD" \
        --change 'ENV PATH=/bin' \
        --change 'WORKDIR /' \
        --change "LABEL $LABEL_KEY=$SHA" \
        --change 'LABEL org.opencontainers.image.title=containerops-busybox-test' \
        --message "containerops test image (busybox sha256 $SHA)" \
        - "$IMAGE" >/dev/null

echo "$IMAGE"
