//! Access tokens: JWTs in the RFC 9068 profile, signed and verified following the
//! JWT best current practice (RFC 8725).
//!
//! Verification trusts nothing in the token that chooses how it is verified: the
//! algorithm is pinned by configuration (RFC 8725 §3.1), the key is picked only by
//! `kid` from the configured set, headers that point at other keys (`jku`, `jwk`,
//! `x5u`, `x5c`) or demand extensions (`crit`) are refused, and the `typ` must be
//! `at+jwt` so that no other kind of JWT passes as an access token (RFC 8725 §3.11,
//! RFC 9068 §4).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::keys::{SigningAlgorithm, SigningKey};
use crate::oauth::ScopeSet;

/// The JOSE `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The JOSE `typ` of ID tokens (OpenID Connect Core §2 leaves it open; `JWT` is
/// what RFC 7519 §5.1 recommends and what relying parties expect).
pub const ID_TOKEN_TYPE: &str = "JWT";
/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 8725 leaves it to the
/// deployment; 30 s covers NTP-synchronised hosts with margin).
pub const CLOCK_SKEW_SECONDS: u64 = 30;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user's id (never the username, which can be re-registered after deletion).
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The case-folded username: the key `/users/me` reads the user by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl AccessTokenClaims {
    /// The one check an API needs after verification: does the token carry `scope`
    /// (RFC 6749 §3.3, space-delimited)? If not, the answer is RFC 6750 §3.1
    /// `insufficient_scope`, which [`crate::http::error_response`] turns into a 403
    /// naming the scope.
    pub fn require_scope(&self, scope: &str) -> Result<(), crate::error::ApiError> {
        let granted = self.scope.as_deref().unwrap_or("");
        if granted.split(' ').any(|s| !s.is_empty() && s == scope) {
            Ok(())
        } else {
            Err(crate::error::ApiError::InsufficientScope {
                required: scope.to_owned(),
            })
        }
    }
}

/// Why a token was refused. Each reason has a fixed description that is safe to
/// send to the client in `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is not an access token (typ must be at+jwt)")]
    WrongType,
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    #[error("the token's key id is missing or unknown")]
    UnknownKey,
    #[error("the token carries a header this server does not accept")]
    ForbiddenHeader,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token lacks a required claim")]
    MissingClaim,
    #[error("signing failed")]
    SigningFailed,
}

impl TokenError {
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Malformed => "the token is malformed",
            TokenError::WrongType => "the token is not an access token",
            TokenError::WrongAlgorithm => "the token's algorithm is not accepted",
            TokenError::UnknownKey => "the token's key id is missing or unknown",
            TokenError::ForbiddenHeader => "the token carries a header this server does not accept",
            TokenError::BadSignature => "the token's signature is invalid",
            TokenError::Expired => "the token has expired",
            TokenError::NotYetValid => "the token is not valid yet",
            TokenError::WrongIssuer => "the token was issued by another issuer",
            TokenError::WrongAudience => "the token is meant for another audience",
            TokenError::MissingClaim => "the token lacks a required claim",
            TokenError::SigningFailed => "signing failed",
        }
    }
}

/// A freshly issued access token.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub claims: AccessTokenClaims,
}

/// A JWT in the JWS Compact Serialization (RFC 7515 §7.1): the base64url header and
/// claims, each their JSON, and the signature over the two, joined by dots. Signed
/// here rather than by `jsonwebtoken::encode`, which would parse the key again for
/// every token (see [`SigningKey`]); the header's `alg` must be the key's.
pub fn encode_jwt<T: Serialize>(
    header: &Header,
    claims: &T,
    key: &SigningKey,
) -> Result<String, TokenError> {
    if header.alg != key.algorithm().jwt_algorithm() {
        return Err(TokenError::SigningFailed);
    }
    let header = serde_json::to_vec(header).map_err(|_| TokenError::SigningFailed)?;
    let claims = serde_json::to_vec(claims).map_err(|_| TokenError::SigningFailed)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = key
        .sign(token.as_bytes())
        .map_err(|_| TokenError::SigningFailed)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// Mints access tokens with one key. Only the token function holds one.
pub struct TokenSigner {
    key_id: String,
    key: SigningKey,
    issuer: String,
    audience: String,
    lifetime_seconds: u64,
}

impl TokenSigner {
    /// The key was checked when it was parsed ([`SigningKey`]): nothing is signed
    /// here.
    pub fn new(
        key_id: String,
        key: SigningKey,
        issuer: String,
        audience: String,
        lifetime_seconds: u64,
    ) -> Self {
        TokenSigner {
            key_id,
            key,
            issuer,
            audience,
            lifetime_seconds,
        }
    }

    /// The `iss` of every token this signer mints.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.key.algorithm()
    }

    /// Signs an OpenID Connect ID token (Core §2): `typ` `JWT`, never `at+jwt`, so
    /// that no ID token passes as an access token at a resource server (RFC 8725
    /// §3.11), and the same `kid` and key as access tokens, published in the JWKS.
    pub fn sign_id_token(&self, claims: &crate::oidc::IdTokenClaims) -> Result<String, TokenError> {
        let mut header = Header::new(self.algorithm().jwt_algorithm());
        header.typ = Some(ID_TOKEN_TYPE.to_owned());
        header.kid = Some(self.key_id.clone());
        encode_jwt(&header, claims, &self.key)
    }

    pub fn issue(
        &self,
        subject: &str,
        username: Option<&str>,
        client_id: Option<&str>,
        scope: &ScopeSet,
    ) -> Result<IssuedToken, TokenError> {
        let now = crate::now_unix();
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: Audience::One(self.audience.clone()),
            exp: now + self.lifetime_seconds as i64,
            iat: now,
            jti: crate::random_token(16),
            client_id: client_id.map(str::to_owned),
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            username: username.map(str::to_owned),
        };
        let mut header = Header::new(self.algorithm().jwt_algorithm());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.key_id.clone());
        let access_token = encode_jwt(&header, &claims, &self.key)?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.lifetime_seconds,
            claims,
        })
    }
}

/// Verifies access tokens against a set of keys chosen by `kid`, so that a new key
/// can be introduced while tokens signed by the previous one are still valid.
pub struct TokenVerifier {
    algorithm: SigningAlgorithm,
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// For `id_token_hint`: signature and issuer, not expiry or audience.
    hint_validation: Validation,
}

/// The header fields we read ourselves before handing the token to `jsonwebtoken`.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}

impl TokenVerifier {
    pub fn new(
        algorithm: SigningAlgorithm,
        keys: HashMap<String, DecodingKey>,
        issuer: &str,
        audience: &str,
    ) -> Self {
        let mut validation = Validation::new(algorithm.jwt_algorithm());
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_SKEW_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut hint_validation = Validation::new(algorithm.jwt_algorithm());
        hint_validation.set_issuer(&[issuer]);
        hint_validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        // RP-Initiated Logout §2: the OP validates that it issued the token, and
        // accepts it after `exp` while its session is current or recent (the caller
        // acts on the session the `sid` names); `aud` is checked by the caller.
        hint_validation.validate_aud = false;
        hint_validation.validate_exp = false;
        TokenVerifier {
            algorithm,
            keys,
            validation,
            hint_validation,
        }
    }

    /// Verifies an `id_token_hint` (Core §3.1.2.1, RP-Initiated Logout §2): an ID
    /// token this service signed (the configured algorithm, a known `kid`, `typ`
    /// `JWT`, our `iss`), expired or not. The caller checks `aud` against the client.
    pub fn verify_id_token_hint(
        &self,
        token: &str,
    ) -> Result<crate::oidc::IdTokenHint, TokenError> {
        let key = self.header_key(token, |typ| typ.eq_ignore_ascii_case(ID_TOKEN_TYPE))?;
        jsonwebtoken::decode::<crate::oidc::IdTokenHint>(token, key, &self.hint_validation)
            .map(|data| data.claims)
            .map_err(|e| map_jwt_error(e.kind()))
    }

    /// Checks the header as both token kinds need it and picks the key by `kid`.
    fn header_key(
        &self,
        token: &str,
        typ_ok: impl Fn(&str) -> bool,
    ) -> Result<&DecodingKey, TokenError> {
        if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
            return Err(TokenError::Malformed);
        }
        let header_segment = token.split('.').next().unwrap_or_default();
        let header_json = URL_SAFE_NO_PAD
            .decode(header_segment)
            .map_err(|_| TokenError::Malformed)?;
        let header: RawHeader =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        // The exact, case-sensitive name: "none", "None", "HS256" on an ES256 server...
        if header.alg.as_deref() != Some(self.algorithm.name()) {
            return Err(TokenError::WrongAlgorithm);
        }
        if !header.typ.as_deref().is_some_and(typ_ok) {
            return Err(TokenError::WrongType);
        }
        if ["jku", "jwk", "x5u", "x5c", "crit"]
            .iter()
            .any(|name| header.other.contains_key(*name))
        {
            return Err(TokenError::ForbiddenHeader);
        }
        header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::UnknownKey)
    }

    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let key = self.header_key(token, |t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || t.eq_ignore_ascii_case("application/at+jwt")
        })?;
        let data = jsonwebtoken::decode::<AccessTokenClaims>(token, key, &self.validation)
            .map_err(|e| map_jwt_error(e.kind()))?;
        let claims = data.claims;
        if claims.iat > crate::now_unix() + CLOCK_SKEW_SECONDS as i64 {
            return Err(TokenError::NotYetValid);
        }
        if claims.sub.is_empty() || claims.jti.is_empty() {
            return Err(TokenError::MissingClaim);
        }
        Ok(claims)
    }
}

fn map_jwt_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
        // Base64, JSON, UTF-8, wrong segment count and key rejections alike.
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{self, GeneratedKey};
    use secrecy::ExposeSecret;

    const ISSUER: &str = "https://auth.example.com";
    const AUDIENCE: &str = "https://api.example.com";

    fn signer_for(key: &GeneratedKey, lifetime: u64) -> TokenSigner {
        TokenSigner::new(
            key.key_id.clone(),
            keys::signing_key(key.algorithm, &key.signing_key).unwrap(),
            ISSUER.into(),
            AUDIENCE.into(),
            lifetime,
        )
    }

    fn verifier_for(keys_: &[&GeneratedKey]) -> TokenVerifier {
        let algorithm = keys_[0].algorithm;
        let map = keys_
            .iter()
            .map(|k| {
                (
                    k.key_id.clone(),
                    keys::verification_key(algorithm, k.verification_key.expose_secret()).unwrap(),
                )
            })
            .collect();
        TokenVerifier::new(algorithm, map, ISSUER, AUDIENCE)
    }

    /// RFC 7515 §7.1: for the deterministic algorithms (RS256 is PKCS#1 v1.5, HS256 an
    /// HMAC) our JWS is byte for byte the one `jsonwebtoken` makes from the same key;
    /// ES256's signature is randomised, so it is checked by verifying it. A header
    /// naming another algorithm than the key's is refused.
    #[test]
    fn rfc7515_compact_jws_matches_jsonwebtoken() {
        let claims = serde_json::json!({"sub": "usr_1", "exp": crate::now_unix() + 60, "n": "é"});
        for algorithm in [
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Hs256,
            SigningAlgorithm::Es256,
        ] {
            let key = keys::generate(algorithm).unwrap();
            let mut header = Header::new(algorithm.jwt_algorithm());
            header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
            header.kid = Some(key.key_id.clone());
            let ours = encode_jwt(
                &header,
                &claims,
                &keys::signing_key(algorithm, &key.signing_key).unwrap(),
            )
            .unwrap();
            let material = key.signing_key.expose_secret().as_bytes();
            let theirs_key = match algorithm {
                SigningAlgorithm::Rs256 => jsonwebtoken::EncodingKey::from_rsa_pem(material),
                SigningAlgorithm::Es256 => jsonwebtoken::EncodingKey::from_ec_pem(material),
                SigningAlgorithm::Hs256 => Ok(jsonwebtoken::EncodingKey::from_secret(material)),
            }
            .unwrap();
            let theirs = jsonwebtoken::encode(&header, &claims, &theirs_key).unwrap();
            if algorithm == SigningAlgorithm::Es256 {
                let (ours_signed, _) = ours.rsplit_once('.').unwrap();
                let (theirs_signed, _) = theirs.rsplit_once('.').unwrap();
                assert_eq!(ours_signed, theirs_signed);
            } else {
                assert_eq!(ours, theirs, "{algorithm:?}");
            }
            let decoding =
                keys::verification_key(algorithm, key.verification_key.expose_secret()).unwrap();
            let mut validation = Validation::new(algorithm.jwt_algorithm());
            validation.required_spec_claims.clear();
            let decoded =
                jsonwebtoken::decode::<serde_json::Value>(&ours, &decoding, &validation).unwrap();
            assert_eq!(decoded.claims, claims);

            let other = match algorithm {
                SigningAlgorithm::Es256 => jsonwebtoken::Algorithm::RS256,
                _ => jsonwebtoken::Algorithm::ES256,
            };
            let wrong = Header::new(other);
            assert_eq!(
                encode_jwt(
                    &wrong,
                    &claims,
                    &keys::signing_key(algorithm, &key.signing_key).unwrap()
                )
                .err(),
                Some(TokenError::SigningFailed)
            );
        }
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// Re-signs arbitrary header and claims with `key` (for forging tests).
    fn sign_raw(
        key: &GeneratedKey,
        header: serde_json::Value,
        claims: serde_json::Value,
    ) -> String {
        let mut h: Header = serde_json::from_value(header.clone()).unwrap();
        h.alg = key.algorithm.jwt_algorithm();
        let encoding = keys::signing_key(key.algorithm, &key.signing_key).unwrap();
        let token = encode_jwt(&h, &claims, &encoding).unwrap();
        // Swap in the exact header we want, keeping the signature of the original
        // only where the header is unchanged.
        if serde_json::to_value(&h).unwrap() == header {
            token
        } else {
            let parts: Vec<&str> = token.split('.').collect();
            format!("{}.{}.{}", b64(&header), parts[1], parts[2])
        }
    }

    fn valid_claims() -> serde_json::Value {
        let now = crate::now_unix();
        serde_json::json!({"iss": ISSUER, "sub": "usr_1", "aud": AUDIENCE, "exp": now + 600,
            "iat": now, "jti": "j1"})
    }

    fn id_token_claims(exp: i64) -> crate::oidc::IdTokenClaims {
        serde_json::from_value(serde_json::json!({
            "iss": ISSUER, "sub": "usr_1", "aud": "web", "azp": "web", "exp": exp,
            "iat": exp - 300, "auth_time": exp - 400, "sid": "s1", "amr": ["pwd"],
            "at_hash": "x"
        }))
        .unwrap()
    }

    #[test]
    fn oidc_core_2_id_tokens_are_typ_jwt_and_come_back_as_hints_even_expired() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let key = keys::generate(algorithm).unwrap();
            let signer = signer_for(&key, 900);
            let verifier = verifier_for(&[&key]);
            let now = crate::now_unix();
            let token = signer.sign_id_token(&id_token_claims(now + 300)).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            assert_eq!(header.kid.as_deref(), Some(key.key_id.as_str()));
            assert_eq!(header.alg, algorithm.jwt_algorithm());
            let hint = verifier.verify_id_token_hint(&token).unwrap();
            assert_eq!((hint.sub.as_str(), hint.aud.as_str()), ("usr_1", "web"));
            assert_eq!(hint.sid.as_deref(), Some("s1"));
            // RP-Initiated Logout §2: an expired ID token is still a valid hint.
            let expired = signer.sign_id_token(&id_token_claims(now - 3600)).unwrap();
            assert!(verifier.verify_id_token_hint(&expired).is_ok());
            // RFC 8725 §3.11: neither kind passes for the other.
            assert_eq!(verifier.verify(&token), Err(TokenError::WrongType));
            let access = signer
                .issue("usr_1", None, Some("web"), &ScopeSet::default())
                .unwrap()
                .access_token;
            assert_eq!(
                verifier.verify_id_token_hint(&access),
                Err(TokenError::WrongType)
            );
            // Another key, another issuer, a tampered payload: refused.
            let stranger = keys::generate(algorithm).unwrap();
            let foreign = signer_for(&stranger, 900)
                .sign_id_token(&id_token_claims(now + 300))
                .unwrap();
            assert!(verifier.verify_id_token_hint(&foreign).is_err());
            let mut other_issuer = id_token_claims(now + 300);
            other_issuer.iss = "https://evil.example.com".into();
            let token = signer.sign_id_token(&other_issuer).unwrap();
            assert_eq!(
                verifier.verify_id_token_hint(&token),
                Err(TokenError::WrongIssuer)
            );
        }
    }

    #[test]
    fn rfc9068_tokens_round_trip_for_every_algorithm() {
        for algorithm in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Hs256,
        ] {
            let key = keys::generate(algorithm).unwrap();
            let issued = signer_for(&key, 900)
                .issue(
                    "usr_1",
                    Some("alice"),
                    Some("web"),
                    &ScopeSet::parse("read write").unwrap(),
                )
                .unwrap();
            assert_eq!(issued.expires_in, 900);
            let header = jsonwebtoken::decode_header(&issued.access_token).unwrap();
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(header.kid.as_deref(), Some(key.key_id.as_str()));
            let claims = verifier_for(&[&key]).verify(&issued.access_token).unwrap();
            assert_eq!(claims, issued.claims);
            assert_eq!(claims.iss, ISSUER);
            assert_eq!(claims.aud, Audience::One(AUDIENCE.into()));
            assert_eq!(claims.exp - claims.iat, 900);
            assert_eq!(claims.scope.as_deref(), Some("read write"));
            assert_eq!(claims.client_id.as_deref(), Some("web"));
        }
    }

    #[test]
    fn require_scope_matches_whole_scope_tokens() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let signer = signer_for(&key, 900);
        let claims = signer
            .issue(
                "s",
                None,
                None,
                &ScopeSet::parse("orders:read profile").unwrap(),
            )
            .unwrap()
            .claims;
        assert!(claims.require_scope("orders:read").is_ok());
        assert!(claims.require_scope("profile").is_ok());
        for missing in ["orders", "orders:write", "", "orders:read profile"] {
            assert_eq!(
                claims.require_scope(missing),
                Err(crate::error::ApiError::InsufficientScope {
                    required: missing.into()
                }),
                "{missing:?}"
            );
        }
        let none = signer
            .issue("s", None, None, &ScopeSet::default())
            .unwrap()
            .claims;
        assert!(none.require_scope("profile").is_err());
    }

    #[test]
    fn jti_is_unique_per_token() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let signer = signer_for(&key, 900);
        let a = signer.issue("s", None, None, &ScopeSet::default()).unwrap();
        let b = signer.issue("s", None, None, &ScopeSet::default()).unwrap();
        assert_ne!(a.claims.jti, b.claims.jti);
        assert!(a.claims.jti.len() >= 22);
    }

    #[test]
    fn keys_rotate_by_kid() {
        let old = keys::generate(SigningAlgorithm::Es256).unwrap();
        let new = keys::generate(SigningAlgorithm::Es256).unwrap();
        let old_token = signer_for(&old, 900)
            .issue("s", None, None, &ScopeSet::default())
            .unwrap();
        let new_token = signer_for(&new, 900)
            .issue("s", None, None, &ScopeSet::default())
            .unwrap();
        let both = verifier_for(&[&old, &new]);
        assert!(both.verify(&old_token.access_token).is_ok());
        assert!(both.verify(&new_token.access_token).is_ok());
        let only_new = verifier_for(&[&new]);
        assert_eq!(
            only_new.verify(&old_token.access_token),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn rfc8725_forged_and_malformed_tokens_are_refused() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let other = keys::generate(SigningAlgorithm::Es256).unwrap();
        let verifier = verifier_for(&[&key]);
        let good = signer_for(&key, 900)
            .issue("usr_1", None, None, &ScopeSet::default())
            .unwrap();
        let parts: Vec<&str> = good.access_token.split('.').collect();
        let header =
            |alg: &str, typ: &str| serde_json::json!({"alg": alg, "typ": typ, "kid": key.key_id});
        let now = crate::now_unix();

        // HS256 signed with the ES256 public key's PEM as the HMAC secret (key confusion).
        let confused = {
            let mut h = Header::new(jsonwebtoken::Algorithm::HS256);
            h.typ = Some("at+jwt".into());
            h.kid = Some(key.key_id.clone());
            jsonwebtoken::encode(
                &h,
                &valid_claims(),
                &jsonwebtoken::EncodingKey::from_secret(
                    key.verification_key.expose_secret().as_bytes(),
                ),
            )
            .unwrap()
        };
        let mut tampered_claims = valid_claims();
        tampered_claims["sub"] = "usr_admin".into();

        let cases: Vec<(&str, String, TokenError)> = vec![
            (
                "alg none",
                format!("{}.{}.", b64(&header("none", "at+jwt")), parts[1]),
                TokenError::WrongAlgorithm,
            ),
            (
                "alg None",
                format!("{}.{}.", b64(&header("None", "at+jwt")), parts[1]),
                TokenError::WrongAlgorithm,
            ),
            (
                "alg NONE",
                format!("{}.{}.", b64(&header("NONE", "at+jwt")), parts[1]),
                TokenError::WrongAlgorithm,
            ),
            (
                "HS256 with public key",
                confused,
                TokenError::WrongAlgorithm,
            ),
            (
                "wrong key",
                sign_raw(&other, header("ES256", "at+jwt"), valid_claims()),
                TokenError::BadSignature,
            ),
            (
                "tampered payload",
                format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
                TokenError::BadSignature,
            ),
            (
                "unknown kid",
                sign_raw(
                    &other,
                    serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": other.key_id}),
                    valid_claims(),
                ),
                TokenError::UnknownKey,
            ),
            (
                "no kid",
                format!(
                    "{}.{}.{}",
                    b64(&serde_json::json!({"alg": "ES256", "typ": "at+jwt"})),
                    parts[1],
                    parts[2]
                ),
                TokenError::UnknownKey,
            ),
            (
                "typ JWT",
                format!("{}.{}.{}", b64(&header("ES256", "JWT")), parts[1], parts[2]),
                TokenError::WrongType,
            ),
            (
                "jku injection",
                format!(
                    "{}.{}.{}",
                    b64(
                        &serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": key.key_id, "jku": "https://evil.example/jwks"})
                    ),
                    parts[1],
                    parts[2]
                ),
                TokenError::ForbiddenHeader,
            ),
            (
                "expired",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": ISSUER, "sub": "s", "aud": AUDIENCE, "exp": now - 120, "iat": now - 1000, "jti": "j"}),
                ),
                TokenError::Expired,
            ),
            (
                "issued in the future",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": ISSUER, "sub": "s", "aud": AUDIENCE, "exp": now + 6000, "iat": now + 3000, "jti": "j"}),
                ),
                TokenError::NotYetValid,
            ),
            (
                "wrong issuer",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": "https://evil.example", "sub": "s", "aud": AUDIENCE, "exp": now + 60, "iat": now, "jti": "j"}),
                ),
                TokenError::WrongIssuer,
            ),
            (
                "wrong audience",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": ISSUER, "sub": "s", "aud": "other", "exp": now + 60, "iat": now, "jti": "j"}),
                ),
                TokenError::WrongAudience,
            ),
            (
                "no exp",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": ISSUER, "sub": "s", "aud": AUDIENCE, "iat": now, "jti": "j"}),
                ),
                TokenError::Malformed,
            ),
            (
                "no jti",
                sign_raw(
                    &key,
                    header("ES256", "at+jwt"),
                    serde_json::json!({"iss": ISSUER, "sub": "s", "aud": AUDIENCE, "exp": now + 60, "iat": now}),
                ),
                TokenError::Malformed,
            ),
            (
                "truncated",
                good.access_token[..good.access_token.len() - 10].to_owned(),
                TokenError::BadSignature,
            ),
            (
                "two segments",
                format!("{}.{}", parts[0], parts[1]),
                TokenError::Malformed,
            ),
            (
                "four segments",
                format!("{}.x", good.access_token),
                TokenError::Malformed,
            ),
            (
                "not base64url",
                format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
                TokenError::Malformed,
            ),
            (
                "oversized",
                format!("{}.{}.{}", parts[0], "A".repeat(MAX_TOKEN_BYTES), parts[2]),
                TokenError::Malformed,
            ),
            ("empty", String::new(), TokenError::Malformed),
        ];
        for (name, token, expected) in cases {
            assert_eq!(verifier.verify(&token), Err(expected), "{name}");
        }
    }

    #[test]
    fn audience_arrays_containing_ours_are_accepted() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let now = crate::now_unix();
        let token = sign_raw(
            &key,
            serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": key.key_id}),
            serde_json::json!({"iss": ISSUER, "sub": "s", "aud": ["x", AUDIENCE], "exp": now + 60, "iat": now, "jti": "j"}),
        );
        assert!(verifier_for(&[&key]).verify(&token).is_ok());
    }

    #[test]
    fn small_clock_skew_is_tolerated() {
        let key = keys::generate(SigningAlgorithm::Es256).unwrap();
        let now = crate::now_unix();
        let token = sign_raw(
            &key,
            serde_json::json!({"alg": "ES256", "typ": "application/at+jwt", "kid": key.key_id}),
            serde_json::json!({"iss": ISSUER, "sub": "s", "aud": AUDIENCE, "exp": now - 10, "iat": now - 100, "jti": "j"}),
        );
        assert!(verifier_for(&[&key]).verify(&token).is_ok());
    }
}
