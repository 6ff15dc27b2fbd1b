//! The common crate behind every Lambda function, the admin CLI and the local server.
//!
//! A request flows one way: API Gateway event -> [`lambda`] (adapter) -> a handler in
//! [`routes`] -> the domain modules ([`oauth`] parsing, [`passwords`], [`tokens`],
//! [`store`]) -> [`http`], the one place where [`error::ApiError`] becomes a response.

pub mod audit;
pub mod authorization;
pub mod clients;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod lambda;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod pages;
pub mod password_policy;
pub mod passwords;
pub mod pkce;
#[cfg(test)]
mod properties;
pub mod redirect_uri;
pub mod refresh;
pub mod routes;
pub mod sessions;
pub mod sign_in;
pub mod signing_key_secret;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod tokens;
pub mod trust_roots;
pub mod users;

/// Seconds since the Unix epoch. Every expiry and issue time in this crate uses it.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `n` bytes from the operating system's CSPRNG, base64url-encoded without padding.
pub fn random_token(n: usize) -> String {
    use base64::Engine;
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
