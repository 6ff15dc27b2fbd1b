#!/usr/bin/env bash
# OpenID Connect end to end: the local server as it starts by default (in-memory store,
# an RS256 key as template.yaml deploys), headless Chromium driven by Playwright, and Authlib's
# OpenID Connect client as the relying party (tests/openid_connect_rp.py): discovery,
# sign-in with PKCE and nonce, ID token validation, UserInfo, refresh, logout.
# Expects PATH with .venv/bin (playwright, authlib) from scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.tmp/openid-connect
mkdir -p "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
callback_port=$(free_port)
base="http://127.0.0.1:$port"

tests/ensure_chromium.sh "$work/apt.log"

# Registered for logout as an exact URI: the relying party's listener.
cargo build --quiet --locked -p local-server
target/debug/local-server --port "$port" --bcrypt-cost 4 \
  --user alice:wonderland-42 \
  --post-logout-redirect-uri "http://127.0.0.1:$callback_port/signed-out" \
  > "$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/.well-known/openid-configuration" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

# Every wait inside is bounded (10 s); this bounds the whole run.
timeout 300 python tests/openid_connect_rp.py "$base" "$callback_port"
