//! Per-request costs, in process: signing and verifying access tokens per algorithm
//! (and signing by `jsonwebtoken::encode`, for comparison),
//! bcrypt at costs 10 and 12, and the whole `/token` and `/users/me` handlers on the
//! in-memory store. `/users/me` should cost about one signature verification, and
//! `/token` about one bcrypt verification: the ratios are in BENCHMARKS.md. Also the
//! Lambda adapter's event parsing, with and without its guard against `lambda_http`'s
//! conversion panics.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use integration_tests::{EventRequest, EventVersion};
use lambda_http::request::LambdaRequest;
use secrecy::SecretString;
use shared::clients::{ClientId, ClientRecord, GrantType};
use shared::keys::{self, SigningAlgorithm};
use shared::oauth::ScopeSet;
use shared::passwords::PasswordHasher;
use shared::routes::Endpoint;
use shared::routes::token::TokenEndpoint;
use shared::routes::users_me::UsersMeEndpoint;
use shared::store::{ClientStore, MemoryStore, UserStore};
use shared::users::{UserRecord, Username};

const PASSWORD: &str = "correct horse battery staple";

fn env(algorithm: SigningAlgorithm, bcrypt_cost: u32) -> HashMap<String, String> {
    let key = keys::generate(algorithm).unwrap();
    [
        ("AUTH_ISSUER", "https://auth.example.test".to_owned()),
        ("AUTH_AUDIENCE", "https://api.example.test".to_owned()),
        ("BCRYPT_COST", bcrypt_cost.to_string()),
    ]
    .into_iter()
    .chain(key.environment())
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The public client the benchmarked logins name.
async fn register_web_app(store: &MemoryStore) {
    store
        .create_client(&ClientRecord {
            client_id: ClientId::parse("web-app").unwrap(),
            secret_hash: None,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scopes: Vec::new(),
            disabled: false,
            created_at: 0,
            redirect_uris: Vec::new(),
            first_party: false,
            post_logout_redirect_uris: Vec::new(),
        })
        .await
        .unwrap();
}

fn tokens(c: &mut Criterion) {
    for algorithm in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Hs256,
    ] {
        let env = env(algorithm, 10);
        let service = shared::config::ServiceSettings::from_env(&env).unwrap();
        let signer = shared::config::token_signer(&env, &service).unwrap();
        let verifier = shared::config::token_verifier(&env, &service).unwrap();
        let scope = ScopeSet::parse("read write").unwrap();
        let token = signer
            .issue("usr_x", Some("alice"), Some("web-app"), &scope)
            .unwrap()
            .access_token;
        c.bench_function(&format!("sign {}", algorithm.name()), |b| {
            b.iter(|| signer.issue("usr_x", Some("alice"), Some("web-app"), &scope))
        });
        c.bench_function(&format!("verify {}", algorithm.name()), |b| {
            b.iter(|| verifier.verify(&token).unwrap())
        });
    }
}

fn bcrypt(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("bcrypt");
    group.sample_size(10);
    for cost in [10, 12] {
        let hasher = PasswordHasher::new(cost).unwrap();
        let hash = runtime
            .block_on(hasher.hash(SecretString::from(PASSWORD.to_owned())))
            .unwrap();
        group.bench_function(format!("verify cost {cost}"), |b| {
            b.to_async(&runtime)
                .iter(|| hasher.verify(SecretString::from(PASSWORD.to_owned()), Some(&hash)))
        });
    }
    group.finish();
}

fn handlers(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("handlers");
    group.sample_size(10);
    for cost in [10, 12] {
        let env = env(SigningAlgorithm::Es256, cost);
        let store = Arc::new(MemoryStore::new());
        let token = TokenEndpoint::from_env(&env, store.clone()).unwrap();
        let users_me = UsersMeEndpoint::from_env(&env, store.clone()).unwrap();
        runtime.block_on(async {
            let hash = token
                .passwords()
                .hash(SecretString::from(PASSWORD.to_owned()))
                .await
                .unwrap();
            store
                .create_user(&UserRecord::new(Username::parse("alice").unwrap(), hash))
                .await
                .unwrap();
            register_web_app(&store).await;
        });
        let login = || {
            http::Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from_static(
                    b"grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery+staple",
                ))
                .unwrap()
        };
        group.bench_function(format!("/token (bcrypt cost {cost})"), |b| {
            b.to_async(&runtime).iter(|| token.handle(login()))
        });
        if cost == 10 {
            let response = runtime.block_on(token.handle(login()));
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
            group.bench_function("/users/me", |b| {
                b.to_async(&runtime).iter(|| {
                    users_me.handle(
                        http::Request::get("/users/me")
                            .header("authorization", bearer.as_str())
                            .body(Bytes::new())
                            .unwrap(),
                    )
                })
            });
        }
    }
    group.finish();
}

/// `/users/me` and `/token` with 10, 10,000 and 100,000 users in the store, and a
/// refresh at the end of a long rotation chain: none should grow with the count.
fn growth(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("growth");
    group.sample_size(10);
    // Cost 4 (development mode): the growth is in the store, not in bcrypt.
    let mut env = env(SigningAlgorithm::Es256, 4);
    env.insert("AUTH_DEVELOPMENT_MODE".into(), "true".into());
    for users in [10usize, 10_000, 100_000] {
        let store = Arc::new(MemoryStore::new());
        let token = TokenEndpoint::from_env(&env, store.clone()).unwrap();
        let users_me = UsersMeEndpoint::from_env(&env, store.clone()).unwrap();
        let hash = runtime
            .block_on(
                token
                    .passwords()
                    .hash(SecretString::from(PASSWORD.to_owned())),
            )
            .unwrap();
        runtime.block_on(async {
            let batch: Vec<UserRecord> = (0..users)
                .map(|i| {
                    UserRecord::new(Username::parse(&format!("user{i}")).unwrap(), hash.clone())
                })
                .collect();
            store.import_users(&batch).await.unwrap();
            register_web_app(&store).await;
        });
        let login = || {
            http::Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from_static(
                    b"grant_type=password&client_id=web-app&username=user7&password=correct+horse+battery+staple",
                ))
                .unwrap()
        };
        let response = runtime.block_on(token.handle(login()));
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
        group.bench_function(format!("/users/me with {users} users"), |b| {
            b.to_async(&runtime).iter(|| {
                users_me.handle(
                    http::Request::get("/users/me")
                        .header("authorization", bearer.as_str())
                        .body(Bytes::new())
                        .unwrap(),
                )
            })
        });
        group.bench_function(format!("/token (cost 4) with {users} users"), |b| {
            b.to_async(&runtime).iter(|| token.handle(login()))
        });
        if users == 10 {
            // A chain of 1,000 rotations, then the cost of the next one.
            let mut refresh = body["refresh_token"].as_str().unwrap().to_owned();
            let rotate = |refresh: &str| {
                http::Request::post("/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Bytes::from(format!(
                        "grant_type=refresh_token&client_id=web-app&refresh_token={refresh}"
                    )))
                    .unwrap()
            };
            for _ in 0..1_000 {
                let response = runtime.block_on(token.handle(rotate(&refresh)));
                let next: serde_json::Value = serde_json::from_str(response.body()).unwrap();
                refresh = next["refresh_token"].as_str().unwrap().to_owned();
            }
            let chain = std::cell::RefCell::new(refresh);
            group.bench_function("refresh after 1,000 rotations", |b| {
                b.iter(|| {
                    let response = runtime.block_on(token.handle(rotate(&chain.borrow())));
                    let next: serde_json::Value = serde_json::from_str(response.body()).unwrap();
                    *chain.borrow_mut() = next["refresh_token"].as_str().unwrap().to_owned();
                })
            });
        }
    }
    group.finish();
}

/// What an API Gateway event costs before a handler sees it: `lambda_http` alone
/// (bytes straight into its request type, as `lambda_http::run` parses them) against
/// the functions' adapter (bytes into a JSON value, `convertible_event`, which tries
/// the conversion once under `catch_unwind`, then the conversion that is kept).
fn adapter(c: &mut Criterion) {
    let env = env(SigningAlgorithm::Rs256, 10);
    let service = shared::config::ServiceSettings::from_env(&env).unwrap();
    let signer = shared::config::token_signer(&env, &service).unwrap();
    let token = signer
        .issue(
            "usr_1",
            Some("alice"),
            Some("web-app"),
            &ScopeSet::default(),
        )
        .unwrap()
        .access_token;
    let bearer = format!("Bearer {token}");
    let mut group = c.benchmark_group("adapter");
    for version in [EventVersion::HttpV2, EventVersion::RestV1] {
        let event = integration_tests::event(
            version,
            &EventRequest {
                method: "GET",
                path: "/users/me",
                headers: &[("authorization", bearer.as_str())],
                ..Default::default()
            },
        );
        let bytes = serde_json::to_vec(&event).unwrap();
        group.bench_function(
            format!("{version:?} /users/me event, lambda_http alone"),
            |b| {
                b.iter(|| {
                    let request: LambdaRequest = serde_json::from_slice(&bytes).unwrap();
                    lambda_http::Request::from(request)
                })
            },
        );
        group.bench_function(
            format!("{version:?} /users/me event, guarded adapter"),
            |b| {
                b.iter(|| {
                    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    lambda_http::Request::from(shared::lambda::convertible_event(value).unwrap())
                })
            },
        );
    }
    group.finish();
}

/// The same header and claims signed by `shared::tokens::encode_jwt` (key parsed once) and
/// by `jsonwebtoken::encode`, which parses the key for every token (what `TokenSigner`
/// did until 2026-12-07).
fn jws(c: &mut Criterion) {
    let mut group = c.benchmark_group("jws");
    for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::Rs256] {
        let key = keys::generate(algorithm).unwrap();
        let ours = keys::signing_key(algorithm, &key.signing_key).unwrap();
        let pem = secrecy::ExposeSecret::expose_secret(&key.signing_key).as_bytes();
        let theirs = match algorithm {
            SigningAlgorithm::Rs256 => jsonwebtoken::EncodingKey::from_rsa_pem(pem),
            _ => jsonwebtoken::EncodingKey::from_ec_pem(pem),
        }
        .unwrap();
        let mut header = jsonwebtoken::Header::new(algorithm.jwt_algorithm());
        header.kid = Some(key.key_id.clone());
        let claims = serde_json::json!({
            "iss": "https://auth.example.test", "sub": "usr_x", "aud": "https://api.example.test",
            "exp": 1_900_000_000, "iat": 1_800_000_000, "jti": "0123456789abcdef", "scope": "read write",
        });
        group.bench_function(format!("encode_jwt {}", algorithm.name()), |b| {
            b.iter(|| shared::tokens::encode_jwt(&header, &claims, &ours).unwrap())
        });
        group.bench_function(format!("jsonwebtoken::encode {}", algorithm.name()), |b| {
            b.iter(|| jsonwebtoken::encode(&header, &claims, &theirs).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, tokens, jws, bcrypt, handlers, growth, adapter);
criterion_main!(benches);
