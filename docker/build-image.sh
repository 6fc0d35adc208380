#!/usr/bin/env bash
# Builds the gateway's image with no network inside the build and no image registry:
#   1. the local base image (docker/build-base.sh; skipped when it exists),
#   2. the gateway's wheel and all its dependencies' into .build/wheels/ on the host (pip wheel,
#      from pyproject.toml; PyPI is reached here, on the host, never in the build),
#   3. docker build --network=none -f docker/Dockerfile, installing from those wheels only.
#
#   docker/build-image.sh [TAG]        (default aeo-gateway:latest; `make docker-image` runs it)
#
# Environment: PYTHON (default python3) must be Python 3.11, as bookworm's, since the binary
# wheels are built for it; AEO_GATEWAY_BASE_IMAGE (default aeo-gateway-base:bookworm).
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-aeo-gateway:latest}"
BASE="${AEO_GATEWAY_BASE_IMAGE:-aeo-gateway-base:bookworm}"
PYTHON="${PYTHON:-python3}"
WHEELS=.build/wheels

fail() { echo "build-image: $*" >&2; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null ||
  fail "$PYTHON is not Python 3.11 (bookworm's, the image's): set PYTHON=/path/to/python3.11"

AEO_GATEWAY_BASE_IMAGE="$BASE" docker/build-base.sh

start=$(date +%s)
mkdir -p "$WHEELS"
# Only the gateway's own wheel is rebuilt each time; dependencies' wheels already here are kept.
rm -f "$WHEELS"/aeo_gateway-*.whl
# setuptools builds in ./build/ and would pack a module deleted since from a stale build/lib.
rm -rf build
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$WHEELS" . ||
  fail "pip wheel failed (output above)"
echo "build-image: $(ls "$WHEELS" | wc -l) wheels in $WHEELS ($(($(date +%s) - start))s)"

start=$(date +%s)
build_id="$(date +%s)-$$-$RANDOM"
replaced="$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
docker build --network=none --quiet -f docker/Dockerfile --build-arg BASE="$BASE" \
  --build-arg BUILD_ID="$build_id" -t "$TAG" . >/dev/null || fail "docker build failed (output above)"
# This build's install stage and the image the tag named before, both untagged now: nothing
# reuses them (the gateway's wheel differs on every build), and each is hundreds of megabytes.
docker image prune --force --filter "label=org.aeo-gateway.build=$build_id" >/dev/null
if [ -n "$replaced" ] && [ "$replaced" != "$(docker image inspect --format '{{.Id}}' "$TAG")" ]; then
  docker image rm "$replaced" >/dev/null 2>&1 || true  # still used by a container: kept
fi
echo "build-image: $TAG built from $BASE in $(($(date +%s) - start))s"
