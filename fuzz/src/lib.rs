//! What the fuzz targets share: fixed test keys, hand-built tokens, independent
//! reference implementations of the parsers (the oracles the targets compare the
//! shared crate against), the in-memory service, and the seed writer.
//!
//! Nothing here is used outside `fuzz/`. The keys below are test fixtures made for
//! fuzzing only; they protect nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use secrecy::SecretString;
use serde_json::Value;
use shared::clients::{ClientId, ClientRecord, GrantType};
use shared::keys::{self, SigningAlgorithm};
use shared::routes::Endpoint;
use shared::store::{MemoryStore, Store};
use shared::tokens::{AccessTokenClaims, Audience, TokenSigner, TokenVerifier};
use shared::users::{UserRecord, Username};

pub const ISSUER: &str = "https://auth.example.com";
pub const AUDIENCE: &str = "https://api.example.com";
pub const REALM: &str = "example";

/// A P-256 key pair made for fuzzing only (`openssl genpkey -algorithm EC
/// -pkeyopt ec_paramgen_curve:P-256`). Fixed, so that committed seed tokens verify.
pub const ES256_KEY_ID: &str = "fuzz-es256";
pub const ES256_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0z9ZaUCUENzbGcB1
PJXdCeAOAOv7+TeOiLkzDKlofpqhRANCAAR/1lsd3fkh+D9nJX9grfPfKZmXowBu
M0P+uVjLBz/N4h16oQxpOUzjZCkuoRbWda9mWO5+l0lbraEOUkXIVKvQ
-----END PRIVATE KEY-----
";
pub const ES256_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf9ZbHd35Ifg/ZyV/YK3z3ymZl6MA
bjND/rlYywc/zeIdeqEMaTlM42QpLqEW1nWvZljufpdJW62hDlJFyFSr0A==
-----END PUBLIC KEY-----
";
/// A second, unrelated P-256 key id the verifiers also know (a key rotation), with
/// a freshly generated key: tokens naming it can never verify with the first.
pub const ES256_OTHER_KEY_ID: &str = "fuzz-es256-other";
pub const HS256_KEY_ID: &str = "fuzz-hs256";
pub const HS256_SECRET: &str = "fuzz-only-hmac-secret-0123456789abcdef";

/// The user the in-memory service has, with a fixed id so that seed tokens for
/// `/users/me` name an existing user.
pub const USERNAME: &str = "alice";
pub const USER_ID: &str = "usr_fuzzalice00000000000000";
pub const PASSWORD: &str = "correct horse battery";
pub const PUBLIC_CLIENT: &str = "web-app";
pub const CONFIDENTIAL_CLIENT: &str = "backend";
pub const CONFIDENTIAL_SECRET: &str = "backend-secret-for-fuzzing-only";

/// Far in the future (2100-01-01) and in the past (2023-11-14): seed tokens stay
/// valid for as long as anyone runs this.
pub const SEED_EXP: i64 = 4_102_444_800;
pub const SEED_IAT: i64 = 1_700_000_000;

pub fn now() -> i64 {
    shared::now_unix()
}

// ---- keys, signers, verifiers ---------------------------------------------------

pub fn es256_verifier() -> TokenVerifier {
    let other = keys::generate(SigningAlgorithm::Es256).expect("key generation");
    let mut map = HashMap::new();
    map.insert(
        ES256_KEY_ID.to_owned(),
        keys::verification_key(SigningAlgorithm::Es256, ES256_PUBLIC_PEM).expect("public key"),
    );
    map.insert(
        ES256_OTHER_KEY_ID.to_owned(),
        keys::verification_key(
            SigningAlgorithm::Es256,
            secrecy::ExposeSecret::expose_secret(&other.verification_key),
        )
        .expect("public key"),
    );
    TokenVerifier::new(SigningAlgorithm::Es256, map, ISSUER, AUDIENCE)
}

pub fn hs256_verifier() -> TokenVerifier {
    let mut map = HashMap::new();
    map.insert(
        HS256_KEY_ID.to_owned(),
        keys::verification_key(SigningAlgorithm::Hs256, HS256_SECRET).expect("secret"),
    );
    TokenVerifier::new(SigningAlgorithm::Hs256, map, ISSUER, AUDIENCE)
}

pub fn es256_signer(lifetime_seconds: u64) -> TokenSigner {
    let key = keys::signing_key(
        SigningAlgorithm::Es256,
        &SecretString::from(ES256_PRIVATE_PEM.to_owned()),
    )
    .expect("signing key");
    TokenSigner::new(
        SigningAlgorithm::Es256,
        ES256_KEY_ID.to_owned(),
        key,
        ISSUER.to_owned(),
        AUDIENCE.to_owned(),
        lifetime_seconds,
    )
    .expect("signer")
}

pub fn es256_encoding_key() -> EncodingKey {
    EncodingKey::from_ec_pem(ES256_PRIVATE_PEM.as_bytes()).expect("ES256 key")
}

pub fn hs256_encoding_key() -> EncodingKey {
    EncodingKey::from_secret(HS256_SECRET.as_bytes())
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64url(header) "." b64url(payload)`: what a JWS signs.
pub fn signing_input(header_json: &[u8], payload_json: &[u8]) -> String {
    format!("{}.{}", b64url(header_json), b64url(payload_json))
}

/// A compact JWS over exactly these header and payload bytes.
pub fn sign_exact(
    header_json: &[u8],
    payload_json: &[u8],
    key: &EncodingKey,
    algorithm: Algorithm,
) -> String {
    let input = signing_input(header_json, payload_json);
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm).expect("sign");
    format!("{input}.{signature}")
}

/// The header and payload bytes of the hand-built seed tokens. Everything the
/// verifier accepts from the `token_verify` target's input must have been signed
/// here (nobody else holds the keys), so its signing input is one of these.
pub fn seed_token_parts() -> Vec<(&'static str, Algorithm, String, String)> {
    let claims = |extra: &str| {
        format!(
            r#"{{"iss":"{ISSUER}","sub":"{USER_ID}","aud":"{AUDIENCE}","exp":{SEED_EXP},"iat":{SEED_IAT},"jti":"seed-jti-1","client_id":"{PUBLIC_CLIENT}","scope":"read write","username":"{USERNAME}"{extra}}}"#
        )
    };
    let header = |alg: &str, typ: &str, kid: &str| {
        format!(r#"{{"alg":"{alg}","typ":"{typ}","kid":"{kid}"}}"#)
    };
    vec![
        (
            "es256-valid",
            Algorithm::ES256,
            header("ES256", "at+jwt", ES256_KEY_ID),
            claims(""),
        ),
        (
            "es256-valid-application-type-aud-array",
            Algorithm::ES256,
            header("ES256", "application/at+jwt", ES256_KEY_ID),
            format!(
                r#"{{"iss":"{ISSUER}","sub":"backend","aud":["x","{AUDIENCE}"],"exp":{SEED_EXP},"iat":{SEED_IAT},"nbf":{SEED_IAT},"jti":"seed-jti-2","client_id":"backend"}}"#
            ),
        ),
        (
            "es256-expired",
            Algorithm::ES256,
            header("ES256", "at+jwt", ES256_KEY_ID),
            format!(
                r#"{{"iss":"{ISSUER}","sub":"{USER_ID}","aud":"{AUDIENCE}","exp":{},"iat":{SEED_IAT},"jti":"seed-jti-3"}}"#,
                SEED_IAT + 900
            ),
        ),
        (
            "es256-wrong-issuer",
            Algorithm::ES256,
            header("ES256", "at+jwt", ES256_KEY_ID),
            format!(
                r#"{{"iss":"https://evil.example","sub":"s","aud":"{AUDIENCE}","exp":{SEED_EXP},"iat":{SEED_IAT},"jti":"j"}}"#
            ),
        ),
        (
            "es256-typ-jwt",
            Algorithm::ES256,
            header("ES256", "JWT", ES256_KEY_ID),
            claims(""),
        ),
        (
            "es256-jku",
            Algorithm::ES256,
            format!(
                r#"{{"alg":"ES256","typ":"at+jwt","kid":"{ES256_KEY_ID}","jku":"https://evil.example/jwks"}}"#
            ),
            claims(""),
        ),
        (
            "es256-extra-claim",
            Algorithm::ES256,
            header("ES256", "at+jwt", ES256_KEY_ID),
            claims(r#","extra":{"nested":[1,2,3]}"#),
        ),
        (
            "hs256-valid",
            Algorithm::HS256,
            header("HS256", "at+jwt", HS256_KEY_ID),
            claims(""),
        ),
        (
            "hs256-empty-sub",
            Algorithm::HS256,
            header("HS256", "at+jwt", HS256_KEY_ID),
            format!(
                r#"{{"iss":"{ISSUER}","sub":"","aud":"{AUDIENCE}","exp":{SEED_EXP},"iat":{SEED_IAT},"jti":"j"}}"#
            ),
        ),
    ]
}

/// The signing inputs of [`seed_token_parts`].
pub fn known_signing_inputs() -> HashSet<String> {
    seed_token_parts()
        .iter()
        .map(|(_, _, h, p)| signing_input(h.as_bytes(), p.as_bytes()))
        .collect()
}

/// The seed tokens themselves, signed now (ES256 signatures differ each time; the
/// signing inputs do not).
pub fn seed_tokens() -> Vec<(&'static str, String)> {
    seed_token_parts()
        .into_iter()
        .map(|(name, alg, h, p)| {
            let key = match alg {
                Algorithm::HS256 => hs256_encoding_key(),
                _ => es256_encoding_key(),
            };
            (name, sign_exact(h.as_bytes(), p.as_bytes(), &key, alg))
        })
        .collect()
}

// ---- token oracle -------------------------------------------------------------------

/// Everything an accepted token must satisfy, read from its JSON independently.
pub fn assert_accepted_token_is_valid(alg: &str, token: &str, claims: &AccessTokenClaims) {
    let mut segments = token.split('.');
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(segments.next().unwrap())
            .expect("header is base64url"),
    )
    .expect("header is JSON");
    let payload = URL_SAFE_NO_PAD
        .decode(segments.next().unwrap())
        .expect("payload is base64url");
    assert_eq!(header["alg"], alg);
    let typ = header["typ"].as_str().expect("typ").to_ascii_lowercase();
    assert!(typ == "at+jwt" || typ == "application/at+jwt", "{typ}");
    for forbidden in ["jku", "jwk", "x5u", "x5c", "crit"] {
        assert!(header.get(forbidden).is_none(), "{forbidden}");
    }
    let kid = header["kid"].as_str().expect("kid");
    assert!(
        [ES256_KEY_ID, ES256_OTHER_KEY_ID, HS256_KEY_ID].contains(&kid),
        "{kid}"
    );
    let decoded: AccessTokenClaims = serde_json::from_slice(&payload).expect("claims");
    assert_eq!(&decoded, claims);
    let now = now();
    assert_eq!(claims.iss, ISSUER);
    match &claims.aud {
        Audience::One(aud) => assert_eq!(aud, AUDIENCE),
        Audience::Many(auds) => assert!(auds.iter().any(|a| a == AUDIENCE)),
    }
    assert!(claims.exp >= now - 30, "expired");
    assert!(claims.iat <= now + 30, "issued in the future");
    assert!(!claims.sub.is_empty() && !claims.jti.is_empty());
    let raw: Value = serde_json::from_slice(&payload).unwrap();
    // RFC 7519 §2: a NumericDate may be fractional; jsonwebtoken rounds it. null
    // counts as absent.
    match raw.get("nbf") {
        None | Some(Value::Null) => {}
        Some(Value::Number(nbf)) => {
            let nbf = nbf.as_f64().expect("nbf");
            assert!(nbf.round() <= (now + 30) as f64, "not yet valid: {nbf}");
        }
        Some(other) => panic!("accepted a token with nbf {other}"),
    }
}

// ---- reference implementations ------------------------------------------------------

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// WHATWG/RFC 1866 form decoding, strict: `+` is a space, `%XX` a byte (two hex
/// digits or it is an error), the result must be UTF-8.
pub fn ref_decode(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = hex_value(*raw.get(i + 1)?)?;
                let lo = hex_value(*raw.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// RFC 6749 Appendix B with §3.1/§3.2: the decoded pairs in order, or `None` when
/// the body is malformed, has a nameless parameter or repeats a name.
pub fn ref_parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for field in body.split(|b| *b == b'&') {
        if field.is_empty() {
            continue;
        }
        let (name, value) = match field.iter().position(|b| *b == b'=') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &b""[..]),
        };
        let name = ref_decode(name)?;
        let value = ref_decode(value)?;
        if name.is_empty() || pairs.iter().any(|(n, _)| *n == name) {
            return None;
        }
        pairs.push((name, value));
    }
    Some(pairs)
}

/// The canonical form encoding of one component: unreserved bytes as they are,
/// space as `+`, everything else `%XX`.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn form_encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_b64token(token: &str) -> bool {
    let bytes = token.as_bytes();
    let body_len = bytes.iter().position(|b| *b == b'=').unwrap_or(bytes.len());
    body_len > 0
        && bytes[..body_len]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
        && bytes[body_len..].iter().all(|b| *b == b'=')
}

/// Standard base64 with padding, for building Basic credentials.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

// ---- the in-memory service ------------------------------------------------------------

/// Every function of the service, built the way the Lambda `main`s build them, on
/// one in-memory store, with the fixed ES256 key and self-service switched on.
pub struct Service {
    pub store: Arc<MemoryStore>,
    /// (name, endpoint): the token function (`/token`, `/revoke`), users-me, the
    /// account function (`/users`, `/users/me/password`) and well-known.
    pub functions: Vec<(&'static str, Box<dyn Endpoint>)>,
}

pub fn service_environment() -> HashMap<String, String> {
    let verification = serde_json::json!({ ES256_KEY_ID: keys::one_line_pem(ES256_PUBLIC_PEM) });
    [
        ("AUTH_ISSUER", ISSUER.to_owned()),
        ("AUTH_AUDIENCE", AUDIENCE.to_owned()),
        ("AUTH_REALM", REALM.to_owned()),
        ("AUTH_DEVELOPMENT_MODE", "true".to_owned()),
        // The lowest cost bcrypt allows: a password check is ~1 ms, not ~250.
        ("BCRYPT_COST", "4".to_owned()),
        ("SELF_SERVICE_REGISTRATION", "true".to_owned()),
        ("SELF_SERVICE_PASSWORD_CHANGE", "true".to_owned()),
        ("JWT_ALGORITHM", "ES256".to_owned()),
        ("JWT_SIGNING_KEY_ID", ES256_KEY_ID.to_owned()),
        ("JWT_SIGNING_KEY", keys::one_line_pem(ES256_PRIVATE_PEM)),
        ("JWT_VERIFICATION_KEYS", verification.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Service {
    pub async fn new() -> Service {
        let env = service_environment();
        let memory = Arc::new(MemoryStore::new());
        let store: Arc<dyn Store> = memory.clone();
        let token = shared::routes::token_function(&env, Arc::clone(&store)).expect("token");
        let users_me =
            shared::routes::users_me::UsersMeEndpoint::from_env(&env, Arc::clone(&store))
                .expect("users-me");
        let account =
            shared::routes::account::account_function(&env, Arc::clone(&store)).expect("account");
        let well_known =
            shared::routes::well_known::WellKnownEndpoint::from_env(&env).expect("well-known");
        let passwords = shared::config::password_hasher(
            &env,
            &shared::config::ServiceSettings::from_env(&env).expect("settings"),
        )
        .expect("hasher");
        let hash = |secret: &str| {
            let passwords = passwords.clone();
            let secret = SecretString::from(secret.to_owned());
            async move { passwords.hash(secret).await.expect("hash") }
        };
        let mut user = UserRecord::new(
            Username::parse(USERNAME).expect("name"),
            hash(PASSWORD).await,
        );
        user.user_id = USER_ID.to_owned();
        user.email = Some("alice@example.com".to_owned());
        user.scopes = vec!["read".to_owned(), "write".to_owned()];
        store.create_user(&user).await.expect("user");
        let clients = [
            ClientRecord {
                client_id: ClientId::parse(PUBLIC_CLIENT).expect("id"),
                secret_hash: None,
                grant_types: vec![GrantType::Password, GrantType::RefreshToken],
                scopes: vec!["read".to_owned(), "write".to_owned()],
                disabled: false,
                created_at: now(),
                redirect_uris: Vec::new(),
                first_party: false,
                post_logout_redirect_uris: Vec::new(),
            },
            ClientRecord {
                client_id: ClientId::parse(CONFIDENTIAL_CLIENT).expect("id"),
                secret_hash: Some(hash(CONFIDENTIAL_SECRET).await),
                grant_types: vec![GrantType::ClientCredentials, GrantType::Password],
                scopes: vec!["reports".to_owned(), "read".to_owned()],
                disabled: false,
                created_at: now(),
                redirect_uris: Vec::new(),
                first_party: false,
                post_logout_redirect_uris: Vec::new(),
            },
        ];
        for client in &clients {
            store.create_client(client).await.expect("client");
        }
        Service {
            store: memory,
            functions: vec![
                ("token", Box::new(token)),
                ("users-me", Box::new(users_me)),
                ("account", Box::new(account)),
                ("well-known", Box::new(well_known)),
            ],
        }
    }
}

// ---- seeds ----------------------------------------------------------------------------

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// An API Gateway HTTP API (v2) event.
pub fn apigw_v2_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    base64: bool,
) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "auth.example.com",
            "domainPrefix": "auth",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "fuzz"
            },
            "requestId": "req-1",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1796083200000u64
        },
        "isBase64Encoded": base64
    });
    if let Some(body) = body {
        let body = if base64 {
            b64(body.as_bytes())
        } else {
            body.to_owned()
        };
        event["body"] = body.into();
    }
    serde_json::to_string_pretty(&event).expect("json")
}

/// An API Gateway REST API (v1) proxy event.
pub fn apigw_v1_event(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let multi: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!([v])))
        .collect();
    let query: serde_json::Map<String, serde_json::Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let event = serde_json::json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": if query.is_empty() { serde_json::Value::Null } else { query.into() },
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "r",
            "stage": "prod",
            "requestId": "req-1",
            "identity": { "sourceIp": "192.0.2.1", "userAgent": "fuzz" },
            "resourcePath": path,
            "httpMethod": method,
            "apiId": "api",
            "path": format!("/prod{path}"),
            "protocol": "HTTP/1.1"
        },
        "body": body,
        "isBase64Encoded": false
    });
    serde_json::to_string_pretty(&event).expect("json")
}

/// Writes realistic seed inputs for every target under `dir/<target>/`.
pub fn write_seeds(dir: &Path) {
    // form_body: token and revocation request bodies.
    let forms: &[(&str, &str)] = &[
        (
            "password-grant",
            "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery&scope=read+write",
        ),
        (
            "refresh-grant",
            "grant_type=refresh_token&refresh_token=Zm9vYmFyYmF6cXV4&client_id=web-app&scope=read",
        ),
        (
            "client-credentials",
            "grant_type=client_credentials&client_id=backend&client_secret=s%3Acret%26x&scope=reports",
        ),
        (
            "revoke",
            "token=Zm9vYmFy&token_type_hint=refresh_token&client_id=web-app",
        ),
        (
            "utf8-escapes",
            "username=j%C3%B6rg+m&password=a%26b%3Dc&x=&&y",
        ),
        ("repeated", "grant_type=password&grant_type=password"),
        ("bad-escape", "username=%zz&password=%4"),
        (
            "unknown-grant",
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ),
    ];
    for (name, body) in forms {
        write(dir, "form_body", name, body.as_bytes());
    }

    // authorization_header: values separated by '\n', then NUL and a form body.
    let basic =
        |id: &str, secret: &str| format!("Basic {}", b64(format!("{id}:{secret}").as_bytes()));
    let (_, valid_token) = seed_tokens().into_iter().next().expect("a seed token");
    let headers: Vec<(&str, String)> = vec![
        ("bearer", format!("Bearer {valid_token}")),
        (
            "bearer-lowercase-spaces",
            "bearer    abc.def.ghi==".to_owned(),
        ),
        ("basic", basic("backend", CONFIDENTIAL_SECRET)),
        ("basic-escaped", basic("my%20app", "s%3Acret+x")),
        ("basic-tab", format!("basic\t{}", b64(b"a:b"))),
        (
            "basic-and-body-id",
            format!("{}\0client_id=backend", basic("backend", "x")),
        ),
        (
            "basic-and-body-secret",
            format!("{}\0client_secret=x", basic("backend", "x")),
        ),
        ("two-headers", "Bearer a\nBasic YTpi".to_owned()),
        (
            "body-only",
            "\0client_id=web-app&client_secret=s".to_owned(),
        ),
        ("digest", "Digest username=\"a\", realm=\"r\"".to_owned()),
        ("bearer-bad", "Bearer a b".to_owned()),
    ];
    for (name, value) in &headers {
        write(dir, "authorization_header", name, value.as_bytes());
    }

    // token_verify: the hand-built tokens, plus a few broken ones.
    for (name, token) in seed_tokens() {
        write(dir, "token_verify", name, token.as_bytes());
    }
    let parts: Vec<String> = valid_token.split('.').map(str::to_owned).collect();
    let none_header = b64url(br#"{"alg":"none","typ":"at+jwt","kid":"fuzz-es256"}"#);
    let broken = [
        ("alg-none", format!("{none_header}.{}.", parts[1])),
        ("two-segments", format!("{}.{}", parts[0], parts[1])),
        (
            "not-base64",
            format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
        ),
        ("empty", String::new()),
    ];
    for (name, token) in broken {
        write(dir, "token_verify", name, token.as_bytes());
    }

    // token_forge is structure-aware (arbitrary): libFuzzer starts from nothing and
    // builds its own inputs; a few random byte strings are enough to start.
    for (i, seed) in [
        &b"\x00\x01\x02\x03 ES256 at+jwt"[..],
        b"\xff\xfe\x10seed",
        &[0u8; 64],
    ]
    .iter()
    .enumerate()
    {
        write(dir, "token_forge", &format!("bytes-{i}"), seed);
    }

    // apigw_event: API Gateway events for every route.
    let form = "application/x-www-form-urlencoded";
    let bearer = format!("Bearer {valid_token}");
    let events: Vec<(&str, String)> = vec![
        (
            "v2-token-password",
            apigw_v2_event(
                "POST",
                "/token",
                "",
                &[("content-type", form), ("host", "auth.example.com")],
                Some(
                    "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery&scope=read",
                ),
                false,
            ),
        ),
        (
            "v2-token-password-base64",
            apigw_v2_event(
                "POST",
                "/token",
                "",
                &[("content-type", form)],
                Some("grant_type=password&client_id=web-app&username=alice&password=wrong"),
                true,
            ),
        ),
        (
            "v2-token-client-credentials",
            apigw_v2_event(
                "POST",
                "/token",
                "",
                &[
                    ("content-type", form),
                    (
                        "authorization",
                        &basic(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET),
                    ),
                ],
                Some("grant_type=client_credentials&scope=reports"),
                false,
            ),
        ),
        (
            "v2-token-refresh",
            apigw_v2_event(
                "POST",
                "/token",
                "",
                &[("content-type", form)],
                Some("grant_type=refresh_token&client_id=web-app&refresh_token=abc"),
                false,
            ),
        ),
        (
            "v2-revoke",
            apigw_v2_event(
                "POST",
                "/revoke",
                "",
                &[("content-type", form)],
                Some("token=abc&token_type_hint=refresh_token&client_id=web-app"),
                false,
            ),
        ),
        (
            "v2-users-me",
            apigw_v2_event(
                "GET",
                "/users/me",
                "",
                &[("authorization", &bearer)],
                None,
                false,
            ),
        ),
        (
            "v2-users-me-query-token",
            apigw_v2_event("GET", "/users/me", "access_token=abc", &[], None, false),
        ),
        (
            "v2-register",
            apigw_v2_event(
                "POST",
                "/users",
                "",
                &[("content-type", "application/json")],
                Some(
                    r#"{"username":"bob","password":"a long enough password","email":"bob@example.com","full_name":"Bob"}"#,
                ),
                false,
            ),
        ),
        (
            "v2-password-change",
            apigw_v2_event(
                "POST",
                "/users/me/password",
                "",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &bearer),
                ],
                Some(
                    r#"{"current_password":"correct horse battery","new_password":"another long password"}"#,
                ),
                false,
            ),
        ),
        (
            "v2-well-known",
            apigw_v2_event(
                "GET",
                "/.well-known/openid-configuration",
                "",
                &[],
                None,
                false,
            ),
        ),
        (
            "v2-jwks",
            apigw_v2_event("GET", "/.well-known/jwks.json", "", &[], None, false),
        ),
        (
            "v1-token-password",
            apigw_v1_event(
                "POST",
                "/token",
                &[],
                &[("Content-Type", form), ("Host", "auth.example.com")],
                Some(
                    "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery",
                ),
            ),
        ),
        (
            "v1-users-me",
            apigw_v1_event(
                "GET",
                "/users/me",
                &[("trace", "1")],
                &[("Authorization", &bearer)],
                None,
            ),
        ),
        (
            "v1-register",
            apigw_v1_event(
                "POST",
                "/users",
                &[],
                &[("Content-Type", "application/json")],
                Some(r#"{"username":"carol","password":"x"}"#),
            ),
        ),
    ];
    for (name, event) in &events {
        write(
            dir,
            "apigw_event",
            &format!("{name}.json"),
            event.as_bytes(),
        );
    }
}

/// Called from every target's `init`: with `FUZZ_WRITE_SEEDS=<dir>` set, writes the
/// seeds and exits (no separate build needed for the seed writer).
pub fn maybe_write_seeds() {
    if let Some(dir) = std::env::var_os("FUZZ_WRITE_SEEDS") {
        write_seeds(Path::new(&dir));
        eprintln!("seeds written to {}", Path::new(&dir).display());
        std::process::exit(0);
    }
}
