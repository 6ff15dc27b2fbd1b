//! Browser sign-in (RFC 6749 §4.1 with PKCE) end to end on the DynamoDB store, against
//! the local DynamoDB-compatible server: the handlers the authorize and token
//! functions run, with conditional writes doing the single-use work.

use std::sync::Arc;

use integration_tests::*;
use shared::clients::{ClientId, ClientRecord, GrantType};
use shared::routes::Endpoint;
use shared::routes::authorize::AuthorizeEndpoint;
use shared::routes::authorize::test_browser::TestBrowser;
use shared::routes::token::TokenEndpoint;
use shared::routes::users_me::UsersMeEndpoint;
use shared::store::Store;
use shared::users::{UserRecord, Username};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Functions {
    store: Arc<dyn Store>,
    authorize: AuthorizeEndpoint,
    token: Arc<TokenEndpoint>,
    users_me: UsersMeEndpoint,
    logout: shared::routes::logout::LogoutEndpoint,
}

async fn functions(prefix: &str) -> Functions {
    let store = fresh_store(prefix).await;
    let env = service_env(store.table_name());
    let store: Arc<dyn Store> = Arc::new(store);
    let hash = shared::passwords::PasswordHasher::new(10)
        .unwrap()
        .hash(secrecy::SecretString::from(PASSWORD.to_owned()))
        .await
        .unwrap();
    let mut alice = UserRecord::new(Username::parse("alice").unwrap(), hash);
    alice.scopes = vec!["read".into(), "write".into()];
    store.create_user(&alice).await.unwrap();
    Functions {
        authorize: AuthorizeEndpoint::from_env(&env, store.clone()).unwrap(),
        token: Arc::new(TokenEndpoint::from_env(&env, store.clone()).unwrap()),
        users_me: UsersMeEndpoint::from_env(&env, store.clone()).unwrap(),
        logout: shared::routes::logout::LogoutEndpoint::from_env(&env, store.clone()).unwrap(),
        store,
    }
}

fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn authorize_query(client_id: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(REDIRECT_URI)
    )
}

fn code_of(response: &shared::http::HttpResponse) -> String {
    assert_eq!(response.status(), 303, "{}", response.body());
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["iss"], ISSUER);
    assert_eq!(query["state"], "s1");
    query["code"].clone()
}

fn exchange_body(client_id: &str, code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
        enc(REDIRECT_URI)
    )
}

async fn post_token(token: &TokenEndpoint, body: &str) -> shared::http::HttpResponse {
    token
        .handle(
            http::Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bytes::Bytes::from(body.to_owned()))
                .unwrap(),
        )
        .await
}

async fn sign_in(
    f: &Functions,
    browser: &mut TestBrowser,
    query: &str,
) -> shared::http::HttpResponse {
    let page = browser.authorize(&f.authorize, query).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    browser.log_in(&f.authorize, &page, "alice", PASSWORD).await
}

#[tokio::test]
async fn rfc6749_4_1_the_flow_on_dynamodb_signs_in_issues_tokens_and_keeps_the_session() {
    let f = functions("sign-in").await;
    let mut browser = TestBrowser::default();
    let code =
        code_of(&sign_in(&f, &mut browser, &authorize_query(CLIENT_ID, "&scope=read")).await);
    let tokens = post_token(&f.token, &exchange_body(CLIENT_ID, &code)).await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
    let body = json_body(&tokens);
    assert_eq!(body["scope"], "read");
    let me = f
        .users_me
        .handle(
            http::Request::get("/users/me")
                .header(
                    "authorization",
                    format!("Bearer {}", body["access_token"].as_str().unwrap()),
                )
                .body(bytes::Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(json_body(&me)["username"], "alice");
    // The code is spent.
    let replay = post_token(&f.token, &exchange_body(CLIENT_ID, &code)).await;
    assert_eq!(json_body(&replay)["error"], "invalid_grant");
    // SSO from the stored session: no form.
    let again = browser
        .authorize(&f.authorize, &authorize_query(CLIENT_ID, ""))
        .await;
    code_of(&again);
    // prompt=none in another browser: no session.
    let stranger = TestBrowser::default()
        .authorize(&f.authorize, &authorize_query(CLIENT_ID, "&prompt=none"))
        .await;
    assert!(
        stranger.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=login_required")
    );
}

#[tokio::test]
async fn consent_is_stored_and_remembered_on_dynamodb() {
    let f = functions("consent").await;
    f.store
        .create_client(&ClientRecord {
            client_id: ClientId::parse("third").unwrap(),
            secret_hash: None,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["read".into()],
            disabled: false,
            created_at: shared::now_unix(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            first_party: false,
            post_logout_redirect_uris: Vec::new(),
        })
        .await
        .unwrap();
    let mut browser = TestBrowser::default();
    let consent = sign_in(&f, &mut browser, &authorize_query("third", "&scope=read")).await;
    assert!(
        consent.body().contains("id=\"consent-form\""),
        "{}",
        consent.body()
    );
    assert!(
        consent.body().contains("<code>read</code>"),
        "{}",
        consent.body()
    );
    let code = code_of(&browser.decide(&f.authorize, &consent, "allow").await);
    let tokens = post_token(&f.token, &exchange_body("third", &code)).await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
    assert!(
        json_body(&tokens).get("refresh_token").is_none(),
        "no refresh grant for third"
    );
    code_of(
        &browser
            .authorize(&f.authorize, &authorize_query("third", "&scope=read"))
            .await,
    );
}

/// RFC 6749 §4.1.2 with a DynamoDB condition: of 20 concurrent redemptions of one
/// code exactly one gets tokens, and the replays revoke the refresh family it issued.
#[tokio::test]
async fn twenty_concurrent_redemptions_of_one_code_exactly_one_succeeds() {
    let f = functions("code-race").await;
    let code = code_of(
        &sign_in(
            &f,
            &mut TestBrowser::default(),
            &authorize_query(CLIENT_ID, ""),
        )
        .await,
    );
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let token = Arc::clone(&f.token);
            let body = exchange_body(CLIENT_ID, &code);
            tokio::spawn(async move { post_token(&token, &body).await })
        })
        .collect();
    let mut successes = Vec::new();
    let mut refusals = 0;
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status().as_u16() {
            200 => successes.push(json_body(&response)),
            400 => {
                assert_eq!(json_body(&response)["error"], "invalid_grant");
                refusals += 1;
            }
            other => panic!("unexpected {other}: {}", response.body()),
        }
    }
    assert_eq!((successes.len(), refusals), (1, 19));
    // Whatever refresh token the winner got is dead: the code was replayed.
    if let Some(refresh_token) = successes[0]["refresh_token"].as_str() {
        let refresh = post_token(
            &f.token,
            &format!(
                "grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={refresh_token}"
            ),
        )
        .await;
        assert_eq!(json_body(&refresh)["error"], "invalid_grant");
    }
}

/// OpenID Connect on DynamoDB: the ID token's session id and sign-in time travel
/// through the stored code and refresh family, UserInfo reads the stored user, and
/// RP-initiated logout deletes the stored session.
#[tokio::test]
async fn openid_connect_on_dynamodb_id_tokens_refresh_userinfo_and_logout() {
    let f = functions("oidc").await;
    let signed_out = "https://app.example.test/signed-out";
    f.store
        .create_client(&ClientRecord {
            client_id: ClientId::parse("oidc-app").unwrap(),
            secret_hash: None,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            disabled: false,
            created_at: shared::now_unix(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            first_party: true,
            post_logout_redirect_uris: vec![signed_out.to_owned()],
        })
        .await
        .unwrap();
    let mut browser = TestBrowser::default();
    let redirect = sign_in(
        &f,
        &mut browser,
        &authorize_query("oidc-app", "&scope=openid+profile&nonce=n-42"),
    )
    .await;
    let tokens = post_token(&f.token, &exchange_body("oidc-app", &code_of(&redirect))).await;
    assert_eq!(tokens.status(), 200, "{}", tokens.body());
    let body = json_body(&tokens);
    let claims = |token: &str| -> serde_json::Value {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let id_token = body["id_token"].as_str().expect("an id_token").to_owned();
    let first = claims(&id_token);
    assert_eq!(first["nonce"], "n-42");
    assert_eq!(first["aud"], "oidc-app");
    assert_eq!(first["preferred_username"], "alice");
    let sid = first["sid"].as_str().unwrap().to_owned();
    assert!(f.store.get_session(&sid).await.unwrap().is_some());
    // A refresh reads the family's sign-in facts back from the table.
    let refreshed = post_token(
        &f.token,
        &format!(
            "grant_type=refresh_token&client_id=oidc-app&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
    let again = claims(json_body(&refreshed)["id_token"].as_str().unwrap());
    assert_eq!(again["auth_time"], first["auth_time"]);
    assert_eq!(again["sid"], first["sid"]);
    // UserInfo on the stored user.
    let info = f
        .users_me
        .handle(
            http::Request::get("/userinfo")
                .header(
                    "authorization",
                    format!("Bearer {}", body["access_token"].as_str().unwrap()),
                )
                .body(bytes::Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(info.status(), 200, "{}", info.body());
    assert_eq!(json_body(&info)["sub"], first["sub"]);
    assert_eq!(json_body(&info)["preferred_username"], "alice");
    // Logout with the hint ends the stored session.
    let response = browser
        .get(
            &f.logout,
            &format!(
                "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=z",
                enc(signed_out)
            ),
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.body());
    assert_eq!(
        response.headers()["location"],
        format!("{signed_out}?state=z").as_str()
    );
    assert!(f.store.get_session(&sid).await.unwrap().is_none());
    let page = browser
        .authorize(&f.authorize, &authorize_query("oidc-app", "&scope=openid"))
        .await;
    assert!(page.body().contains("id=\"login-form\""), "{}", page.body());
}
