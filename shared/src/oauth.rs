//! Parsing of OAuth 2.0 requests: form bodies (RFC 6749 Appendix B), token requests
//! (§4.3), scopes (§3.3) and bearer credentials (RFC 6750 §2.1). Parsers are strict:
//! anything they cannot read unambiguously is an `invalid_request`, never a guess.

use std::collections::BTreeSet;

use http::{HeaderMap, header};
use percent_encoding::percent_decode;
use secrecy::SecretString;

use crate::error::ApiError;

/// Largest request body accepted. A token request is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Parameters that carry credentials or grant data and must never travel in a URI,
/// where they end up in access logs and browser history (RFC 6749 §2.3.1, §3.2;
/// RFC 9700 §4.3.2 on leakage).
const PARAMETERS_FORBIDDEN_IN_URI: [&str; 9] = [
    "token",
    "code",
    "code_verifier",
    "password",
    "username",
    "client_secret",
    "refresh_token",
    "grant_type",
    "access_token",
];

/// A decoded `application/x-www-form-urlencoded` body with each parameter at most once.
#[derive(Default)]
pub struct FormParameters {
    pairs: Vec<(String, String)>,
}

impl FormParameters {
    /// Parses a form body strictly: UTF-8 after percent-decoding, well-formed `%XX`
    /// escapes, no parameter twice (RFC 6749 §3.2: "Request and response parameters
    /// MUST NOT be included more than once"). Parameters sent without a value are
    /// treated as omitted (§3.1).
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for field in body.split(|b| *b == b'&') {
            if field.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = match field.iter().position(|b| *b == b'=') {
                Some(i) => (&field[..i], &field[i + 1..]),
                None => (field, &field[field.len()..]),
            };
            let name = decode_component(raw_name)?;
            let value = decode_component(raw_value)?;
            if name.is_empty() {
                return Err(ApiError::invalid_request(
                    "the form body has a nameless parameter",
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::invalid_request(format!(
                    "the parameter '{}' is repeated",
                    printable(&name)
                )));
            }
            pairs.push((name, value));
        }
        Ok(FormParameters { pairs })
    }

    /// The value of `name`, or `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter not in `known`, if any.
    pub fn unknown_name(&self, known: &[&str]) -> Option<&str> {
        self.pairs
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| !known.contains(n))
    }

    /// The value of `name`, or `invalid_request` naming the missing parameter.
    pub fn require(&self, name: &'static str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid_request(format!("the parameter '{name}' is missing")))
    }
}

/// Decodes one form component: `+` is a space, `%XX` a byte; the result must be UTF-8.
pub(crate) fn decode_component(raw: &[u8]) -> Result<String, ApiError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'%' => {
                let hex = raw
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                if hex.is_none() {
                    return Err(ApiError::invalid_request(
                        "the form body has a malformed percent-escape",
                    ));
                }
                i += 3;
                bytes.push(b'%');
                bytes.extend_from_slice(hex.unwrap_or_default());
            }
            b'+' => {
                bytes.push(b' ');
                i += 1;
            }
            b => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let decoded: Vec<u8> = percent_decode(&bytes).collect();
    String::from_utf8(decoded)
        .map_err(|_| ApiError::invalid_request("the form body is not valid UTF-8"))
}

/// Client-supplied names echoed in error descriptions are cut to printable ASCII.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

/// Checks that the body is a form: `application/x-www-form-urlencoded`, optionally with
/// a `charset=utf-8` parameter (RFC 6749 §4.3.2). JSON bodies are refused by name
/// because that is the most common client mistake.
pub fn require_form_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::invalid_request(
            "the body must be sent as application/x-www-form-urlencoded",
        ));
    };
    let value = value.to_str().unwrap_or("").to_ascii_lowercase();
    let mut parts = value.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or("");
    if media_type == "application/json" {
        return Err(ApiError::invalid_request(
            "JSON bodies are not accepted; send application/x-www-form-urlencoded",
        ));
    }
    if media_type != "application/x-www-form-urlencoded" {
        return Err(ApiError::invalid_request(
            "the body must be sent as application/x-www-form-urlencoded",
        ));
    }
    for parameter in parts.filter(|p| !p.is_empty()) {
        match parameter.split_once('=') {
            Some(("charset", charset)) if charset.trim_matches('"') == "utf-8" => {}
            _ => {
                return Err(ApiError::invalid_request(
                    "the only content-type parameter accepted is charset=UTF-8",
                ));
            }
        }
    }
    Ok(())
}

/// The first parameter of `query` (names percent-decoded) that is one of `names`.
pub fn query_parameter_among(query: Option<&str>, names: &[&str]) -> Option<String> {
    query?.split('&').find_map(|field| {
        let raw_name = field.split('=').next().unwrap_or("");
        let name = decode_component(raw_name.as_bytes()).unwrap_or_default();
        names.contains(&name.as_str()).then_some(name)
    })
}

/// The checks every form-posting OAuth endpoint (token, revocation) makes before it
/// reads a parameter: POST only (RFC 6749 §3.2, RFC 7009 §2.1), a small body, no
/// credentials in the URL, a form content type; then the strictly parsed form.
pub fn form_post(request: &http::Request<bytes::Bytes>) -> Result<FormParameters, ApiError> {
    if request.method() != http::Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" });
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    reject_credentials_in_query(request.uri().query())?;
    require_form_content_type(request.headers())?;
    FormParameters::parse(request.body())
}

/// Refuses credentials and grant parameters in the query string.
pub fn reject_credentials_in_query(query: Option<&str>) -> Result<(), ApiError> {
    match query_parameter_among(query, &PARAMETERS_FORBIDDEN_IN_URI) {
        Some(name) => Err(ApiError::invalid_request(format!(
            "'{name}' must be sent in the request body, never in the URL"
        ))),
        None => Ok(()),
    }
}

/// A set of scope tokens (RFC 6749 §3.3), kept sorted so that it prints the same way
/// every time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a space-delimited scope parameter. Each token is
    /// `1*( %x21 / %x23-5B / %x5D-7E )`; repeated tokens are folded.
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() {
                continue;
            }
            if !token.bytes().all(is_scope_char) {
                return Err(ApiError::InvalidScope(
                    "a scope contains a character that RFC 6749 does not allow".into(),
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(ScopeSet(set))
    }

    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        ScopeSet(tokens.into_iter().map(Into::into).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// A token request with the password grant (RFC 6749 §4.3.2).
pub struct PasswordGrantRequest {
    pub username: String,
    pub password: SecretString,
    pub scope: Option<ScopeSet>,
}

impl std::fmt::Debug for PasswordGrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGrantRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// A token request with the refresh-token grant (RFC 6749 §6).
pub struct RefreshGrantRequest {
    pub refresh_token: SecretString,
    pub scope: Option<ScopeSet>,
}

impl std::fmt::Debug for RefreshGrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshGrantRequest")
            .field("refresh_token", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// A token request with the authorization code grant (RFC 6749 §4.1.3, RFC 7636
/// §4.5).
pub struct AuthorizationCodeGrantRequest {
    pub code: SecretString,
    /// Required when the authorization request carried one, and then equal to it.
    pub redirect_uri: Option<String>,
    pub code_verifier: SecretString,
}

impl std::fmt::Debug for AuthorizationCodeGrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCodeGrantRequest")
            .field("code", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &"<redacted>")
            .finish()
    }
}

/// The grants this server understands, parsed from a token request body.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode(AuthorizationCodeGrantRequest),
    Password(PasswordGrantRequest),
    RefreshToken(RefreshGrantRequest),
    /// RFC 6749 §4.4.2: only an optional scope; the client is the subject.
    ClientCredentials {
        scope: Option<ScopeSet>,
    },
}

impl TokenRequest {
    pub fn grant_type(&self) -> crate::clients::GrantType {
        use crate::clients::GrantType;
        match self {
            TokenRequest::AuthorizationCode(_) => GrantType::AuthorizationCode,
            TokenRequest::Password(_) => GrantType::Password,
            TokenRequest::RefreshToken(_) => GrantType::RefreshToken,
            TokenRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }

    /// Reads the grant from form parameters: `grant_type` first (missing is
    /// `invalid_request`, unknown is `unsupported_grant_type`), then its own parameters.
    /// The client's credentials are read separately ([`crate::clients::PresentedClient`]).
    pub fn from_form(form: &FormParameters) -> Result<Self, ApiError> {
        match form.require("grant_type")? {
            "authorization_code" => Ok(TokenRequest::AuthorizationCode(
                AuthorizationCodeGrantRequest {
                    code: SecretString::from(form.require("code")?.to_owned()),
                    redirect_uri: form.get("redirect_uri").map(str::to_owned),
                    // RFC 7636 §4.5: PKCE is required of every client here, so a
                    // missing verifier is a malformed request.
                    code_verifier: SecretString::from(form.require("code_verifier")?.to_owned()),
                },
            )),
            "password" => Ok(TokenRequest::Password(PasswordGrantRequest {
                username: form.require("username")?.to_owned(),
                password: SecretString::from(form.require("password")?.to_owned()),
                scope: form.get("scope").map(ScopeSet::parse).transpose()?,
            })),
            "refresh_token" => Ok(TokenRequest::RefreshToken(RefreshGrantRequest {
                refresh_token: SecretString::from(form.require("refresh_token")?.to_owned()),
                scope: form.get("scope").map(ScopeSet::parse).transpose()?,
            })),
            "client_credentials" => Ok(TokenRequest::ClientCredentials {
                scope: form.get("scope").map(ScopeSet::parse).transpose()?,
            }),
            _ => Err(ApiError::UnsupportedGrantType),
        }
    }
}

/// What the `Authorization` header says about bearer credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum BearerCredentials<'a> {
    /// No `Authorization` header, or one with another scheme (e.g. `Basic`).
    Absent,
    /// A syntactically valid `b64token` (RFC 6750 §2.1).
    Token(&'a str),
}

/// Extracts a bearer token from the request headers (RFC 6750 §2.1). The scheme name
/// is case-insensitive (RFC 9110 §11.1). More than one `Authorization` header, or a
/// `Bearer` header without a well-formed token, is `invalid_request` (RFC 6750 §3.1).
pub fn bearer_token(headers: &HeaderMap) -> Result<BearerCredentials<'_>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(BearerCredentials::Absent);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid_request(
            "the request has more than one Authorization header",
        ));
    }
    // The scheme decides first: credentials of another scheme are not ours to judge,
    // whatever bytes they contain (RFC 6750 §3.1 answers them as absent).
    let bytes = value.as_bytes();
    let scheme_end = bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len());
    if !bytes[..scheme_end].eq_ignore_ascii_case(b"bearer") {
        return Ok(BearerCredentials::Absent);
    }
    let Ok(value) = value.to_str() else {
        return Err(ApiError::invalid_request(
            "the Authorization header is not printable ASCII",
        ));
    };
    let token = value[scheme_end..].trim_start_matches(' ');
    if is_b64token(token) {
        Ok(BearerCredentials::Token(token))
    } else {
        Err(ApiError::invalid_request(
            "the Authorization header must be 'Bearer <token>'",
        ))
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use secrecy::ExposeSecret;

    fn form(body: &str) -> Result<FormParameters, ApiError> {
        FormParameters::parse(body.as_bytes())
    }

    fn description(error: ApiError) -> String {
        match error {
            ApiError::InvalidRequest(d) | ApiError::InvalidScope(d) => d.into_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn form_decodes_plus_and_percent_escapes() {
        let f = form("username=j%C3%B6rg+m&password=a%26b%3Dc").unwrap();
        assert_eq!(f.get("username"), Some("jörg m"));
        assert_eq!(f.get("password"), Some("a&b=c"));
    }

    #[test]
    fn rfc6749_3_2_repeated_parameter_is_invalid_request() {
        let err = form("username=a&username=b").err().unwrap();
        assert!(description(err).contains("'username' is repeated"));
    }

    #[test]
    fn rfc6749_3_1_empty_parameter_is_treated_as_omitted() {
        let f = form("username=&password=x&scope").unwrap();
        assert_eq!(f.get("username"), None);
        assert_eq!(f.get("scope"), None);
        let err = f.require("username").err().unwrap();
        assert!(description(err).contains("'username' is missing"));
    }

    #[test]
    fn malformed_percent_escapes_are_refused() {
        for body in ["a=%zz", "a=%4", "a=%", "%g1=x"] {
            assert!(form(body).is_err(), "{body}");
        }
    }

    #[test]
    fn non_utf8_bodies_are_refused_raw_or_escaped() {
        assert!(FormParameters::parse(b"username=\xff\xfe").is_err());
        assert!(form("username=%FF%FE").is_err());
    }

    #[test]
    fn content_type_must_be_form() {
        let mut headers = HeaderMap::new();
        assert!(require_form_content_type(&headers).is_err());
        for ok in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            "application/x-www-form-urlencoded;charset=\"utf-8\"",
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ok));
            assert!(require_form_content_type(&headers).is_ok(), "{ok}");
        }
        for bad in [
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=latin1",
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(bad));
            assert!(require_form_content_type(&headers).is_err(), "{bad}");
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(description(require_form_content_type(&headers).err().unwrap()).contains("JSON"));
    }

    #[test]
    fn credentials_in_the_query_string_are_refused() {
        assert!(reject_credentials_in_query(None).is_ok());
        assert!(reject_credentials_in_query(Some("trace=1")).is_ok());
        assert!(reject_credentials_in_query(Some("password=x")).is_err());
        assert!(reject_credentials_in_query(Some("a=1&pass%77ord=x")).is_err());
        assert!(reject_credentials_in_query(Some("client_secret")).is_err());
    }

    #[test]
    fn rfc6749_3_3_scope_is_a_space_delimited_set() {
        let s = ScopeSet::parse("write read  read").unwrap();
        assert_eq!(s.to_string(), "read write");
        assert!(ScopeSet::parse("read\"").is_err());
        assert!(ScopeSet::parse("caf\u{e9}").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
    }

    #[test]
    fn rfc6749_4_3_2_password_grant_parameters() {
        let f = form("grant_type=password&username=alice&password=pw&scope=read&client_id=web")
            .unwrap();
        let TokenRequest::Password(r) = TokenRequest::from_form(&f).unwrap() else {
            panic!("not a password grant")
        };
        assert_eq!(r.username, "alice");
        assert_eq!(r.password.expose_secret(), "pw");
        assert_eq!(r.scope.as_ref().unwrap().to_string(), "read");
        assert!(!format!("{r:?}").contains("pw\""));
    }

    #[test]
    fn rfc6749_4_4_2_client_credentials_takes_only_a_scope() {
        let f = form("grant_type=client_credentials&scope=read+write").unwrap();
        let request = TokenRequest::from_form(&f).unwrap();
        assert_eq!(
            request.grant_type(),
            crate::clients::GrantType::ClientCredentials
        );
        let TokenRequest::ClientCredentials { scope } = request else {
            panic!("not a client credentials grant")
        };
        assert_eq!(scope.unwrap().to_string(), "read write");
    }

    #[test]
    fn grant_type_missing_is_invalid_request_and_unknown_is_unsupported() {
        let err = TokenRequest::from_form(&form("username=a&password=b").unwrap())
            .err()
            .unwrap();
        assert!(description(err).contains("grant_type"));
        let err = TokenRequest::from_form(&form("grant_type=implicit").unwrap())
            .err()
            .unwrap();
        assert_eq!(err, ApiError::UnsupportedGrantType);
    }

    #[test]
    fn password_grant_requires_username_and_password() {
        let err = TokenRequest::from_form(&form("grant_type=password&password=b").unwrap())
            .err()
            .unwrap();
        assert!(description(err).contains("'username'"));
        let err = TokenRequest::from_form(&form("grant_type=password&username=a").unwrap())
            .err()
            .unwrap();
        assert!(description(err).contains("'password'"));
    }

    fn auth(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(v));
        }
        headers
    }

    #[test]
    fn rfc6750_2_1_bearer_scheme_is_case_insensitive() {
        for v in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER  abc.def.ghi",
        ] {
            assert_eq!(
                bearer_token(&auth(&[v])).unwrap(),
                BearerCredentials::Token("abc.def.ghi")
            );
        }
    }

    #[test]
    fn rfc6750_3_1_other_schemes_and_no_header_are_absent_credentials() {
        assert_eq!(bearer_token(&auth(&[])).unwrap(), BearerCredentials::Absent);
        assert_eq!(
            bearer_token(&auth(&["Basic YTpi"])).unwrap(),
            BearerCredentials::Absent
        );
        // Another scheme is absent credentials even with bytes outside ASCII.
        for value in [&b"Basic \xc3\xa9t\xc3\xa9"[..], b"N\xe9gociate x", b"\xff"] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).unwrap(),
            );
            assert_eq!(
                bearer_token(&headers).unwrap(),
                BearerCredentials::Absent,
                "{value:?}"
            );
        }
    }

    #[test]
    fn rfc6750_3_1_malformed_bearer_is_invalid_request() {
        for v in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ===",
        ] {
            assert!(bearer_token(&auth(&[v])).is_err(), "{v}");
        }
        assert!(bearer_token(&auth(&["Bearer a", "Bearer b"])).is_err());
        let mut non_ascii_bearer = HeaderMap::new();
        non_ascii_bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xc3\xa9").unwrap(),
        );
        assert!(bearer_token(&non_ascii_bearer).is_err());
    }
}
