"""Every log line of a full lifecycle, at DEBUG and from every logger (the access log and
SQLAlchemy's statements with their parameters included), formatted as `gateway serve` writes it
(JSON, with the request's fields), holds none of the complainant's data."""

from __future__ import annotations

import io
import logging

import pytest

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, GatewayClient, MessageCreate
from gateway.ops.logs import JsonFormatter
from tests.factories import SHORT_LIFE, case_payload, message

pytestmark = pytest.mark.tls


def test_a_full_lifecycle_logs_nothing_personal(tls_gateway, test_pki, caplog, tmp_path):
    payload = case_payload()
    named = f"{payload['complainant']['full_name']} CIN {payload['complainant']['cin']}.pdf"  # a file name is personal data too
    clients = {
        name: GatewayClient(tls_gateway.url, name, ca=test_pki.dev.ca_cert, cert=test_pki.files(name).cert,
                            key=test_pki.files(name).key, signing_key=test_pki.files(name).signing_key, **test_pki.trust)
        for name in ("imr", "al-omrane")
    }
    formatted = io.StringIO()  # as the lines are logged: the request's fields are read then
    as_served = logging.StreamHandler(formatted)
    as_served.setFormatter(JsonFormatter())
    root = logging.getLogger()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
        root.addHandler(as_served)
        try:
            case_id = clients["imr"].open_case(CaseCreate(**payload)).value.id
            document = clients["imr"].upload_document(case_id, samples.pdf(["Contrat"]), named).value
            clients["al-omrane"].download_document(case_id, document.id, tmp_path / "contrat.pdf")
            assert clients["al-omrane"].documents(case_id)[0].filename == named
            for sender, kind, extra in SHORT_LIFE:
                clients[sender].send_message(case_id, MessageCreate(**message(kind, **extra)))
            for event in clients["al-omrane"].iter_inbox():
                clients["al-omrane"].ack(event.id)
            assert clients["al-omrane"].get_case(case_id).complainant.cin == payload["complainant"]["cin"]
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
            root.removeHandler(as_served)
            for client in clients.values():
                client.close()
    # httpcore's DEBUG trace prints every HTTP header verbatim, in the institution's own process:
    # the Content-Disposition it writes names its own document. The gateway's side, the SDK's own
    # logging and httpx's request log are all checked.
    text = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records if not record.name.startswith("httpcore"))
    text += "\n".join(line for line in formatted.getvalue().splitlines() if '"logger": "httpcore' not in line)
    assert "INSERT INTO cases" in text and "POST /v1/cases/{case_id}/documents 201" in text  # really captured, access log included
    assert '"request_id": ' in text and '"institution": "al-omrane"' in text
    complainant = payload["complainant"]
    for value in (complainant["full_name"], complainant["cin"], complainant["phone"], complainant["email"], complainant["address"]):
        assert value not in text, value
