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

step() { printf '\n==> %s\n' "$*"; }

step "Python tools (moto server, cfn-lint, cargo-lambda, schemathesis) in .venv"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
requirements=scripts/requirements-test.txt
if ! sha256sum --status -c .venv/requirements.sha256 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
  sha256sum "$requirements" > .venv/requirements.sha256
fi
export PATH="$root/.venv/bin:$PATH"

# aws-sam-cli pins a boto3 that moto's does not accept: a virtual environment of its own.
step "AWS SAM CLI in .venv-sam"
if [ ! -x .venv-sam/bin/python ]; then
  python3 -m venv .venv-sam
fi
sam_requirements=scripts/requirements-sam.txt
if ! sha256sum --status -c .venv-sam/requirements.sha256 2>/dev/null; then
  .venv-sam/bin/pip install --quiet --disable-pip-version-check -r "$sam_requirements"
  sha256sum "$sam_requirements" > .venv-sam/requirements.sha256
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  step "Installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "Local DynamoDB-compatible server"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# moto serialised to one request at a time: see scripts/dynamodb_server.py.
python3 scripts/dynamodb_server.py 127.0.0.1 "$port" > .tmp/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
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

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The binaries the end-to-end tests start, built one package at a time as
# `cargo lambda watch` builds them, so that both reuse the same artifacts.
step "Build the function binaries and authctl"
for package in token users-me well-known account authorize authctl local-server; do
  cargo build --locked --quiet -p "$package"
done

step "Tests (unit, integration against DynamoDB, Lambda binaries, local server)"
cargo nextest run --workspace --locked --no-fail-fast -E 'not binary(soak)'

# Alone, so that its load neither slows the timing-sensitive tests nor is slowed by them.
step "Soak: 20,000 mixed requests against the local server on a DynamoDB-compatible server"
cargo nextest run --locked -p integration-tests --test soak --no-capture

step "cfn-lint template.yaml"
cfn-lint template.yaml

step "sam validate --lint"
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template template.yaml --region us-east-1

step "cargo lambda watch"
tests/cargo_lambda_watch.sh

step "API docs: openapi-spec-validator, schemathesis, /docs in headless Chromium"
tests/api_docs_check.sh

step "Browser sign-in in headless Chromium (Playwright + Authlib against the local server)"
tests/browser_sign_in.sh

step "OpenID Connect in headless Chromium (Authlib's relying party against the local server)"
tests/openid_connect.sh

# What `sam build` and `cargo lambda deploy` ship: the functions for arm64 (zig, which
# cargo-lambda brings, links them), optimised, with the release profile's fat LTO.
step "Release arm64 binaries (cargo lambda build --release --arm64)"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
  rustup target add aarch64-unknown-linux-gnu
cargo lambda build --release --arm64 --locked -p token -p users-me -p well-known -p account -p authorize
for function in token users-me well-known account authorize; do
  printf '%-12s %s bytes\n' "$function" "$(stat -c %s "target/lambda/$function/bootstrap")"
done
