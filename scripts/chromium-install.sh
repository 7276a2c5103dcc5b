#!/usr/bin/env bash
# chromium-install.sh — install Debian's chromium for the web UI e2e test
# if it is missing, and print its path.
set -euo pipefail
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
fi
command -v chromium
