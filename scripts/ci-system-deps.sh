#!/usr/bin/env bash
# System packages the test suites need (git for the git flow; chromium for the dashboard browser
# test; sqlite3 for the end-to-end leak scan, which reads the Durable Objects' stored rows;
# bubblewrap for the agent sandbox: the container tests run agents inside bwrap when root).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v bwrap >/dev/null || need+=(bubblewrap)
# tini: the image contract check runs the image's ENTRYPOINT (tini) around its CMD, as the image does
command -v tini >/dev/null || [ -x /usr/bin/tini ] || need+=(tini)
if [ "${GASTOWN_SKIP_BROWSER:-}" != "1" ] && ! command -v chromium >/dev/null; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them with apt-get)" >&2
    exit 1
  fi
fi
