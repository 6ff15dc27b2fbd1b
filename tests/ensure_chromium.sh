#!/usr/bin/env bash
# Installs Debian's chromium with apt if it is missing (the browser tests drive it
# with Playwright). Usage: tests/ensure_chromium.sh LOG_FILE
set -euo pipefail
if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi
  if ! { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium > "$1"; }; then
    echo "could not install chromium: run as root, with password-less sudo, or install" \
      "Debian's chromium package first" >&2
    exit 1
  fi
fi
