"""Crypto-shredding: the mediator erases a case's personal data; it is gone from the database,
reads say so, the erasure is on the ledger, and the ledger still verifies end to end."""

from __future__ import annotations

from gateway import samples
from gateway.cli import main
from tests.api.test_documents import stored_blobs, upload
from tests.factories import SHORT_LIFE, case_payload, message
from tests.privacy.test_sealed_at_rest import everything_stored, personal_values


def test_erasure_leaves_the_skeleton_and_no_personal_data(imr, omrane, client_for, engine_sql, settings, tmp_path, capsys):
    payload = case_payload()
    case_id = imr.post("/v1/cases", json=payload).json()["id"]
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE[:3]:
        clients[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, f"{kind}: Mme {payload['complainant']['full_name']}", **extra))
    photo = upload(omrane, case_id, samples.png(), filename=f"{payload['complainant']['full_name']}.png").json()
    assert stored_blobs(settings)

    assert omrane.delete(f"/v1/cases/{case_id}/personal-data").status_code == 403  # the respondent cannot
    assert client_for("ac-casa").delete(f"/v1/cases/{case_id}/personal-data").status_code == 403
    erased = imr.delete(f"/v1/cases/{case_id}/personal-data")
    assert erased.status_code == 200 and erased.headers["receipt"]
    again = imr.delete(f"/v1/cases/{case_id}/personal-data")
    assert again.status_code == 200 and "receipt" not in again.headers  # nothing happened twice

    for client in (imr, omrane):
        case = client.get(f"/v1/cases/{case_id}").json()
        assert case["personal_data_erased"] is True and case["complainant"] is None
        assert case["signed_request"]["body"] is None and case["signed_request"]["signature"]
        assert case["subject"] == "delivery_delays" and case["status"] == "acknowledged"
        assert case["title"] is case["summary"] is case["requested_action"] is None
        assert [m["kind"] for m in case["messages"]] == [kind for _, kind, _ in SHORT_LIFE[:3]]
        assert all(m["body"] is None and m["signed_request"]["body"] is None and m["signed_request"]["signature"] for m in case["messages"])
        assert client.get("/v1/cases").json()["items"][0]["title"] is None
    refused = omrane.post(f"/v1/cases/{case_id}/messages", json=message("interim_reply"))
    assert refused.status_code == 410 and refused.json()["type"] == "/problems/personal-data-erased"
    assert engine_sql("SELECT wrapped FROM case_keys WHERE case_id = :id", id=case_id).scalar() is None
    assert stored_blobs(settings) == [] and imr.get(photo["content"]).status_code == 410
    dump = everything_stored(engine_sql)
    for value in personal_values(payload):
        assert value.encode() not in dump

    auditor = client_for("auditor")
    kinds = [e["entry"]["kind"] for e in auditor.get("/v1/ledger/search", params={"case": case_id}).json()["items"]]
    assert kinds == ["case_opened", "message_sent", "message_sent", "message_sent", "document_attached", "personal_data_erased"]
    export = tmp_path / "ledger.jsonl"
    export.write_text(auditor.get("/v1/ledger/export").text, encoding="utf-8")
    assert main(["ledger", "verify", str(export), "--key", auditor.get("/v1/ledger/key").json()["note_key"]]) == 0
    assert capsys.readouterr().out.startswith("OK: 7 entries")  # and the start-up's registry_changed
