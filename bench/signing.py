"""What request signatures and receipts cost per request.

Run: .venv/bin/python bench/signing.py   (prints figures; takes about 10 seconds)

Absolute times depend on the machine (these are shared and noisy), so each figure is also given
as a ratio to a baseline measured in the same run: one raw ECDSA P-256 sign + verify with
`cryptography`, the irreducible cost of an ES256 signature.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from imr_alomrane_gateway_client.signing import (
    RECEIPT_TYPE,
    Signer,
    VerificationKey,
    content_digest,
    public_jwk,
    sign_request,
    verify_receipt,
    verify_request,
)

BODY = json.dumps({"summary": "تأخر تسليم شقة – retard de livraison " * 40}, ensure_ascii=False).encode()


def per_call(function: Callable[[], object], seconds: float = 1.0) -> float:
    """Median seconds per call over repeated timed batches."""
    function()
    batch, samples, deadline = 50, [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        for _ in range(batch):
            function()
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def main() -> None:
    institution_key, gateway_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    institution, gateway = Signer.from_private_key(institution_key), Signer.from_private_key(gateway_key)
    keys = {
        institution.kid: VerificationKey(kid=institution.kid, owner="imr", jwk=public_jwk(institution_key.public_key())),
        gateway.kid: VerificationKey(kid=gateway.kid, owner="gw", jwk=public_jwk(gateway_key.public_key())),
    }

    def raw_ecdsa() -> None:
        signature = institution_key.sign(BODY, ec.ECDSA(hashes.SHA256()))
        institution_key.public_key().verify(signature, BODY, ec.ECDSA(hashes.SHA256()))

    token = sign_request(institution, "imr", "gw", "POST", "/v1/cases", BODY)
    receipt = gateway.sign({"iss": "gw", "rid": "r"}, RECEIPT_TYPE)

    def verify() -> None:
        verify_request(token, keys=keys, unit_id="imr", audience="gw", method="POST", target="/v1/cases",
                       digest=content_digest(BODY), max_skew_seconds=10**9)

    figures = {
        "baseline: raw ECDSA P-256 sign + verify (cryptography)": per_call(raw_ecdsa),
        "client: sign a request (python-jose)": per_call(lambda: sign_request(institution, "imr", "gw", "POST", "/v1/cases", BODY)),
        "gateway: verify a request (all checks)": per_call(verify),
        "gateway: sign a receipt": per_call(lambda: gateway.sign({"iss": "gw", "rid": "r"}, RECEIPT_TYPE)),
        "client: verify a receipt": per_call(lambda: verify_receipt(receipt, keys, "gw")),
    }
    baseline = figures["baseline: raw ECDSA P-256 sign + verify (cryptography)"]
    print(f"body: {len(BODY)} bytes")
    for name, seconds in figures.items():
        print(f"{name:<58} {seconds * 1e6:9.1f} µs   {seconds / baseline:5.2f} × baseline")
    gateway_side = figures["gateway: verify a request (all checks)"] + figures["gateway: sign a receipt"]
    print(f"{'gateway cost per accepted write (verify + receipt)':<58} {gateway_side * 1e6:9.1f} µs   {gateway_side / baseline:5.2f} × baseline")


if __name__ == "__main__":
    main()
