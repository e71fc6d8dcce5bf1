"""Every log line of a full lifecycle, at DEBUG and from every logger (uvicorn's access log and
SQLAlchemy's statements with their parameters included), holds none of the complainant's data."""

from __future__ import annotations

import logging

import pytest

from gateway.client import CaseCreate, GatewayClient, MessageCreate
from tests.factories import SHORT_LIFE, case_payload, message

pytestmark = pytest.mark.tls


def test_a_full_lifecycle_logs_nothing_personal(tls_gateway, test_pki, caplog):
    payload = case_payload()
    clients = {
        name: GatewayClient(tls_gateway.url, name, ca=test_pki.dev.ca_cert, cert=test_pki.files(name).cert,
                            key=test_pki.files(name).key, signing_key=test_pki.files(name).signing_key)
        for name in ("imr", "al-omrane")
    }
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
        try:
            case_id = clients["imr"].open_case(CaseCreate(**payload)).value.id
            for sender, kind, extra in SHORT_LIFE:
                clients[sender].send_message(case_id, MessageCreate(**message(kind, **extra)))
            for event in clients["al-omrane"].iter_inbox():
                clients["al-omrane"].ack(event.id)
            assert clients["al-omrane"].get_case(case_id).complainant.cin == payload["complainant"]["cin"]
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
            for client in clients.values():
                client.close()
    text = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records)
    assert "INSERT INTO cases" in text and "/v1/cases" in text  # the logs were really captured
    complainant = payload["complainant"]
    for value in (complainant["full_name"], complainant["cin"], complainant["phone"], complainant["email"], complainant["address"]):
        assert value not in text, value
