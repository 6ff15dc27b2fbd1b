//! The authorization code flow's domain (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1):
//! the authorization request as parsed from `GET /authorize`, the pending request the
//! service keeps while the user signs in, the authorization code, and consents.
//!
//! Nothing here knows HTTP or the store: the route ([`crate::routes::authorize`])
//! reads the request and the store keeps the records.

use crate::clients::ClientId;
use crate::oauth::{FormParameters, ScopeSet};
use crate::pkce::{ChallengeError, CodeChallenge};
use crate::refresh::hash_token;

/// How long a pending authorization request (the login form) stays usable.
pub const PENDING_LIFETIME_SECONDS: i64 = 10 * 60;
/// Default authorization code lifetime (`AUTHORIZATION_CODE_TTL_SECONDS`).
pub const DEFAULT_CODE_LIFETIME_SECONDS: i64 = 60;
/// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is
/// RECOMMENDED."
pub const MAX_CODE_LIFETIME_SECONDS: i64 = 600;
/// Longest `state`, `nonce` or `login_hint` kept: they are echoed or stored, and
/// nothing legitimate needs more.
pub const MAX_ECHOED_PARAMETER_BYTES: usize = 1024;

/// The `prompt` parameter (OpenID Connect Core §3.1.2.1): a space-delimited set of
/// `none`, `login`, `consent` and `select_account`. Without any, a live session is
/// used and the consent page shown only when a consent is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    /// Never show a page: without a session `login_required`, without a consent
    /// `consent_required`. Alone or not at all.
    pub none: bool,
    /// Ask for the password even with a live session.
    pub login: bool,
    /// Show the consent page even when the user consented before, and even for a
    /// first-party client.
    pub consent: bool,
    /// Let the user choose the account: there is no account list here, so the
    /// login form is shown, as for `login`, and whoever signs in is the account.
    pub select_account: bool,
}

impl Prompt {
    pub const DEFAULT: Prompt = Prompt {
        none: false,
        login: false,
        consent: false,
        select_account: false,
    };
    pub const NONE: Prompt = Prompt {
        none: true,
        ..Prompt::DEFAULT
    };
    pub const LOGIN: Prompt = Prompt {
        login: true,
        ..Prompt::DEFAULT
    };

    /// Core §3.1.2.1: "If this parameter contains none with any other value, an
    /// error is returned"; an unknown value is an error too.
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let mut prompt = Prompt::DEFAULT;
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            match token {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                _ => {
                    return Err(AuthorizationError::invalid_request(
                        "prompt may hold none, login, consent and select_account only",
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err(AuthorizationError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }

    /// Whether the password is asked for even with a live session.
    pub fn asks_for_password(self) -> bool {
        self.login || self.select_account
    }
}

impl std::fmt::Display for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
            (self.select_account, "select_account"),
        ];
        let set: Vec<&str> = values.iter().filter(|v| v.0).map(|v| v.1).collect();
        f.write_str(&set.join(" "))
    }
}

/// An error of an authorization request whose redirect URI is verified: it goes
/// back to the client as a redirect (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationError {
    /// `invalid_request`, `unsupported_response_type`, `unauthorized_client`,
    /// `invalid_scope`, `access_denied`, `server_error`, `temporarily_unavailable`
    /// (RFC 6749 §4.1.2.1); `login_required`, `consent_required`,
    /// `request_not_supported`, `request_uri_not_supported` (OpenID Connect Core
    /// §3.1.2.6).
    pub code: &'static str,
    pub description: String,
}

impl AuthorizationError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        AuthorizationError {
            code,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
}

/// Where an authorization request's answer goes: verified against the client's
/// registration before anything else is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRedirect {
    pub redirect_uri: String,
    /// Whether the request named it: then the token request must name it too
    /// (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// Echoed in every redirect (RFC 6749 §4.1.2). Refused when over-long, so that
    /// what is echoed is always what was sent.
    pub state: Option<String>,
}

/// The parameters of a valid authorization request, once client and redirect URI
/// are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationParameters {
    /// `None`: everything the client and the user may have (RFC 6749 §3.3).
    pub scope: Option<ScopeSet>,
    pub code_challenge: CodeChallenge,
    pub prompt: Prompt,
    /// Seconds: a sign-in older than this asks for the password again.
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// Echoed in the ID token (OpenID Connect Core §3.1.2.1).
    pub nonce: Option<String>,
    /// The `sub` of a verified `id_token_hint`: whoever signs in must be that user
    /// (Core §3.1.2.1), or the answer is `login_required`. Set by the route after
    /// verifying the hint; [`parameters`] leaves it `None`.
    pub hint_subject: Option<String>,
}

/// Reads the query of `GET /authorize`. Parameters may appear at most once
/// (RFC 6749 §3.1); a query that breaks that cannot be trusted to say where to
/// redirect, so the caller shows an error page.
pub fn query_parameters(query: Option<&str>) -> Result<FormParameters, String> {
    FormParameters::parse(query.unwrap_or("").as_bytes()).map_err(|error| match error {
        crate::error::ApiError::InvalidRequest(d) => d.into_owned(),
        _ => "the request could not be read".to_owned(),
    })
}

/// `state`, read before the other parameters because every later error echoes it.
pub fn state(query: &FormParameters) -> Result<Option<String>, AuthorizationError> {
    match query.get("state") {
        Some(state) if state.len() > MAX_ECHOED_PARAMETER_BYTES => Err(
            AuthorizationError::invalid_request("state is longer than 1024 bytes"),
        ),
        other => Ok(other.map(str::to_owned)),
    }
}

/// The parameters after client and redirect URI (RFC 6749 §4.1.1, RFC 7636 §4.3,
/// OpenID Connect Core §3.1.2.1 for `prompt`, `max_age`, `login_hint`, `nonce`).
pub fn parameters(query: &FormParameters) -> Result<AuthorizationParameters, AuthorizationError> {
    // Core §6: request objects are not supported, and say so with their own errors
    // rather than being ignored (their parameters would override the query's).
    if query.get("request").is_some() {
        return Err(AuthorizationError::new(
            "request_not_supported",
            "request objects are not supported; send the parameters in the query",
        ));
    }
    if query.get("request_uri").is_some() {
        return Err(AuthorizationError::new(
            "request_uri_not_supported",
            "request_uri is not supported; send the parameters in the query",
        ));
    }
    match query.get("response_type") {
        None => {
            return Err(AuthorizationError::invalid_request(
                "response_type is missing",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(AuthorizationError::new(
                "unsupported_response_type",
                "this server supports response_type=code only",
            ));
        }
    }
    let scope = query
        .get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|_| {
            AuthorizationError::new(
                "invalid_scope",
                "a scope contains a character that RFC 6749 does not allow",
            )
        })?;
    let code_challenge = CodeChallenge::parse(
        query.get("code_challenge"),
        query.get("code_challenge_method"),
    )
    .map_err(|error: ChallengeError| AuthorizationError::invalid_request(error.to_string()))?;
    let prompt = query
        .get("prompt")
        .map(Prompt::parse)
        .transpose()?
        .unwrap_or_default();
    let max_age = query
        .get("max_age")
        .map(|v| {
            v.parse::<u32>().map(i64::from).map_err(|_| {
                AuthorizationError::invalid_request("max_age must be a number of seconds")
            })
        })
        .transpose()?;
    let bounded = |name: &'static str| -> Result<Option<String>, AuthorizationError> {
        match query.get(name) {
            Some(v) if v.len() > MAX_ECHOED_PARAMETER_BYTES => Err(
                AuthorizationError::invalid_request(format!("{name} is longer than 1024 bytes")),
            ),
            other => Ok(other.map(str::to_owned)),
        }
    };
    Ok(AuthorizationParameters {
        scope,
        code_challenge,
        prompt,
        max_age,
        login_hint: bounded("login_hint")?,
        nonce: bounded("nonce")?,
        hint_subject: None,
    })
}

/// The query of the redirect back to the client: `code` and `state` on success, or
/// `error`, `error_description` and `state`; `iss` always (RFC 9207 §2), so that a
/// client talking to several servers knows which one answered.
pub fn redirect_location(
    redirect_uri: &str,
    issuer: &str,
    outcome: &RedirectOutcome<'_>,
) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(4);
    match outcome {
        RedirectOutcome::Code { code, .. } => pairs.push(("code", code)),
        RedirectOutcome::Error { error, .. } => {
            pairs.push(("error", error.code));
            pairs.push(("error_description", &error.description));
        }
    }
    let state = match outcome {
        RedirectOutcome::Code { state, .. } | RedirectOutcome::Error { state, .. } => *state,
    };
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        // Registered URIs always parse (authctl checks them); never reached.
        Err(_) => return redirect_uri.to_owned(),
    };
    url.query_pairs_mut().extend_pairs(pairs);
    url.into()
}

/// What a redirect to the client carries.
pub enum RedirectOutcome<'a> {
    Code {
        code: &'a str,
        state: Option<&'a str>,
    },
    Error {
        error: &'a AuthorizationError,
        state: Option<&'a str>,
    },
}

/// An authorization request waiting for the user (the login or consent page), kept
/// server-side so that the form carries only an opaque id and a CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    /// SHA-256 of the id in the form: the storage key. The id itself is not stored.
    pub id_hash: String,
    /// SHA-256 of the CSRF token in the form.
    pub csrf_hash: String,
    /// SHA-256 of the browser-binding cookie of the browser that started it: a form
    /// posted from another browser (login CSRF) is refused.
    pub browser_hash: String,
    pub client_id: ClientId,
    pub redirect: VerifiedRedirect,
    pub parameters: AuthorizationParameters,
    pub created_at: i64,
    /// [`PENDING_LIFETIME_SECONDS`] after creation; also the item's TTL.
    pub expires_at: i64,
}

impl PendingAuthorization {
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }
}

/// An issued authorization code as stored: everything but the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRecord {
    /// SHA-256 of the code: the storage key.
    pub code_hash: String,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub code_challenge: CodeChallenge,
    /// What the tokens will carry, decided when the user signed in (and consented).
    pub scope: ScopeSet,
    pub user_id: String,
    pub username_key: String,
    /// When the user last typed their password (a session's sign-in time).
    pub auth_time: i64,
    pub nonce: Option<String>,
    /// The session the code was issued in ([`crate::sessions::SessionRecord::sid`]),
    /// for the ID token's `sid`. `None` only for codes stored before it existed.
    pub sid: Option<String>,
    /// The user's credential generation at sign-in: a password change in between
    /// makes the code worthless.
    pub credential_generation: u32,
    pub created_at: i64,
    pub expires_at: i64,
}

impl AuthorizationCodeRecord {
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// The id of the refresh-token family issued from this code, derived from it so
    /// that a replay can revoke the family without another lookup, even while the
    /// first redemption is still storing it (RFC 6749 §4.1.2: a code used twice
    /// revokes what it issued).
    pub fn family_id(&self) -> String {
        family_id_of_code(&self.code_hash)
    }
}

pub fn family_id_of_code(code_hash: &str) -> String {
    format!(
        "fam_c{}",
        &hash_token(&format!("family-of-code:{code_hash}"))[..32]
    )
}

/// A stored code and whether it was redeemed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub record: AuthorizationCodeRecord,
    pub used: bool,
}

/// A new authorization code: 256 random bits for the client, the hash for the store.
pub struct NewAuthorizationCode {
    pub code: String,
    pub code_hash: String,
}

impl NewAuthorizationCode {
    pub fn generate() -> Self {
        let code = crate::random_token(32);
        NewAuthorizationCode {
            code_hash: hash_token(&code),
            code,
        }
    }
}

/// The lookup key of a presented code; a code of the wrong shape never reaches the
/// store.
pub fn presented_code_hash(code: &str) -> Option<String> {
    let well_formed = code.len() == 43
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| hash_token(code))
}

/// A user's consent to a client that is not first-party, for some scopes. A later
/// request for scopes within them needs no consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub user_id: String,
    pub client_id: ClientId,
    pub scope: ScopeSet,
    pub granted_at: i64,
}

impl ConsentRecord {
    pub fn covers(&self, requested: &ScopeSet) -> bool {
        requested.is_subset(&self.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn query(q: &str) -> FormParameters {
        query_parameters(Some(q)).unwrap()
    }

    fn valid() -> String {
        format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256")
    }

    #[test]
    fn rfc6749_4_1_1_a_minimal_request_parses() {
        let p = parameters(&query(&valid())).unwrap();
        assert_eq!(p.code_challenge.as_str(), CHALLENGE);
        assert_eq!(p.prompt, Prompt::DEFAULT);
        assert_eq!(p.scope, None);
        let p = parameters(&query(&format!(
            "{}&scope=read+write&prompt=login&max_age=0&login_hint=alice&nonce=n-1",
            valid()
        )))
        .unwrap();
        assert_eq!(p.scope.unwrap().to_string(), "read write");
        assert_eq!(p.prompt, Prompt::LOGIN);
        assert_eq!(p.max_age, Some(0));
        assert_eq!(p.login_hint.as_deref(), Some("alice"));
        assert_eq!(p.nonce.as_deref(), Some("n-1"));
    }

    #[test]
    fn oidc_core_3_1_2_1_prompt_is_a_set_and_none_stands_alone() {
        let prompt = |value: &str| {
            parameters(&query(&format!("{}&prompt={value}", valid()))).map(|p| p.prompt)
        };
        let both = prompt("login+consent").unwrap();
        assert!(both.login && both.consent && !both.none && !both.select_account);
        assert_eq!(both.to_string(), "login consent");
        let select = prompt("select_account").unwrap();
        assert!(select.asks_for_password() && !select.consent);
        assert!(prompt("consent").unwrap().consent);
        assert_eq!(prompt("none").unwrap(), Prompt::NONE);
        for bad in ["none+login", "consent+none", "bogus", "LOGIN"] {
            assert_eq!(prompt(bad).unwrap_err().code, "invalid_request", "{bad}");
        }
        // What Display writes, parse reads back (the pending request stores it).
        for value in ["", "none", "login", "login consent select_account"] {
            let parsed = Prompt::parse(value).unwrap();
            assert_eq!(parsed.to_string(), value);
        }
    }

    #[test]
    fn oidc_core_6_request_objects_are_refused_by_name() {
        let error = parameters(&query(&format!("{}&request=eyJ.e30.", valid()))).unwrap_err();
        assert_eq!(error.code, "request_not_supported");
        let error = parameters(&query(&format!(
            "{}&request_uri=https%3A%2F%2Frp.example%2Fr",
            valid()
        )))
        .unwrap_err();
        assert_eq!(error.code, "request_uri_not_supported");
        // ui_locales and display are accepted and ignored.
        assert!(
            parameters(&query(&format!(
                "{}&ui_locales=fr-CA+fr&display=popup",
                valid()
            )))
            .is_ok()
        );
    }

    #[test]
    fn rfc6749_4_1_2_1_response_type_missing_or_other() {
        let missing = parameters(&query(&valid().replace("response_type=code&", ""))).unwrap_err();
        assert_eq!(missing.code, "invalid_request");
        for other in ["token", "code+id_token", "CODE"] {
            let error =
                parameters(&query(&valid().replace("=code&", &format!("={other}&")))).unwrap_err();
            assert_eq!(error.code, "unsupported_response_type", "{other}");
        }
    }

    #[test]
    fn rfc7636_pkce_is_required_with_s256() {
        for q in [
            "response_type=code".to_owned(),
            valid().replace("S256", "plain"),
            valid().replace("&code_challenge_method=S256", ""),
            valid().replace(CHALLENGE, &CHALLENGE[1..]),
        ] {
            assert_eq!(
                parameters(&query(&q)).unwrap_err().code,
                "invalid_request",
                "{q}"
            );
        }
    }

    #[test]
    fn bad_prompt_max_age_and_overlong_values_are_invalid_request() {
        for extra in [
            "&prompt=bogus",
            "&max_age=-1",
            "&max_age=soon",
            &format!("&nonce={}", "n".repeat(1025)),
            &format!("&login_hint={}", "a".repeat(1025)),
        ] {
            let error = parameters(&query(&format!("{}{extra}", valid()))).unwrap_err();
            assert_eq!(error.code, "invalid_request", "{extra}");
        }
        assert!(state(&query(&format!("state={}", "s".repeat(1025)))).is_err());
        assert_eq!(state(&query("state=xyz")).unwrap().as_deref(), Some("xyz"));
    }

    #[test]
    fn rfc6749_3_1_repeated_parameters_are_refused() {
        assert!(query_parameters(Some("client_id=a&client_id=b")).is_err());
        assert!(query_parameters(Some("redirect_uri=%zz")).is_err());
    }

    #[test]
    fn rfc9207_redirects_carry_iss_and_state_and_keep_the_registered_query() {
        let location = redirect_location(
            "https://app.example/cb?tenant=1",
            "https://auth.example",
            &RedirectOutcome::Code {
                code: "abc",
                state: Some("s p&ce"),
            },
        );
        assert_eq!(
            location,
            "https://app.example/cb?tenant=1&code=abc&state=s+p%26ce&iss=https%3A%2F%2Fauth.example"
        );
        let error = AuthorizationError::new("access_denied", "the user said no");
        let location = redirect_location(
            "com.example.app:/cb",
            "https://auth.example",
            &RedirectOutcome::Error {
                error: &error,
                state: None,
            },
        );
        assert_eq!(
            location,
            "com.example.app:/cb?error=access_denied&error_description=the+user+said+no&iss=https%3A%2F%2Fauth.example"
        );
    }

    #[test]
    fn codes_are_256_bits_and_only_well_formed_ones_are_looked_up() {
        let code = NewAuthorizationCode::generate();
        assert_eq!(code.code.len(), 43);
        assert_eq!(
            presented_code_hash(&code.code),
            Some(code.code_hash.clone())
        );
        assert_eq!(presented_code_hash("short"), None);
        assert_eq!(presented_code_hash(&format!("{}=", &code.code[1..])), None);
        assert_ne!(code.code_hash, NewAuthorizationCode::generate().code_hash);
        assert!(family_id_of_code(&code.code_hash).starts_with("fam_c"));
    }
}
