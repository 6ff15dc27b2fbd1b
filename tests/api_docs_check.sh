#!/usr/bin/env bash
# The API documentation, end to end, against the local server (self-service on):
# the document validates (openapi-spec-validator), schemathesis fuzzes every
# operation from it without a 5xx or a response that contradicts it, and the /docs
# page renders in headless Chromium with no network (tests/docs_page.py).
# Expects PATH with .venv/bin (schemathesis, openapi-spec-validator, Pillow) from
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.tmp/api-docs
mkdir -p "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

cargo build --quiet --locked -p local-server
target/debug/local-server --port "$port" --self-service --bcrypt-cost 4 \
  --user alice:wonderland-42 --client reports:reports-secret-1 --scope reports \
  > "$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/openapi.json" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

curl -sf "$base/openapi.json" > "$work/openapi.json"
python -m openapi_spec_validator "$work/openapi.json"

# A real token, so that the bearer-protected operations are fuzzed past the
# authentication check too.
token=$(curl -sf "$base/token" -d grant_type=password -d client_id=local-app \
  -d username=alice -d password=wonderland-42 |
  python -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# Every check but positive_data_acceptance, which expects any schema-valid request
# to succeed: a schema cannot know alice's password, so a well-formed wrong one is
# rightly a 400 invalid_grant.
schemathesis run "$base/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  -H "Authorization: Bearer $token" \
  --max-examples 200 --seed 20261201 --workers 2 \
  --report junit --report-dir "$work/schemathesis"

tests/ensure_chromium.sh "$work/apt.log"
python tests/docs_page.py "$base" "$work/docs-page.png"
