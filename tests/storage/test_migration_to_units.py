"""Migration 0009 on data written before units: everything goes to the head offices, region names
become codes (others are kept as written), ledger entries stay version 1 and verify as written."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.ledger.store import entry_from_row
from gateway.storage.migrations import alembic_config, upgrade
from gateway.storage.models import LedgerEntry

V1_ENTRY = Entry(v=1, seq=1, at="2026-01-10T00:00:00.000000Z", kind="case_opened", detail="title_deeds", sender="imr",
                 recipient="al-omrane", case="c", resource="/v1/cases/c", payload_digest="sha-256=:p:", signature_digest="sha-256=:s:")


def test_data_from_before_units_belongs_to_the_head_offices(database_url):
    command.downgrade(alembic_config(database_url), "0008")
    engine = sa.create_engine(database_url)
    cases = {region: str(uuid.uuid4()) for region in ("Casablanca-Settat", "الدار البيضاء - سطات", "souss-massa", "Zone franche")}
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO institutions (id, name_fr, name_ar, role, active) VALUES "
                                       "('imr', 'IMR', 'و', 'mediator', true), ('al-omrane', 'AO', 'ع', 'respondent', true)"))
            for number, (region, case_id) in enumerate(cases.items()):
                connection.execute(sa.text(
                    "INSERT INTO cases (id, mediator_id, respondent_id, reference, status, subject, project_name, project_city, "
                    "project_region, deadline, opened_at, updated_at, version) VALUES (:id, 'imr', 'al-omrane', :ref, 'open', "
                    "'other', 'p', 'c', :region, '2030-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                ), {"id": case_id, "ref": f"R/{number}", "region": region})
            first = cases["Casablanca-Settat"]
            connection.execute(sa.text(
                "INSERT INTO messages (id, case_id, position, kind, sender_id, status_before, status_after, created_at) "
                "VALUES ('m1', :case, 1, 'acknowledgement', 'al-omrane', 'open', 'acknowledged', '2026-01-02 00:00:00')"), {"case": first})
            connection.execute(sa.text(
                "INSERT INTO inbox_events (id, recipient_id, seq, kind, case_id, status, created_at) "
                "VALUES ('e1', 'al-omrane', 1, 'case_opened', :case, 'open', '2026-01-01 00:00:00')"), {"case": first})
            connection.execute(sa.insert(sa.table("ledger_entries", *(sa.column(c) for c in (
                "seq", "at", "kind", "detail", "sender_id", "recipient_id", "case_id", "resource", "payload_digest",
                "signature_digest", "leaf_hash")))).values(
                seq=1, at=V1_ENTRY.at, kind=V1_ENTRY.kind, detail=V1_ENTRY.detail, sender_id="imr", recipient_id="al-omrane",
                case_id="c", resource=V1_ENTRY.resource, payload_digest=V1_ENTRY.payload_digest,
                signature_digest=V1_ENTRY.signature_digest, leaf_hash=V1_ENTRY.leaf_hash().hex()))
        upgrade(database_url)
        with engine.connect() as connection:
            units = connection.execute(sa.text("SELECT id, institution_id, head_office FROM units ORDER BY id")).all()
            assert [(u, i, bool(h)) for u, i, h in units] == [("al-omrane", "al-omrane", True), ("imr", "imr", True)]
            rows = connection.execute(sa.text("SELECT id, project_region, mediator_unit, respondent_unit FROM cases")).all()
            by_id = {case_id: (region, mediator, respondent) for case_id, region, mediator, respondent in rows}
            assert {written: by_id[case_id][0] for written, case_id in cases.items()} == {
                "Casablanca-Settat": "casablanca-settat", "الدار البيضاء - سطات": "casablanca-settat",
                "souss-massa": "souss-massa", "Zone franche": "Zone franche",  # not a region's name: kept as written
            }
            assert {(mediator, respondent) for _, mediator, respondent in by_id.values()} == {("imr", "al-omrane")}
            assert connection.execute(sa.text("SELECT sender_unit FROM messages")).scalar_one() == "al-omrane"
            assert connection.execute(sa.text("SELECT recipient_unit, seq FROM inbox_events")).one() == ("al-omrane", 1)
        with Session(engine) as session:
            stored = session.execute(sa.select(LedgerEntry)).scalar_one()
            assert (stored.v, stored.sender_unit, stored.region) == (1, None, None)
            assert entry_from_row(stored) == V1_ENTRY and entry_from_row(stored).leaf_hash().hex() == stored.leaf_hash
    finally:
        engine.dispose()
