//! Per-request costs, in process: signing and verifying access tokens per algorithm,
//! bcrypt at costs 10 and 12, and the whole `/token` and `/users/me` handlers on the
//! in-memory store. `/users/me` should cost about one signature verification, and
//! `/token` about one bcrypt verification: the ratios are in BENCHMARKS.md.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
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
            store
                .create_client(&ClientRecord {
                    client_id: ClientId::parse("web-app").unwrap(),
                    secret_hash: None,
                    grant_types: vec![GrantType::Password],
                    scopes: Vec::new(),
                    disabled: false,
                    created_at: 0,
                })
                .await
                .unwrap();
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

criterion_group!(benches, tokens, bcrypt, handlers);
criterion_main!(benches);
