"""The complainant's data is sealed at rest with a key per case; nothing personal is readable in
the database, and rows that existed before sealing are sealed by the migration, not lost."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
import sqlalchemy as sa

from gateway.security.encryption import DecryptionFailed, MasterKey
from gateway.services.vault import CaseContent, Vault
from gateway.storage.migrations import upgrade
from gateway.storage.models import Case, Message
from tests.factories import case_payload


def personal_values(payload) -> list[str]:
    """The complainant's fields, and the case's free text (which may name her)."""
    complainant = payload["complainant"]
    return [complainant[name] for name in ("full_name", "cin", "phone", "email", "address")] + [
        payload[name] for name in ("title", "summary", "requested_action")
    ]


def everything_stored(engine_sql) -> bytes:
    """Every value of every table, with the payload of every JWS decoded (a signature kept in the
    database must not carry personal data in base64 either)."""
    dump = b""
    for table in ("cases", "case_keys", "messages", "documents", "inbox_events", "receipts", "idempotency_records", "ledger_entries",
                  "ledger_checkpoints"):
        for row in engine_sql(f"SELECT * FROM {table}"):
            for value in row:
                dump += value if isinstance(value, bytes) else str(value).encode()
    return dump + b"".join(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)) for payload in _JWS.findall(dump.decode("latin-1")))


_JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")


def test_no_personal_field_is_readable_in_the_database(imr, omrane, engine_sql):
    payload = case_payload()
    case = imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": "k1"}).json()
    assert case["complainant"] == payload["complainant"] and case["personal_data_erased"] is False
    assert omrane.get(f"/v1/cases/{case['id']}").json()["complainant"] == payload["complainant"]
    dump = everything_stored(engine_sql)
    for value in personal_values(payload):
        assert value.encode() not in dump, value


def test_a_wrong_master_key_fails_closed(imr, settings):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    engine = sa.create_engine(settings.database_url)
    with sa.orm.Session(engine) as session:
        case = session.get(Case, case_id)
        vault = Vault(settings.load_master_key())
        assert vault.content(vault.data_key(session, case_id), case).complainant["cin"] == "BE123456"
        with pytest.raises(DecryptionFailed):
            Vault(MasterKey.from_text(MasterKey.generate_text())).data_key(session, case_id)
    engine.dispose()


def test_the_migration_seals_rows_that_existed_before(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    engine = sa.create_engine(url)
    complainant = case_payload()["complainant"]
    case_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO institutions VALUES ('imr','IMR','و','mediator',1), ('al-omrane','AO','ع','respondent',1)")
        connection.execute(sa.text(
            "INSERT INTO cases (id, mediator_id, respondent_id, reference, status, subject, title, summary, complainant, project_name, "
            "project_city, project_region, requested_action, deadline, opened_at, updated_at, version, signed_body) VALUES "
            "(:id, 'imr', 'al-omrane', 'R/1', 'open', 'other', 't', 's', :c, 'p', 'c', 'r', 'a', '2030-01-01', '2026-01-01', '2026-01-01', 1, :b)"
        ), {"id": case_id, "c": json.dumps(complainant, ensure_ascii=False), "b": '{"signed": "body"}'})
        connection.execute(sa.text(
            "INSERT INTO messages (id, case_id, position, kind, sender_id, body, status_before, status_after, created_at, signed_body) "
            "VALUES (:id, :case, 1, 'acknowledgement', 'al-omrane', :body, 'open', 'acknowledged', '2026-01-02', :signed)"
        ), {"id": message_id, "case": case_id, "body": f"Reçu, CIN {complainant['cin']}", "signed": f'{{"cin": "{complainant["cin"]}"}}'})
    with pytest.raises(RuntimeError, match="master key"):
        upgrade(url, "head")
    master = MasterKey.from_text(MasterKey.generate_text())
    upgrade(url, "head", master)
    with sa.orm.Session(engine) as session:
        case, message = session.get(Case, case_id), session.get(Message, message_id)
        vault = Vault(master)
        narrative = {"title": "t", "summary": "s", "requested_action": "a"}
        assert vault.content(vault.data_key(session, case_id), case) == CaseContent(complainant, narrative, '{"signed": "body"}')  # 0005 and 0007
        assert vault.open_message(vault.data_key(session, case_id), message) == (f"Reçu, CIN {complainant['cin']}", f'{{"cin": "{complainant["cin"]}"}}')
    with engine.connect() as connection:
        raw = b"".join(v if isinstance(v, bytes) else str(v).encode()
                       for table in ("cases", "messages") for row in connection.exec_driver_sql(f"SELECT * FROM {table}") for v in row)
    assert complainant["cin"].encode() not in raw
    engine.dispose()
