"""A thematic file's inbox events, their acknowledgement (with delivery receipts), and retries
of its writes with the same Idempotency-Key."""

from __future__ import annotations

from tests.thematic.arrange import file_payload, open_case, open_file, send, thematic_message
from tests.units.test_units_and_routing import CASA, IMR_CASA


def _events(client, file_id: str) -> list[dict]:
    return [e for e in client.get("/v1/inbox").json()["items"] if e["thematic_file_id"] == file_id]


def test_each_write_notifies_the_other_sides_unit(imr, client_for):
    holder, delegation = client_for(CASA), client_for(IMR_CASA)
    file = open_file(imr)["id"]
    position = send(holder, file, "position").json()["id"]
    case = open_case(imr)
    assert imr.put(f"/v1/thematic-files/{file}/cases/{case}").status_code == 200
    assert imr.delete(f"/v1/thematic-files/{file}/cases/{case}").status_code == 200
    assert [(e["kind"], e["status"], e["thematic_message_id"], e["case_id"]) for e in _events(holder, file)] == [
        ("thematic_file_opened", "open", None, None), ("case_linked", "in_deliberation", None, None),
        ("case_unlinked", "in_deliberation", None, None),
    ]
    assert [(e["kind"], e["status"], e["thematic_message_id"]) for e in _events(delegation, file)] == [
        ("thematic_message_received", "in_deliberation", position), ("status_changed", "in_deliberation", position),
    ]
    assert _events(imr, file) == []  # the delegation holds it on IMR's side


def test_acknowledging_a_thematic_event_gives_the_sender_a_delivery_receipt(imr, client_for, ledger_size):
    holder, delegation = client_for(CASA), client_for(IMR_CASA)
    file = open_file(imr)["id"]
    position = send(holder, file, "position").json()["id"]
    opened, received = _events(holder, file)[0], _events(delegation, file)[0]
    for client, event, resource in ((holder, opened, f"/v1/thematic-files/{file}"),
                                    (delegation, received, f"/v1/thematic-files/{file}/messages/{position}")):
        acked = client.post(f"/v1/inbox/{event['id']}/ack")
        assert acked.status_code == 200 and acked.json()["delivered_at"], acked.text
        kinds = [(r["kind"], r["thematic_file_id"]) for r in client.get("/v1/receipts", params={"resource": resource}).json()]
        assert kinds == [("acceptance", file), ("delivery", file)]
    delivery = imr.get("/v1/receipts", params={"resource": f"/v1/thematic-files/{file}"}).json()[1]
    assert (delivery["sender_id"], delivery["counterpart_id"]) == ("imr", "al-omrane")
    before = ledger_size()
    again = holder.post(f"/v1/inbox/{opened['id']}/ack")
    assert again.status_code == 200 and again.json()["delivered_at"] == holder.post(f"/v1/inbox/{opened['id']}/ack").json()["delivered_at"]
    assert ledger_size() == before
    entry = holder.get("/v1/ledger/search", params={"case": file, "kind": "delivery_acknowledged"}).json()["items"][0]["entry"]
    assert (entry["detail"], entry["sender_unit"], entry["recipient_unit"]) == ("thematic_file_opened", CASA, IMR_CASA)


def test_a_retry_with_the_same_idempotency_key_is_answered_as_the_first_time(imr, omrane, ledger_size, engine_sql):
    key = {"Idempotency-Key": "thematic-open-1"}
    first = imr.post("/v1/thematic-files", json=file_payload(), headers=key)
    size = ledger_size()
    retry = imr.post("/v1/thematic-files", json=file_payload(), headers=key)
    assert (retry.status_code, retry.json(), retry.headers["receipt"]) == (first.status_code, first.json(), first.headers["receipt"])
    assert ledger_size() == size and engine_sql("SELECT count(*) FROM thematic_files").scalar() == 1
    file = first.json()["id"]

    posted = [omrane.post(f"/v1/thematic-files/{file}/messages", json=thematic_message("position"), headers={"Idempotency-Key": "pos-1"})
              for _ in range(2)]
    assert posted[0].json() == posted[1].json() and posted[0].headers["receipt"] == posted[1].headers["receipt"]
    case = open_case(imr)
    linked = [imr.put(f"/v1/thematic-files/{file}/cases/{case}", headers={"Idempotency-Key": "link-1"}) for _ in range(2)]
    assert [r.status_code for r in linked] == [200, 200] and linked[0].headers["receipt"] == linked[1].headers["receipt"]
    assert engine_sql("SELECT count(*) FROM thematic_messages").scalar() == 1
    assert engine_sql("SELECT count(*) FROM thematic_links").scalar() == 1
    reused = imr.put(f"/v1/thematic-files/{file}/cases/{open_case(imr)}", headers={"Idempotency-Key": "link-1"})
    assert reused.status_code == 422 and reused.json()["type"].endswith("/idempotency-key-reused")
