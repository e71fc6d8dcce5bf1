"""An accepted write is never reported as failed: once its receipt verifies, what fails after
(the consistency proof) is said beside it; a write stored for a process that died is accepted,
with its stored receipt, when a fresh process retries it with the same Idempotency-Key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from imr_alomrane_gateway_client import CaseCreate
from tests.factories import case_payload

pytestmark = pytest.mark.tls


def test_a_failed_consistency_fetch_is_deferred_not_raised(sdk, monkeypatch):
    imr = sdk("imr")
    imr.open_case(CaseCreate(**case_payload()))  # the first checkpoint this client trusts
    real_send = imr.http.send

    def unreachable_for_proofs(request, **kwargs):
        if request.url.path == "/v1/ledger/proof/consistency":
            raise httpx.ConnectError("connection refused", request=request)
        return real_send(request, **kwargs)

    monkeypatch.setattr(imr.http, "send", unreachable_for_proofs)
    accepted = imr.open_case(CaseCreate(**case_payload()))
    assert isinstance(accepted.deferred, httpx.ConnectError) and not accepted.consistent
    assert accepted.receipt.claims["resource"] == f"/v1/cases/{accepted.value.id}"
    with pytest.raises(httpx.ConnectError):
        imr.check_consistency()
    monkeypatch.setattr(imr.http, "send", real_send)
    proven = imr.check_consistency()
    assert proven.size == int(accepted.receipt.claims["ledger"]["checkpoint"].splitlines()[1]) and imr.receipts.pending == []


def test_a_retry_from_a_fresh_process_gets_the_stored_receipt_of_one_killed_mid_retry(sdk, tls_gateway, test_pki):
    files = test_pki.files("imr")
    payload = case_payload()
    arguments = {
        "url": tls_gateway.url, "unit": "imr", "payload": payload, "idempotency_key": "killed-mid-retry",
        "options": {"ca": str(test_pki.dev.ca_cert), "cert": str(files.cert), "key": str(files.key),
                    "signing_key": str(files.signing_key), **test_pki.trust},
    }
    child = subprocess.Popen([sys.executable, "-m", "tests.sdk.retrier", json.dumps(arguments)], stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    try:
        assert child.stdout.readline() == "retrying\n"  # its first attempt stored, its answer lost
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    imr = sdk("imr")  # a fresh client: none of the dead process's signatures
    accepted = imr.open_case(CaseCreate(**payload), idempotency_key="killed-mid-retry")
    assert accepted.receipt.replayed and accepted.consistent
    assert [case.id for case in imr.cases_page().items] == [accepted.value.id]
