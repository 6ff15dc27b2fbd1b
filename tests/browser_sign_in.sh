#!/usr/bin/env bash
# Browser sign-in end to end: the local server (in-memory store), headless Chromium
# driven by Playwright, Authlib as the client (tests/browser_sign_in.py). Writes the
# login page's screenshot for the README to docs/images/login-page.png.
# Expects PATH with .venv/bin (playwright, authlib, Pillow) from scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.tmp/browser-sign-in
mkdir -p "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

tests/ensure_chromium.sh "$work/apt.log"

cargo build --quiet --locked -p local-server
target/debug/local-server --port "$port" --bcrypt-cost 4 --user alice:wonderland-42 \
  --scope read --scope write --consent-client third-app > "$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/.well-known/jwks.json" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

# Every wait inside is bounded (10 s); this bounds the whole run.
timeout 300 python tests/browser_sign_in.py "$base" docs/images/login-page.png
