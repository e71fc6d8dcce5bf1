"""`gateway retention apply` erases what the policy says and nothing else, on the ledger;
`gateway master-key rotate` re-wraps data keys without touching a document, and the gateway keeps
reading everything through the rotation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway import samples
from gateway.app import create_app
from gateway.cli import main
from tests.api.test_documents import stored_blobs, upload
from tests.conftest import institution_client
from tests.factories import SHORT_LIFE, case_payload, message
from tests.thematic.arrange import TITLE, open_file


def closed_case(imr, omrane) -> str:
    """A case with a document, worked to its closure."""
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    assert upload(omrane, case_id, samples.pdf(["Quittance"]), filename="quittance.pdf").status_code == 201
    for sender, kind, extra in SHORT_LIFE:
        client = imr if sender == "imr" else omrane
        assert client.post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra)).status_code == 201
    return case_id


def test_retention_erases_cases_closed_long_enough_and_records_it(imr, omrane, client_for, engine_sql, settings, cli_env, capsys, tmp_path):
    old, recent = closed_case(imr, omrane), closed_case(imr, omrane)
    still_open = imr.post("/v1/cases", json=case_payload()).json()["id"]
    engine_sql("UPDATE cases SET closed_at = :at WHERE id = :id", at="2020-01-01 00:00:00+00:00", id=old)

    assert main(["retention", "apply", "--days", "365", "--dry-run"]) == 0
    assert old in capsys.readouterr().out and imr.get(f"/v1/cases/{old}").json()["personal_data_erased"] is False
    assert main(["retention", "apply", "--days", "365"]) == 1  # no terminal to ask, no --yes: nothing erased
    assert imr.get(f"/v1/cases/{old}").json()["personal_data_erased"] is False
    assert main(["retention", "apply", "--days", "365", "--yes"]) == 0
    assert "1 case(s)" in capsys.readouterr().out
    assert main(["retention", "apply", "--days", "365", "--yes"]) == 0  # idempotent
    assert "0 case(s)" in capsys.readouterr().out

    erased = imr.get(f"/v1/cases/{old}").json()
    assert erased["personal_data_erased"] is True and erased["complainant"] is None and erased["status"] == "closed"
    for kept in (recent, still_open):
        assert imr.get(f"/v1/cases/{kept}").json()["complainant"] is not None
    assert len(stored_blobs(settings)) == 1  # the recent case's document only

    auditor = client_for("auditor")
    [entry] = [e["entry"] for e in auditor.get("/v1/ledger/search", params={"case": old}).json()["items"]
               if e["entry"]["kind"] == "personal_data_erased"]
    assert entry["detail"] == "retention" and entry["sender"] == settings.gateway_id and entry["recipient"] == "imr"
    export = tmp_path / "ledger.jsonl"
    export.write_text(auditor.get("/v1/ledger/export").text, encoding="utf-8")
    assert main(["ledger", "verify", str(export), "--key", auditor.get("/v1/ledger/key").json()["note_key"]]) == 0


def test_master_key_rotation_rewraps_and_never_reencrypts(imr, settings, engine_sql, cli_env, test_pki, tmp_path, capsys):
    case_id = imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "before-rotation"}).json()["id"]
    photo = samples.png()
    document = upload(imr, case_id, photo, filename="façade.png").json()
    file_id = open_file(imr)["id"]  # a thematic file's key is re-wrapped too
    blob_before = {path: path.read_bytes() for path in stored_blobs(settings)}
    old_key = settings.pki_dir / "master.key"

    new_key = tmp_path / "new-master.key"
    assert main(["master-key", "new", str(new_key)]) == 0 and new_key.stat().st_mode & 0o777 == 0o600
    assert main(["master-key", "new", str(new_key)]) == 1  # never overwritten
    cli_env.setenv("GATEWAY_MASTER_KEY_FILE", str(new_key))
    cli_env.setenv("GATEWAY_RETIRED_MASTER_KEY_FILES", str(old_key))
    rotated = settings.model_copy(update={"master_key_file": new_key, "retired_master_key_files": [old_key]})

    def reads_everything(current_settings) -> None:
        application = create_app(current_settings)
        with TestClient(application):
            client = institution_client(application, test_pki, "imr")
            assert client.get(f"/v1/cases/{case_id}").json()["complainant"]["cin"] == "BE123456"
            assert client.get(document["content"]).content == photo
            assert client.get(f"/v1/thematic-files/{file_id}").json()["title"] == TITLE
            replay = client.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "before-rotation"})
            assert replay.status_code == 422  # same key, other body: still compared, the stored reply still opens

    reads_everything(rotated)  # mid-rotation: both keys configured
    capsys.readouterr()
    assert main(["master-key", "rotate"]) == 0
    assert "2 data key(s) re-wrapped" in capsys.readouterr().out
    new_id = rotated.load_master_key().id
    assert {row[0] for row in engine_sql("SELECT master_key_id FROM case_keys")} == {new_id}
    assert {row[0] for row in engine_sql("SELECT master_key_id FROM thematic_file_keys")} == {new_id}
    assert {path: path.read_bytes() for path in stored_blobs(settings)} == blob_before  # documents untouched

    cli_env.delenv("GATEWAY_RETIRED_MASTER_KEY_FILES")
    reads_everything(rotated.model_copy(update={"retired_master_key_files": []}))  # the old key is no longer needed


@pytest.mark.parametrize("days", ["-5", "0", "soon"])
def test_a_retention_period_under_one_day_is_refused_before_anything_is_read(days, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["retention", "apply", "--days", days, "--yes"])
    assert refused.value.code == 2 and "--days" in capsys.readouterr().err
