#!/usr/bin/env bash
# Builds the local base image the gateway's Dockerfile starts FROM, without any image registry:
# a Debian bookworm root filesystem made by debootstrap (--variant=minbase) from a Debian package
# mirror, with bookworm's Python 3.11 (python3, python3-venv) and ca-certificates, imported with
# `docker import`. Skipped when the image already exists (--force rebuilds it), so a machine pays
# for it once: about a minute and a half, most of it debootstrap (docs/operations.md, "Docker").
#
#   docker/build-base.sh [--force]
#
# Environment: AEO_GATEWAY_BASE_IMAGE (default aeo-gateway-base:bookworm), DEBIAN_MIRROR (default:
# the first Debian mirror in /etc/apt/sources.list*, else http://deb.debian.org/debian).
# Needs root (debootstrap), debootstrap and a running docker daemon.
set -euo pipefail

IMAGE="${AEO_GATEWAY_BASE_IMAGE:-aeo-gateway-base:bookworm}"
SUITE=bookworm
FORCE=0
case "${1:-}" in
  "") ;;
  --force) FORCE=1 ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

fail() { echo "build-base: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || fail "docker is missing: apt-get install docker.io"
docker info >/dev/null 2>&1 || fail "the docker daemon is not running: start dockerd"
if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-base: $IMAGE exists (docker/build-base.sh --force rebuilds it)"
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing: apt-get install debootstrap"
[ "$(id -u)" = 0 ] || fail "debootstrap needs root: run as root"

mirror_from_apt() {
  # deb822 (URIs: ...) or one-line (deb URL suite ...) sources; the first that serves Debian.
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null || true; } |
    sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\?$/\1/p' \
      -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)\/\?[[:space:]].*/\2/p' |
    head -n1 || true
}
MIRROR="${DEBIAN_MIRROR:-$(mirror_from_apt)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/aeo-gateway-base.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
start=$(date +%s)
echo "build-base: debootstrap $SUITE (minbase) from $MIRROR"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 20 "$WORK/debootstrap.log" >&2
  fail "debootstrap failed (log above)"
}
# What an image needs no more: downloaded packages, package lists, documentation.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE" >/dev/null
version="$(docker run --rm --network=none "$IMAGE" python3 --version)"
case "$version" in
  "Python 3.11."*) ;;
  *) docker image rm "$IMAGE" >/dev/null; fail "expected bookworm's Python 3.11, the image has: $version" ;;
esac
echo "build-base: $IMAGE built ($version) in $(($(date +%s) - start))s"
