"""Browser sign-in end to end in headless Chromium (Debian's, driven by Playwright),
against the local server, with Authlib as the OAuth 2.0 client: it builds the PKCE
pair and the authorization URL, checks `state` on the way back and exchanges the code.
The redirect target is a loopback listener on a random port, as a native app's
(RFC 8252 §7.3): the server must accept it on any port.

Usage: python tests/browser_sign_in.py BASE_URL SCREENSHOT.png
The server runs with --user alice:wonderland-42 --scope read --scope write
--consent-client third-app (see tests/browser_sign_in.sh).
"""

import http.server
import json
import sys
import threading
import urllib.parse
import urllib.request

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from PIL import Image
from playwright.sync_api import sync_playwright

PASSWORD = "wonderland-42"
WRONG = "Incorrect username or password."
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


class Callback:
    """A loopback listener that records every redirect it receives."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if not self.path.startswith(("/callback", "/other")):
                    self.send_error(404)  # the browser's own requests, e.g. /favicon.ico
                    return
                received.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
                body = b"<!DOCTYPE html><title>done</title><p id=done>done</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"

    def last_query(self):
        assert self.received, "the browser never reached the redirect URI"
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.received[-1]).query))


class Flow:
    def __init__(self, base, callback, client_id="local-app", scope="read write"):
        self.base = base
        self.callback = callback
        self.client = OAuth2Session(
            client_id, redirect_uri=callback.redirect_uri, scope=scope,
            code_challenge_method="S256",
        )
        self.verifier = None
        self.state = None

    def url(self, **extra):
        self.verifier = generate_token(48)  # 48 characters: RFC 7636 §4.1 allows 43 to 128
        url, self.state = self.client.create_authorization_url(
            f"{self.base}/authorize", code_verifier=self.verifier, **extra
        )
        return url

    def exchange(self):
        """Authlib parses the callback (and checks state), then redeems the code with
        the verifier."""
        return self.client.fetch_token(
            f"{self.base}/token",
            authorization_response=self.callback.received[-1],
            code_verifier=self.verifier,
        )


def users_me(base, access_token):
    request = urllib.request.Request(
        f"{base}/users/me", headers={"Authorization": f"Bearer {access_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def log_in(page, username, password):
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def wait_for_callback(page, callback, before):
    page.wait_for_function(
        "() => document.getElementById('done') !== null", timeout=TIMEOUT_MS
    )
    assert len(callback.received) == before + 1, callback.received


def check_login_page(page):
    username = page.locator("#username")
    password = page.locator("#password")
    assert username.get_attribute("autocomplete") == "username"
    assert password.get_attribute("type") == "password"
    assert password.get_attribute("autocomplete") == "current-password"
    assert page.locator("label[for=username]").is_visible()
    assert page.locator("label[for=password]").is_visible()
    assert page.locator("button[type=submit]").count() == 1


def full_flow(context, base, callback, screenshot=None):
    """RFC 6749 §4.1: authorize, sign in, come back with code, state and iss, exchange
    with PKCE, call /users/me."""
    flow = Flow(base, callback)
    page = context.new_page()
    response = page.goto(flow.url(), timeout=TIMEOUT_MS)
    assert response.status == 200, response.status
    # The form's redirect is allowed, and only it: reaching the listener below is the
    # proof that Chromium's form-action check on the redirect lets it through.
    origin = urllib.parse.urlsplit(callback.redirect_uri)
    csp = response.headers["content-security-policy"]
    assert f"form-action 'self' http://{origin.netloc};" in csp, csp
    check_login_page(page)
    if screenshot:
        page.screenshot(path=screenshot)
    before = len(callback.received)
    log_in(page, "alice", PASSWORD)
    wait_for_callback(page, callback, before)
    query = callback.last_query()
    assert query.get("iss") == base, query  # RFC 9207
    assert query.get("state") == flow.state, query
    assert "code" in query, query
    token = flow.exchange()
    assert token["token_type"] == "Bearer" and token.get("refresh_token"), token
    assert users_me(base, token["access_token"])["username"] == "alice"
    return page


def scenario_full_flow(browser, base, callback, screenshot):
    context = browser.new_context(viewport={"width": 900, "height": 900})
    page = full_flow(context, base, callback, screenshot)
    image = Image.open(screenshot).convert("RGB")
    colours = image.getcolors(maxcolors=900 * 900) or []
    assert len(colours) > 50, f"the screenshot looks blank ({len(colours)} colours)"
    return context, page


def scenario_sso(context, base, callback):
    """A second authorization in the same browser skips the form."""
    flow = Flow(base, callback)
    page = context.new_page()
    before = len(callback.received)
    page.goto(flow.url(), timeout=TIMEOUT_MS)
    wait_for_callback(page, callback, before)
    assert page.locator("#login-form").count() == 0
    flow.exchange()


def scenario_prompt_login(context, base, callback):
    flow = Flow(base, callback)
    page = context.new_page()
    page.goto(flow.url(prompt="login"), timeout=TIMEOUT_MS)
    assert page.locator("#login-form").count() == 1, "prompt=login must ask again"
    before = len(callback.received)
    log_in(page, "alice", PASSWORD)
    wait_for_callback(page, callback, before)
    flow.exchange()


def scenario_prompt_none(browser, base, callback):
    context = browser.new_context()
    flow = Flow(base, callback)
    page = context.new_page()
    before = len(callback.received)
    page.goto(flow.url(prompt="none"), timeout=TIMEOUT_MS)
    wait_for_callback(page, callback, before)
    query = callback.last_query()
    assert query.get("error") == "login_required", query
    assert query.get("state") == flow.state and query.get("iss") == base, query
    context.close()


def scenario_consent(browser, base, callback):
    context = browser.new_context()
    page = context.new_page()
    deny = Flow(base, callback, client_id="third-app", scope="read")
    page.goto(deny.url(), timeout=TIMEOUT_MS)
    log_in(page, "alice", PASSWORD)
    page.wait_for_selector("#consent-form", timeout=TIMEOUT_MS)
    assert "read" in page.locator("#scopes").inner_text()
    before = len(callback.received)
    page.click("button[value=deny]")
    wait_for_callback(page, callback, before)
    assert callback.last_query().get("error") == "access_denied", callback.last_query()

    allow = Flow(base, callback, client_id="third-app", scope="read")
    page.goto(allow.url(), timeout=TIMEOUT_MS)
    page.wait_for_selector("#consent-form", timeout=TIMEOUT_MS)
    before = len(callback.received)
    page.click("button[value=allow]")
    wait_for_callback(page, callback, before)
    assert users_me(base, allow.exchange()["access_token"])["username"] == "alice"

    remembered = Flow(base, callback, client_id="third-app", scope="read")
    before = len(callback.received)
    page.goto(remembered.url(), timeout=TIMEOUT_MS)
    wait_for_callback(page, callback, before)
    assert "code" in callback.last_query(), "an allowed consent is remembered"
    context.close()


def scenario_identical_errors(browser, base, callback):
    context = browser.new_context()
    page = context.new_page()
    page.goto(Flow(base, callback).url(), timeout=TIMEOUT_MS)
    log_in(page, "alice", "not the password")
    wrong = page.locator("#login-error").inner_text()
    log_in(page, "nobody-here", "not the password")
    unknown = page.locator("#login-error").inner_text()
    assert wrong == unknown == WRONG, (wrong, unknown)
    context.close()


def scenario_unregistered_redirect(browser, base, callback):
    context = browser.new_context()
    page = context.new_page()
    bad = Callback()
    other = bad.redirect_uri.replace("/callback", "/other")
    client = OAuth2Session("local-app", redirect_uri=other, code_challenge_method="S256")
    url, _ = client.create_authorization_url(f"{base}/authorize", code_verifier="v" * 43)
    response = page.goto(url, timeout=TIMEOUT_MS)
    assert response.status == 400, response.status
    assert "not registered" in page.locator("#message").inner_text()
    page.wait_for_timeout(300)
    assert bad.received == [], "the browser must never reach an unregistered redirect URI"
    bad.server.shutdown()
    context.close()


def scenario_javascript_off(browser, base, callback):
    context = browser.new_context(java_script_enabled=False)
    flow = Flow(base, callback)
    page = context.new_page()
    page.goto(flow.url(), timeout=TIMEOUT_MS)
    before = len(callback.received)
    log_in(page, "alice", PASSWORD)
    page.wait_for_url(f"{callback.redirect_uri}*", timeout=TIMEOUT_MS)
    assert len(callback.received) == before + 1
    assert users_me(base, flow.exchange()["access_token"])["username"] == "alice"
    context.close()


def main(base, screenshot):
    callback = Callback()
    results = []

    def run(name, function, *args):
        try:
            value = function(*args)
            results.append((name, None))
            print(f"PASS {name}")
            return value
        except Exception as error:  # report every scenario, then fail
            results.append((name, error))
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            return None

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        signed_in = run("rfc6749_4_1_full_flow_with_pkce_and_users_me", scenario_full_flow,
                        browser, base, callback, screenshot)
        if signed_in:
            context, _ = signed_in
            run("sso_second_authorize_skips_the_form", scenario_sso, context, base, callback)
            run("prompt_login_asks_again", scenario_prompt_login, context, base, callback)
            context.close()
        else:
            results.extend([("sso_second_authorize_skips_the_form", "skipped"),
                            ("prompt_login_asks_again", "skipped")])
        run("prompt_none_without_session_is_login_required", scenario_prompt_none,
            browser, base, callback)
        run("consent_deny_allow_remembered", scenario_consent, browser, base, callback)
        run("identical_error_for_unknown_user_and_wrong_password",
            scenario_identical_errors, browser, base, callback)
        run("unregistered_redirect_uri_error_page_no_redirect",
            scenario_unregistered_redirect, browser, base, callback)
        run("javascript_off_full_flow", scenario_javascript_off, browser, base, callback)
        browser.close()
    callback.server.shutdown()
    failed = sum(1 for _, error in results if error is not None)
    print(f"browser sign-in: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), sys.argv[2]))
