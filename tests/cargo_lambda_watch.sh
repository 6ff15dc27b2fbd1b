#!/usr/bin/env bash
# The README's `cargo lambda watch` path, end to end: table, user and clients made with
# authctl, keys from `authctl keys generate`, both functions served by
# `cargo lambda watch` at /lambda-url/<binary>/, called with curl.
# Expects DYNAMODB_ENDPOINT, AWS_* and PATH (with cargo-lambda) from scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.tmp/cargo-lambda-watch
mkdir -p "$work"
table="watch-$(date +%s)-$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
authctl=target/debug/authctl

cargo build --quiet -p authctl
"$authctl" table create --table "$table"
printf 'correct horse battery\n' | "$authctl" user add alice --table "$table" --bcrypt-cost 10 --email alice@example.com
"$authctl" client add web-app --public --table "$table"
"$authctl" client add spa --public --first-party --grant authorization_code \
  --redirect-uri http://127.0.0.1/callback --scope openid --scope profile \
  --post-logout-redirect-uri http://127.0.0.1:9/signed-out --table "$table"
machine_secret=$("$authctl" client add reports --table "$table" --bcrypt-cost 10 2>/dev/null | sed -n 's/^client_secret=//p')

env_file="$work/env"
"$authctl" keys generate > "$env_file"
cat >> "$env_file" <<VARS
AUTH_ISSUER=https://auth.example.test
AUTH_AUDIENCE=https://api.example.test
TABLE_NAME=$table
DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT
BCRYPT_COST=10
VARS

setsid cargo lambda watch -A 127.0.0.1 -P "$port" --env-file "$env_file" > "$work/watch.log" 2>&1 &
watch_pid=$!
trap 'kill -- -"$watch_pid" 2>/dev/null || true; rm -f "$env_file"' EXIT

base="http://127.0.0.1:$port/lambda-url"
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 1
done

fail() { echo "cargo lambda watch test: $*" >&2; tail -n 30 "$work/watch.log" >&2; exit 1; }
# curl with a status line; never aborts the script, so that failures are explained.
call() { curl -s -w '\n%{http_code}' "$@" || true; }

# The first call compiles the function; allow for it.
login=$(call -m 300 -X POST "$base/token" \
  -d grant_type=password -d client_id=web-app -d username=alice --data-urlencode 'password=correct horse battery')
[ "$(tail -n1 <<<"$login")" = 200 ] || fail "POST /token: $login"
token=$(head -n1 <<<"$login" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
refresh=$(head -n1 <<<"$login" | python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])')

me=$(call -m 300 "$base/users-me/" -H "Authorization: Bearer $token")
[ "$(tail -n1 <<<"$me")" = 200 ] || fail "GET /users/me: $me"
grep -q '"username":"alice"' <<<"$me" || fail "unexpected profile: $me"

denied=$(call -m 60 "$base/users-me/")
[ "$(tail -n1 <<<"$denied")" = 401 ] || fail "GET /users/me without a token: $denied"

revoked=$(call -m 60 -X POST "$base/token/revoke" -d client_id=web-app -d "token=$refresh")
[ "$(tail -n1 <<<"$revoked")" = 200 ] || fail "POST /revoke: $revoked"
reuse=$(call -m 60 -X POST "$base/token" -d grant_type=refresh_token -d client_id=web-app -d "refresh_token=$refresh")
[ "$(tail -n1 <<<"$reuse")" = 400 ] || fail "refresh after revocation: $reuse"

machine=$(call -m 60 -X POST "$base/token" -u "reports:$machine_secret" -d grant_type=client_credentials)
[ "$(tail -n1 <<<"$machine")" = 200 ] || fail "client_credentials with the secret authctl printed: $machine"

jwks=$(call -m 300 "$base/well-known/.well-known/jwks.json")
[ "$(tail -n1 <<<"$jwks")" = 200 ] || fail "GET /.well-known/jwks.json: $jwks"
grep -q '"kty":"RSA"' <<<"$jwks" || fail "unexpected JWKS: $jwks"

# Browser sign-in (OpenID Connect) through the authorize function: the login page, the
# form, the code exchange with PKCE (RFC 7636 Appendix B's verifier and challenge), the
# ID token, UserInfo, and RP-initiated logout. The issuer is
# https, so the cookies are Secure `__Host-` ones, which curl keeps off plain http:
# they are passed by hand, as the browser would send them.
verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
redirect=http://127.0.0.1:9/callback
page=$(call -m 300 -D "$work/authorize.headers" \
  "$base/authorize/?response_type=code&client_id=spa&redirect_uri=$redirect&state=w1&scope=openid+profile&nonce=w-nonce&code_challenge=$challenge&code_challenge_method=S256")
[ "$(tail -n1 <<<"$page")" = 200 ] || fail "GET /authorize: $page"
grep -q 'id="login-form"' <<<"$page" || fail "no login form: $page"
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" <<<"$page" | head -n1; }
binding=$(sed -n 's/^set-cookie: \(__Host-browser=[^;]*\).*/\1/Ip' "$work/authorize.headers" | tr -d '\r')
[ -n "$binding" ] || fail "no browser-binding cookie: $(cat "$work/authorize.headers")"
signed_in=$(call -m 60 -D "$work/login.headers" -X POST "$base/authorize/authorize/login" -H "Cookie: $binding" \
  --data-urlencode "request_id=$(field request_id)" --data-urlencode "csrf_token=$(field csrf_token)" \
  -d username=alice --data-urlencode 'password=correct horse battery')
[ "$(tail -n1 <<<"$signed_in")" = 303 ] || fail "POST /authorize/login: $signed_in"
location=$(sed -n 's/^location: //Ip' "$work/login.headers" | tr -d '\r')
code=$(python3 -c 'import sys, urllib.parse as u; q = u.parse_qs(u.urlparse(sys.argv[1]).query); assert q["state"] == ["w1"]; print(q["code"][0])' "$location") ||
  fail "no code in the redirect: $location"
exchanged=$(call -m 60 -X POST "$base/token" -d grant_type=authorization_code -d client_id=spa \
  -d "code=$code" -d "code_verifier=$verifier" -d "redirect_uri=$redirect")
[ "$(tail -n1 <<<"$exchanged")" = 200 ] || fail "code exchange: $exchanged"
id_token=$(head -n1 <<<"$exchanged" | python3 -c '
import base64, json, sys
body = json.load(sys.stdin)
claims = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[1] + "=="))
assert claims["nonce"] == "w-nonce" and claims["aud"] == "spa", claims
print(body["id_token"])') || fail "no ID token with the nonce: $exchanged"
code_token=$(head -n1 <<<"$exchanged" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

userinfo=$(call -m 60 "$base/users-me/userinfo" -H "Authorization: Bearer $code_token")
[ "$(tail -n1 <<<"$userinfo")" = 200 ] || fail "GET /userinfo: $userinfo"
grep -q '"preferred_username":"alice"' <<<"$userinfo" || fail "unexpected userinfo: $userinfo"

session=$(sed -n 's/^set-cookie: \(__Host-session=[^;]*\).*/\1/Ip' "$work/login.headers" | tr -d '\r')
signed_out=$(call -m 60 -D "$work/logout.headers" -H "Cookie: $session" \
  "$base/authorize/logout?id_token_hint=$id_token&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out&state=w2")
[ "$(tail -n1 <<<"$signed_out")" = 303 ] || fail "GET /logout: $signed_out"
grep -qi '^location: http://127.0.0.1:9/signed-out?state=w2' "$work/logout.headers" ||
  fail "logout went elsewhere: $(cat "$work/logout.headers")"

echo "cargo lambda watch: 12 passed, 0 failed"
