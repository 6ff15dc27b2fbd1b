#!/usr/bin/env bash
# Load against the local server (release build): `/users/me` at 32 connections and
# password logins at 8 (bcrypt cost 12, production's), with wrk (Debian's `wrk`).
# Prints requests per second, latency percentiles and the CPU cores the server used.
# Results go to BENCHMARKS.md; nothing is asserted.
#
# STORE=memory (default): the in-memory store. STORE=dynamodb: a table on the test
# command's DynamoDB-compatible server (moto, from .venv; run scripts/test.sh once),
# whose CPU is reported too.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-15s}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --quiet -p local-server

log=.tmp/load-server.log
mkdir -p .tmp
store_args=()
moto=""
if [ "${STORE:-memory}" = dynamodb ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv/bin/python scripts/dynamodb_server.py 127.0.0.1 "$port" > .tmp/load-moto.log 2>&1 &
  moto=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  store_args=(--table "load-$$")
fi
# 64 users, so that the 8 login connections rarely share a username: more than four
# simultaneous logins of one name count as a guessing burst and lock it (README).
users=()
for i in $(seq 0 63); do users+=(--user "loader$i:load-test-passphrase"); done
target/release/local-server --port 0 --bcrypt-cost 12 "${store_args[@]}" "${users[@]}" > "$log" 2>&1 &
server=$!
trap 'kill $server $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "Listening on" "$log" && break; sleep 0.1; done
base=$(grep -m1 "Listening on" "$log" | sed 's/.*Listening on //')

cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
run() {
  local name=$1; shift
  local before after started ended moto_before=0 moto_after=0
  before=$(cpu_seconds "$server"); started=$(date +%s.%N)
  [ -n "$moto" ] && moto_before=$(cpu_seconds "$moto")
  wrk "$@"
  ended=$(date +%s.%N); after=$(cpu_seconds "$server")
  [ -n "$moto" ] && moto_after=$(cpu_seconds "$moto")
  python3 -c "print(f'$name: server CPU {($after - $before) / ($ended - $started):.2f} cores, \
DynamoDB-compatible server CPU {($moto_after - $moto_before) / ($ended - $started):.2f} cores')"
  echo
}

token=$(curl -s "$base/token" -d grant_type=password -d client_id=local-app \
  -d username=loader0 -d password=load-test-passphrase |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

echo "## GET /users/me, 32 connections, $duration"
run "users/me" -t2 -c32 -d"$duration" --latency -H "Authorization: Bearer $token" "$base/users/me"

lua=.tmp/login.lua
cat > "$lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  local body = "grant_type=password&client_id=local-app&username=loader" .. (counter % 64)
    .. "&password=load-test-passphrase"
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
echo "## POST /token (password grant, bcrypt cost 12), 8 connections, $duration"
run "token" -t2 -c8 -d"$duration" --timeout 10s --latency -s "$lua" "$base/token"
