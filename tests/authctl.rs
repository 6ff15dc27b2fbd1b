//! The admin CLI against the local DynamoDB-compatible server: every user command,
//! passwords from standard input only, and nothing secret in its output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use integration_tests::runtime_api::function_binary;
use integration_tests::*;

fn authctl(table: &str, args: &[&str], stdin: Option<&str>) -> Output {
    authctl_at(&dynamodb_endpoint(), table, args, stdin)
}

fn authctl_at(endpoint: &str, table: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(function_binary("authctl"))
        .args(args)
        .env("TABLE_NAME", table)
        .env("DYNAMODB_ENDPOINT", endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start authctl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn user_lifecycle_through_the_cli() {
    let table = unique_table_name("cli");
    let created = authctl(&table, &["table", "create"], None);
    assert!(created.status.success(), "{}", text(&created));

    let password = "a long enough password\n";
    let add = authctl(
        &table,
        &[
            "user",
            "add",
            "Zoe",
            "--email",
            "zoe@example.test",
            "--scope",
            "read",
            "--bcrypt-cost",
            "10",
        ],
        Some(password),
    );
    assert!(add.status.success(), "{}", text(&add));
    let again = authctl(
        &table,
        &["user", "add", "zoe", "--bcrypt-cost", "10"],
        Some(password),
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    let show = authctl(&table, &["user", "show", "ZOE"], None);
    assert!(show.status.success(), "{}", text(&show));
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["username"], "Zoe");
    assert_eq!(shown["email"], "zoe@example.test");
    assert_eq!(shown["scopes"], serde_json::json!(["read"]));
    assert!(!text(&show).contains("$2"), "no hash in the output");

    // The stored hash verifies the password that went in on stdin.
    let store = shared::store::DynamoDbStore::connect(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(dynamodb_endpoint()),
    })
    .await;
    use shared::store::UserStore;
    let user = store.get_user("zoe").await.unwrap().unwrap();
    assert_eq!(user.password_hash.cost(), 10);
    let hasher = shared::passwords::PasswordHasher::new(10).unwrap();
    assert!(
        hasher
            .verify(
                secrecy::SecretString::from("a long enough password".to_owned()),
                Some(&user.password_hash)
            )
            .await
    );

    for (args, disabled) in [
        (["user", "disable", "zoe"], true),
        (["user", "enable", "zoe"], false),
    ] {
        let output = authctl(&table, &args, None);
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(
            store.get_user("zoe").await.unwrap().unwrap().disabled,
            disabled
        );
    }
    // `user set-password` replaces the hash (policy applies) and moves the generation on.
    let weak = authctl(
        &table,
        &["user", "set-password", "zoe", "--bcrypt-cost", "10"],
        Some("iloveyou2\n"),
    );
    assert!(!weak.status.success());
    assert!(text(&weak).contains("too common"), "{}", text(&weak));
    let set = authctl(
        &table,
        &["user", "set-password", "zoe", "--bcrypt-cost", "10"],
        Some("an entirely new passphrase\n"),
    );
    assert!(set.status.success(), "{}", text(&set));
    assert!(String::from_utf8_lossy(&set.stderr).contains(r#""audit_event":"password_changed""#));
    let changed = store.get_user("zoe").await.unwrap().unwrap();
    // One step for the disable above (it ends sessions and refresh families), one
    // for the new password.
    assert_eq!(changed.credential_generation, 2);
    assert!(
        hasher
            .verify(
                secrecy::SecretString::from("an entirely new passphrase".to_owned()),
                Some(&changed.password_hash)
            )
            .await
    );

    // A lock set by failed logins is lifted by `user unlock`.
    use shared::store::LoginAttemptStore;
    let key = shared::throttle::throttle_key("zoe");
    let now = shared::now_unix();
    store
        .begin_login_attempt(&key, now, now + 600)
        .await
        .unwrap();
    assert!(store.claim_lock(&key, now, now + 600).await.unwrap());
    let unlock = authctl(&table, &["user", "unlock", "Zoe"], None);
    assert!(unlock.status.success(), "{}", text(&unlock));
    let audit = String::from_utf8_lossy(&unlock.stderr);
    assert!(
        audit.contains(r#""audit_event":"account_unlocked""#)
            && audit.contains(r#""username":"zoe""#),
        "{audit}"
    );
    assert_eq!(
        store.login_attempts(&key, now).await.unwrap(),
        shared::store::LoginAttempts::default()
    );

    let delete = authctl(&table, &["user", "delete", "zoe"], None);
    assert!(delete.status.success(), "{}", text(&delete));
    assert_eq!(store.get_user("zoe").await.unwrap(), None);
    let missing = authctl(&table, &["user", "delete", "zoe"], None);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no user 'zoe'"),
        "{}",
        text(&missing)
    );
}

#[tokio::test]
async fn weak_passwords_and_low_costs_are_refused() {
    let table = unique_table_name("cli");
    assert!(authctl(&table, &["table", "create"], None).status.success());
    let short = authctl(
        &table,
        &["user", "add", "yan", "--bcrypt-cost", "10"],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(
        text(&short).contains("at least 8 characters"),
        "{}",
        text(&short)
    );
    let common = authctl(
        &table,
        &["user", "add", "yan", "--bcrypt-cost", "10"],
        Some("Password123\n"),
    );
    assert!(text(&common).contains("too common"), "{}", text(&common));
    let own_name = authctl(
        &table,
        &["user", "add", "yannick", "--bcrypt-cost", "10"],
        Some("Yannick-is-great-2026\n"),
    );
    assert!(
        text(&own_name).contains("must not contain the username"),
        "{}",
        text(&own_name)
    );
    let long = format!("{}\n", "x".repeat(73));
    let too_long = authctl(
        &table,
        &["user", "add", "yan", "--bcrypt-cost", "10"],
        Some(&long),
    );
    assert!(text(&too_long).contains("72 bytes"), "{}", text(&too_long));
    let cheap = authctl(
        &table,
        &["user", "add", "yan", "--bcrypt-cost", "4"],
        Some("long enough pw\n"),
    );
    assert!(!cheap.status.success());
    assert!(text(&cheap).contains("at least 10"), "{}", text(&cheap));
    // There is no way to pass a password as an argument.
    let argv = authctl(
        &table,
        &["user", "add", "yan", "--password", "long enough pw"],
        None,
    );
    assert!(!argv.status.success());
}

#[test]
fn generated_keys_configure_both_functions() {
    let output = Command::new(function_binary("authctl"))
        .args(["keys", "generate", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let settings: std::collections::HashMap<String, String> =
        serde_json::from_slice(&output.stdout).unwrap();
    let mut env = service_env("unused");
    env.extend(settings);
    let service = shared::config::ServiceSettings::from_env(&env).unwrap();
    let signer = shared::config::token_signer(&env, &service).unwrap();
    let verifier = shared::config::token_verifier(&env, &service).unwrap();
    let token = signer
        .issue("usr_x", None, None, &Default::default())
        .unwrap();
    assert!(verifier.verify(&token.access_token).is_ok());
}

/// The `client_secret=` line authctl prints once.
fn printed_secret(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("client_secret="))
        .expect("a client_secret line")
        .to_owned()
}

#[tokio::test]
async fn client_lifecycle_through_the_cli() {
    use secrecy::SecretString;
    use shared::clients::{ClientId, GrantType};
    use shared::store::ClientStore;

    let table = unique_table_name("cli");
    assert!(authctl(&table, &["table", "create"], None).status.success());
    let store = shared::store::DynamoDbStore::connect(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(dynamodb_endpoint()),
    })
    .await;
    let hasher = shared::passwords::PasswordHasher::new(10).unwrap();
    let id = ClientId::parse("reports").unwrap();

    let add = authctl(
        &table,
        &[
            "client",
            "add",
            "reports",
            "--scope",
            "read",
            "--bcrypt-cost",
            "10",
        ],
        None,
    );
    assert!(add.status.success(), "{}", text(&add));
    let secret = printed_secret(&add);
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    let stored = store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(stored.grant_types, vec![GrantType::ClientCredentials]);
    assert_eq!(stored.scopes, vec!["read".to_owned()]);
    let hash = stored.secret_hash.clone().unwrap();
    assert!(
        hasher
            .verify(SecretString::from(secret.clone()), Some(&hash))
            .await
    );

    let again = authctl(&table, &["client", "add", "reports"], None);
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let public_cc = authctl(
        &table,
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--grant",
            "client_credentials",
        ],
        None,
    );
    assert!(!public_cc.status.success());
    let public = authctl(&table, &["client", "add", "spa", "--public"], None);
    assert!(public.status.success(), "{}", text(&public));
    assert!(!text(&public).contains("client_secret"));

    let show = authctl(&table, &["client", "show", "reports"], None);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["type"], "confidential");
    assert!(!text(&show).contains("$2") && !text(&show).contains(&secret));

    let rotate = authctl(
        &table,
        &["client", "rotate-secret", "reports", "--bcrypt-cost", "10"],
        None,
    );
    assert!(rotate.status.success(), "{}", text(&rotate));
    let new_secret = printed_secret(&rotate);
    let hash = store
        .get_client(&id)
        .await
        .unwrap()
        .unwrap()
        .secret_hash
        .unwrap();
    assert!(
        hasher
            .verify(SecretString::from(new_secret), Some(&hash))
            .await
    );
    assert!(!hasher.verify(SecretString::from(secret), Some(&hash)).await);
    let rotate_public = authctl(&table, &["client", "rotate-secret", "spa"], None);
    assert!(!rotate_public.status.success());

    let disable = authctl(&table, &["client", "disable", "reports"], None);
    assert!(disable.status.success(), "{}", text(&disable));
    assert!(store.get_client(&id).await.unwrap().unwrap().disabled);
    let enable = authctl(&table, &["client", "enable", "reports"], None);
    assert!(enable.status.success(), "{}", text(&enable));
    assert!(!store.get_client(&id).await.unwrap().unwrap().disabled);
    let missing = authctl(&table, &["client", "disable", "nobody"], None);
    assert!(
        text(&missing).contains("no client 'nobody'"),
        "{}",
        text(&missing)
    );
}

/// A bcrypt hash at cost 4 from another system: kept as it is by the import.
const IMPORTED_HASH: &str = "$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// Browser clients: redirect URIs checked against the registration rules (nothing
/// written when one breaks them), first-party, shown; consents withdrawn.
#[tokio::test]
async fn browser_clients_and_consents_through_the_cli() {
    use shared::authorization::ConsentRecord;
    use shared::clients::{ClientId, GrantType};
    use shared::store::{ClientStore, SignInStore};

    let table = unique_table_name("cli");
    assert!(authctl(&table, &["table", "create"], None).status.success());
    let store = shared::store::DynamoDbStore::connect(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(dynamodb_endpoint()),
    })
    .await;
    let add = authctl(
        &table,
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--first-party",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--redirect-uri",
            "https://app.example.test/cb",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--redirect-uri",
            "com.example.app:/cb",
            // Given twice, kept once: a request without redirect_uri stays unambiguous.
            "--redirect-uri",
            "https://app.example.test/cb",
            "--scope",
            "read",
        ],
        None,
    );
    assert!(add.status.success(), "{}", text(&add));
    let stored = store
        .get_client(&ClientId::parse("spa").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert!(stored.first_party);
    assert_eq!(stored.redirect_uris.len(), 3);
    let show = authctl(&table, &["client", "show", "spa"], None);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["first_party"], true);
    assert_eq!(
        shown["redirect_uris"],
        serde_json::json!([
            "https://app.example.test/cb",
            "http://127.0.0.1/callback",
            "com.example.app:/cb"
        ])
    );

    // Redirect URIs without the authorization code grant: accepted, with a note.
    let native = authctl(
        &table,
        &[
            "client",
            "add",
            "native",
            "--public",
            "--redirect-uri",
            "http://[::1]/cb",
        ],
        None,
    );
    assert!(native.status.success(), "{}", text(&native));
    assert!(text(&native).contains("without --grant authorization_code"));

    // Refused, and nothing written.
    for (id, extra, reason) in [
        (
            "bad1",
            vec!["--public", "--redirect-uri", "http://app.example.test/cb"],
            "https",
        ),
        (
            "bad2",
            vec![
                "--public",
                "--redirect-uri",
                "https://app.example.test/cb#x",
            ],
            "fragment",
        ),
        (
            "bad3",
            vec!["--redirect-uri", "com.example.app:/cb"],
            "public clients only",
        ),
        (
            "bad4",
            vec!["--public", "--grant", "authorization_code"],
            "--redirect-uri",
        ),
    ] {
        let mut args = vec!["client", "add", id, "--bcrypt-cost", "10"];
        args.extend(extra);
        let refused = authctl(&table, &args, None);
        assert!(!refused.status.success(), "{id}: {}", text(&refused));
        assert!(text(&refused).contains(reason), "{id}: {}", text(&refused));
        assert_eq!(
            store
                .get_client(&ClientId::parse(id).unwrap())
                .await
                .unwrap(),
            None
        );
    }

    // Consents: withdrawn by name; a missing one is a clear failure.
    let password = "a long enough password\n";
    let user = authctl(
        &table,
        &["user", "add", "zoe", "--bcrypt-cost", "10"],
        Some(password),
    );
    assert!(user.status.success(), "{}", text(&user));
    let zoe = shared::store::UserStore::get_user(&store, "zoe")
        .await
        .unwrap()
        .unwrap();
    let third = ClientId::parse("spa").unwrap();
    store
        .put_consent(&ConsentRecord {
            user_id: zoe.user_id.clone(),
            client_id: third.clone(),
            scope: shared::oauth::ScopeSet::from_tokens(["read"]),
            granted_at: shared::now_unix(),
        })
        .await
        .unwrap();
    let show = authctl(
        &table,
        &["consent", "show", "--user", "ZOE", "--client", "spa"],
        None,
    );
    assert!(show.status.success(), "{}", text(&show));
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["user_id"], zoe.user_id.as_str());
    assert_eq!(shown["client_id"], "spa");
    assert_eq!(shown["scope"], serde_json::json!(["read"]));
    let revoke = authctl(
        &table,
        &["consent", "revoke", "--user", "Zoe", "--client", "spa"],
        None,
    );
    assert!(revoke.status.success(), "{}", text(&revoke));
    assert!(String::from_utf8_lossy(&revoke.stderr).contains(r#""audit_event":"consent_revoked""#));
    assert_eq!(store.get_consent(&zoe.user_id, &third).await.unwrap(), None);
    let again = authctl(
        &table,
        &["consent", "revoke", "--user", "zoe", "--client", "spa"],
        None,
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("has no consent"), "{}", text(&again));
    let gone = authctl(
        &table,
        &["consent", "show", "--user", "zoe", "--client", "spa"],
        None,
    );
    assert!(!gone.status.success());
    assert!(text(&gone).contains("has no consent"), "{}", text(&gone));
    let nobody = authctl(
        &table,
        &["consent", "revoke", "--user", "nobody", "--client", "spa"],
        None,
    );
    assert!(
        text(&nobody).contains("no user 'nobody'"),
        "{}",
        text(&nobody)
    );
}

fn summary_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Ten thousand users from JSON Lines into a DynamoDB-compatible server of the test's
/// own, with hashes kept, plain passwords hashed, bad rows rejected with reasons; a
/// second run skips what exists; an export (without hashes unless asked) round-trips.
#[tokio::test]
async fn ten_thousand_users_import_and_export() {
    use shared::store::UserStore;
    let server = PrivateDynamoDb::start();
    let run = |table: &str, args: &[&str]| authctl_at(&server.endpoint, table, args, None);
    let table = unique_table_name("import");
    assert!(run(&table, &["table", "create"]).status.success());
    let dir = std::env::temp_dir().join(unique_table_name("import-files"));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("users.jsonl");
    let mut lines: Vec<String> = (0..10_000)
        .map(|i| {
            serde_json::json!({
                "username": format!("user{i:05}"),
                "password_hash": IMPORTED_HASH,
                "email": format!("user{i}@example.test"),
                "scopes": "read",
            })
            .to_string()
        })
        .collect();
    lines.push(r#"{"username":"plain1","password":"a plain imported password"}"#.into());
    lines.push(r#"{"username":"bad name","password_hash":"x"}"#.into());
    lines.push(format!(
        r#"{{"username":"USER00001","password_hash":"{IMPORTED_HASH}"}}"#
    ));
    lines.push(r#"{"username":"nohash","password_hash":"plaintext"}"#.into());
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let path = input.to_str().unwrap();

    let dry = summary_of(&run(&table, &["user", "import", path, "--dry-run"]));
    assert_eq!(dry["imported"], 0);
    assert_eq!(dry["rejected"].as_array().unwrap().len(), 3);

    let first = summary_of(&run(
        &table,
        &["user", "import", path, "--bcrypt-cost", "10"],
    ));
    assert_eq!(first["imported"], 10_001);
    assert_eq!(first["skipped_existing"], 0);
    let rejected = first["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(rejected[0]["line"], 10_002);
    assert!(
        rejected[1]["reason"].as_str().unwrap().contains("line 2"),
        "{rejected:?}"
    );
    assert!(rejected[2]["reason"].as_str().unwrap().contains("bcrypt"));

    let store = shared::store::DynamoDbStore::connect_for_admin(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(server.endpoint.clone()),
    })
    .await;
    let kept = store.get_user("user09999").await.unwrap().unwrap();
    assert_eq!(kept.password_hash.as_str(), IMPORTED_HASH);
    assert_eq!(kept.scopes, ["read"]);
    let plain = store.get_user("plain1").await.unwrap().unwrap();
    assert_eq!(plain.password_hash.cost(), 10);
    assert!(
        shared::passwords::PasswordHasher::new(10)
            .unwrap()
            .verify(
                secrecy::SecretString::from("a plain imported password".to_owned()),
                Some(&plain.password_hash)
            )
            .await
    );

    // Existing users are skipped, never overwritten.
    let again_file = dir.join("again.jsonl");
    std::fs::write(&again_file, lines[..100].join("\n")).unwrap();
    let again = summary_of(&run(
        &table,
        &["user", "import", again_file.to_str().unwrap()],
    ));
    assert_eq!(again["imported"], 0);
    assert_eq!(again["skipped_existing"], 100);

    // Export: no hashes unless asked; with them, a fresh table gets the same users.
    let export = run(&table, &["user", "export"]);
    assert!(export.status.success(), "{}", text(&export));
    let exported = String::from_utf8(export.stdout).unwrap();
    assert_eq!(exported.lines().count(), 10_001);
    assert!(!exported.contains("$2"));
    let with_hashes = run(&table, &["user", "export", "--with-hashes"]);
    let with_hashes = String::from_utf8(with_hashes.stdout).unwrap();
    let sample: Vec<&str> = with_hashes.lines().take(500).collect();
    assert!(
        sample
            .iter()
            .all(|line| line.contains(r#""password_hash":"$2b$"#))
    );
    let exported_file = dir.join("export.jsonl");
    std::fs::write(&exported_file, sample.join("\n")).unwrap();
    let copy = unique_table_name("import-copy");
    assert!(run(&copy, &["table", "create"]).status.success());
    let restored = summary_of(&run(
        &copy,
        &["user", "import", exported_file.to_str().unwrap()],
    ));
    assert_eq!(restored["imported"], 500);
    assert_eq!(restored["rejected"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CSV with a header and quoted fields; an interrupted import resumes after the rows
/// its state file records as done.
#[tokio::test]
async fn csv_import_and_resume() {
    let server = PrivateDynamoDb::start();
    let table = unique_table_name("import-csv");
    assert!(
        authctl_at(&server.endpoint, &table, &["table", "create"], None)
            .status
            .success()
    );
    let dir = std::env::temp_dir().join(unique_table_name("import-csv-files"));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("users.csv");
    let mut csv = String::from("username,password_hash,email,full_name,scopes,disabled\n");
    for i in 0..1_200 {
        csv.push_str(&format!(
            "csv{i},{IMPORTED_HASH},csv{i}@example.test,\"Doe, Jane {i}\",read write,false\n"
        ));
    }
    std::fs::write(&input, &csv).unwrap();
    // As if a run had finished the first 500 rows (one chunk) and then died.
    let state = serde_json::json!({"input_bytes": csv.len(), "rows_done": 500});
    let state_file = dir.join("users.csv.import-state");
    std::fs::write(&state_file, state.to_string()).unwrap();
    let resumed = summary_of(&authctl_at(
        &server.endpoint,
        &table,
        &["user", "import", input.to_str().unwrap(), "--resume"],
        None,
    ));
    assert_eq!(resumed["resumed_after"], 500);
    assert_eq!(resumed["imported"], 700, "the first 500 rows were skipped");
    assert!(!state_file.exists(), "a finished import leaves no state");

    let store = shared::store::DynamoDbStore::connect(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(server.endpoint.clone()),
    })
    .await;
    use shared::store::UserStore;
    let user = store.get_user("csv700").await.unwrap().unwrap();
    assert_eq!(user.full_name.as_deref(), Some("Doe, Jane 700"));
    assert_eq!(user.scopes, ["read", "write"]);
    assert!(store.get_user("csv499").await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// OpenID Connect registration data: post-logout redirect URIs on a client (checked
/// like redirect URIs), and `email_verified`, which only an administrator sets, and
/// only for the address stored.
#[tokio::test]
async fn openid_post_logout_uris_and_email_verification_through_the_cli() {
    use shared::clients::ClientId;
    use shared::store::{ClientStore, UserStore};

    let table = unique_table_name("cli");
    assert!(authctl(&table, &["table", "create"], None).status.success());
    let store = shared::store::DynamoDbStore::connect(&shared::store::StoreSettings {
        table_name: table.clone(),
        endpoint_url: Some(dynamodb_endpoint()),
    })
    .await;
    let add = authctl(
        &table,
        &[
            "client",
            "add",
            "rp",
            "--public",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://rp.example.test/cb",
            "--post-logout-redirect-uri",
            "https://rp.example.test/signed-out",
            "--post-logout-redirect-uri",
            "http://127.0.0.1/bye",
            "--scope",
            "openid",
        ],
        None,
    );
    assert!(add.status.success(), "{}", text(&add));
    let stored = store
        .get_client(&ClientId::parse("rp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.post_logout_redirect_uris,
        vec!["https://rp.example.test/signed-out", "http://127.0.0.1/bye"]
    );
    let shown: serde_json::Value =
        serde_json::from_slice(&authctl(&table, &["client", "show", "rp"], None).stdout).unwrap();
    assert_eq!(
        shown["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example.test/signed-out", "http://127.0.0.1/bye"])
    );
    let refused = authctl(
        &table,
        &[
            "client",
            "add",
            "rp2",
            "--public",
            "--post-logout-redirect-uri",
            "http://rp.example.test/bye",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--post-logout-redirect-uri"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        store
            .get_client(&ClientId::parse("rp2").unwrap())
            .await
            .unwrap(),
        None
    );

    // email_verified: false unless an administrator says otherwise.
    let password = "a long enough password\n";
    let user = authctl(
        &table,
        &[
            "user",
            "add",
            "Yan",
            "--email",
            "yan@example.test",
            "--bcrypt-cost",
            "10",
        ],
        Some(password),
    );
    assert!(user.status.success(), "{}", text(&user));
    assert!(!store.get_user("yan").await.unwrap().unwrap().email_verified);
    let wrong = authctl(
        &table,
        &[
            "user",
            "verify-email",
            "yan",
            "--address",
            "other@example.test",
        ],
        None,
    );
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("not other@example.test"),
        "{}",
        text(&wrong)
    );
    assert!(!store.get_user("yan").await.unwrap().unwrap().email_verified);
    let verify = authctl(
        &table,
        &[
            "user",
            "verify-email",
            "YAN",
            "--address",
            "yan@example.test",
        ],
        None,
    );
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(store.get_user("yan").await.unwrap().unwrap().email_verified);
    let shown: serde_json::Value =
        serde_json::from_slice(&authctl(&table, &["user", "show", "yan"], None).stdout).unwrap();
    assert_eq!(shown["email_verified"], true);
    let unverify = authctl(
        &table,
        &[
            "user",
            "verify-email",
            "yan",
            "--address",
            "yan@example.test",
            "--unverify",
        ],
        None,
    );
    assert!(unverify.status.success(), "{}", text(&unverify));
    assert!(!store.get_user("yan").await.unwrap().unwrap().email_verified);
    // Verified at creation, when the administrator knows.
    let known = authctl(
        &table,
        &[
            "user",
            "add",
            "xia",
            "--email",
            "xia@example.test",
            "--email-verified",
            "--bcrypt-cost",
            "10",
        ],
        Some(password),
    );
    assert!(known.status.success(), "{}", text(&known));
    assert!(store.get_user("xia").await.unwrap().unwrap().email_verified);
    let missing = authctl(
        &table,
        &[
            "user",
            "verify-email",
            "nobody",
            "--address",
            "x@example.test",
        ],
        None,
    );
    assert!(!missing.status.success());
    assert!(text(&missing).contains("no user"), "{}", text(&missing));
}
