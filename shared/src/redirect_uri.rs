//! Redirect URIs: which ones a client may register, and the one function that
//! decides whether an authorization request's `redirect_uri` is one of them.
//!
//! Matching is by exact string (RFC 9700 §2.1, §4.1.3: no wildcards, no prefixes, no
//! normalisation an attacker could play with), with one exception: a loopback
//! redirect of a native app (`http://127.0.0.1`, `http://[::1]`, `http://localhost`)
//! matches whatever its port, because the app picks a free port at run time
//! (RFC 8252 §7.3). Everything but the port must still be equal.

use url::{Host, Url};

/// Why a URI cannot be registered (the `authctl` message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("a redirect URI must not have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    #[error("a redirect URI must not carry a user name or password")]
    UserInfo,
    #[error(
        "http is allowed only for loopback redirects (127.0.0.1, [::1], localhost; RFC 8252 §7.3); use https"
    )]
    PlainHttp,
    #[error(
        "private-use schemes (RFC 8252 §7.1, e.g. com.example.app:/callback) are for public clients only"
    )]
    PrivateUseForConfidential,
    #[error("a private-use scheme must be a reversed domain name with a dot (RFC 8252 §7.1)")]
    SchemeNotReverseDomain,
    #[error("the URI must be written in its normal form: {0}")]
    NotNormalised(String),
}

/// Checks a redirect URI for registration. `public` clients (native and browser
/// apps) may also use private-use schemes.
pub fn check_registration(uri: &str, public: bool) -> Result<(), RegistrationError> {
    let parsed = Url::parse(uri).map_err(|_| RegistrationError::NotAbsolute)?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(RegistrationError::Fragment);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RegistrationError::UserInfo);
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => return Err(RegistrationError::PlainHttp),
        scheme if !scheme.contains('.') => return Err(RegistrationError::SchemeNotReverseDomain),
        _ if !public => return Err(RegistrationError::PrivateUseForConfidential),
        _ => {}
    }
    // Requests are compared with the registered string as written; a form the parser
    // would rewrite could never be matched by a client that sends it normalised.
    if parsed.as_str() != uri {
        return Err(RegistrationError::NotNormalised(parsed.as_str().to_owned()));
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            Some(Host::Domain(name)) => name == "localhost",
            None => false,
        }
}

/// Whether `presented` is `registered`: the same string, or for a loopback
/// registration the same string but for the port.
pub fn matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let Ok(mut expected) = Url::parse(registered) else {
        return false;
    };
    let Ok(candidate) = Url::parse(presented) else {
        return false;
    };
    if !is_loopback(&expected) || candidate.port().is_none() {
        return false;
    }
    // The registered URI with the presented port, compared as strings again: any
    // other difference (path, query, host, userinfo, fragment, case) fails.
    if expected.set_port(candidate.port()).is_err() {
        return false;
    }
    expected.as_str() == presented
}

/// Why an authorization request's redirect URI is not usable. The browser is never
/// sent to it: the user sees an error page instead (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("the redirect_uri is not registered for this application")]
    NotRegistered,
    #[error("this application has several redirect URIs: the request must name one")]
    Ambiguous,
    #[error("this application has no redirect URI registered")]
    NoneRegistered,
}

/// The redirect URI to use for a request: the presented one if it matches a
/// registered one, or the only registered one when none is presented (RFC 6749
/// §3.1.2.3).
pub fn resolve(registered: &[String], presented: Option<&str>) -> Result<String, RedirectError> {
    match presented {
        Some(presented) => registered
            .iter()
            .any(|r| matches(r, presented))
            .then(|| presented.to_owned())
            .ok_or(RedirectError::NotRegistered),
        None => match registered {
            [] => Err(RedirectError::NoneRegistered),
            [only] => Ok(only.clone()),
            _ => Err(RedirectError::Ambiguous),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9700 §4.1.3 and RFC 8252 §7.3: (registered, presented, matches).
    const CASES: &[(&str, &str, bool)] = &[
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb",
            true,
        ),
        // Another path, a trailing slash, a prefix or an extension of it.
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb2",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb/",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb/../cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/CB",
            false,
        ),
        // Another scheme, host, port or subdomain.
        (
            "https://app.example.com/cb",
            "http://app.example.com/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://evil.example.com/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com.evil.net/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://APP.example.com/cb",
            false,
        ),
        // Userinfo, a fragment, an added or changed query.
        (
            "https://app.example.com/cb",
            "https://user@app.example.com/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com@evil.net/cb",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb#frag",
            false,
        ),
        (
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1",
            false,
        ),
        (
            "https://app.example.com/cb?a=1",
            "https://app.example.com/cb?a=1",
            true,
        ),
        (
            "https://app.example.com/cb?a=1",
            "https://app.example.com/cb?a=2",
            false,
        ),
        // Loopback: any port, nothing else may differ.
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/callback",
            true,
        ),
        (
            "http://127.0.0.1:8080/callback",
            "http://127.0.0.1:51234/callback",
            true,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1/callback",
            true,
        ),
        ("http://[::1]/callback", "http://[::1]:51234/callback", true),
        (
            "http://localhost/callback",
            "http://localhost:51234/callback",
            true,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/callback/",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/other",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.2:51234/callback",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://[::1]:51234/callback",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://localhost:51234/callback",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "https://127.0.0.1:51234/callback",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://u@127.0.0.1:51234/callback",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/callback#x",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/callback?x=1",
            false,
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/./callback",
            false,
        ),
        // Only loopback registrations get the port exception.
        (
            "https://127.0.0.1/callback",
            "https://127.0.0.1:51234/callback",
            false,
        ),
        ("https://localhost/cb", "https://localhost:51234/cb", false),
        // Private-use schemes: exact.
        (
            "com.example.app:/callback",
            "com.example.app:/callback",
            true,
        ),
        (
            "com.example.app:/callback",
            "com.example.app:/callback2",
            false,
        ),
        (
            "com.example.app:/callback",
            "com.example.evil:/callback",
            false,
        ),
        // Garbage never matches.
        ("https://app.example.com/cb", "", false),
        ("https://app.example.com/cb", "not a uri", false),
    ];

    #[test]
    fn rfc9700_4_1_3_redirect_uris_match_exactly_but_for_loopback_ports() {
        for (registered, presented, expected) in CASES {
            assert_eq!(
                matches(registered, presented),
                *expected,
                "registered {registered}, presented {presented}"
            );
        }
    }

    #[test]
    fn registrations_need_https_or_loopback_and_no_fragment_or_userinfo() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1/callback",
            "http://[::1]/callback",
            "http://localhost/callback",
        ] {
            assert_eq!(check_registration(ok, false), Ok(()), "{ok}");
        }
        use RegistrationError::*;
        for (bad, error) in [
            ("http://app.example.com/cb", PlainHttp),
            ("https://app.example.com/cb#x", Fragment),
            ("https://u:p@app.example.com/cb", UserInfo),
            ("/cb", NotAbsolute),
            ("javascript:alert(1)", SchemeNotReverseDomain),
            ("com.example.app:/cb", PrivateUseForConfidential),
            (
                "https://APP.example.com/cb",
                NotNormalised("https://app.example.com/cb".into()),
            ),
        ] {
            assert_eq!(check_registration(bad, false), Err(error), "{bad}");
        }
        // RFC 8252 §7.1: public (native) clients may use a private-use scheme.
        assert_eq!(check_registration("com.example.app:/cb", true), Ok(()));
        assert_eq!(
            check_registration("myapp:/cb", true),
            Err(SchemeNotReverseDomain)
        );
    }

    #[test]
    fn rfc6749_3_1_2_3_redirect_uri_may_be_omitted_only_with_one_registered() {
        let one = vec!["https://a.example/cb".to_owned()];
        let two = vec![one[0].clone(), "https://a.example/other".to_owned()];
        assert_eq!(resolve(&one, None).unwrap(), one[0]);
        assert_eq!(resolve(&two, None), Err(RedirectError::Ambiguous));
        assert_eq!(resolve(&[], None), Err(RedirectError::NoneRegistered));
        assert_eq!(
            resolve(&two, Some("https://a.example/other")).unwrap(),
            two[1]
        );
        assert_eq!(
            resolve(&two, Some("https://a.example/cb/")),
            Err(RedirectError::NotRegistered)
        );
    }
}
