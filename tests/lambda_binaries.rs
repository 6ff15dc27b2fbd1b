//! The real Lambda binaries, started as Lambda starts them and invoked through a
//! stand-in for the Runtime API, against the DynamoDB-compatible server. This is the
//! packaging path: `main`, configuration from the environment, the runtime loop.

use integration_tests::runtime_api::{
    FakeRuntimeApi, Outcome, function_binary, refused_token_start_output, spawn_function,
};
use integration_tests::*;

fn response_of(outcome: Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Response(value) => value,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn token_and_users_me_binaries_serve_api_gateway_events() {
    let store = fresh_store("bin").await;
    add_user(&store, "alice").await;
    let env = service_env(store.table_name());

    let token_runtime = FakeRuntimeApi::start().await;
    let _token = spawn_function(&function_binary("token"), &token_runtime, &env);
    let login = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "POST",
            path: "/token",
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: Some(login_body("alice").as_bytes()),
            ..Default::default()
        },
    );
    let response = response_of(token_runtime.invoke(login).await);
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["cache-control"], "no-store");
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    // The same process serves a second event: resources built once at cold start.
    let bad = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "GET",
            path: "/token",
            ..Default::default()
        },
    );
    let response = response_of(token_runtime.invoke(bad).await);
    assert_eq!(response["statusCode"], 405);

    // The same binary serves RFC 7009 revocation at /revoke.
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    let revoke_body = format!("token={refresh_token}&client_id=web-app");
    let revoke = event(
        EventVersion::RestV1,
        &EventRequest {
            method: "POST",
            path: "/revoke",
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: Some(revoke_body.as_bytes()),
            ..Default::default()
        },
    );
    let response = response_of(token_runtime.invoke(revoke).await);
    assert_eq!(response["statusCode"], 200, "{response}");

    // users-me runs with only verification keys: no signing key in its environment.
    let mut users_me_env = env.clone();
    users_me_env.remove("JWT_SIGNING_KEY");
    users_me_env.remove("JWT_SIGNING_KEY_ID");
    let me_runtime = FakeRuntimeApi::start().await;
    let _users_me = spawn_function(&function_binary("users-me"), &me_runtime, &users_me_env);
    let bearer = format!("Bearer {access_token}");
    let me = event(
        EventVersion::RestV1,
        &EventRequest {
            method: "GET",
            path: "/users/me",
            headers: &[("authorization", bearer.as_str())],
            ..Default::default()
        },
    );
    let response = response_of(me_runtime.invoke(me).await);
    assert_eq!(response["statusCode"], 200, "{response}");
    let profile: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(profile["username"], "alice");

    // The same binary is the OpenID Connect UserInfo endpoint; this token lacks
    // `openid` (a password grant without it): 403 insufficient_scope.
    let userinfo = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "GET",
            path: "/userinfo",
            headers: &[("authorization", bearer.as_str())],
            ..Default::default()
        },
    );
    let response = response_of(me_runtime.invoke(userinfo).await);
    assert_eq!(response["statusCode"], 403, "{response}");
    assert!(
        response["headers"]["www-authenticate"]
            .as_str()
            .unwrap()
            .contains("insufficient_scope"),
        "{response}"
    );
}

/// The authorize binary, with no signing key at all: the login page for a valid
/// authorization request, with its security headers, and the error page (no
/// redirect) for an unregistered redirect URI.
#[tokio::test]
async fn the_authorize_binary_serves_the_login_page_without_a_signing_key() {
    let store = fresh_store("bin-authorize").await;
    let mut env = service_env(store.table_name());
    env.remove("JWT_SIGNING_KEY");
    env.remove("JWT_SIGNING_KEY_ID");
    let runtime = FakeRuntimeApi::start().await;
    let _authorize = spawn_function(&function_binary("authorize"), &runtime, &env);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let query = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", "s1"),
    ];
    let page = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "GET",
            path: "/authorize",
            query: &query,
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(page).await);
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(
        response["body"]
            .as_str()
            .unwrap()
            .contains("id=\"login-form\"")
    );
    let csp = response["headers"]["content-security-policy"]
        .as_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let cookie = response["cookies"][0].as_str().unwrap_or_else(|| {
        response["headers"]["set-cookie"]
            .as_str()
            .expect("a browser-binding cookie")
    });
    assert!(cookie.starts_with("__Host-browser="), "{cookie}");

    let mut unregistered = query.to_vec();
    unregistered[2] = ("redirect_uri", "https://evil.example.test/cb");
    let refused = event(
        EventVersion::RestV1,
        &EventRequest {
            method: "GET",
            path: "/authorize",
            query: &unregistered,
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(refused).await);
    assert_eq!(response["statusCode"], 400, "{response}");
    assert!(response["headers"].get("location").is_none(), "{response}");

    // The same binary is the end-session endpoint: with nobody signed in, the
    // "signed out" page; an unverifiable hint, an error page.
    let logout = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "GET",
            path: "/logout",
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(logout).await);
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(response["body"].as_str().unwrap().contains("Signed out"));
    let forged = event(
        EventVersion::RestV1,
        &EventRequest {
            method: "GET",
            path: "/logout",
            query: &[("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")],
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(forged).await);
    assert_eq!(response["statusCode"], 400, "{response}");
}

#[tokio::test]
async fn a_function_without_a_signing_key_refuses_to_start() {
    let mut env = service_env("unused");
    let key = env.remove("JWT_SIGNING_KEY").unwrap();
    let output = refused_token_start_output(&env).await;
    assert!(output.contains("JWT_SIGNING_KEY is required"), "{output}");
    assert!(
        !output.contains(&key[30..60]),
        "no key material in the output"
    );
}

#[tokio::test]
async fn a_function_with_a_weak_key_refuses_to_start_and_never_prints_it() {
    let mut env = service_env("unused");
    env.insert("JWT_ALGORITHM".into(), "HS256".into());
    env.insert(
        "JWT_SIGNING_KEY".into(),
        "too-short-secret-0123456789".into(),
    );
    let output = refused_token_start_output(&env).await;
    assert!(output.contains("at least 32"), "{output}");
    assert!(!output.contains("too-short-secret"), "{output}");
}

/// The well-known function's environment: no table, no private key.
fn well_known_env() -> std::collections::HashMap<String, String> {
    let mut env = service_env("unused");
    env.remove("TABLE_NAME");
    env.remove("DYNAMODB_ENDPOINT");
    env.remove("JWT_SIGNING_KEY");
    env
}

#[tokio::test]
async fn the_well_known_binary_needs_no_table_and_publishes_public_keys() {
    let env = well_known_env();
    let runtime = FakeRuntimeApi::start().await;
    let _function = spawn_function(&function_binary("well-known"), &runtime, &env);
    let request = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "GET",
            path: "/.well-known/jwks.json",
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(request).await);
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["cache-control"], "public, max-age=300");
    let key_set: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        key_set["keys"][0]["kid"],
        env["JWT_SIGNING_KEY_ID"].as_str()
    );
    assert_eq!(key_set["keys"][0]["kty"], "EC");
}

/// `lambda_http` alone panics on a query string or path that is no URI (a raw `<`, a
/// path without its `/`) and on a body flagged base64 that is not; the binary
/// answers 400 and keeps serving.
#[tokio::test]
async fn an_event_whose_uri_is_malformed_is_a_400_and_the_function_lives_on() {
    let env = well_known_env();
    let runtime = FakeRuntimeApi::start().await;
    let _function = spawn_function(&function_binary("well-known"), &runtime, &env);
    let jwks = EventRequest {
        method: "GET",
        path: "/.well-known/jwks.json",
        ..Default::default()
    };
    let version = EventVersion::HttpV2;
    for (field, value) in [
        ("rawQueryString", "a=<b>&c=\"d\""),
        ("rawPath", "]"),
        ("body", "not base64!"),
    ] {
        let mut request = event(version, &jwks);
        request[field] = value.into();
        if field == "body" {
            request["isBase64Encoded"] = true.into();
        }
        let response = response_of(runtime.invoke(request).await);
        assert_eq!(response["statusCode"], 400, "{response}");
        let body: serde_json::Value =
            serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_request");
        let next = response_of(runtime.invoke(event(version, &jwks)).await);
        assert_eq!(next["statusCode"], 200, "{next}");
    }
    // REST API events too, and one without a headers object.
    let mut request = event(EventVersion::RestV1, &jwks);
    request["body"] = "not base64!".into();
    request["isBase64Encoded"] = true.into();
    request["headers"] = serde_json::Value::Null;
    request["multiValueHeaders"] = serde_json::Value::Null;
    let response = response_of(runtime.invoke(request).await);
    assert_eq!(response["statusCode"], 400, "{response}");
    // A CORS preflight passed on by an `ANY` route is answered, not refused.
    let preflight = event(
        version,
        &EventRequest {
            method: "OPTIONS",
            path: "/.well-known/jwks.json",
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(preflight).await);
    assert_eq!(response["statusCode"], 204, "{response}");
}

#[tokio::test]
async fn the_account_binary_registers_users_when_switched_on() {
    let store = fresh_store("bin-account").await;
    let mut env = service_env(store.table_name());
    env.insert("SELF_SERVICE_REGISTRATION".into(), "true".into());
    let runtime = FakeRuntimeApi::start().await;
    let _function = spawn_function(&function_binary("account"), &runtime, &env);
    let body = br#"{"username":"from-lambda","password":"a fine long passphrase"}"#;
    let register = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "POST",
            path: "/users",
            headers: &[("content-type", "application/json")],
            body: Some(body),
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(register).await);
    assert_eq!(response["statusCode"], 201, "{response}");
    use shared::store::UserStore;
    assert!(store.get_user("from-lambda").await.unwrap().is_some());
    // Password change is off: its path is not found.
    let change = event(
        EventVersion::HttpV2,
        &EventRequest {
            method: "POST",
            path: "/users/me/password",
            headers: &[("content-type", "application/json")],
            body: Some(b"{}"),
            ..Default::default()
        },
    );
    let response = response_of(runtime.invoke(change).await);
    assert_eq!(response["statusCode"], 404, "{response}");
}
