"""OpenID Connect end to end in headless Chromium, with Authlib as the relying party.

Authlib's own OpenID client code does the protocol work, the way a web framework's
"Login with ..." does: discovery (server_metadata_url), the authorization URL with
PKCE and nonce, the code exchange, ID token validation (signature from the JWKS,
`iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `at_hash`: CodeIDToken), UserInfo, and
the RP-initiated logout URL. Playwright drives Debian's Chromium through the pages.
Nothing is configured but the client id and the redirect URI: the local server's
`local-app` with its loopback redirect URI (RFC 8252 §7.3, any port).

Usage: python tests/openid_connect_rp.py BASE_URL CALLBACK_PORT
The server runs with its defaults (RS256) and --user alice:wonderland-42
--post-logout-redirect-uri http://127.0.0.1:CALLBACK_PORT/signed-out
(see tests/openid_connect.sh).
"""

import base64
import http.server
import json
import sys
import threading
import urllib.parse

from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import sync_playwright

PASSWORD = "wonderland-42"
CLIENT_ID = "local-app"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


class NoFramework:
    """Authlib's framework hook: this relying party keeps its tokens itself."""

    def update_token(self, *args, **kwargs):
        pass


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's OpenID Connect client, as its Flask and Django integrations build
    it, without a web framework."""

    client_cls = OAuth2Session


def relying_party(base):
    return RelyingParty(
        NoFramework(),
        name="local",
        client_id=CLIENT_ID,
        server_metadata_url=f"{base}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "none",
        },
    )


class Listener:
    """The relying party's loopback redirect target: records every request."""

    def __init__(self, port):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if not self.path.startswith(("/callback", "/signed-out")):
                    self.send_error(404)
                    return
                received.append(f"http://127.0.0.1:{port}{self.path}")
                body = b"<!DOCTYPE html><title>done</title><p id=done>done</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.redirect_uri = f"http://127.0.0.1:{port}/callback"
        self.signed_out_uri = f"http://127.0.0.1:{port}/signed-out"

    def last(self):
        assert self.received, "the browser never reached the relying party"
        parts = urllib.parse.urlsplit(self.received[-1])
        return parts.path, dict(urllib.parse.parse_qsl(parts.query))


def wait_for_listener(page, listener, before):
    page.wait_for_function("() => document.getElementById('done') !== null",
                           timeout=TIMEOUT_MS)
    assert len(listener.received) == before + 1, listener.received


def log_in(page):
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def header_of(jwt):
    segment = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def sign_in(rp, page, listener, **extra):
    """Authorize (PKCE, nonce), sign in, come back; Authlib exchanges the code and
    validates the ID token. Returns (token, claims, nonce)."""
    request = rp.create_authorization_url(redirect_uri=listener.redirect_uri, **extra)
    assert request.get("nonce"), "Authlib sends a nonce for scope openid"
    before = len(listener.received)
    page.goto(request["url"], timeout=TIMEOUT_MS)
    if page.locator("#login-form").count():
        log_in(page)
    wait_for_listener(page, listener, before)
    path, query = listener.last()
    assert path == "/callback", path
    assert query.get("state") == request["state"], query
    assert query.get("iss") == rp.load_server_metadata()["issuer"], query  # RFC 9207
    token = rp.fetch_access_token(
        redirect_uri=listener.redirect_uri, code=query["code"],
        code_verifier=request["code_verifier"],
    )
    assert token.get("id_token") and token.get("refresh_token"), token
    # Authlib's validation: signature (JWKS), iss, aud, azp, exp, iat, nonce, at_hash.
    claims = rp.parse_id_token(token, nonce=request["nonce"], leeway=0)
    assert claims["nonce"] == request["nonce"], claims
    return token, claims


def scenario_discovery(base):
    """Discovery §4: the document at the issuer's well-known URL names the issuer
    exactly, and what an RP needs is there."""
    rp = relying_party(base)
    metadata = rp.load_server_metadata()
    assert metadata["issuer"] == base, metadata["issuer"]
    for field in ["authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                  "jwks_uri", "end_session_endpoint", "response_types_supported",
                  "subject_types_supported", "id_token_signing_alg_values_supported"]:
        assert field in metadata, field
    assert "RS256" in metadata["id_token_signing_alg_values_supported"], metadata
    assert "openid" in metadata["scopes_supported"], metadata
    keys = rp.fetch_jwk_set()["keys"]
    assert keys and all(k["kty"] == "RSA" and k.get("kid") for k in keys), keys


def scenario_sign_in_userinfo_refresh_logout(browser, base, listener):
    rp = relying_party(base)
    context = browser.new_context()
    page = context.new_page()
    token, claims = sign_in(rp, page, listener)
    header = header_of(token["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"], header
    assert claims["aud"] == CLIENT_ID and claims["azp"] == CLIENT_ID, claims
    assert claims["amr"] == ["pwd"] and claims.get("sid") and claims.get("auth_time"), claims
    assert claims["preferred_username"] == "alice", claims
    assert claims["exp"] - claims["iat"] == 300, claims
    print(f"  id_token: {len(token['id_token'])} bytes (RS256, scope openid profile email); "
          f"access token: {len(token['access_token'])} bytes")

    # UserInfo (Core §5.3.2: its sub must be the ID token's).
    info = rp.userinfo(token=token)
    assert info["sub"] == claims["sub"], (info, claims)
    assert info["preferred_username"] == "alice", info

    # Refresh (Core §12.2): a new ID token, same sub, auth_time and sid; validated
    # by Authlib again (no nonce on refresh).
    with rp._get_oauth_client(**rp.load_server_metadata()) as session:
        refreshed = session.refresh_token(rp.load_server_metadata()["token_endpoint"],
                                          refresh_token=token["refresh_token"])
    again = rp.parse_id_token(refreshed, nonce=None, leeway=0)
    for same in ["sub", "auth_time", "sid", "aud"]:
        assert again[same] == claims[same], (same, again, claims)
    assert "nonce" not in again, again

    # A second sign-in in the same browser: SSO, the same auth_time.
    _, sso = sign_in(rp, page, listener)
    assert sso["auth_time"] == claims["auth_time"] and sso["sid"] == claims["sid"], sso

    # RP-initiated logout with the hint: straight back with state.
    logout = rp.create_logout_url(post_logout_redirect_uri=listener.signed_out_uri,
                                  id_token_hint=token["id_token"])
    before = len(listener.received)
    page.goto(logout["url"], timeout=TIMEOUT_MS)
    wait_for_listener(page, listener, before)
    path, query = listener.last()
    assert path == "/signed-out" and query.get("state") == logout["state"], (path, query)

    # The session is over: prompt=none says so, and a normal request shows the form.
    request = rp.create_authorization_url(redirect_uri=listener.redirect_uri, prompt="none")
    before = len(listener.received)
    page.goto(request["url"], timeout=TIMEOUT_MS)
    wait_for_listener(page, listener, before)
    assert listener.last()[1].get("error") == "login_required", listener.last()
    request = rp.create_authorization_url(redirect_uri=listener.redirect_uri)
    page.goto(request["url"], timeout=TIMEOUT_MS)
    assert page.locator("#login-form").count() == 1, "signed out means the login form"
    context.close()


def scenario_logout_without_hint_asks_first(browser, base, listener):
    rp = relying_party(base)
    context = browser.new_context()
    page = context.new_page()
    sign_in(rp, page, listener)
    metadata = rp.load_server_metadata()
    page.goto(metadata["end_session_endpoint"], timeout=TIMEOUT_MS)
    assert page.locator("#logout-form").count() == 1, "no hint: the user confirms"
    page.click("button[value=logout]")
    page.wait_for_selector("#message", timeout=TIMEOUT_MS)
    assert "signed out" in page.locator("#message").inner_text(), page.content()
    request = rp.create_authorization_url(redirect_uri=listener.redirect_uri, prompt="none")
    before = len(listener.received)
    page.goto(request["url"], timeout=TIMEOUT_MS)
    wait_for_listener(page, listener, before)
    assert listener.last()[1].get("error") == "login_required", listener.last()
    context.close()


def scenario_unregistered_post_logout_uri(browser, base, listener):
    rp = relying_party(base)
    context = browser.new_context()
    page = context.new_page()
    token, _ = sign_in(rp, page, listener)
    other = listener.signed_out_uri.replace("/signed-out", "/signed-out-elsewhere")
    logout = rp.create_logout_url(post_logout_redirect_uri=other,
                                  id_token_hint=token["id_token"])
    before = len(listener.received)
    response = page.goto(logout["url"], timeout=TIMEOUT_MS)
    assert response.status == 400, response.status
    assert "not registered" in page.locator("#message").inner_text()
    page.wait_for_timeout(300)
    assert len(listener.received) == before, "never redirected to an unregistered URI"
    # Still signed in: the request was refused as a whole.
    _, sso = sign_in(rp, page, listener)
    assert sso["sub"], sso
    context.close()


def main(base, port):
    listener = Listener(port)
    results = []

    def run(name, function, *args):
        try:
            function(*args)
            results.append((name, None))
            print(f"PASS {name}")
        except Exception as error:  # report every scenario, then fail
            results.append((name, error))
            print(f"FAIL {name}: {type(error).__name__}: {error}")

    run("discovery_3_4_document_and_rsa_jwks", scenario_discovery, base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        run("authlib_sign_in_id_token_userinfo_refresh_sso_logout",
            scenario_sign_in_userinfo_refresh_logout, browser, base, listener)
        run("logout_without_id_token_hint_asks_for_confirmation",
            scenario_logout_without_hint_asks_first, browser, base, listener)
        run("logout_to_an_unregistered_uri_is_an_error_page",
            scenario_unregistered_post_logout_uri, browser, base, listener)
        browser.close()
    listener.server.shutdown()
    failed = sum(1 for _, error in results if error is not None)
    print(f"OpenID Connect relying party: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), int(sys.argv[2])))
