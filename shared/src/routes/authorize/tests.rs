//! The browser flow on the in-memory store, through the handlers: `/authorize`, the
//! login and consent forms, and the code exchange at `/token`. A small cookie jar
//! stands in for the browser.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use secrecy::SecretString;
use serde_json::Value;

use super::AuthorizeEndpoint;
use super::test_browser::hidden;
use crate::authorization::{AuthorizationCodeRecord, NewAuthorizationCode};
use crate::clients::{ClientId, ClientRecord, GrantType};
use crate::http::HttpResponse;
use crate::keys::{self, SigningAlgorithm};
use crate::oauth::ScopeSet;
use crate::pkce::CodeChallenge;
use crate::routes::Endpoint;
use crate::routes::token::TokenEndpoint;
use crate::store::{ClientStore, MemoryStore, SignInStore, UserStore};
use crate::users::{UserRecord, Username};

const ISSUER: &str = "https://auth.example.com";
const PASSWORD: &str = "correct horse battery";
const APP_CB: &str = "https://app.example.com/cb";
const LOOPBACK_CB: &str = "http://127.0.0.1/callback";
/// Every test client's registered post-logout redirect URI.
const SIGNED_OUT: &str = "https://app.example.com/signed-out";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BACKEND_SECRET: &str = "backend-secret-for-tests-only";

struct Service {
    store: Arc<MemoryStore>,
    authorize: AuthorizeEndpoint,
    token: TokenEndpoint,
    logout: crate::routes::logout::LogoutEndpoint,
    users_me: crate::routes::users_me::UsersMeEndpoint,
    env: HashMap<String, String>,
}

fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let key = keys::generate(SigningAlgorithm::Es256).unwrap();
    [
        ("AUTH_ISSUER", ISSUER.to_owned()),
        ("AUTH_AUDIENCE", "https://api.example.com".to_owned()),
        ("AUTH_DEVELOPMENT_MODE", "true".to_owned()),
        ("BCRYPT_COST", "4".to_owned()),
    ]
    .into_iter()
    .chain(key.environment())
    .map(|(k, v)| (k.to_owned(), v))
    .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    .collect()
}

async fn service_with(extra: &[(&str, &str)]) -> Service {
    let store = Arc::new(MemoryStore::new());
    let env = env(extra);
    let service = Service {
        authorize: AuthorizeEndpoint::from_env(&env, store.clone()).unwrap(),
        token: TokenEndpoint::from_env(&env, store.clone()).unwrap(),
        logout: crate::routes::logout::LogoutEndpoint::from_env(&env, store.clone()).unwrap(),
        users_me: crate::routes::users_me::UsersMeEndpoint::from_env(&env, store.clone()).unwrap(),
        store,
        env,
    };
    service.add_user("alice", &["read", "write"]).await;
    let code_grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    service
        .add_client("web", None, &code_grants, &[APP_CB, LOOPBACK_CB], true)
        .await;
    service
        .add_client("third", None, &code_grants, &[APP_CB], false)
        .await;
    service
        .add_client(
            "backend",
            Some(BACKEND_SECRET),
            &code_grants,
            &["https://backend.example.com/cb"],
            true,
        )
        .await;
    service
        .add_client("no-code", None, &[GrantType::Password], &[APP_CB], true)
        .await;
    service
}

async fn service() -> Service {
    service_with(&[]).await
}

impl Service {
    async fn add_user(&self, name: &str, scopes: &[&str]) -> UserRecord {
        let hash = self
            .token
            .passwords()
            .hash(SecretString::from(PASSWORD.to_owned()))
            .await
            .unwrap();
        let mut user = UserRecord::new(Username::parse(name).unwrap(), hash);
        user.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.store.create_user(&user).await.unwrap();
        user
    }

    async fn add_client(
        &self,
        id: &str,
        secret: Option<&str>,
        grants: &[GrantType],
        redirect_uris: &[&str],
        first_party: bool,
    ) {
        let secret_hash = match secret {
            Some(secret) => Some(
                self.token
                    .passwords()
                    .hash(SecretString::from(secret.to_owned()))
                    .await
                    .unwrap(),
            ),
            None => None,
        };
        self.store
            .create_client(&ClientRecord {
                client_id: ClientId::parse(id).unwrap(),
                secret_hash,
                grant_types: grants.to_vec(),
                scopes: ["read", "write", "openid", "profile", "email"]
                    .map(String::from)
                    .to_vec(),
                disabled: false,
                created_at: 0,
                redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
                first_party,
                post_logout_redirect_uris: vec![SIGNED_OUT.to_owned()],
            })
            .await
            .unwrap();
    }

    async fn token(&self, body: &str) -> HttpResponse {
        self.token
            .handle(
                http::Request::post("/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Bytes::from(body.to_owned()))
                    .unwrap(),
            )
            .await
    }

    /// The code exchange of `web` at the app's redirect URI.
    async fn exchange(&self, code: &str) -> HttpResponse {
        self.token(&format!(
            "grant_type=authorization_code&client_id=web&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(APP_CB)
        ))
        .await
    }
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A valid authorization request of `web` to the app's redirect URI, plus `extra`.
fn request(extra: &str) -> String {
    format!(
        "response_type=code&client_id=web&redirect_uri={}&state=st-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(APP_CB)
    )
}

/// The browser, bound to this service's authorize endpoint.
type Browser = super::test_browser::TestBrowser;

trait Flows {
    async fn sign_in(&mut self, s: &Service, query: &str) -> HttpResponse;
}

impl Flows for Browser {
    /// Authorizes and signs in as alice: the redirect with the code.
    async fn sign_in(&mut self, s: &Service, query: &str) -> HttpResponse {
        let page = self.authorize(&s.authorize, query).await;
        assert_eq!(page.status(), 200, "{}", page.body());
        self.log_in(&s.authorize, &page, "alice", PASSWORD).await
    }
}

fn location(response: &HttpResponse) -> url::Url {
    assert_eq!(response.status(), 303, "{}", response.body());
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

fn query_of(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The code of a successful redirect to the app.
fn code_of(response: &HttpResponse) -> String {
    let url = location(response);
    assert!(url.as_str().starts_with(APP_CB), "{url}");
    let query = query_of(&url);
    assert_eq!(query.get("iss").map(String::as_str), Some(ISSUER), "{url}");
    query
        .get("code")
        .unwrap_or_else(|| panic!("no code in {url}"))
        .clone()
}

/// An error redirect: its `error`, after checking `state` and `iss` (RFC 9207).
fn error_of(response: &HttpResponse) -> String {
    let query = query_of(&location(response));
    assert_eq!(
        query.get("state").map(String::as_str),
        Some("st-1"),
        "{query:?}"
    );
    assert_eq!(
        query.get("iss").map(String::as_str),
        Some(ISSUER),
        "{query:?}"
    );
    assert!(query.contains_key("error_description"), "{query:?}");
    query["error"].clone()
}

fn is_login_page(response: &HttpResponse) -> bool {
    response.status() == 200 && response.body().contains("id=\"login-form\"")
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_str(response.body()).unwrap()
}

fn assert_security_headers(response: &HttpResponse) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-type").starts_with("text/html"));
}

/// An error page: HTML, the status, and no redirect anywhere.
fn assert_error_page(response: &HttpResponse, status: u16) {
    assert_eq!(response.status(), status, "{}", response.body());
    assert!(response.headers().get("location").is_none());
    assert_security_headers(response);
}

#[tokio::test]
async fn rfc6749_4_1_the_whole_flow_issues_tokens_for_the_signed_in_user() {
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser
        .authorize(&s.authorize, &request("&scope=read"))
        .await;
    assert!(is_login_page(&page), "{}", page.body());
    assert_security_headers(&page);
    // The form's redirect must be allowed by form-action (Chromium checks it).
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    // The form carries only an opaque id and a CSRF token, never the parameters.
    assert!(!page.body().contains(CHALLENGE) && !page.body().contains("st-1"));
    let redirect = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    let code = code_of(&redirect);
    assert_eq!(query_of(&location(&redirect))["state"], "st-1");
    let tokens = s.exchange(&code).await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
    let body = json(&tokens);
    assert_eq!(body["scope"], "read");
    assert!(body["refresh_token"].is_string());
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(body["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    let alice = s.store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_eq!(claims["client_id"], "web");
    // The refresh token works.
    let refresh = s
        .token(&format!(
            "grant_type=refresh_token&client_id=web&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(refresh.status(), 200, "{}", refresh.body());
}

#[tokio::test]
async fn rfc6749_4_1_2_1_unknown_disabled_or_unmatched_redirects_get_an_error_page_and_no_redirect()
{
    let s = service().await;
    let mut browser = Browser::default();
    for near_miss in [
        "https://app.example.com/cb/",
        "https://app.example.com/cb2",
        "https://app.example.com/other",
        "http://app.example.com/cb",
        "https://evil.example.com/cb",
        "https://user@app.example.com/cb",
        "https://app.example.com/cb#frag",
        "https://app.example.com/cb?x=1",
        "https://APP.example.com/cb",
        "http://127.0.0.1:5000/callback/",
        "http://127.0.0.1:5000/other",
        "http://[::1]:5000/callback",
    ] {
        let query = request("").replace(&enc(APP_CB), &enc(near_miss));
        let response = browser.authorize(&s.authorize, &query).await;
        assert_error_page(&response, 400);
        assert!(response.body().contains("not registered"), "{near_miss}");
    }
    // Unknown, malformed and disabled clients.
    s.store
        .set_client_disabled(&ClientId::parse("third").unwrap(), true)
        .await
        .unwrap();
    for client in ["nobody", "usr_x", "third"] {
        let query = request("").replace("client_id=web", &format!("client_id={client}"));
        assert_error_page(&browser.authorize(&s.authorize, &query).await, 400);
    }
    // No client at all, and a query that cannot be read.
    assert_error_page(
        &browser.authorize(&s.authorize, "response_type=code").await,
        400,
    );
    assert_error_page(
        &browser
            .authorize(&s.authorize, &format!("{}&client_id=web", request("")))
            .await,
        400,
    );
    // redirect_uri may be left out only with exactly one registered.
    let omitted = request("").replace(&format!("&redirect_uri={}", enc(APP_CB)), "");
    assert_error_page(&browser.authorize(&s.authorize, &omitted).await, 400);
    let page = browser
        .authorize(
            &s.authorize,
            &omitted.replace("client_id=web", "client_id=no-code"),
        )
        .await;
    assert_eq!(error_of(&page), "unauthorized_client");
}

#[tokio::test]
async fn rfc8252_7_3_loopback_redirects_match_on_any_port() {
    let s = service().await;
    let mut browser = Browser::default();
    let redirect = "http://127.0.0.1:53117/callback";
    let query = request("").replace(&enc(APP_CB), &enc(redirect));
    let done = browser.sign_in(&s, &query).await;
    let url = location(&done);
    assert!(
        url.as_str().starts_with(&format!("{redirect}?code=")),
        "{url}"
    );
    let code = query_of(&url)["code"].clone();
    let tokens = s
        .token(&format!(
            "grant_type=authorization_code&client_id=web&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(redirect)
        ))
        .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
}

#[tokio::test]
async fn rfc7636_and_rfc6749_4_1_2_1_errors_after_the_redirect_is_verified_go_back_with_state_and_iss()
 {
    let s = service().await;
    let mut browser = Browser::default();
    let cases = [
        (
            request("").replace("&code_challenge_method=S256", ""),
            "invalid_request",
        ),
        (request("").replace("S256", "plain"), "invalid_request"),
        (
            request("").replace(&format!("&code_challenge={CHALLENGE}"), ""),
            "invalid_request",
        ),
        (
            request("").replace(CHALLENGE, &CHALLENGE[..42]),
            "invalid_request",
        ),
        (
            request("").replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            request("").replace("response_type=code&", ""),
            "invalid_request",
        ),
        (request("&scope=admin"), "invalid_scope"),
        (request("&prompt=none"), "login_required"),
        (request("&max_age=never"), "invalid_request"),
    ];
    for (query, expected) in cases {
        let response = browser.authorize(&s.authorize, &query).await;
        assert_eq!(error_of(&response), expected, "{query}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn rfc7636_4_6_the_verifier_must_match_the_challenge() {
    let s = service().await;
    let code = code_of(&Browser::default().sign_in(&s, &request("")).await);
    let wrong = "a".repeat(43);
    let response = s
        .token(&format!(
            "grant_type=authorization_code&client_id=web&code={code}&code_verifier={wrong}&redirect_uri={}",
            enc(APP_CB)
        ))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "invalid_grant");
    // A missing verifier is a malformed request.
    let response = s
        .token(&format!(
            "grant_type=authorization_code&client_id=web&code={code}&redirect_uri={}",
            enc(APP_CB)
        ))
        .await;
    assert_eq!(json(&response)["error"], "invalid_request");
    // The failed attempts did not burn the code.
    assert_eq!(s.exchange(&code).await.status(), 200);
}

#[tokio::test]
async fn rfc6749_4_1_2_a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let s = service().await;
    let code = code_of(&Browser::default().sign_in(&s, &request("")).await);
    let first = s.exchange(&code).await;
    assert_eq!(first.status(), 200);
    let refresh_token = json(&first)["refresh_token"].as_str().unwrap().to_owned();
    let replay = s.exchange(&code).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(json(&replay)["error"], "invalid_grant");
    let refresh = s
        .token(&format!(
            "grant_type=refresh_token&client_id=web&refresh_token={refresh_token}"
        ))
        .await;
    assert_eq!(
        refresh.status(),
        400,
        "the family issued from the code is revoked"
    );
    assert_eq!(json(&refresh)["error"], "invalid_grant");
}

#[tokio::test]
async fn rfc6749_4_1_3_codes_are_bound_to_client_redirect_uri_and_lifetime() {
    let s = service().await;
    let mut browser = Browser::default();
    // Another client presenting web's code.
    let code = code_of(&browser.sign_in(&s, &request("")).await);
    let other_client = s
        .token(&format!(
            "grant_type=authorization_code&client_id=third&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(APP_CB)
        ))
        .await;
    assert_eq!(json(&other_client)["error"], "invalid_grant");
    // Another redirect_uri, or none although the request named one.
    for redirect in [format!("&redirect_uri={}", enc(LOOPBACK_CB)), String::new()] {
        let response = s
            .token(&format!(
                "grant_type=authorization_code&client_id=web&code={code}&code_verifier={VERIFIER}{redirect}"
            ))
            .await;
        assert_eq!(json(&response)["error"], "invalid_grant", "{redirect}");
    }
    assert_eq!(
        s.exchange(&code).await.status(),
        200,
        "none of it burned the code"
    );
    // An expired code, and one that never existed.
    let expired = NewAuthorizationCode::generate();
    let now = crate::now_unix();
    let alice = s.store.get_user("alice").await.unwrap().unwrap();
    s.store
        .put_authorization_code(&AuthorizationCodeRecord {
            code_hash: expired.code_hash.clone(),
            client_id: ClientId::parse("web").unwrap(),
            redirect_uri: APP_CB.into(),
            redirect_uri_sent: true,
            code_challenge: CodeChallenge::of_verifier(VERIFIER),
            scope: ScopeSet::from_tokens(["read"]),
            user_id: alice.user_id.clone(),
            username_key: "alice".into(),
            auth_time: now - 120,
            nonce: None,
            sid: None,
            credential_generation: alice.credential_generation,
            created_at: now - 61,
            expires_at: now - 1,
        })
        .await
        .unwrap();
    assert_eq!(
        json(&s.exchange(&expired.code).await)["error"],
        "invalid_grant"
    );
    let unknown = NewAuthorizationCode::generate();
    assert_eq!(
        json(&s.exchange(&unknown.code).await)["error"],
        "invalid_grant"
    );
    assert_eq!(
        json(&s.exchange("not-a-code").await)["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn confidential_clients_authenticate_at_the_code_exchange() {
    let s = service().await;
    let backend_cb = "https://backend.example.com/cb";
    let query = request("")
        .replace("client_id=web", "client_id=backend")
        .replace(&enc(APP_CB), &enc(backend_cb));
    let url = location(&Browser::default().sign_in(&s, &query).await);
    let code = query_of(&url)["code"].clone();
    let exchange = |secret: &str| {
        format!(
            "grant_type=authorization_code&client_id=backend&client_secret={secret}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(backend_cb)
        )
    };
    let refused = s.token(&exchange("wrong")).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(s.token(&exchange(BACKEND_SECRET)).await.status(), 200);
}

#[tokio::test]
async fn sso_a_live_session_skips_the_form_and_prompt_login_or_max_age_forces_it() {
    let s = service().await;
    let mut browser = Browser::default();
    code_of(&browser.sign_in(&s, &request("")).await);
    let session_cookie = browser.cookies.get("__Host-session").cloned();
    assert!(session_cookie.is_some(), "{:?}", browser.cookies);
    // SSO: straight back with a code.
    let again = browser.authorize(&s.authorize, &request("")).await;
    assert_eq!(s.exchange(&code_of(&again)).await.status(), 200);
    // prompt=none with a session: a code, no page.
    code_of(
        &browser
            .authorize(&s.authorize, &request("&prompt=none"))
            .await,
    );
    // prompt=login and max_age=0 ask for the password again.
    assert!(is_login_page(
        &browser
            .authorize(&s.authorize, &request("&prompt=login"))
            .await
    ));
    assert!(is_login_page(
        &browser
            .authorize(&s.authorize, &request("&max_age=0"))
            .await
    ));
    assert!(!is_login_page(
        &browser
            .authorize(&s.authorize, &request("&max_age=3600"))
            .await
    ));
    // A new sign-in gets a new session id (no fixation).
    let page = browser
        .authorize(&s.authorize, &request("&prompt=login"))
        .await;
    code_of(&browser.log_in(&s.authorize, &page, "alice", PASSWORD).await);
    assert_ne!(
        browser.cookies.get("__Host-session").cloned(),
        session_cookie
    );
    // Another browser has no session.
    let stranger = Browser::default()
        .authorize(&s.authorize, &request("&prompt=none"))
        .await;
    assert_eq!(error_of(&stranger), "login_required");
}

#[tokio::test]
async fn disabling_the_user_or_changing_the_password_ends_the_session() {
    let s = service().await;
    let mut browser = Browser::default();
    code_of(&browser.sign_in(&s, &request("")).await);
    s.store.set_disabled("alice", true).await.unwrap();
    assert!(is_login_page(
        &browser.authorize(&s.authorize, &request("")).await
    ));
    s.store.set_disabled("alice", false).await.unwrap();
    code_of(&browser.sign_in(&s, &request("")).await);
    let hash = s
        .token
        .passwords()
        .hash(SecretString::from("another long password".to_owned()))
        .await
        .unwrap();
    s.store.change_password("alice", None, &hash).await.unwrap();
    assert!(is_login_page(
        &browser.authorize(&s.authorize, &request("")).await
    ));
    assert_eq!(
        error_of(
            &browser
                .authorize(&s.authorize, &request("&prompt=none"))
                .await
        ),
        "login_required"
    );
}

#[tokio::test]
async fn a_code_issued_before_a_password_change_or_for_a_disabled_user_is_worthless() {
    let s = service().await;
    let code = code_of(&Browser::default().sign_in(&s, &request("")).await);
    s.store.set_disabled("alice", true).await.unwrap();
    assert_eq!(json(&s.exchange(&code).await)["error"], "invalid_grant");
}

#[tokio::test]
async fn the_login_form_refuses_a_missing_or_wrong_csrf_token_or_another_browser() {
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser.authorize(&s.authorize, &request("")).await;
    let id = hidden(&page, "request_id");
    let csrf = hidden(&page, "csrf_token");
    let credentials = format!("username=alice&password={}", enc(PASSWORD));
    for body in [
        format!("request_id={id}&{credentials}"),
        format!(
            "request_id={id}&csrf_token={}&{credentials}",
            "x".repeat(43)
        ),
        format!("csrf_token={csrf}&{credentials}"),
    ] {
        let response = browser.post(&s.authorize, "/authorize/login", &body).await;
        assert!(
            [400, 403].contains(&response.status().as_u16()),
            "{body}: {}",
            response.status()
        );
        assert_error_page(&response, response.status().as_u16());
        assert!(!browser.cookies.contains_key("__Host-session"));
    }
    // The right id and token from a browser without the binding cookie: login CSRF.
    let mut attacker_victim = Browser::default();
    let response = attacker_victim
        .post(
            &s.authorize,
            "/authorize/login",
            &format!("request_id={id}&csrf_token={csrf}&{credentials}"),
        )
        .await;
    assert_error_page(&response, 403);
    assert!(response.body().contains("start signing in again"));
    // The rightful browser still can.
    code_of(&browser.log_in(&s.authorize, &page, "alice", PASSWORD).await);
}

#[tokio::test]
async fn a_form_submitted_twice_or_after_expiry_asks_to_start_again() {
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser.authorize(&s.authorize, &request("")).await;
    code_of(&browser.log_in(&s.authorize, &page, "alice", PASSWORD).await);
    let twice = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    assert_error_page(&twice, 400);
    assert!(twice.body().contains("start signing in again"));
    // Expired: the store forgets nothing, the reader checks the time.
    let page = browser
        .authorize(&s.authorize, &request("&prompt=login"))
        .await;
    let id_hash = crate::refresh::hash_token(&hidden(&page, "request_id"));
    let mut pending = s
        .store
        .take_pending_authorization(&id_hash)
        .await
        .unwrap()
        .unwrap();
    pending.expires_at = crate::now_unix() - 1;
    s.store.put_pending_authorization(&pending).await.unwrap();
    assert_error_page(
        &browser.log_in(&s.authorize, &page, "alice", PASSWORD).await,
        400,
    );
}

#[tokio::test]
async fn owasp_v2_one_identical_error_for_unknown_user_and_wrong_password_through_the_shared_path()
{
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser.authorize(&s.authorize, &request("")).await;
    let before = s.authorize.passwords().verifications();
    let wrong = browser
        .log_in(&s.authorize, &page, "alice", "not the password")
        .await;
    let unknown = browser
        .log_in(&s.authorize, &page, "nobody", "not the password")
        .await;
    let invalid = browser
        .log_in(&s.authorize, &page, "not a name!", "not the password")
        .await;
    // One bcrypt run each (the dummy hash for unknown names).
    assert_eq!(s.authorize.passwords().verifications() - before, 3);
    let error = |r: &HttpResponse| {
        let body = r.body();
        let start = body.find("id=\"login-error\">").expect("an error") + 17;
        body[start..start + body[start..].find('<').unwrap()].to_owned()
    };
    for response in [&wrong, &unknown, &invalid] {
        assert_eq!(response.status(), 400);
        assert_eq!(error(response), "Incorrect username or password.");
        assert_security_headers(response);
    }
    // The form is shown again, ready for another try, and still works.
    code_of(
        &browser
            .log_in(&s.authorize, &wrong, "alice", PASSWORD)
            .await,
    );
}

#[tokio::test]
async fn owasp_v2_2_1_the_login_lock_applies_to_the_form() {
    let s = service_with(&[
        ("LOGIN_LOCK_THRESHOLD", "3"),
        ("LOGIN_LOCK_BASE_SECONDS", "60"),
    ])
    .await;
    let mut browser = Browser::default();
    let page = browser.authorize(&s.authorize, &request("")).await;
    for _ in 0..3 {
        assert_eq!(
            browser
                .log_in(&s.authorize, &page, "alice", "wrong password")
                .await
                .status(),
            400
        );
    }
    let locked = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    assert_eq!(locked.status(), 429, "{}", locked.body());
    assert!(locked.body().contains("Too many failed attempts"));
    assert!(locked.headers().contains_key("retry-after"));
    // The same counter as the password grant: it is locked there too.
    let grant = s
        .token(&format!(
            "grant_type=password&client_id=no-code&username=alice&password={}",
            enc(PASSWORD)
        ))
        .await;
    assert_eq!(grant.status(), 400);
    assert!(grant.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn audit_events_name_the_method_and_the_code() {
    let (lines, _guard) = crate::audit::capture::start();
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser.authorize(&s.authorize, &request("")).await;
    browser
        .log_in(&s.authorize, &page, "alice", "wrong password")
        .await;
    code_of(&browser.log_in(&s.authorize, &page, "alice", PASSWORD).await);
    let events: Vec<(String, String)> = lines
        .audit()
        .iter()
        .map(|line| {
            (
                line["fields"]["audit_event"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                line["fields"]["method"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        events.contains(&("login_failure".into(), "login_form".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&("login_success".into(), "login_form".into())),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(e, _)| e == "authorization_code_issued"),
        "{events:?}"
    );
    let raw = lines.raw();
    assert!(!raw.contains(PASSWORD) && !raw.contains("wrong password"));
    assert!(!raw.contains(&hidden(&page, "csrf_token")));
}

#[tokio::test]
async fn consent_deny_redirects_access_denied_and_allow_is_remembered() {
    let s = service().await;
    let third = request("&scope=read").replace("client_id=web", "client_id=third");
    let mut browser = Browser::default();
    let consent = browser.sign_in(&s, &third).await;
    assert_eq!(consent.status(), 200, "{}", consent.body());
    assert!(
        consent.body().contains("id=\"consent-form\"")
            && consent.body().contains("<code>read</code>")
    );
    assert_security_headers(&consent);
    assert_eq!(
        error_of(&browser.decide(&s.authorize, &consent, "deny").await),
        "access_denied"
    );
    // Not remembered after a Deny; prompt=none then needs consent.
    assert_eq!(
        error_of(
            &browser
                .authorize(&s.authorize, &format!("{third}&prompt=none"))
                .await
        ),
        "consent_required"
    );
    let consent = browser.authorize(&s.authorize, &third).await;
    let allowed = browser.decide(&s.authorize, &consent, "allow").await;
    let code = code_of(&allowed);
    let tokens = s
        .token(&format!(
            "grant_type=authorization_code&client_id=third&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc(APP_CB)
        ))
        .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
    // Remembered for these scopes; more scopes ask again.
    code_of(&browser.authorize(&s.authorize, &third).await);
    let wider = browser
        .authorize(
            &s.authorize,
            &third.replace("scope=read", "scope=read+write"),
        )
        .await;
    assert!(wider.body().contains("id=\"consent-form\""));
    // A consent form cannot be used twice, nor without the session.
    assert_error_page(&browser.decide(&s.authorize, &consent, "allow").await, 400);
    let mut other = Browser {
        cookies: browser.cookies.clone(),
    };
    other.cookies.remove("__Host-session");
    assert_error_page(&other.decide(&s.authorize, &wider, "allow").await, 400);
    // Withdrawn (authctl), it is asked for again.
    let alice = s.store.get_user("alice").await.unwrap().unwrap();
    s.store
        .delete_consent(&alice.user_id, &ClientId::parse("third").unwrap())
        .await
        .unwrap();
    assert!(
        browser
            .authorize(&s.authorize, &third)
            .await
            .body()
            .contains("id=\"consent-form\"")
    );
}

#[tokio::test]
async fn first_party_clients_get_no_consent_page() {
    let s = service().await;
    let done = Browser::default()
        .sign_in(&s, &request("&scope=read+write"))
        .await;
    code_of(&done);
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_the_stylesheet_is_served() {
    let s = service().await;
    let mut browser = Browser::default();
    assert_security_headers(&browser.authorize(&s.authorize, &request("")).await);
    assert_security_headers(&browser.authorize(&s.authorize, "client_id=nobody").await);
    assert_security_headers(&browser.post(&s.authorize, "/authorize/login", "").await);
    assert_security_headers(&browser.post(&s.authorize, "/authorize/consent", "").await);
    let not_found = browser.get(&s.authorize, "/authorize/nothing").await;
    assert_error_page(&not_found, 404);
    let wrong_method = browser.get(&s.authorize, "/authorize/login").await;
    assert_error_page(&wrong_method, 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");
    let css = browser.get(&s.authorize, "/authorize/style.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.body().starts_with(":root { --brand: #2457d6; }"));
    assert_eq!(css.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn production_cookies_are_secure_host_prefixed_and_login_hint_prefills() {
    let s = service().await;
    let mut browser = Browser::default();
    let page = browser
        .authorize(&s.authorize, &request("&login_hint=alice"))
        .await;
    assert!(page.body().contains("value=\"alice\""));
    let binding = page.headers()["set-cookie"].to_str().unwrap();
    assert!(
        binding.starts_with("__Host-browser=") && binding.contains("Secure"),
        "{binding}"
    );
    let done = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    let session = done.headers()["set-cookie"].to_str().unwrap();
    for part in [
        "__Host-session=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(session.contains(part), "{session}");
    }
}

mod oidc;
