//! Configuration: environment variables read once at cold start into typed,
//! validated settings. A function refuses to start (and says which variable is
//! wrong, never its value) rather than run with a missing or weak key.

use std::collections::HashMap;

use secrecy::SecretString;

use crate::keys::{self, KeyError, SigningAlgorithm};
use crate::password_policy::PasswordPolicy;
use crate::passwords::{self, PasswordHasher};
use crate::store::StoreSettings;
use crate::throttle::LoginThrottle;
use crate::tokens::{TokenSigner, TokenVerifier};

/// Default access-token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECONDS: u64 = 900;
/// Longest access-token lifetime accepted: 1 hour.
pub const MAX_ACCESS_TOKEN_TTL_SECONDS: u64 = 3600;
/// Shortest access-token lifetime accepted: 1 minute.
pub const MIN_ACCESS_TOKEN_TTL_SECONDS: u64 = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{var}: {source}")]
    Key {
        var: &'static str,
        #[source]
        source: KeyError,
    },
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.into(),
    }
}

/// Where settings come from: the process environment in production, a map in tests.
pub trait Environment {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Environment for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// Reads a variable; empty counts as unset.
fn read(env: &dyn Environment, name: &str) -> Option<String> {
    env.get(name).filter(|v| !v.trim().is_empty())
}

fn required(env: &dyn Environment, name: &'static str) -> Result<String, ConfigError> {
    read(env, name).ok_or(ConfigError::Missing(name))
}

fn number<T: std::str::FromStr>(
    env: &dyn Environment,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match read(env, name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| invalid(name, "not a number")),
    }
}

/// An on/off setting, off when unset: `true`/`1` or `false`/`0`.
pub fn switch(env: &dyn Environment, name: &'static str) -> Result<bool, ConfigError> {
    match read(env, name).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

/// Settings every function shares: who we are and how strict to be.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// `AUTH_ISSUER`: the `iss` of every token, an `https` URL without query or
    /// fragment (RFC 8414 §2). `http` only in development mode.
    pub issuer: String,
    /// `AUTH_AUDIENCE`: the `aud` of every token: the API the tokens are for.
    pub audience: String,
    /// `AUTH_REALM`: the realm in `WWW-Authenticate` challenges (RFC 6750 §3).
    pub realm: String,
    /// `AUTH_DEVELOPMENT_MODE=true` relaxes the production-only checks (http issuer,
    /// bcrypt cost below 10). Never set it in AWS.
    pub development_mode: bool,
}

impl ServiceSettings {
    pub fn from_env(env: &dyn Environment) -> Result<Self, ConfigError> {
        let development_mode = switch(env, "AUTH_DEVELOPMENT_MODE")?;
        let issuer = required(env, "AUTH_ISSUER")?;
        check_issuer(&issuer, development_mode)?;
        let audience = required(env, "AUTH_AUDIENCE")?;
        if audience.chars().any(|c| c.is_control()) {
            return Err(invalid("AUTH_AUDIENCE", "contains control characters"));
        }
        let realm = read(env, "AUTH_REALM").unwrap_or_else(|| audience.clone());
        Ok(ServiceSettings {
            issuer,
            audience,
            realm,
            development_mode,
        })
    }
}

fn check_issuer(issuer: &str, development_mode: bool) -> Result<(), ConfigError> {
    let var = "AUTH_ISSUER";
    let uri: http::Uri = issuer.parse().map_err(|_| invalid(var, "not a URL"))?;
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => development_mode,
        _ => false,
    };
    if !scheme_ok {
        return Err(invalid(
            var,
            "must be an https URL (http only in development mode)",
        ));
    }
    if uri.host().is_none() || uri.query().is_some() || issuer.contains('#') {
        return Err(invalid(
            var,
            "must be a URL with a host and no query or fragment",
        ));
    }
    if issuer.ends_with('/') {
        // `iss` is compared as a plain string; a trailing slash is a classic mismatch
        // with API Gateway's JWT authorizer and RFC 8414 metadata.
        return Err(invalid(var, "must not end with '/'"));
    }
    Ok(())
}

/// `JWT_ALGORITHM`: ES256 (default), RS256, or HS256.
pub fn signing_algorithm(env: &dyn Environment) -> Result<SigningAlgorithm, ConfigError> {
    match read(env, "JWT_ALGORITHM") {
        None => Ok(SigningAlgorithm::Es256),
        Some(v) => SigningAlgorithm::parse(v.trim())
            .ok_or_else(|| invalid("JWT_ALGORITHM", "must be ES256, RS256 or HS256")),
    }
}

/// `ACCESS_TOKEN_TTL_SECONDS`: 60 to 3600, default 900.
pub fn access_token_ttl(env: &dyn Environment) -> Result<u64, ConfigError> {
    let ttl = number(
        env,
        "ACCESS_TOKEN_TTL_SECONDS",
        DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    )?;
    if !(MIN_ACCESS_TOKEN_TTL_SECONDS..=MAX_ACCESS_TOKEN_TTL_SECONDS).contains(&ttl) {
        return Err(invalid(
            "ACCESS_TOKEN_TTL_SECONDS",
            "must be between 60 and 3600",
        ));
    }
    Ok(ttl)
}

/// The signer from `JWT_ALGORITHM`, `JWT_SIGNING_KEY` (PEM, or the HS256 secret) and
/// `JWT_SIGNING_KEY_ID` (the `kid`). In Lambda both come from the secret that
/// `JWT_SIGNING_KEY_SECRET` names ([`crate::signing_key_secret::resolve`]); a key in
/// the environment itself is for development, and warned about elsewhere.
pub fn token_signer(
    env: &dyn Environment,
    service: &ServiceSettings,
) -> Result<TokenSigner, ConfigError> {
    let algorithm = signing_algorithm(env)?;
    let from_secret = env
        .get(crate::signing_key_secret::SECRET_VARIABLE)
        .is_some_and(|v| !v.trim().is_empty());
    if !from_secret && !service.development_mode && env.get("JWT_SIGNING_KEY").is_some() {
        tracing::warn!(
            setting = "JWT_SIGNING_KEY",
            "the private signing key is in an environment variable, which anyone allowed \
             lambda:GetFunctionConfiguration can read; store it in Secrets Manager and set \
             JWT_SIGNING_KEY_SECRET instead"
        );
    }
    let material = SecretString::from(required(env, "JWT_SIGNING_KEY")?);
    let key = keys::signing_key(algorithm, &material).map_err(|source| ConfigError::Key {
        var: "JWT_SIGNING_KEY",
        source,
    })?;
    let key_id = required(env, "JWT_SIGNING_KEY_ID")?;
    check_key_id(&key_id)?;
    Ok(TokenSigner::new(
        key_id,
        key,
        service.issuer.clone(),
        service.audience.clone(),
        access_token_ttl(env)?,
    ))
}

/// A `kid`: 1 to 64 characters from `A-Z a-z 0-9 - _ .`.
pub fn is_valid_key_id(key_id: &str) -> bool {
    !key_id.is_empty()
        && key_id.len() <= 64
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_key_id(key_id: &str) -> Result<(), ConfigError> {
    if is_valid_key_id(key_id) {
        Ok(())
    } else {
        Err(invalid(
            "JWT_SIGNING_KEY_ID",
            "1 to 64 characters from A-Z a-z 0-9 - _ .",
        ))
    }
}

/// The verifier from `JWT_ALGORITHM` and `JWT_VERIFICATION_KEYS`.
pub fn token_verifier(
    env: &dyn Environment,
    service: &ServiceSettings,
) -> Result<TokenVerifier, ConfigError> {
    let (algorithm, entries) = verification_key_entries(env)?;
    let mut keys_by_id = HashMap::new();
    for (key_id, material) in entries {
        let key =
            keys::verification_key(algorithm, &material).map_err(|source| ConfigError::Key {
                var: VERIFICATION_KEYS,
                source,
            })?;
        keys_by_id.insert(key_id, key);
    }
    Ok(TokenVerifier::new(
        algorithm,
        keys_by_id,
        &service.issuer,
        &service.audience,
    ))
}

/// The verifier of `id_token_hint`s for the authorize function: public keys only.
/// `None` under HS256, which issues no ID tokens: then the function does not read
/// `JWT_VERIFICATION_KEYS` at all, so the internet-facing login function never
/// holds the HMAC secret that mints access tokens.
pub fn id_token_hint_verifier(
    env: &dyn Environment,
    service: &ServiceSettings,
) -> Result<Option<TokenVerifier>, ConfigError> {
    if signing_algorithm(env)? == SigningAlgorithm::Hs256 {
        return Ok(None);
    }
    token_verifier(env, service).map(Some)
}

/// The JWKS document (RFC 7517 §5) of `JWT_VERIFICATION_KEYS`, sorted by key id:
/// public keys only; empty for HS256, whose secrets are never published.
pub fn public_key_set(env: &dyn Environment) -> Result<serde_json::Value, ConfigError> {
    let (algorithm, mut entries) = verification_key_entries(env)?;
    entries.sort();
    let mut keys_published = Vec::new();
    for (key_id, material) in entries {
        let jwk =
            keys::public_jwk(algorithm, &key_id, &material).map_err(|source| ConfigError::Key {
                var: VERIFICATION_KEYS,
                source,
            })?;
        keys_published.extend(jwk);
    }
    Ok(serde_json::json!({ "keys": keys_published }))
}

const VERIFICATION_KEYS: &str = "JWT_VERIFICATION_KEYS";

/// `JWT_ALGORITHM` and the `(kid, key material)` pairs of `JWT_VERIFICATION_KEYS`, a
/// JSON object mapping each `kid` to its PEM public key (or, for HS256, its secret).
/// List the current key and, during a rotation, the other one.
fn verification_key_entries(
    env: &dyn Environment,
) -> Result<(SigningAlgorithm, Vec<(String, String)>), ConfigError> {
    let var = VERIFICATION_KEYS;
    let algorithm = signing_algorithm(env)?;
    let raw = required(env, var)?;
    let entries: HashMap<String, String> = serde_json::from_str(&raw)
        .map_err(|_| invalid(var, "must be a JSON object of key id to key"))?;
    if entries.is_empty() {
        return Err(invalid(var, "lists no key"));
    }
    for key_id in entries.keys() {
        check_key_id(key_id).map_err(|_| invalid(var, "a key id is malformed"))?;
    }
    Ok((algorithm, entries.into_iter().collect()))
}

/// `ID_TOKEN_TTL_SECONDS`: 60 to 3600, default 300 (OpenID Connect ID tokens).
pub fn id_token_ttl(env: &dyn Environment) -> Result<u64, ConfigError> {
    let ttl = number(
        env,
        "ID_TOKEN_TTL_SECONDS",
        crate::oidc::DEFAULT_ID_TOKEN_TTL_SECONDS,
    )?;
    if !(60..=3600).contains(&ttl) {
        return Err(invalid(
            "ID_TOKEN_TTL_SECONDS",
            "must be between 60 and 3600",
        ));
    }
    Ok(ttl)
}

/// `REFRESH_TOKEN_IDLE_SECONDS` (default 14 days) and `REFRESH_TOKEN_ABSOLUTE_SECONDS`
/// (default 90 days): a refresh token unused for the idle time expires, and no
/// family outlives the absolute time. 60 s ≤ idle ≤ absolute ≤ 400 days.
pub fn refresh_lifetimes(
    env: &dyn Environment,
) -> Result<crate::refresh::RefreshLifetimes, ConfigError> {
    let defaults = crate::refresh::RefreshLifetimes::default();
    let idle_seconds = number(env, "REFRESH_TOKEN_IDLE_SECONDS", defaults.idle_seconds)?;
    let absolute_seconds = number(
        env,
        "REFRESH_TOKEN_ABSOLUTE_SECONDS",
        defaults.absolute_seconds,
    )?;
    if !(60..=400 * 24 * 3600).contains(&absolute_seconds) {
        return Err(invalid(
            "REFRESH_TOKEN_ABSOLUTE_SECONDS",
            "must be between 60 and 34560000 (400 days)",
        ));
    }
    if idle_seconds < 60 || idle_seconds > absolute_seconds {
        return Err(invalid(
            "REFRESH_TOKEN_IDLE_SECONDS",
            "must be at least 60 and at most REFRESH_TOKEN_ABSOLUTE_SECONDS",
        ));
    }
    Ok(crate::refresh::RefreshLifetimes {
        idle_seconds,
        absolute_seconds,
    })
}

/// `BCRYPT_COST`: default 12; below 10 only in development mode.
pub fn password_hasher(
    env: &dyn Environment,
    service: &ServiceSettings,
) -> Result<PasswordHasher, ConfigError> {
    let var = "BCRYPT_COST";
    let cost = number(env, var, passwords::DEFAULT_COST)?;
    if cost < passwords::MIN_PRODUCTION_COST && !service.development_mode {
        return Err(invalid(var, "must be at least 10 outside development mode"));
    }
    PasswordHasher::new(cost).map_err(|_| invalid(var, "must be between 4 and 31"))
}

/// `LOGIN_LOCK_THRESHOLD` (5; 1 to 100 consecutive failures), `LOGIN_LOCK_BASE_SECONDS`
/// (1; the first lock, 1 to 3600) and `LOGIN_LOCK_MAX_SECONDS` (900; from the base
/// up to 86400).
pub fn login_throttle(env: &dyn Environment) -> Result<LoginThrottle, ConfigError> {
    let defaults = LoginThrottle::default();
    let threshold = number(env, "LOGIN_LOCK_THRESHOLD", defaults.threshold)?;
    let base = number(env, "LOGIN_LOCK_BASE_SECONDS", defaults.base_lock_seconds)?;
    let max = number(env, "LOGIN_LOCK_MAX_SECONDS", defaults.max_lock_seconds)?;
    if !(1..=100).contains(&threshold) {
        return Err(invalid("LOGIN_LOCK_THRESHOLD", "must be between 1 and 100"));
    }
    if !(1..=3600).contains(&base) {
        return Err(invalid(
            "LOGIN_LOCK_BASE_SECONDS",
            "must be between 1 and 3600",
        ));
    }
    if !(base..=86_400).contains(&max) {
        return Err(invalid(
            "LOGIN_LOCK_MAX_SECONDS",
            "must be between LOGIN_LOCK_BASE_SECONDS and 86400",
        ));
    }
    Ok(LoginThrottle {
        threshold,
        base_lock_seconds: base,
        max_lock_seconds: max,
    })
}

/// `PASSWORD_MIN_LENGTH`: characters a new password needs, 8 (the default) to 72.
pub fn password_policy(env: &dyn Environment) -> Result<PasswordPolicy, ConfigError> {
    let var = "PASSWORD_MIN_LENGTH";
    let min = number(env, var, crate::password_policy::MIN_PASSWORD_CHARS)?;
    PasswordPolicy::new(min).ok_or_else(|| invalid(var, "must be between 8 and 72"))
}

/// `AUTHORIZATION_CODE_TTL_SECONDS`: 1 to 600 (RFC 6749 §4.1.2's maximum), default 60.
pub fn authorization_code_ttl(env: &dyn Environment) -> Result<i64, ConfigError> {
    let var = "AUTHORIZATION_CODE_TTL_SECONDS";
    let ttl = number(
        env,
        var,
        crate::authorization::DEFAULT_CODE_LIFETIME_SECONDS,
    )?;
    if !(1..=crate::authorization::MAX_CODE_LIFETIME_SECONDS).contains(&ttl) {
        return Err(invalid(var, "must be between 1 and 600"));
    }
    Ok(ttl)
}

/// `SESSION_IDLE_SECONDS` (default 8 hours) and `SESSION_ABSOLUTE_SECONDS` (default 7
/// days): a sign-in session unused for the idle time ends, and none outlives the
/// absolute time. 60 s ≤ idle ≤ absolute ≤ 400 days.
pub fn session_lifetimes(
    env: &dyn Environment,
) -> Result<crate::sessions::SessionLifetimes, ConfigError> {
    let defaults = crate::sessions::SessionLifetimes::default();
    let idle_seconds = number(env, "SESSION_IDLE_SECONDS", defaults.idle_seconds)?;
    let absolute_seconds = number(env, "SESSION_ABSOLUTE_SECONDS", defaults.absolute_seconds)?;
    if !(60..=400 * 24 * 3600).contains(&absolute_seconds) {
        return Err(invalid(
            "SESSION_ABSOLUTE_SECONDS",
            "must be between 60 and 34560000 (400 days)",
        ));
    }
    if idle_seconds < 60 || idle_seconds > absolute_seconds {
        return Err(invalid(
            "SESSION_IDLE_SECONDS",
            "must be at least 60 and at most SESSION_ABSOLUTE_SECONDS",
        ));
    }
    Ok(crate::sessions::SessionLifetimes {
        idle_seconds,
        absolute_seconds,
    })
}

/// `AUTH_PRODUCT_NAME` (the pages' title, up to 60 characters, default "Sign in")
/// and `AUTH_BRAND_COLOUR` (`#rrggbb`, default `#2457d6`).
pub fn branding(env: &dyn Environment) -> Result<crate::pages::Branding, ConfigError> {
    let defaults = crate::pages::Branding::default();
    let product_name = match read(env, "AUTH_PRODUCT_NAME") {
        None => defaults.product_name,
        Some(name) if name.chars().count() <= 60 && !name.chars().any(char::is_control) => {
            name.trim().to_owned()
        }
        Some(_) => {
            return Err(invalid(
                "AUTH_PRODUCT_NAME",
                "must be at most 60 characters, without control characters",
            ));
        }
    };
    let colour = match read(env, "AUTH_BRAND_COLOUR") {
        None => defaults.colour,
        Some(colour) if crate::pages::is_hex_colour(colour.trim()) => colour.trim().to_owned(),
        Some(_) => return Err(invalid("AUTH_BRAND_COLOUR", "must be a colour as #rrggbb")),
    };
    Ok(crate::pages::Branding {
        product_name,
        colour,
    })
}

/// `TABLE_NAME` and the optional `DYNAMODB_ENDPOINT` override.
pub fn store_settings(env: &dyn Environment) -> Result<StoreSettings, ConfigError> {
    Ok(StoreSettings {
        table_name: required(env, "TABLE_NAME")?,
        endpoint_url: read(env, "DYNAMODB_ENDPOINT"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn browser_flow_settings_are_bounded() {
        assert_eq!(authorization_code_ttl(&env(&[])).unwrap(), 60);
        assert_eq!(
            authorization_code_ttl(&env(&[("AUTHORIZATION_CODE_TTL_SECONDS", "600")])).unwrap(),
            600
        );
        for bad in ["0", "601", "soon"] {
            assert!(
                authorization_code_ttl(&env(&[("AUTHORIZATION_CODE_TTL_SECONDS", bad)])).is_err()
            );
        }
        assert_eq!(
            session_lifetimes(&env(&[])).unwrap(),
            crate::sessions::SessionLifetimes::default()
        );
        let error = session_lifetimes(&env(&[
            ("SESSION_IDLE_SECONDS", "7200"),
            ("SESSION_ABSOLUTE_SECONDS", "3600"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("SESSION_IDLE_SECONDS"));
        assert_eq!(
            branding(&env(&[])).unwrap(),
            crate::pages::Branding::default()
        );
        let custom = branding(&env(&[
            ("AUTH_PRODUCT_NAME", "Acme ID"),
            ("AUTH_BRAND_COLOUR", "#aa0011"),
        ]))
        .unwrap();
        assert_eq!(
            (custom.product_name.as_str(), custom.colour.as_str()),
            ("Acme ID", "#aa0011")
        );
        for (var, bad) in [
            ("AUTH_BRAND_COLOUR", "red; } body { display: none"),
            ("AUTH_PRODUCT_NAME", "a\u{7}b"),
        ] {
            let error = branding(&env(&[(var, bad)])).unwrap_err();
            assert!(error.to_string().contains(var), "{error}");
        }
    }

    #[test]
    fn login_throttle_settings_are_bounded() {
        assert_eq!(login_throttle(&env(&[])).unwrap(), LoginThrottle::default());
        let custom = env(&[
            ("LOGIN_LOCK_THRESHOLD", "3"),
            ("LOGIN_LOCK_BASE_SECONDS", "2"),
            ("LOGIN_LOCK_MAX_SECONDS", "60"),
        ]);
        let throttle = login_throttle(&custom).unwrap();
        assert_eq!(throttle.lock_seconds(3), Some(2));
        assert_eq!(throttle.lock_seconds(9), Some(60));
        for (var, bad) in [
            ("LOGIN_LOCK_THRESHOLD", "0"),
            ("LOGIN_LOCK_BASE_SECONDS", "0"),
            ("LOGIN_LOCK_MAX_SECONDS", "100000"),
        ] {
            assert!(login_throttle(&env(&[(var, bad)])).is_err(), "{var}={bad}");
        }
        let max_below_base = env(&[
            ("LOGIN_LOCK_BASE_SECONDS", "10"),
            ("LOGIN_LOCK_MAX_SECONDS", "5"),
        ]);
        assert!(login_throttle(&max_below_base).is_err());
    }

    #[test]
    fn password_minimum_is_8_to_72() {
        assert_eq!(password_policy(&env(&[])).unwrap().min_chars(), 8);
        let twelve = env(&[("PASSWORD_MIN_LENGTH", "12")]);
        assert_eq!(password_policy(&twelve).unwrap().min_chars(), 12);
        for bad in ["7", "73", "eight"] {
            assert!(password_policy(&env(&[("PASSWORD_MIN_LENGTH", bad)])).is_err());
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> HashMap<String, String> {
        env(&[
            ("AUTH_ISSUER", "https://auth.example.com"),
            ("AUTH_AUDIENCE", "https://api.example.com"),
        ])
    }

    #[test]
    fn service_settings_need_issuer_and_audience() {
        assert_eq!(
            ServiceSettings::from_env(&env(&[])).err(),
            Some(ConfigError::Missing("AUTH_ISSUER"))
        );
        let s = ServiceSettings::from_env(&base()).unwrap();
        assert_eq!(s.realm, "https://api.example.com");
        assert!(!s.development_mode);
    }

    #[test]
    fn issuer_must_be_https_without_query_fragment_or_trailing_slash() {
        for bad in [
            "http://auth.example.com",
            "auth.example.com",
            "https://a.example/?x=1",
            "https://a.example/#f",
            "https://a.example/",
            "ftp://a",
        ] {
            let mut e = base();
            e.insert("AUTH_ISSUER".into(), bad.into());
            assert!(ServiceSettings::from_env(&e).is_err(), "{bad}");
        }
        let mut e = base();
        e.insert("AUTH_ISSUER".into(), "http://127.0.0.1:3000".into());
        assert!(ServiceSettings::from_env(&e).is_err());
        e.insert("AUTH_DEVELOPMENT_MODE".into(), "true".into());
        assert!(ServiceSettings::from_env(&e).is_ok());
    }

    #[test]
    fn refuses_to_start_without_a_signing_key() {
        let e = base();
        let service = ServiceSettings::from_env(&e).unwrap();
        assert_eq!(
            token_signer(&e, &service).err(),
            Some(ConfigError::Missing("JWT_SIGNING_KEY"))
        );
    }

    #[test]
    fn refuses_a_weak_hmac_secret_and_names_no_value() {
        let mut e = base();
        e.insert("JWT_ALGORITHM".into(), "HS256".into());
        e.insert("JWT_SIGNING_KEY".into(), "short-secret".into());
        e.insert("JWT_SIGNING_KEY_ID".into(), "k1".into());
        let service = ServiceSettings::from_env(&e).unwrap();
        let err = token_signer(&e, &service).err().unwrap();
        assert!(matches!(
            err,
            ConfigError::Key {
                source: KeyError::SecretTooShort(12),
                ..
            }
        ));
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        for bad in ["none", "es256", "HS512", "PS256"] {
            let mut e = base();
            e.insert("JWT_ALGORITHM".into(), bad.into());
            let service = ServiceSettings::from_env(&e).unwrap();
            assert!(
                matches!(
                    token_signer(&e, &service),
                    Err(ConfigError::Invalid {
                        var: "JWT_ALGORITHM",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn signer_and_verifier_from_generated_keys() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let mut e = base();
        e.extend(key.environment().map(|(k, v)| (k.to_owned(), v)));
        let service = ServiceSettings::from_env(&e).unwrap();
        let signer = token_signer(&e, &service).unwrap();
        let verifier = token_verifier(&e, &service).unwrap();
        let token = signer
            .issue("usr_1", None, None, &Default::default())
            .unwrap();
        assert!(verifier.verify(&token.access_token).is_ok());
    }

    #[test]
    fn verification_keys_must_be_a_non_empty_json_object_of_public_keys() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let service = ServiceSettings::from_env(&base()).unwrap();
        for (bad, private) in [
            ("[]", false),
            ("{}", false),
            ("not json", false),
            ("", true),
        ] {
            let mut e = base();
            let value = if private {
                serde_json::json!({"k": key.signing_key.expose_secret()}).to_string()
            } else {
                bad.to_owned()
            };
            e.insert("JWT_VERIFICATION_KEYS".into(), value);
            assert!(token_verifier(&e, &service).is_err(), "{bad} {private}");
        }
    }

    #[test]
    fn token_lifetime_defaults_to_15_minutes_and_is_capped_at_an_hour() {
        assert_eq!(access_token_ttl(&base()).unwrap(), 900);
        for (v, ok) in [
            ("60", true),
            ("3600", true),
            ("3601", false),
            ("59", false),
            ("x", false),
        ] {
            let mut e = base();
            e.insert("ACCESS_TOKEN_TTL_SECONDS".into(), v.into());
            assert_eq!(access_token_ttl(&e).is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn bcrypt_cost_below_10_only_in_development_mode() {
        let mut e = base();
        assert_eq!(
            password_hasher(&e, &ServiceSettings::from_env(&e).unwrap())
                .unwrap()
                .cost(),
            12
        );
        e.insert("BCRYPT_COST".into(), "9".into());
        assert!(password_hasher(&e, &ServiceSettings::from_env(&e).unwrap()).is_err());
        e.insert("AUTH_DEVELOPMENT_MODE".into(), "true".into());
        assert_eq!(
            password_hasher(&e, &ServiceSettings::from_env(&e).unwrap())
                .unwrap()
                .cost(),
            9
        );
        e.insert("BCRYPT_COST".into(), "40".into());
        assert!(password_hasher(&e, &ServiceSettings::from_env(&e).unwrap()).is_err());
    }

    #[test]
    fn refresh_lifetimes_default_to_14_and_90_days_and_must_nest() {
        let defaults = refresh_lifetimes(&base()).unwrap();
        assert_eq!(defaults.idle_seconds, 14 * 24 * 3600);
        assert_eq!(defaults.absolute_seconds, 90 * 24 * 3600);
        for (idle, absolute, ok) in [
            ("60", "60", true),
            ("59", "600", false),
            ("700", "600", false),
            ("60", "99999999", false),
        ] {
            let mut e = base();
            e.insert("REFRESH_TOKEN_IDLE_SECONDS".into(), idle.into());
            e.insert("REFRESH_TOKEN_ABSOLUTE_SECONDS".into(), absolute.into());
            assert_eq!(refresh_lifetimes(&e).is_ok(), ok, "{idle} {absolute}");
        }
    }

    #[test]
    fn store_settings_need_a_table() {
        assert_eq!(
            store_settings(&env(&[])).err(),
            Some(ConfigError::Missing("TABLE_NAME"))
        );
        let s = store_settings(&env(&[
            ("TABLE_NAME", "t"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:1"),
        ]))
        .unwrap();
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
    }
}
