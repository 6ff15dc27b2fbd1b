#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (Python tools in
# .venv), starts a local DynamoDB-compatible server (moto) on a free port, runs
# formatting, lints, every Rust test, the template checks (cfn-lint and
# `sam validate --lint`), the soak, the `cargo lambda watch` path, the API docs (schemathesis,
# headless Chromium; Chromium is installed with apt if missing), browser sign-in and OpenID
# Connect (Authlib as the relying party) in headless Chromium and the release arm64 build,
# then stops the server. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mkdir -p .tmp

# A one-off build gains nothing from incremental compilation's caches, which cost
# gigabytes of disk.
export CARGO_INCREMENTAL=0

# Every step's duration, printed as a table when the run ends (passed or not), so the
# cost of each check shows in CI logs.
step_names=()
step_seconds=()
current_step=""
current_start=0
finish_step() {
  if [ -n "$current_step" ]; then
    step_names+=("$current_step")
    step_seconds+=($(($(date +%s) - current_start)))
    current_step=""
  fi
}
step() {
  finish_step
  current_step="$*"
  current_start=$(date +%s)
  printf '\n==> %s\n' "$*"
}
run_started=$(date +%s)
step_table() {
  finish_step
  printf '\n%-78s %7s\n' "Step" "Seconds"
  for i in "${!step_names[@]}"; do
    printf '%-78.78s %7d\n' "${step_names[$i]}" "${step_seconds[$i]}"
  done
  printf '%-78s %7d\n' "Total" $(($(date +%s) - run_started))
}
background_pids=()
on_exit() {
  local status=$?
  for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  step_table
  exit "$status"
}
trap on_exit EXIT

# Python tools install in the background while Rust compiles: pip mostly waits on the
# network, the compiler on the CPU.
install_venv() { # DIR REQUIREMENTS LOG
  if [ ! -x "$1/bin/python" ]; then
    python3 -m venv "$1"
  fi
  if ! sha256sum --status -c "$1/requirements.sha256" 2>/dev/null; then
    "$1/bin/pip" install --quiet --disable-pip-version-check -r "$2"
    sha256sum "$2" > "$1/requirements.sha256"
  fi
} 
step "Python tools in .venv (moto, cfn-lint, cargo-lambda, schemathesis, Playwright, Authlib) and .venv-sam (AWS SAM CLI), in the background"
# aws-sam-cli pins a boto3 that moto's does not accept: a virtual environment of its own.
install_venv .venv scripts/requirements-test.txt > .tmp/pip-test.log 2>&1 &
pip_test_pid=$!
install_venv .venv-sam scripts/requirements-sam.txt > .tmp/pip-sam.log 2>&1 &
pip_sam_pid=$!
background_pids+=("$pip_test_pid" "$pip_sam_pid")
wait_for_pip() { # PID LOG
  if ! wait "$1"; then
    cat "$2" >&2
    echo "installing the Python tools failed (log above)" >&2
    exit 1
  fi
}
export PATH="$root/.venv/bin:$PATH"

if ! cargo nextest --version >/dev/null 2>&1; then
  step "Installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# One debug build of every binary and test, with the features the whole workspace
# resolves (tools/workspace-hack makes every other selection resolve the same ones), so
# the tests, `cargo lambda watch` and the end-to-end scripts reuse these artifacts.
step "Build every binary and test (debug, one feature set)"
cargo build --workspace --all-targets --locked --quiet

step "Local DynamoDB-compatible server (waits for the Python tools)"
wait_for_pip "$pip_test_pid" .tmp/pip-test.log
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# moto serialised to one request at a time: see scripts/dynamodb_server.py.
python3 scripts/dynamodb_server.py 127.0.0.1 "$port" > .tmp/moto.log 2>&1 &
moto_pid=$!
background_pids+=("$moto_pid")
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { cat .tmp/moto.log; echo "the DynamoDB-compatible server failed to start" >&2; exit 1; }
  sleep 0.2
done
echo "DynamoDB-compatible server (moto) on 127.0.0.1:$port"

# Dummy credentials: the SDK must never look for real ones.
export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

step "Tests (unit, integration against DynamoDB, Lambda binaries, local server)"
cargo nextest run --workspace --locked --no-fail-fast -E 'not binary(soak)'

# What `sam build` and `cargo lambda deploy` ship: the functions for arm64 (zig, which
# cargo-lambda brings, links them), optimised, with the release profile's fat LTO. It
# needs the CPU the remaining steps mostly leave idle (they wait on moto, Chromium and
# the network), so it runs beside them at the lowest priority, in a target directory of
# its own so that neither waits for the other's lock (it shares no artifact with the
# debug build anyway).
step "Release arm64 build started in the background (cargo lambda build --release --arm64)"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
  rustup target add aarch64-unknown-linux-gnu
arm64_target="$root/target/arm64"
CARGO_TARGET_DIR="$arm64_target" nice -n 19 \
  cargo lambda build --release --arm64 --locked -p token -p users-me -p well-known -p account -p authorize \
  > .tmp/arm64-build.log 2>&1 &
arm64_pid=$!
background_pids+=("$arm64_pid")

# Alone, so that its load neither slows the timing-sensitive tests nor is slowed by them;
# the template checks (Python, one core) run beside it.
step "Soak: 16,000 mixed requests in memory and 4,000 on a DynamoDB-compatible server; cfn-lint and sam validate beside it"
wait_for_pip "$pip_sam_pid" .tmp/pip-sam.log
( cfn-lint template.yaml &&
  SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template template.yaml --region us-east-1
) > .tmp/template-checks.log 2>&1 &
template_checks_pid=$!
background_pids+=("$template_checks_pid")
cargo nextest run --locked -p integration-tests --test soak --no-capture
if ! wait "$template_checks_pid"; then
  cat .tmp/template-checks.log >&2
  echo "cfn-lint or sam validate --lint failed (log above)" >&2
  exit 1
fi
cat .tmp/template-checks.log
echo "cfn-lint template.yaml and sam validate --lint: passed"

step "cargo lambda watch"
tests/cargo_lambda_watch.sh

step "API docs: openapi-spec-validator, schemathesis, /docs in headless Chromium"
tests/api_docs_check.sh

step "Browser sign-in in headless Chromium (Playwright + Authlib against the local server)"
tests/browser_sign_in.sh

step "OpenID Connect in headless Chromium (Authlib's relying party against the local server)"
tests/openid_connect.sh

step "Release arm64 binaries (waiting for the background build)"
if ! wait "$arm64_pid"; then
  cat .tmp/arm64-build.log >&2
  echo "the release arm64 build failed (log above)" >&2
  exit 1
fi
tail -n 3 .tmp/arm64-build.log
for function in token users-me well-known account authorize; do
  printf '%-12s %s bytes\n' "$function" "$(stat -c %s "$arm64_target/lambda/$function/bootstrap")"
done
