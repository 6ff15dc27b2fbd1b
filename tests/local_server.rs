//! The README's first command: the local server answers the documented curl calls.

use integration_tests::json_body_str;
use local_server::LocalOptions;
use secrecy::SecretString;
use shared::keys::SigningAlgorithm;

/// The local server on a free port with the user alice, as `cargo run -p local-server`
/// starts it; returns its base URL (also its issuer) and a client.
async fn start_local_server() -> (String, reqwest::Client) {
    start_local_server_signing_with(SigningAlgorithm::Es256).await
}

async fn start_local_server_signing_with(algorithm: SigningAlgorithm) -> (String, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = local_server::build(&LocalOptions {
        base_url: base.clone(),
        users: vec![(
            "alice".into(),
            SecretString::from("wonderland-42".to_owned()),
        )],
        confidential_clients: vec![(
            "reporting".into(),
            SecretString::from("reporting-secret".to_owned()),
        )],
        scopes: vec!["reports".into()],
        redirect_uris: Vec::new(),
        consent_clients: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        bcrypt_cost: 4,
        self_service: true,
        algorithm,
        table: None,
    })
    .await
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, reqwest::Client::new())
}

async fn log_in(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", local_server::PUBLIC_CLIENT_ID),
            ("username", "alice"),
            ("password", "wonderland-42"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn local_server_serves_every_route_over_http() {
    let (base, client) = start_local_server().await;
    let login = log_in(&client, &base).await;
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["cache-control"], "no-store");
    let body = json_body_str(&login.text().await.unwrap());
    let token = body["access_token"].as_str().unwrap().to_owned();

    let me = client
        .get(format!("{base}/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        json_body_str(&me.text().await.unwrap())["username"],
        "alice"
    );

    let no_token = client.get(format!("{base}/users/me")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );

    let oversized = client
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=".to_owned() + &"x".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    let unknown = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// RFC 8414 + RFC 7517 interoperability: a client that knows only the issuer finds
/// the JWKS through the metadata, and an independent library (PyJWT, installed in
/// .venv by the test command) verifies a token with that JWKS alone.
#[tokio::test]
async fn tokens_verify_with_pyjwt_from_the_published_jwks_alone() {
    let (issuer, client) = start_local_server().await;
    let login = log_in(&client, &issuer).await;
    let token = json_body_str(&login.text().await.unwrap())["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let metadata_url = format!("{issuer}/.well-known/oauth-authorization-server");
    let metadata = json_body_str(
        &client
            .get(metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(metadata["issuer"], issuer.as_str());
    let jwks_uri = metadata["jwks_uri"].as_str().unwrap();
    let jwks = client
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/verify_with_pyjwt.py");
    let output = std::process::Command::new("python3")
        .args([script, &jwks, &token, &issuer, &issuer])
        .output()
        .expect("python3 runs (scripts/test.sh puts the .venv with PyJWT first on PATH)");
    assert!(
        output.status.success(),
        "PyJWT refused the token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let claims = json_body_str(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["username"], "alice");
}

async fn access_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    json_body_str(&response.text().await.unwrap())["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs tests/apigw_jwt_authorizer.py: API Gateway's documented JWT-authorizer
/// checks, including its discovery from the issuer. `Err` holds its refusal.
/// (Asynchronous: the script calls back into the server running on this runtime.)
async fn api_gateway_authorizer(
    issuer: &str,
    token: &str,
    scopes: &[&str],
) -> Result<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/apigw_jwt_authorizer.py");
    let output = tokio::process::Command::new("python3")
        .args([script, issuer, issuer, token])
        .args(scopes)
        .output()
        .await
        .expect("python3 runs (scripts/test.sh puts the .venv with PyJWT first on PATH)");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The set-up for API Gateway's native JWT authorizer: with RS256 keys, user and
/// client-credentials tokens pass its steps (discovery from the issuer, kid, RSA
/// signature, iss, aud, exp/nbf/iat); route scopes are enforced; ES256 tokens,
/// which it cannot verify, are refused (hence RS256 in template.yaml).
#[tokio::test]
async fn tokens_pass_api_gateways_jwt_authorizer_with_rs256() {
    let (issuer, client) = start_local_server_signing_with(SigningAlgorithm::Rs256).await;
    let user_token = access_token(log_in(&client, &issuer).await).await;
    let claims = json_body_str(
        &api_gateway_authorizer(&issuer, &user_token, &[])
            .await
            .unwrap(),
    );
    assert_eq!(claims["username"], "alice");

    let machine = client
        .post(format!("{issuer}/token"))
        .basic_auth("reporting", Some("reporting-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let machine_token = access_token(machine).await;
    let claims = json_body_str(
        &api_gateway_authorizer(&issuer, &machine_token, &[])
            .await
            .unwrap(),
    );
    assert_eq!(claims["sub"], "reporting");

    // A route's AuthorizationScopes: any one of them in `scope` lets the token in.
    api_gateway_authorizer(&issuer, &machine_token, &["admin", "reports"])
        .await
        .unwrap();
    let refusal = api_gateway_authorizer(&issuer, &user_token, &["admin"])
        .await
        .unwrap_err();
    assert!(refusal.contains("scopes"), "{refusal}");

    let (es_issuer, es_client) = start_local_server().await;
    let es_token = access_token(log_in(&es_client, &es_issuer).await).await;
    let refusal = api_gateway_authorizer(&es_issuer, &es_token, &[])
        .await
        .unwrap_err();
    assert!(refusal.contains("RSA"), "{refusal}");
}

/// Client authentication over real HTTP: a wrong secret is a 401 with a Basic
/// challenge; revocation needs the client too.
#[tokio::test]
async fn client_authentication_over_http() {
    let (base, client) = start_local_server().await;
    let wrong = client
        .post(format!("{base}/token"))
        .basic_auth("reporting", Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let login = log_in(&client, &base).await;
    let refresh_token = json_body_str(&login.text().await.unwrap())["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let anonymous = client
        .post(format!("{base}/revoke"))
        .form(&[("token", refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let revoked = client
        .post(format!("{base}/revoke"))
        .form(&[
            ("token", refresh_token.as_str()),
            ("client_id", local_server::PUBLIC_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

/// Self-service over HTTP (the local server with --self-service): register, log in,
/// change the password, and the old refresh token is dead.
#[tokio::test]
async fn self_service_registration_and_password_change_over_http() {
    let (base, client) = start_local_server().await;
    let registered = client
        .post(format!("{base}/users"))
        .json(&serde_json::json!({"username": "newbie", "password": "a fine long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login = client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", local_server::PUBLIC_CLIENT_ID),
            ("username", "newbie"),
            ("password", "a fine long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    let body = json_body_str(&login.text().await.unwrap());
    let access_token = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let changed = client
        .post(format!("{base}/users/me/password"))
        .bearer_auth(access_token)
        .json(&serde_json::json!({
            "current_password": "a fine long passphrase",
            "new_password": "an even finer passphrase"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let refresh = client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", local_server::PUBLIC_CLIENT_ID),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400);
}
