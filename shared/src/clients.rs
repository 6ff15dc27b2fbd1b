//! OAuth clients (RFC 6749 §2): the registry record, client authentication
//! (§2.3.1: `client_secret_basic` and `client_secret_post`) and the grants a client
//! may use.
//!
//! Every token and revocation request names a registered client. A public client
//! (a browser or mobile app, which cannot keep a secret) identifies itself with
//! `client_id` alone; a confidential client (a server) must also prove its secret,
//! which is stored only as a bcrypt hash.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};
use secrecy::SecretString;

use crate::error::ApiError;
use crate::oauth::FormParameters;
use crate::passwords::{PasswordHash, PasswordHasher};
use crate::store::{ClientStore, StoreError};

/// A grant type a client may be allowed to use (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    /// §4.1, the authorization code grant (with PKCE, RFC 7636), for browser sign-in
    /// through `/authorize`.
    AuthorizationCode,
    /// §4.3, the resource owner password credentials grant.
    Password,
    /// §6, refreshing an access token.
    RefreshToken,
    /// §4.4, a confidential client acting on its own behalf.
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The `grant_type` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client id: 1 to 64 characters from `A-Z a-z 0-9 . _ -`. A subset of RFC 6749's
/// `VSCHAR` that needs no escaping in a URL, a log line or a DynamoDB key.
///
/// Ids starting with `usr_` are refused: a client-credentials token's `sub` is the
/// client id and a user token's `sub` is the user id (`usr_…`), and the two must
/// never collide (RFC 9068 §5, "Security Considerations").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a client id is 1 to 64 characters from A-Z, a-z, 0-9 and . _ - and does not start with usr_"
)]
pub struct InvalidClientId;

impl ClientId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self, InvalidClientId> {
        let ok = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && !value.starts_with("usr_")
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(ClientId(value.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: ClientId,
    /// The bcrypt hash of the secret of a confidential client; `None` for a public
    /// client.
    pub secret_hash: Option<PasswordHash>,
    /// The grants this client may use; anything else is `unauthorized_client`.
    pub grant_types: Vec<GrantType>,
    /// The most a token issued to this client may carry (RFC 6749 §3.3). A user's
    /// token gets at most the scopes both the user and the client have.
    pub scopes: Vec<String>,
    pub disabled: bool,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Where `/authorize` may send the browser back (RFC 6749 §3.1.2), each compared
    /// by [`crate::redirect_uri::matches`].
    pub redirect_uris: Vec<String>,
    /// A first-party client (the service's own app) signs users in without a
    /// consent page; any other asks each user once for the scopes it wants.
    pub first_party: bool,
    /// Where RP-initiated logout may send the browser afterwards (OpenID Connect
    /// RP-Initiated Logout 1.0 §3), compared as exact strings.
    pub post_logout_redirect_uris: Vec<String>,
}

impl ClientRecord {
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A new client secret: 256 bits from the OS CSPRNG, base64url. Shown once to the
/// operator, stored only as a bcrypt hash.
pub fn new_client_secret() -> SecretString {
    SecretString::from(crate::random_token(32))
}

/// How the client identified itself on this request.
pub enum PresentedClient {
    /// `client_id` only: a public client (RFC 6749 §2.1, token endpoint auth
    /// method `none`).
    Public { client_id: String },
    /// `client_id` with a secret, in the `Authorization: Basic` header or in the body.
    WithSecret {
        client_id: String,
        secret: SecretString,
    },
}

impl fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresentedClient::Public { client_id } => f
                .debug_struct("Public")
                .field("client_id", client_id)
                .finish(),
            PresentedClient::WithSecret { client_id, .. } => f
                .debug_struct("WithSecret")
                .field("client_id", client_id)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

impl PresentedClient {
    /// Reads the client's credentials from the request (RFC 6749 §2.3.1): HTTP Basic
    /// with the form-urlencoded id and secret, or `client_id`/`client_secret` in the
    /// body. Using both methods at once is `invalid_request` (§2.3: "MUST NOT use
    /// more than one authentication method in each request"), except that a Basic
    /// request may repeat the same `client_id` in the body. No client at all is
    /// `invalid_client`.
    pub fn from_request(headers: &HeaderMap, form: &FormParameters) -> Result<Self, ApiError> {
        let basic = basic_credentials(headers)?;
        let body_id = form.get("client_id");
        let body_secret = form.get("client_secret");
        match (basic, body_id, body_secret) {
            (Some(_), _, Some(_)) => Err(ApiError::invalid_request(
                "send the client secret either in the Authorization header or in the body, not both",
            )),
            (Some((id, _)), Some(other), None) if other != id => Err(ApiError::invalid_request(
                "the client_id in the body differs from the one in the Authorization header",
            )),
            (Some((client_id, secret)), _, None) => {
                Ok(PresentedClient::WithSecret { client_id, secret })
            }
            (None, Some(id), Some(secret)) => Ok(PresentedClient::WithSecret {
                client_id: id.to_owned(),
                secret: SecretString::from(secret.to_owned()),
            }),
            (None, Some(id), None) => Ok(PresentedClient::Public {
                client_id: id.to_owned(),
            }),
            (None, None, Some(_)) => Err(ApiError::invalid_request(
                "client_secret was sent without client_id",
            )),
            (None, None, None) => Err(ApiError::InvalidClient),
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            PresentedClient::Public { client_id }
            | PresentedClient::WithSecret { client_id, .. } => client_id,
        }
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, if present.
/// Any other scheme is left alone (it may be meant for something else); a Basic
/// header that cannot be read, or is empty, is a failed authentication.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, SecretString)>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid_request(
            "the Authorization header is repeated",
        ));
    }
    // The scheme is compared as bytes, before anything else is read: a header for
    // another scheme is not ours to judge (RFC 7617 §2: "Basic" is case-insensitive).
    let bytes = value.as_bytes();
    let is_basic = bytes.len() >= 5
        && bytes[..5].eq_ignore_ascii_case(b"basic")
        && bytes.get(5).is_none_or(|b| *b == b' ' || *b == b'\t');
    if !is_basic {
        return Ok(None);
    }
    let malformed = ApiError::InvalidClient;
    let encoded = value.to_str().map_err(|_| malformed.clone())?[5..].trim();
    let decoded = STANDARD.decode(encoded).map_err(|_| malformed.clone())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed.clone())?;
    let (raw_id, raw_secret) = decoded.split_once(':').ok_or(malformed.clone())?;
    // §2.3.1: both parts are application/x-www-form-urlencoded before base64, so a
    // literal `&` or `=` cannot occur in them.
    let unescape = |raw: &str| {
        if raw.contains(['&', '=']) {
            return None;
        }
        crate::oauth::decode_component(raw.as_bytes()).ok()
    };
    let client_id = unescape(raw_id).filter(|id| !id.is_empty());
    let secret = unescape(raw_secret);
    match (client_id, secret) {
        (Some(client_id), Some(secret)) => Ok(Some((client_id, SecretString::from(secret)))),
        _ => Err(malformed),
    }
}

/// Authenticates the presented client against the registry. Unknown, disabled,
/// wrong secret, a secret for a public client and no secret for a confidential one
/// all end in the same 401 `invalid_client`. A presented secret always costs one
/// bcrypt verification, so timing does not tell which client ids exist.
pub async fn authenticate(
    store: &dyn ClientStore,
    passwords: &PasswordHasher,
    presented: PresentedClient,
) -> Result<ClientRecord, ApiError> {
    let refused = ApiError::InvalidClient;
    let client = match ClientId::parse(presented.client_id()) {
        Ok(id) => match store.get_client(&id).await {
            Ok(client) => client,
            Err(StoreError::Corrupt(attribute)) => {
                tracing::error!(attribute, "a stored client record is malformed");
                None
            }
            Err(other) => return Err(other.into()),
        },
        Err(_) => None,
    };
    let authenticated = match presented {
        PresentedClient::Public { .. } => client.as_ref().is_some_and(|c| !c.is_confidential()),
        PresentedClient::WithSecret { secret, .. } => {
            let hash = client.as_ref().and_then(|c| c.secret_hash.as_ref());
            passwords.verify(secret, hash).await && hash.is_some()
        }
    };
    match client {
        Some(client) if authenticated && !client.disabled => Ok(client),
        _ => {
            tracing::info!(outcome = "failure", "client authentication refused");
            Err(refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn form(body: &str) -> FormParameters {
        FormParameters::parse(body.as_bytes()).unwrap()
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn client_ids_follow_the_rules() {
        assert!(ClientId::parse("web-app.v2_prod").is_ok());
        for bad in ["", "has space", "é", "usr_abc", &"a".repeat(65), "a/b"] {
            assert_eq!(ClientId::parse(bad), Err(InvalidClientId), "{bad}");
        }
    }

    #[test]
    fn rfc6749_2_3_1_basic_credentials_are_form_urlencoded_then_base64() {
        let presented =
            PresentedClient::from_request(&basic("my%20app", "s%3Acret+x"), &form("")).unwrap();
        match presented {
            PresentedClient::WithSecret { client_id, secret } => {
                assert_eq!(client_id, "my app");
                assert_eq!(secret.expose_secret(), "s:cret x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_secret_post_and_public_clients_are_read_from_the_body() {
        let presented =
            PresentedClient::from_request(&HeaderMap::new(), &form("client_id=a&client_secret=b"))
                .unwrap();
        assert!(matches!(presented, PresentedClient::WithSecret { .. }));
        let presented =
            PresentedClient::from_request(&HeaderMap::new(), &form("client_id=a")).unwrap();
        assert!(matches!(presented, PresentedClient::Public { .. }));
        // The same id in the body next to Basic is allowed.
        let presented = PresentedClient::from_request(&basic("a", "b"), &form("client_id=a"));
        assert!(matches!(presented, Ok(PresentedClient::WithSecret { .. })));
    }

    #[test]
    fn rfc6749_2_3_one_authentication_method_per_request() {
        let both = PresentedClient::from_request(&basic("a", "b"), &form("client_secret=b"));
        assert!(matches!(both, Err(ApiError::InvalidRequest(_))));
        let other_id = PresentedClient::from_request(&basic("a", "b"), &form("client_id=c"));
        assert!(matches!(other_id, Err(ApiError::InvalidRequest(_))));
        let secret_alone =
            PresentedClient::from_request(&HeaderMap::new(), &form("client_secret=b"));
        assert!(matches!(secret_alone, Err(ApiError::InvalidRequest(_))));
        let nothing = PresentedClient::from_request(&HeaderMap::new(), &form(""));
        assert!(matches!(nothing, Err(ApiError::InvalidClient)));
    }

    #[test]
    fn unreadable_basic_credentials_are_invalid_client() {
        let encoded = |pair: &str| format!("Basic {}", STANDARD.encode(pair));
        for value in [
            "Basic !!!".to_owned(),
            "Basic Zm9v".to_owned(),
            "basic %%%".to_owned(),
            "Basic /w==".to_owned(),
            "Basic".to_owned(),
            "Basic ".to_owned(),
            encoded(":secret"),
            // A literal & or = cannot be in form-urlencoded credentials (§2.3.1).
            encoded("backend:SECRET&x=y"),
            encoded("backend&x:SECRET"),
            encoded("backend:SEC=RET"),
            encoded("backend:%zz"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            let result = PresentedClient::from_request(&headers, &form("client_id=a"));
            assert!(matches!(result, Err(ApiError::InvalidClient)), "{value}");
        }
        // Escaped, the same characters are fine.
        let escaped = PresentedClient::from_request(&basic("a%26b", "s%3Dx"), &form(""));
        assert!(matches!(escaped, Ok(PresentedClient::WithSecret { .. })));
        // Another scheme is not client authentication, whatever bytes it carries.
        for other in [&b"Bearer abc"[..], b"Basically \xff", b"Digest \xe9"] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                http::HeaderValue::from_bytes(other).unwrap(),
            );
            let result = PresentedClient::from_request(&headers, &form("client_id=a"));
            assert!(matches!(result, Ok(PresentedClient::Public { .. })));
        }
    }

    #[test]
    fn secrets_are_256_bits_and_distinct() {
        let a = new_client_secret();
        let b = new_client_secret();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn grant_types_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::parse("implicit"), None);
    }
}
