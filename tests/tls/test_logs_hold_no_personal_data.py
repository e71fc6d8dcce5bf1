"""Every log line of a full lifecycle, at DEBUG and from every logger (uvicorn's access log and
SQLAlchemy's statements with their parameters included), holds none of the complainant's data."""

from __future__ import annotations

import logging

import pytest

from gateway import samples
from gateway.client import CaseCreate, GatewayClient, MessageCreate
from tests.factories import SHORT_LIFE, case_payload, message

pytestmark = pytest.mark.tls


def test_a_full_lifecycle_logs_nothing_personal(tls_gateway, test_pki, caplog, tmp_path):
    payload = case_payload()
    named = f"{payload['complainant']['full_name']} CIN {payload['complainant']['cin']}.pdf"  # a file name is personal data too
    clients = {
        name: GatewayClient(tls_gateway.url, name, ca=test_pki.dev.ca_cert, cert=test_pki.files(name).cert,
                            key=test_pki.files(name).key, signing_key=test_pki.files(name).signing_key)
        for name in ("imr", "al-omrane")
    }
    access = logging.getLogger("uvicorn.access")  # does not propagate: listen to it directly
    access_level = access.level
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
        access.setLevel(logging.DEBUG)
        access.addHandler(caplog.handler)
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
            access.removeHandler(caplog.handler)
            access.setLevel(access_level)
            for client in clients.values():
                client.close()
    # httpcore's DEBUG trace prints every HTTP header verbatim, in the institution's own process:
    # the Content-Disposition it writes names its own document. The gateway's side, the SDK's own
    # logging and httpx's request log are all checked.
    text = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records if not record.name.startswith("httpcore"))
    assert "INSERT INTO cases" in text and "/documents HTTP/1.1" in text  # the logs were really captured, access log included
    complainant = payload["complainant"]
    for value in (complainant["full_name"], complainant["cin"], complainant["phone"], complainant["email"], complainant["address"]):
        assert value not in text, value
