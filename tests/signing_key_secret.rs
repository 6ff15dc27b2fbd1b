//! The signing key in AWS Secrets Manager (`JWT_SIGNING_KEY_SECRET`), against the
//! local server's Secrets Manager (moto serves it beside DynamoDB): `authctl keys
//! generate --to-secret` writes it and prints only the public side, the real token
//! binary signs with it, every bad secret is a refusal to start that names the
//! setting and never the key, and a rotation walks the README's steps.

use std::collections::HashMap;
use std::process::{Command, Output};

use integration_tests::runtime_api::{
    FakeRuntimeApi, Outcome, function_binary, printed_output, refused_token_start_output,
    spawn_function,
};
use integration_tests::*;

fn authctl(args: &[&str]) -> Output {
    Command::new(function_binary("authctl"))
        .args(args)
        .env("SECRETS_MANAGER_ENDPOINT", dynamodb_endpoint())
        .output()
        .expect("start authctl")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `authctl keys generate --to-secret NAME [--pending] --format json`: the public
/// settings it prints, after checking no private key was printed.
fn generate_to_secret(secret: &str, pending: bool) -> HashMap<String, String> {
    let mut args = vec![
        "keys",
        "generate",
        "--to-secret",
        secret,
        "--format",
        "json",
    ];
    if pending {
        args.push("--pending");
    }
    let output = authctl(&args);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!text(&output).contains("PRIVATE KEY"), "{}", text(&output));
    let printed: HashMap<String, String> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!printed.contains_key("JWT_SIGNING_KEY"), "{printed:?}");
    printed
}

fn unique_secret() -> String {
    unique_table_name("signing-key")
}

/// The token function's environment, with the key from `secret` and `verification`
/// as JWT_VERIFICATION_KEYS.
fn token_env(table: &str, secret: &str) -> HashMap<String, String> {
    let mut env = service_env(table);
    env.remove("JWT_SIGNING_KEY");
    env.remove("JWT_SIGNING_KEY_ID");
    env.insert("JWT_ALGORITHM".into(), "RS256".into());
    env.insert("JWT_SIGNING_KEY_SECRET".into(), secret.into());
    env.insert("SECRETS_MANAGER_ENDPOINT".into(), dynamodb_endpoint());
    env
}

/// Starts the token binary, logs alice in, and returns the access token.
async fn access_token_from(env: &HashMap<String, String>) -> String {
    access_token_and_output(env).await.0
}

/// [`access_token_from`], and everything the function printed (its log lines).
async fn access_token_and_output(env: &HashMap<String, String>) -> (String, String) {
    let runtime = FakeRuntimeApi::start().await;
    let mut child = spawn_function(&function_binary("token"), &runtime, env);
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
    let response = match runtime.invoke(login).await {
        Outcome::Response(value) => value,
        other => panic!("expected a response, got {other:?}"),
    };
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    child.kill().await.unwrap();
    (token, printed_output(&mut child).await)
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether a verifier configured with `verification_keys` (JSON) accepts `token`.
fn verifies(verification_keys: &str, token: &str) -> bool {
    let env: HashMap<String, String> = [
        ("AUTH_ISSUER", ISSUER),
        ("AUTH_AUDIENCE", AUDIENCE),
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_VERIFICATION_KEYS", verification_keys),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let service = shared::config::ServiceSettings::from_env(&env).unwrap();
    shared::config::token_verifier(&env, &service)
        .unwrap()
        .verify(token)
        .is_ok()
}

/// Both keys' JSON objects merged, as the README's rotation step 2 says.
fn merged(a: &str, b: &str) -> String {
    let mut a: serde_json::Map<String, serde_json::Value> = serde_json::from_str(a).unwrap();
    let b: serde_json::Map<String, serde_json::Value> = serde_json::from_str(b).unwrap();
    a.extend(b);
    serde_json::Value::Object(a).to_string()
}

#[tokio::test]
async fn the_token_binary_signs_with_the_key_from_secrets_manager() {
    let store = fresh_store("secret-key").await;
    add_user(&store, "alice").await;
    let secret = unique_secret();
    let printed = generate_to_secret(&secret, false);
    assert_eq!(printed["JWT_ALGORITHM"], "RS256");
    let (token, output) = access_token_and_output(&token_env(store.table_name(), &secret)).await;
    assert_eq!(kid_of(&token), printed["JWT_SIGNING_KEY_ID"]);
    assert!(verifies(&printed["JWT_VERIFICATION_KEYS"], &token));
    // The key reaches no log line (read it back from the secret to look for it).
    let client = shared::signing_key_secret::admin_client_at(Some(&dynamodb_endpoint())).await;
    let stored = client
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .unwrap();
    let document: serde_json::Value =
        serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    let pem = document["pem"].as_str().unwrap();
    assert!(pem.contains("PRIVATE KEY"));
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!output.contains(line), "a line of the key was logged");
    }
    assert!(!output.contains("store it in Secrets Manager"), "{output}");
}

/// The environment-variable key still works (local use, `cargo lambda watch`), with
/// a warning outside development mode, and the key itself is never logged.
#[tokio::test]
async fn a_key_in_the_environment_works_with_a_warning() {
    let store = fresh_store("env-key").await;
    add_user(&store, "alice").await;
    let env = service_env(store.table_name());
    let (token, output) = access_token_and_output(&env).await;
    assert_eq!(kid_of(&token), env["JWT_SIGNING_KEY_ID"]);
    assert!(output.contains("store it in Secrets Manager"), "{output}");
    assert!(output.contains("JWT_SIGNING_KEY"), "{output}");
    let key_line = env["JWT_SIGNING_KEY"]
        .trim_start_matches("-----BEGIN PRIVATE KEY-----")
        .chars()
        .take(60)
        .collect::<String>();
    assert!(!output.contains(&key_line), "the key was logged");
    // In development mode, no warning.
    let mut development = env.clone();
    development.insert("AUTH_DEVELOPMENT_MODE".into(), "true".into());
    let (_, output) = access_token_and_output(&development).await;
    assert!(!output.contains("store it in Secrets Manager"), "{output}");
}

#[tokio::test]
async fn a_missing_malformed_mismatched_or_unreachable_secret_is_a_refusal_to_start() {
    let secret = unique_secret();
    let client = shared::signing_key_secret::admin_client_at(Some(&dynamodb_endpoint())).await;
    let key = shared::keys::generate(shared::keys::SigningAlgorithm::Rs256).unwrap();
    let key_material = {
        use secrecy::ExposeSecret;
        key.signing_key
            .expose_secret()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let put = |name: String, value: String| {
        let client = client.clone();
        async move {
            client
                .create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await
                .unwrap();
        }
    };
    let document = {
        use secrecy::ExposeSecret;
        shared::signing_key_secret::document_for(&key)
            .expose_secret()
            .to_owned()
    };
    put(format!("{secret}-garbage"), "not json".into()).await;
    put(
        format!("{secret}-no-pem"),
        r#"{"alg":"RS256","kid":"k1"}"#.into(),
    )
    .await;
    // A weak key: a 1024-bit RSA key would be refused the same way; a key that is
    // not a key at all exercises the same check.
    put(
        format!("{secret}-bad-pem"),
        r#"{"alg":"RS256","kid":"k1","pem":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#.into(),
    )
    .await;
    put(format!("{secret}-rs256"), document.clone()).await;

    let base = token_env("unused", "set below");
    let with = |changes: &[(&str, &str)]| {
        let mut env = base.clone();
        for (name, value) in changes {
            env.insert(name.to_string(), value.to_string());
        }
        env
    };
    let cases = [
        (
            with(&[("JWT_SIGNING_KEY_SECRET", &format!("{secret}-missing"))]),
            "no such secret",
        ),
        (
            with(&[("JWT_SIGNING_KEY_SECRET", &format!("{secret}-garbage"))]),
            "not the JSON document",
        ),
        (
            with(&[("JWT_SIGNING_KEY_SECRET", &format!("{secret}-no-pem"))]),
            "not the JSON document",
        ),
        (
            with(&[("JWT_SIGNING_KEY_SECRET", &format!("{secret}-bad-pem"))]),
            "the secret's key is unusable",
        ),
        (
            with(&[
                ("JWT_SIGNING_KEY_SECRET", &format!("{secret}-rs256")),
                ("JWT_ALGORITHM", "ES256"),
            ]),
            "the secret holds an RS256 key but JWT_ALGORITHM is ES256",
        ),
        (
            with(&[
                ("JWT_SIGNING_KEY_SECRET", &format!("{secret}-rs256")),
                ("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:9"),
            ]),
            "could not be reached",
        ),
        (
            with(&[
                ("JWT_SIGNING_KEY_SECRET", &format!("{secret}-rs256")),
                ("JWT_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----x"),
            ]),
            "not both",
        ),
    ];
    for (env, reason) in cases {
        let output = refused_token_start_output(&env).await;
        assert!(output.contains("refusing to start"), "{output}");
        assert!(output.contains(reason), "{reason}: {output}");
        assert!(output.contains("JWT_SIGNING_KEY_SECRET"), "{output}");
        // Never the key, wherever it came from.
        assert!(!output.contains(&key_material), "{output}");
        assert!(!output.contains("AAAA"), "{output}");
    }
}

/// The README's rotation, step by step: stage the new key, publish both public keys,
/// switch, and retire the old one.
#[tokio::test]
async fn key_rotation_through_the_secret() {
    let store = fresh_store("secret-rotation").await;
    add_user(&store, "alice").await;
    let secret = unique_secret();
    let first = generate_to_secret(&secret, false);
    let env = token_env(store.table_name(), &secret);
    let before = access_token_from(&env).await;
    assert_eq!(kid_of(&before), first["JWT_SIGNING_KEY_ID"]);

    // 1. The next key, staged: functions keep signing with the current one.
    let next = generate_to_secret(&secret, true);
    assert_ne!(next["JWT_SIGNING_KEY_ID"], first["JWT_SIGNING_KEY_ID"]);
    let meanwhile = access_token_from(&env).await;
    assert_eq!(kid_of(&meanwhile), first["JWT_SIGNING_KEY_ID"]);

    // 2. Both public keys published: verifiers accept tokens of either.
    let both = merged(
        &first["JWT_VERIFICATION_KEYS"],
        &next["JWT_VERIFICATION_KEYS"],
    );
    assert!(verifies(&both, &meanwhile));

    // 3. The switch: new cold starts sign with the next key.
    let activate = authctl(&["keys", "activate", "--secret", &secret]);
    assert!(activate.status.success(), "{}", text(&activate));
    assert!(text(&activate).contains(&next["JWT_SIGNING_KEY_ID"]));
    let after = access_token_from(&env).await;
    assert_eq!(kid_of(&after), next["JWT_SIGNING_KEY_ID"]);
    assert!(verifies(&both, &after) && verifies(&both, &before));

    // 4. Once the old tokens have expired, only the new key: the old ones stop.
    assert!(verifies(&next["JWT_VERIFICATION_KEYS"], &after));
    assert!(!verifies(&next["JWT_VERIFICATION_KEYS"], &before));

    // Activating again without a staged key is a clear failure.
    let again = authctl(&["keys", "activate", "--secret", &secret]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("no AWSPENDING version"),
        "{}",
        text(&again)
    );
}
