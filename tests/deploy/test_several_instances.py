"""Two `gateway serve` processes on one PostgreSQL database, started at the same instant on an
empty database (so they migrate it together, one at a time), serve the same cases: what is
written through one is read through the other, a document uploaded through one downloads through
the other (the shared blob directory), and the ledger is one history: each process's receipts
and checkpoints are consistent with the other's (the SDK checks every one against the last it
trusts), the export verifies offline, and the database-wide invariants hold."""

from __future__ import annotations

import pytest

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, GatewayClient, MessageCreate
from tests.conftest import POSTGRES_URL
from tests.factories import case_payload, message
from tests.faults.invariants import check, describe
from tests.faults.test_crash import check_export

pytestmark = [
    pytest.mark.tls,
    pytest.mark.skipif(not POSTGRES_URL, reason="several gateway processes on one database need PostgreSQL (GATEWAY_TEST_POSTGRES_URL unset)"),
    pytest.mark.parametrize("template", ["postgresql"], indirect=True),
]


def test_two_processes_started_together_serve_one_set_of_cases_and_one_ledger(
        template, empty_database_url, start_gateways, settings, test_pki, tmp_path):
    first, second = start_gateways(2, GATEWAY_DATABASE_URL=empty_database_url)
    assert first.process.poll() is None and second.process.poll() is None  # neither lost the migration race

    def client(gateway, name: str) -> GatewayClient:
        files = test_pki.files(name)
        return GatewayClient(gateway.url, name, ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key, signing_key=files.signing_key,
                             **test_pki.trust)

    imr_first, imr_second = client(first, "imr"), client(second, "imr")
    omrane_second = client(second, "al-omrane")
    try:
        case = imr_first.open_case(CaseCreate(**case_payload())).value
        assert imr_second.get_case(case.id).reference == case.reference
        omrane_second.send_message(case.id, MessageCreate(**message("acknowledgement")))
        assert imr_first.get_case(case.id).status == "acknowledged"
        scan = samples.pdf(["Attestation de propriété"])
        document = imr_first.upload_document(case.id, scan, "attestation.pdf").value
        assert imr_second.download_document(case.id, document.id, tmp_path / "attestation.pdf").digest == document.digest
        imr_second.send_message(case.id, MessageCreate(**message("note", "Pièce versée au dossier.")))
        for sdk in (imr_first, imr_second, omrane_second):  # every entry each can read, against the checkpoint it trusts
            assert sdk.audit_entries() > 0
    finally:
        for sdk in (imr_first, imr_second, omrane_second):
            sdk.close()

    census, broken = check(empty_database_url)
    assert not broken, describe(broken)
    check_export(settings.model_copy(update={"database_url": empty_database_url}), tmp_path, census.expected_size)
    assert not first.logged_errors() and not second.logged_errors()
