"""What API Gateway's native JWT authorizer (HTTP APIs) does with a token, step by
step as AWS documents it, so that a test can show our tokens pass it offline:

1. Discovery from the configured issuer: GET {issuer}/.well-known/openid-configuration,
   whose `jwks_uri` names the keys.
2. The token's header must carry a `kid` found in that key set, and the algorithm must
   be RSA-based ("Currently, only RSA-based algorithms are supported").
3. Claims: `iss` equals the configured issuer exactly; `aud` (or `client_id` when
   there is no `aud`) is one of the configured audiences; `exp` in the future,
   `nbf` and `iat` in the past; when the route has authorization scopes, `scope`
   (or `scp`) holds at least one of them.

Usage: apigw_jwt_authorizer.py ISSUER AUDIENCE TOKEN [ROUTE_SCOPE ...]
Prints the claims API Gateway would pass to the integration; exits non-zero with the
reason when API Gateway would answer 401.
"""
import json
import sys
import time
import urllib.request

import jwt

RSA_ALGORITHMS = {"RS256", "RS384", "RS512"}


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def main() -> None:
    issuer, audience, token, *route_scopes = sys.argv[1:]
    discovery = fetch_json(f"{issuer}/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        sys.exit(f"discovery names issuer {discovery.get('issuer')!r}, not {issuer!r}")
    jwks = fetch_json(discovery["jwks_uri"])

    header = jwt.get_unverified_header(token)
    if header.get("alg") not in RSA_ALGORITHMS:
        sys.exit(f"API Gateway verifies only RSA signatures, the token is {header.get('alg')}")
    kid = header.get("kid")
    keys = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid]
    if not kid or not keys:
        sys.exit("the token's kid is not in the published key set")

    claims = jwt.decode(
        token,
        key=keys[0],
        algorithms=[header["alg"]],
        issuer=issuer,
        options={"verify_aud": False, "require": ["exp", "iss"]},
    )
    audiences = claims.get("aud", claims.get("client_id"))
    if isinstance(audiences, str):
        audiences = [audiences]
    if audience not in (audiences or []):
        sys.exit(f"neither aud nor client_id is {audience!r}")
    now = time.time()
    for name in ("nbf", "iat"):
        if name in claims and claims[name] > now:
            sys.exit(f"{name} is in the future")
    if route_scopes:
        granted = (claims.get("scope") or claims.get("scp") or "").split()
        if not set(granted) & set(route_scopes):
            sys.exit(f"the token has none of the route's scopes {route_scopes}")
    print(json.dumps(claims))


if __name__ == "__main__":
    main()
