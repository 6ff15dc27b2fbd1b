"""Interoperability check: verify an access token with PyJWT, an independent JWT
library, using nothing but the published JWKS document.

Usage: verify_with_pyjwt.py JWKS_JSON TOKEN ISSUER AUDIENCE
Prints the verified claims as JSON; exits non-zero if verification fails.
"""
import json
import sys

import jwt


def main() -> None:
    jwks_json, token, issuer, audience = sys.argv[1:5]
    key_set = jwt.PyJWKSet.from_dict(json.loads(jwks_json))
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in key_set.keys if k.key_id == kid)
    claims = jwt.decode(
        token,
        key=key,
        algorithms=[key.algorithm_name],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        sys.exit(f"unexpected typ {header.get('typ')!r}")
    print(json.dumps(claims))


if __name__ == "__main__":
    main()
