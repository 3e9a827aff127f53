#!/usr/bin/env bash
# Builds the town container image (packages/container/Dockerfile) from the repository root, for
# linux/amd64 explicitly: `wrangler containers push` (wrangler 4.86.0) refuses any other platform,
# and package-lock.json holds only the linux-x64 opencode binaries — an arm64 build (the default
# on Apple silicon) would neither push nor run.
# Usage: scripts/build-image.sh            → image gastown-container
#        IMAGE=gastown-container:2026-12-06 scripts/build-image.sh
# Extra arguments go to `docker build` (e.g. --no-cache).
set -euo pipefail
if ! command -v docker >/dev/null 2>&1; then
  echo "build-image: docker not found on PATH; building the container image needs Docker." >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "build-image: the docker CLI cannot reach a Docker engine (\`docker info\` fails); start one or point DOCKER_HOST at one." >&2
  exit 1
fi
cd "$(dirname "$0")/.."
exec docker build --platform linux/amd64 -f packages/container/Dockerfile -t "${IMAGE:-gastown-container}" "$@" .
