//! OpenID Connect on top of the code flow, through the handlers: ID tokens (Core
//! §2, §3.1.3.6–7, §12.2), claims per scope (§5.4), UserInfo (§5.3), the
//! authorization request's OpenID parameters (§3.1.2.1) and RP-initiated logout.

use super::*;
use crate::oidc;

const NONCE: &str = "n-0S6_WzA2Mj";
const OIDC_SCOPE: &str = "openid+profile+email+read";

/// An OpenID Connect request of `web` with a nonce, plus `extra`.
fn oidc_request(extra: &str) -> String {
    request(&format!("&scope={OIDC_SCOPE}&nonce={NONCE}{extra}"))
}

/// Verifies an ID token's signature with the published key (the way a relying party
/// does, independently of the service's own verifier) for audience `client_id`, and
/// returns its header and claims.
fn verified_id_token(s: &Service, token: &str, client_id: &str) -> (jsonwebtoken::Header, Value) {
    let keys: HashMap<String, String> =
        serde_json::from_str(&s.env["JWT_VERIFICATION_KEYS"]).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let pem = &keys[header.kid.as_deref().expect("a kid")];
    let key = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e}"));
    (header, data.claims)
}

fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .unwrap()
        .claims
}

/// Signs in through `web` with `query` and exchanges the code: the token response.
async fn tokens_for(s: &Service, browser: &mut Browser, query: &str) -> Value {
    let redirect = browser.sign_in(s, query).await;
    let response = s.exchange(&code_of(&redirect)).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    json(&response)
}

async fn userinfo(s: &Service, request: http::Request<Bytes>) -> HttpResponse {
    s.users_me.handle(request).await
}

fn userinfo_get(token: &str) -> http::Request<Bytes> {
    http::Request::get("/userinfo")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap()
}

#[tokio::test]
async fn core_3_1_3_7_the_id_token_carries_every_claim_and_verifies_with_the_published_key() {
    let s = service().await;
    let before = crate::now_unix();
    let body = tokens_for(&s, &mut Browser::default(), &oidc_request("")).await;
    let access_token = body["access_token"].as_str().unwrap();
    let id_token = body["id_token"].as_str().expect("an id_token");
    let (header, claims) = verified_id_token(&s, id_token, "web");
    assert_eq!(header.typ.as_deref(), Some("JWT"), "never at+jwt");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let alice = s.store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_eq!(
        claims["sub"],
        claims_of(access_token)["sub"],
        "the same sub"
    );
    assert_eq!(claims["aud"], "web");
    assert_eq!(claims["azp"], "web");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300, "5 minutes");
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(auth_time >= before && auth_time <= iat, "{claims}");
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["at_hash"], oidc::at_hash(access_token));
    assert!(claims["sid"].as_str().is_some_and(|sid| sid.len() == 64));
    // profile and email were asked for.
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["updated_at"], alice.updated_at);
    // The access token keeps its own type and audience.
    assert_eq!(
        jsonwebtoken::decode_header(access_token)
            .unwrap()
            .typ
            .as_deref(),
        Some("at+jwt")
    );
    assert_eq!(body["scope"], "email openid profile read");
    // An ID token is no access token: a resource server refuses it.
    let response = s.users_me.handle(
        http::Request::get("/users/me")
            .header("authorization", format!("Bearer {id_token}"))
            .body(Bytes::new())
            .unwrap(),
    );
    assert_eq!(response.await.status(), 401);
}

#[tokio::test]
async fn core_3_1_2_1_the_nonce_is_echoed_exactly_and_absent_when_none_was_sent() {
    let s = service().await;
    let odd = "a b+c/=é~\"<'";
    let body = tokens_for(
        &s,
        &mut Browser::default(),
        &request(&format!("&scope=openid&nonce={}", enc(odd))),
    )
    .await;
    let claims = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(claims["nonce"], odd);
    let body = tokens_for(&s, &mut Browser::default(), &request("&scope=openid")).await;
    let claims = claims_of(body["id_token"].as_str().unwrap());
    assert!(claims.get("nonce").is_none(), "{claims}");
}

#[tokio::test]
async fn without_openid_there_is_no_id_token() {
    let s = service().await;
    let body = tokens_for(&s, &mut Browser::default(), &request("&scope=read")).await;
    assert!(body.get("id_token").is_none(), "{body}");
    assert_eq!(body["scope"], "read");
    let refreshed = s
        .token(&format!(
            "grant_type=refresh_token&client_id=web&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ))
        .await;
    assert!(json(&refreshed).get("id_token").is_none());
    // Its token is refused at /userinfo: no openid scope.
    let response = userinfo(&s, userinfo_get(body["access_token"].as_str().unwrap())).await;
    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\""),
        "{:?}",
        response.headers()
    );
}

#[tokio::test]
async fn core_2_aud_and_azp_are_the_client_that_asked() {
    let s = service().await;
    // `backend` (confidential, first-party) signs the same user in with its own request.
    let mut browser = Browser::default();
    let backend = request(&format!("&scope=openid&nonce={NONCE}"))
        .replace("client_id=web", "client_id=backend")
        .replace(&enc(APP_CB), &enc("https://backend.example.com/cb"));
    let redirect = browser.sign_in(&s, &backend).await;
    let code = query_of(&location(&redirect))["code"].clone();
    let response = s
        .token(&format!(
            "grant_type=authorization_code&client_id=backend&client_secret={BACKEND_SECRET}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc("https://backend.example.com/cb")
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", response.body());
    let id_token = json(&response)["id_token"].as_str().unwrap().to_owned();
    let (_, claims) = verified_id_token(&s, &id_token, "backend");
    assert_eq!(
        (claims["aud"].clone(), claims["azp"].clone()),
        ("backend".into(), "backend".into())
    );
    // A relying party checking its own audience refuses it.
    let keys: HashMap<String, String> =
        serde_json::from_str(&s.env["JWT_VERIFICATION_KEYS"]).unwrap();
    let pem = keys.values().next().unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["web"]);
    let key = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&id_token, &key, &validation).is_err());
    // Nor may `web` present it as its id_token_hint.
    let response = browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&prompt=none&id_token_hint={id_token}")),
        )
        .await;
    assert_eq!(error_of(&response), "invalid_request");
}

#[tokio::test]
async fn core_3_1_3_6_auth_time_under_sso_is_when_the_password_was_typed() {
    let s = service().await;
    let mut browser = Browser::default();
    let first = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let first = claims_of(first["id_token"].as_str().unwrap());
    // Whole seconds: let the clock move on before the single sign-on.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let redirect = browser.authorize(&s.authorize, &oidc_request("")).await;
    let sso = json(&s.exchange(&code_of(&redirect)).await);
    let sso = claims_of(sso["id_token"].as_str().unwrap());
    assert_eq!(
        sso["auth_time"], first["auth_time"],
        "no password typed since"
    );
    assert!(sso["iat"].as_i64() > first["auth_time"].as_i64());
    assert_eq!(sso["sid"], first["sid"], "the same session");
    // max_age=0 asks for the password again: a new auth_time, a new session.
    let page = browser
        .authorize(&s.authorize, &oidc_request("&max_age=0"))
        .await;
    assert!(is_login_page(&page));
    let redirect = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    let again = json(&s.exchange(&code_of(&redirect)).await);
    let again = claims_of(again["id_token"].as_str().unwrap());
    assert!(again["auth_time"].as_i64() > first["auth_time"].as_i64());
    assert_ne!(again["sid"], first["sid"]);
}

#[tokio::test]
async fn core_12_2_a_refresh_returns_a_new_id_token_with_the_same_auth_time_and_sid() {
    let s = service().await;
    let body = tokens_for(&s, &mut Browser::default(), &oidc_request("")).await;
    let original = claims_of(body["id_token"].as_str().unwrap());
    let refreshed = s
        .token(&format!(
            "grant_type=refresh_token&client_id=web&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
    let refreshed = json(&refreshed);
    let id_token = refreshed["id_token"].as_str().expect("a new id_token");
    let (_, claims) = verified_id_token(&s, id_token, "web");
    for same in ["iss", "sub", "aud", "azp", "auth_time", "sid"] {
        assert_eq!(claims[same], original[same], "{same}");
    }
    assert!(
        claims.get("nonce").is_none(),
        "§12.2: SHOULD NOT have a nonce"
    );
    assert_eq!(
        claims["at_hash"],
        oidc::at_hash(refreshed["access_token"].as_str().unwrap())
    );
    // Narrowed to a scope without openid: no ID token.
    let narrowed = s
        .token(&format!(
            "grant_type=refresh_token&client_id=web&refresh_token={}&scope=read",
            refreshed["refresh_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(narrowed.status(), 200, "{}", narrowed.body());
    assert!(json(&narrowed).get("id_token").is_none());
}

#[tokio::test]
async fn core_5_4_claims_follow_the_scopes_in_the_id_token_and_at_userinfo() {
    let s = service().await;
    // alice has an email address, not yet verified.
    let mut carol = s.add_user("carol", &["read"]).await;
    carol.email = Some("carol@example.com".into());
    carol.full_name = Some("Carol Example".into());
    s.store.delete_user("carol").await.unwrap();
    s.store.create_user(&carol).await.unwrap();
    let sign_in_carol = |scope: &'static str| {
        let s = &s;
        async move {
            let mut browser = Browser::default();
            let page = browser
                .authorize(&s.authorize, &request(&format!("&scope={scope}")))
                .await;
            let redirect = browser.log_in(&s.authorize, &page, "carol", PASSWORD).await;
            json(&s.exchange(&code_of(&redirect)).await)
        }
    };
    let get_userinfo = |token: String| {
        let s = &s;
        async move {
            let response = userinfo(s, userinfo_get(&token)).await;
            assert_eq!(response.status(), 200, "{}", response.body());
            assert_eq!(response.headers()["cache-control"], "no-store");
            json(&response)
        }
    };
    let openid_only = sign_in_carol("openid").await;
    let claims = claims_of(openid_only["id_token"].as_str().unwrap());
    for absent in ["name", "preferred_username", "email", "email_verified"] {
        assert!(claims.get(absent).is_none(), "{absent} in {claims}");
    }
    let info = get_userinfo(openid_only["access_token"].as_str().unwrap().into()).await;
    assert_eq!(info, serde_json::json!({ "sub": carol.user_id }));

    let email = sign_in_carol("openid+email").await;
    let info = get_userinfo(email["access_token"].as_str().unwrap().into()).await;
    assert_eq!(
        info,
        serde_json::json!({ "sub": carol.user_id, "email": "carol@example.com", "email_verified": false })
    );
    let claims = claims_of(email["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], false);
    assert!(claims.get("name").is_none());

    // An administrator verifies the address: email_verified becomes true.
    s.store
        .set_email_verified("carol", "carol@example.com", true, 1_800_000_000)
        .await
        .unwrap();
    let all = sign_in_carol("openid+profile+email").await;
    let info = get_userinfo(all["access_token"].as_str().unwrap().into()).await;
    assert_eq!(
        info,
        serde_json::json!({
            "sub": carol.user_id,
            "name": "Carol Example",
            "preferred_username": "carol",
            "updated_at": 1_800_000_000,
            "email": "carol@example.com",
            "email_verified": true,
        })
    );
    let claims = claims_of(all["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Carol Example");
}

#[tokio::test]
async fn core_5_3_userinfo_takes_the_token_in_the_header_or_a_form_body_never_the_query() {
    let s = service().await;
    let body = tokens_for(&s, &mut Browser::default(), &oidc_request("")).await;
    let token = body["access_token"].as_str().unwrap();
    let alice = s.store.get_user("alice").await.unwrap().unwrap();
    // POST with a form body (RFC 6750 §2.2).
    let post = |body: String, bearer: Option<&str>| {
        let mut request = http::Request::post("/userinfo")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(bearer) = bearer {
            request = request.header("authorization", format!("Bearer {bearer}"));
        }
        request.body(Bytes::from(body)).unwrap()
    };
    let response = userinfo(&s, post(format!("access_token={token}"), None)).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(json(&response)["sub"], alice.user_id.as_str());
    // POST with the header and an empty body.
    let response = userinfo(&s, post(String::new(), Some(token))).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    // Anything else in the body is refused, not ignored.
    let response = userinfo(&s, post("AAA".into(), Some(token))).await;
    assert_eq!(response.status(), 400, "{}", response.body());
    // Both at once: RFC 6750 §2 allows one method only.
    let response = userinfo(&s, post(format!("access_token={token}"), Some(token))).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "invalid_request");
    // The query string: refused (RFC 6750 §2.3 leaks it into logs).
    let response = userinfo(
        &s,
        http::Request::get(format!("/userinfo?access_token={token}"))
            .body(Bytes::new())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), 400);
    // No token: 401 with a bare challenge; a bad one: invalid_token.
    let response = userinfo(
        &s,
        http::Request::get("/userinfo").body(Bytes::new()).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let response = userinfo(&s, userinfo_get("not.a.token")).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Other methods: 405 with Allow.
    let response = userinfo(
        &s,
        http::Request::delete("/userinfo")
            .header("authorization", format!("Bearer {token}"))
            .body(Bytes::new())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
    // A disabled user is refused at once, as at /users/me.
    s.store.set_disabled("alice", true).await.unwrap();
    let response = userinfo(&s, userinfo_get(token)).await;
    assert_eq!(response.status(), 401);
    // And a deleted one.
    s.store.delete_user("alice").await.unwrap();
    assert_eq!(userinfo(&s, userinfo_get(token)).await.status(), 401);
}

#[tokio::test]
async fn core_3_1_2_1_prompt_consent_and_select_account_are_handled() {
    let s = service().await;
    let mut browser = Browser::default();
    tokens_for(&s, &mut browser, &oidc_request("")).await;
    // prompt=consent: the consent page even for a first-party client with a session.
    let page = browser
        .authorize(&s.authorize, &oidc_request("&prompt=consent"))
        .await;
    assert_eq!(page.status(), 200, "{}", page.body());
    assert!(
        page.body().contains("id=\"consent-form\""),
        "{}",
        page.body()
    );
    let redirect = browser.decide(&s.authorize, &page, "allow").await;
    code_of(&redirect);
    // prompt=select_account: the login form although a session is live.
    let page = browser
        .authorize(&s.authorize, &oidc_request("&prompt=select_account"))
        .await;
    assert!(is_login_page(&page), "{}", page.body());
    // prompt=none with anything else: invalid_request.
    let response = browser
        .authorize(&s.authorize, &oidc_request("&prompt=none+login"))
        .await;
    assert_eq!(error_of(&response), "invalid_request");
    // ui_locales and display are accepted and ignored: SSO still answers.
    let response = browser
        .authorize(
            &s.authorize,
            &oidc_request("&ui_locales=fr-CA+fr&display=popup"),
        )
        .await;
    code_of(&response);
    // Request objects are refused by name, back at the client.
    for (parameter, error) in [
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Fapp.example.com%2Fr",
            "request_uri_not_supported",
        ),
    ] {
        let response = browser
            .authorize(&s.authorize, &oidc_request(parameter))
            .await;
        assert_eq!(error_of(&response), error, "{parameter}");
    }
}

#[tokio::test]
async fn core_3_1_2_1_id_token_hint_with_prompt_none_answers_only_for_that_user() {
    let s = service().await;
    s.add_user("bob", &["read"]).await;
    let mut alice_browser = Browser::default();
    let alice = tokens_for(&s, &mut alice_browser, &oidc_request("")).await;
    let alice_hint = alice["id_token"].as_str().unwrap().to_owned();
    // Bob's ID token, from another browser.
    let mut bob_browser = Browser::default();
    let page = bob_browser.authorize(&s.authorize, &oidc_request("")).await;
    let redirect = bob_browser
        .log_in(&s.authorize, &page, "bob", PASSWORD)
        .await;
    let bob = json(&s.exchange(&code_of(&redirect)).await);
    let bob_hint = bob["id_token"].as_str().unwrap().to_owned();
    // Alice's own hint: a code, silently.
    let response = alice_browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&prompt=none&id_token_hint={alice_hint}")),
        )
        .await;
    code_of(&response);
    // Bob's hint in alice's browser: alice's session is not used.
    let response = alice_browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&prompt=none&id_token_hint={bob_hint}")),
        )
        .await;
    assert_eq!(error_of(&response), "login_required");
    let response = alice_browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&id_token_hint={bob_hint}")),
        )
        .await;
    assert!(is_login_page(&response));
    // A forged or foreign token is no hint.
    let forged = format!("{}x", &alice_hint[..alice_hint.len() - 1]);
    for bad in [
        forged.as_str(),
        "garbage",
        alice["access_token"].as_str().unwrap(),
    ] {
        let response = alice_browser
            .authorize(
                &s.authorize,
                &oidc_request(&format!("&prompt=none&id_token_hint={bad}")),
            )
            .await;
        assert_eq!(error_of(&response), "invalid_request", "{bad}");
    }
}

/// `GET /logout?{query}` in `browser`.
async fn logout(s: &Service, browser: &mut Browser, query: &str) -> HttpResponse {
    browser.get(&s.logout, &format!("/logout?{query}")).await
}

#[tokio::test]
async fn rp_initiated_logout_with_a_hint_ends_the_session_and_redirects_with_state() {
    let s = service().await;
    let mut browser = Browser::default();
    let body = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let hint = body["id_token"].as_str().unwrap();
    let sid = claims_of(hint)["sid"].as_str().unwrap().to_owned();
    assert!(s.store.get_session(&sid).await.unwrap().is_some());
    let response = logout(
        &s,
        &mut browser,
        &format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}&state=bye-1",
            enc(SIGNED_OUT)
        ),
    )
    .await;
    let url = location(&response);
    assert_eq!(url.as_str(), format!("{SIGNED_OUT}?state=bye-1"));
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-session=;") && set_cookie.contains("Max-Age=0"),
        "{set_cookie}"
    );
    // The session is gone: the next authorize shows the login page.
    assert!(s.store.get_session(&sid).await.unwrap().is_none());
    let page = browser.authorize(&s.authorize, &oidc_request("")).await;
    assert!(is_login_page(&page), "{}", page.body());
    // And prompt=none says so.
    let response = browser
        .authorize(&s.authorize, &oidc_request("&prompt=none"))
        .await;
    assert_eq!(error_of(&response), "login_required");
}

#[tokio::test]
async fn rp_initiated_logout_refuses_unregistered_redirects_and_bad_hints_with_a_page() {
    let s = service().await;
    let mut browser = Browser::default();
    let body = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let hint = body["id_token"].as_str().unwrap();
    let forged = format!("{}x", &hint[..hint.len() - 1]);
    for query in [
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://evil.example.com/")
        ),
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc(&format!("{SIGNED_OUT}/"))
        ),
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc(APP_CB)
        ),
        // A redirect with nothing naming the client.
        format!("post_logout_redirect_uri={}", enc(SIGNED_OUT)),
        // client_id and hint disagree.
        format!("id_token_hint={hint}&client_id=third"),
        format!("id_token_hint={forged}"),
        format!("id_token_hint={}", body["access_token"].as_str().unwrap()),
        format!(
            "client_id=nobody&post_logout_redirect_uri={}",
            enc(SIGNED_OUT)
        ),
    ] {
        let response = logout(&s, &mut browser, &query).await;
        assert_error_page(&response, 400);
    }
    // None of them signed anyone out.
    let sid = claims_of(hint)["sid"].as_str().unwrap().to_owned();
    assert!(s.store.get_session(&sid).await.unwrap().is_some());
}

#[tokio::test]
async fn rp_initiated_logout_without_a_hint_asks_for_confirmation() {
    let s = service().await;
    let mut browser = Browser::default();
    let body = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let sid = claims_of(body["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = format!(
        "client_id=web&post_logout_redirect_uri={}&state=s-2",
        enc(SIGNED_OUT)
    );
    let page = logout(&s, &mut browser, &query).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    assert!(
        page.body().contains("id=\"logout-form\""),
        "{}",
        page.body()
    );
    assert_security_headers(&page);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    assert!(
        s.store.get_session(&sid).await.unwrap().is_some(),
        "not yet"
    );
    // A forged confirmation from another site: no CSRF token, or the wrong one.
    for forged in [
        format!("{query}&decision=logout"),
        format!("{query}&decision=logout&csrf_token=abc"),
    ] {
        let response = browser.post(&s.logout, "/logout", &forged).await;
        assert_eq!(response.status(), 200);
        assert!(response.body().contains("id=\"logout-form\""));
        assert!(s.store.get_session(&sid).await.unwrap().is_some());
    }
    // "Stay signed in" keeps the session.
    let csrf = hidden(&page, "csrf_token");
    let response = browser
        .post(
            &s.logout,
            "/logout",
            &format!("{query}&csrf_token={csrf}&decision=stay"),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(s.store.get_session(&sid).await.unwrap().is_some());
    // The user confirms.
    let response = browser
        .post(
            &s.logout,
            "/logout",
            &format!("{query}&csrf_token={csrf}&decision=logout"),
        )
        .await;
    assert_eq!(
        location(&response).as_str(),
        format!("{SIGNED_OUT}?state=s-2")
    );
    assert!(s.store.get_session(&sid).await.unwrap().is_none());
    assert!(is_login_page(
        &browser.authorize(&s.authorize, &oidc_request("")).await
    ));
    // Signed out already: nothing to confirm, the "signed out" page.
    let response = logout(&s, &mut browser, "").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.body().contains("Signed out"),
        "{}",
        response.body()
    );
}

#[tokio::test]
async fn rp_initiated_logout_accepts_an_expired_hint_and_a_post_without_cookies() {
    let s = service().await;
    let mut browser = Browser::default();
    let body = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let claims: oidc::IdTokenClaims =
        serde_json::from_value(claims_of(body["id_token"].as_str().unwrap())).unwrap();
    // The same token, long expired, signed with the service's key.
    let signer = crate::config::token_signer(
        &s.env,
        &crate::config::ServiceSettings::from_env(&s.env).unwrap(),
    )
    .unwrap();
    let expired = signer
        .sign_id_token(&oidc::IdTokenClaims {
            iat: claims.iat - 7200,
            exp: claims.iat - 3600,
            ..claims.clone()
        })
        .unwrap();
    // An RP's form post (cross-site: the browser sends no Lax cookie with it): the
    // browser is sent to the same request as a top-level GET, which carries it.
    let response = Browser::default()
        .post(
            &s.logout,
            "/logout",
            &format!("id_token_hint={expired}&state=p-1&client_id=web"),
        )
        .await;
    let again = location(&response);
    assert_eq!(again.path(), "/logout");
    let query = query_of(&again);
    assert_eq!(query["id_token_hint"], expired);
    assert_eq!(
        (query["state"].as_str(), query["client_id"].as_str()),
        ("p-1", "web")
    );
    let sid = claims.sid.clone().unwrap();
    assert!(
        s.store.get_session(&sid).await.unwrap().is_some(),
        "not yet"
    );
    let response = browser
        .get(
            &s.logout,
            &format!("{}?{}", again.path(), again.query().unwrap()),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert!(response.body().contains("Signed out"));
    assert!(s.store.get_session(&sid).await.unwrap().is_none());
    assert!(is_login_page(
        &browser.authorize(&s.authorize, &oidc_request("")).await
    ));
}

#[tokio::test]
async fn hs256_deployments_refuse_openid_and_never_give_the_login_function_the_secret() {
    let key = keys::generate(SigningAlgorithm::Hs256).unwrap();
    let variables = key.environment();
    let extra: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = service_with(&extra).await;
    // Core §3.1.3.3: an openid request would get no ID token, so it is refused.
    let mut browser = Browser::default();
    let response = browser.authorize(&s.authorize, &oidc_request("")).await;
    assert_eq!(error_of(&response), "invalid_scope");
    // Plain OAuth 2.0 works as before.
    let body = tokens_for(&s, &mut browser, &request("&scope=read")).await;
    assert!(body.get("id_token").is_none(), "{body}");
    // The authorize function starts without JWT_VERIFICATION_KEYS (the HMAC secret)…
    let mut without_keys = s.env.clone();
    without_keys.remove("JWT_VERIFICATION_KEYS");
    assert!(AuthorizeEndpoint::from_env(&without_keys, s.store.clone()).is_ok());
    assert!(crate::routes::authorize_function(&without_keys, s.store.clone()).is_ok());
    // …while with an asymmetric key it needs the public keys for id_token_hint.
    let mut es256 = env(&[]);
    es256.remove("JWT_VERIFICATION_KEYS");
    assert!(AuthorizeEndpoint::from_env(&es256, s.store.clone()).is_err());
}

#[tokio::test]
async fn rp_initiated_logout_asks_when_the_hint_is_not_for_this_browsers_session() {
    let s = service().await;
    s.add_user("bob", &["read"]).await;
    // An old ID token of alice's, from a session that has ended since.
    let mut browser = Browser::default();
    let old = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let old_hint = old["id_token"].as_str().unwrap().to_owned();
    let page = browser
        .authorize(&s.authorize, &oidc_request("&prompt=login"))
        .await;
    let redirect = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    let current = json(&s.exchange(&code_of(&redirect)).await);
    let current_sid = claims_of(current["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(claims_of(&old_hint)["sid"].as_str().unwrap(), current_sid);
    // Bob's ID token.
    let mut bob_browser = Browser::default();
    let page = bob_browser.authorize(&s.authorize, &oidc_request("")).await;
    let redirect = bob_browser
        .log_in(&s.authorize, &page, "bob", PASSWORD)
        .await;
    let bob = json(&s.exchange(&code_of(&redirect)).await);
    let bob_hint = bob["id_token"].as_str().unwrap().to_owned();
    let bob_sid = claims_of(&bob_hint)["sid"].as_str().unwrap().to_owned();
    // §2: a hint that does not belong to the browser's session (an old one of the
    // same user, or another user's) gets the question, and nothing ends yet.
    for hint in [&old_hint, &bob_hint] {
        let page = logout(&s, &mut browser, &format!("id_token_hint={hint}")).await;
        assert_eq!(page.status(), 200, "{}", page.body());
        assert!(
            page.body().contains("id=\"logout-form\""),
            "{}",
            page.body()
        );
        assert!(s.store.get_session(&current_sid).await.unwrap().is_some());
        assert!(s.store.get_session(&bob_sid).await.unwrap().is_some());
    }
    // Confirmed: this browser's session ends, and so does the hint's.
    let page = logout(&s, &mut browser, &format!("id_token_hint={bob_hint}")).await;
    let body = format!(
        "id_token_hint={bob_hint}&csrf_token={}&decision=logout",
        hidden(&page, "csrf_token")
    );
    assert_eq!(hidden(&page, "id_token_hint"), bob_hint);
    let response = browser.post(&s.logout, "/logout", &body).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert!(s.store.get_session(&current_sid).await.unwrap().is_none());
    assert!(s.store.get_session(&bob_sid).await.unwrap().is_none());
}

#[tokio::test]
async fn rp_initiated_logout_in_a_browser_without_a_session_ends_the_hints_session() {
    let s = service().await;
    let mut browser = Browser::default();
    let body = tokens_for(&s, &mut browser, &oidc_request("")).await;
    let hint = body["id_token"].as_str().unwrap();
    let sid = claims_of(hint)["sid"].as_str().unwrap().to_owned();
    // The relying party's server, or another browser, holding the token.
    let response = logout(
        &s,
        &mut Browser::default(),
        &format!("id_token_hint={hint}"),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert!(response.body().contains("Signed out"));
    assert!(s.store.get_session(&sid).await.unwrap().is_none());
    assert!(is_login_page(
        &browser.authorize(&s.authorize, &oidc_request("")).await
    ));
}

#[tokio::test]
async fn core_3_1_2_1_whoever_signs_in_must_be_the_id_token_hints_user() {
    let s = service().await;
    s.add_user("bob", &["read"]).await;
    let alice = tokens_for(&s, &mut Browser::default(), &oidc_request("")).await;
    let hint = alice["id_token"].as_str().unwrap().to_owned();
    // A fresh browser: the login form; bob signs in instead of alice.
    let mut browser = Browser::default();
    let page = browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&id_token_hint={hint}")),
        )
        .await;
    assert!(is_login_page(&page));
    let response = browser.log_in(&s.authorize, &page, "bob", PASSWORD).await;
    assert_eq!(error_of(&response), "login_required");
    // alice herself gets her code.
    let mut browser = Browser::default();
    let page = browser
        .authorize(
            &s.authorize,
            &oidc_request(&format!("&id_token_hint={hint}")),
        )
        .await;
    let response = browser.log_in(&s.authorize, &page, "alice", PASSWORD).await;
    code_of(&response);
}

#[tokio::test]
async fn core_3_1_2_1_an_openid_request_must_name_its_redirect_uri() {
    let s = service().await;
    // `third` has exactly one redirect URI, which plain OAuth 2.0 may leave out.
    let without = |scope: &str| {
        format!(
            "response_type=code&client_id=third&state=st-1&code_challenge={CHALLENGE}&code_challenge_method=S256&scope={scope}"
        )
    };
    let mut browser = Browser::default();
    let response = browser.authorize(&s.authorize, &without("openid")).await;
    assert_error_page(&response, 400);
    assert!(
        response.body().contains("redirect_uri"),
        "{}",
        response.body()
    );
    let response = browser.authorize(&s.authorize, &without("read")).await;
    assert!(is_login_page(&response), "{}", response.body());
}
