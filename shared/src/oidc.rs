//! OpenID Connect (Core 1.0): the identity scopes, the claims each one releases,
//! and the ID token.
//!
//! An ID token is issued only by the authorization code grant (and refreshes of
//! it) when the authorization request's scope contained `openid`: that is the one
//! flow where the service knows when and how the user signed in (`auth_time`, `amr`,
//! the session `sid`) and the client sent a `nonce` to bind.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::oauth::ScopeSet;
use crate::users::UserRecord;

/// Core §3.1.2.1: the scope that makes a request an OpenID Connect request.
pub const OPENID: &str = "openid";
/// Core §5.4: `name`, `preferred_username`, `updated_at`.
pub const PROFILE: &str = "profile";
/// Core §5.4: `email`, `email_verified`.
pub const EMAIL: &str = "email";

/// The scopes that release identity claims rather than access to an API. A client
/// registered for them gets them for every user: they are about the user, not
/// permissions an administrator hands out per user.
pub const IDENTITY_SCOPES: [&str; 3] = [OPENID, PROFILE, EMAIL];

/// Every claim this provider can release (Discovery §3 `claims_supported`).
pub const CLAIMS_SUPPORTED: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "amr",
    "at_hash",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// Default ID token lifetime (`ID_TOKEN_TTL_SECONDS`): it proves a sign-in to the
/// client once, right after it; nothing needs it to live long.
pub const DEFAULT_ID_TOKEN_TTL_SECONDS: u64 = 300;

pub fn is_identity_scope(scope: &str) -> bool {
    IDENTITY_SCOPES.contains(&scope)
}

/// The claims about the user that a scope releases (Core §5.1, §5.4), shared by the
/// ID token and the UserInfo response. `sub` is always there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct UserClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Seconds since the epoch (Core §5.1: a JSON number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Present whenever `email` is: false unless an administrator verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserClaims {
    /// What `scope` releases of `user`. Claims the user has no value for are left
    /// out (Core §5.3.2: "If a Claim is not returned, that Claim Name SHOULD be
    /// omitted").
    pub fn of(user: &UserRecord, scope: &ScopeSet) -> Self {
        let mut claims = UserClaims {
            sub: user.user_id.clone(),
            ..UserClaims::default()
        };
        if scope.contains(PROFILE) {
            // Core §5.3.2: a claim without a value is left out, never "".
            claims.name = user.full_name.clone().filter(|name| !name.is_empty());
            claims.preferred_username = Some(user.username.as_str().to_owned());
            claims.updated_at = Some(user.updated_at);
        }
        if scope.contains(EMAIL)
            && let Some(email) = &user.email
        {
            claims.email = Some(email.clone());
            claims.email_verified = Some(user.email_verified);
        }
        claims
    }
}

/// The claims of an ID token (Core §2, §3.1.3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// The client the token is for: one audience, its client id.
    pub aud: String,
    /// The authorized party (Core §2): the same client id.
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    /// When the user last typed the password: under SSO, the session's sign-in, not
    /// this request's.
    pub auth_time: i64,
    /// Exactly as the authorization request sent it; absent when it sent none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The sign-in session (Front-/Back-Channel Logout's `sid`): RP-initiated logout
    /// ends this session when the ID token comes back as `id_token_hint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// RFC 8176: `pwd`, the only way users sign in here.
    pub amr: Vec<String>,
    /// Core §3.1.3.6: binds the access token issued with it.
    pub at_hash: String,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// What the sign-in behind a code (or a refresh family started from one) remembers
/// for its ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFacts {
    pub auth_time: i64,
    /// The session id (see [`crate::sessions::SessionRecord::sid`]).
    pub sid: Option<String>,
}

impl IdTokenClaims {
    /// The claims of an ID token for `client_id`, issued with `access_token` at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issuer: &str,
        client_id: &str,
        user: &UserRecord,
        scope: &ScopeSet,
        facts: &SignInFacts,
        nonce: Option<&str>,
        access_token: &str,
        now: i64,
        lifetime_seconds: u64,
    ) -> Self {
        IdTokenClaims {
            iss: issuer.to_owned(),
            aud: client_id.to_owned(),
            azp: client_id.to_owned(),
            exp: now + lifetime_seconds as i64,
            iat: now,
            auth_time: facts.auth_time,
            nonce: nonce.map(str::to_owned),
            sid: facts.sid.clone(),
            amr: vec!["pwd".to_owned()],
            at_hash: at_hash(access_token),
            user: UserClaims::of(user, scope),
        }
    }
}

/// Core §3.1.3.6: the base64url of the left half of the hash of the access token's
/// ASCII octets, with the hash of the ID token's `alg`: SHA-256 for ES256, RS256 and
/// HS256 alike.
pub fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// The claims of an `id_token_hint` that the service reads (Core §3.1.2.1,
/// RP-Initiated Logout §2). Only tokens this service signed are accepted. An expired
/// one still identifies its user and session: RP-Initiated Logout §2 has the OP
/// accept it while the session it names is current or recent, and what logout ends
/// is exactly that session (`sid`), so the hint of an ended session ends nothing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenHint {
    pub sub: String,
    pub aud: String,
    #[serde(default)]
    pub sid: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwords::PasswordHash;
    use crate::users::Username;

    fn user() -> UserRecord {
        let mut user = UserRecord::new(
            Username::parse("Alice").unwrap(),
            PasswordHash::parse("$2b$04$abcdefghijklmnopqrstuu5Ro1GRuOLyeXW.3M0aCS6cf.2Qb3bSm")
                .unwrap(),
        );
        user.full_name = Some("Alice Liddell".into());
        user.email = Some("alice@example.com".into());
        user.updated_at = 1_700_000_000;
        user
    }

    #[test]
    fn core_5_4_each_scope_releases_its_claims_and_sub_is_always_there() {
        let user = user();
        let only = |s: &str| UserClaims::of(&user, &ScopeSet::parse(s).unwrap());
        let openid = only("openid");
        assert_eq!(
            openid,
            UserClaims {
                sub: user.user_id.clone(),
                ..UserClaims::default()
            }
        );
        let profile = only("openid profile");
        assert_eq!(profile.name.as_deref(), Some("Alice Liddell"));
        assert_eq!(profile.preferred_username.as_deref(), Some("Alice"));
        assert_eq!(profile.updated_at, Some(1_700_000_000));
        assert_eq!(profile.email, None);
        let email = only("openid email");
        assert_eq!(email.email.as_deref(), Some("alice@example.com"));
        assert_eq!(email.email_verified, Some(false), "unverified by default");
        assert_eq!(email.name, None);
        let mut verified = user.clone();
        verified.email_verified = true;
        assert_eq!(
            UserClaims::of(&verified, &ScopeSet::parse("email").unwrap()).email_verified,
            Some(true)
        );
        let mut unnamed = user.clone();
        unnamed.full_name = Some(String::new());
        let claims = UserClaims::of(&unnamed, &ScopeSet::parse("openid profile").unwrap());
        assert_eq!(claims.name, None, "§5.3.2: never an empty string");
        let mut no_email = user.clone();
        no_email.email = None;
        let claims = UserClaims::of(&no_email, &ScopeSet::parse("openid email").unwrap());
        assert_eq!((claims.email, claims.email_verified), (None, None));
    }

    #[test]
    fn core_3_1_3_6_at_hash_is_the_left_half_of_sha256() {
        // The example of OpenID Connect Core's Appendix A.3 (RS256, SHA-256).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn id_token_claims_serialise_flat_and_leave_out_a_missing_nonce() {
        let user = user();
        let facts = SignInFacts {
            auth_time: 1_700_000_100,
            sid: Some("s1".into()),
        };
        let claims = IdTokenClaims::new(
            "https://auth.example.com",
            "web",
            &user,
            &ScopeSet::parse("openid profile").unwrap(),
            &facts,
            None,
            "token",
            1_700_000_200,
            300,
        );
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["aud"], "web");
        assert_eq!(json["azp"], "web");
        assert_eq!(json["exp"], 1_700_000_500);
        assert_eq!(json["auth_time"], 1_700_000_100);
        assert_eq!(json["amr"], serde_json::json!(["pwd"]));
        assert_eq!(json["preferred_username"], "Alice");
        assert_eq!(json["sub"], user.user_id.as_str());
        assert!(json.get("nonce").is_none());
        assert!(json.get("email").is_none());
    }
}
