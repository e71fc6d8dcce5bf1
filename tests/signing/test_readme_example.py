"""The README's worked example of a request signature is whole and true: its token verifies, with
another library than the gateway's, under the throwaway key it gives, and carries the claims and
the body digest it shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from joserfc import jws
from joserfc.jwk import ECKey

from imr_alomrane_gateway_client.signing import REQUEST_TYPE, content_digest, thumbprint

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_worked_example_verifies_under_its_key():
    example = README.read_text().split("Worked example: Al Omrane acknowledges a case", 1)[1].split("Any JOSE library", 1)[0]
    body = re.search(r"`(\{\"kind\": .*?\})`", example).group(1).encode()
    key = json.loads(re.search(r"```json\n(.*?)\n```", example, re.DOTALL).group(1))
    token = re.search(r"^Request-Signature: (\S+)$", example, re.MULTILINE).group(1)
    shown_digest = re.search(r"^Content-Digest: (\S+)$", example, re.MULTILINE).group(1)
    public = {name: key[name] for name in ("kty", "crv", "x", "y")}
    verified = jws.deserialize_compact(token, ECKey.import_key(public), algorithms=["ES256"])
    assert verified.protected == {"alg": "ES256", "kid": key["kid"], "typ": REQUEST_TYPE} and key["kid"] == thumbprint(public)
    claims = json.loads(verified.payload)
    assert claims == {"iss": "al-omrane", "aud": "imr-alomrane-gateway", "htm": "POST",
                      "htu": "/v1/cases/3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1/messages", "iat": 1795500000,
                      "jti": "q9H2mC1x0vW8rT5e", "dig": content_digest(body)}
    assert shown_digest == claims["dig"]
    assert ECKey.import_key(key).as_dict(private=False)["x"] == key["x"]  # the private part belongs to the public key
