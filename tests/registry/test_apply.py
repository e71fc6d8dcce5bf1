"""`gateway registry apply`: a registry put in force in a running gateway without a restart,
recorded in the ledger; nothing recorded when nothing changed, nothing changed when the file is wrong."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

from gateway.cli import main
from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.runtime import Runtime
from gateway.security.registry import Registry
from imr_alomrane_gateway_client.signing import content_digest
from tests.factories import case_payload
from tests.registry.conftest import NEW_UNIT, apply, as_unit, institution, serves_version


def registry_entries(engine_sql) -> list[dict]:
    rows = engine_sql("SELECT detail, payload_digest FROM ledger_entries WHERE kind = 'registry_changed' ORDER BY seq").all()
    return [{**json.loads(detail), "payload_digest": digest} for detail, digest in rows]


def entries(engine_sql) -> int:
    """Every entry, the registry's too."""
    return engine_sql("SELECT count(*) FROM ledger_entries").scalar_one()


def test_start_up_applies_the_file_as_version_one_and_records_it(running, own_settings, engine_sql):
    running()
    [entry] = registry_entries(engine_sql)
    registry = Registry.load(own_settings.registry_file)
    assert entry["version"] == 1 and entry["registry"] == hashlib.sha256(registry.canonical()).hexdigest()
    assert entry["payload_digest"] == content_digest(registry.canonical()) and entry["crl"] is None
    added = {(change["change"], change.get("id") or change.get("kid")) for change in entry["changes"]}
    assert {("institution_added", "imr"), ("unit_added", "imr-casablanca-settat")} <= added
    assert {change["change"] for change in entry["changes"]} == {"institution_added", "unit_added", "certificate_added", "key_added"}
    assert not any("name" in json.dumps(change) for change in entry["changes"])  # ids, kids and digests only
    assert running().app.state.runtime.trust.version == 1  # a second process: the same file, nothing new


def test_a_unit_added_with_its_key_signs_for_a_running_gateway_without_restart(running, edit_registry, new_unit, capsys, engine_sql):
    gateway = running()
    files, entry = new_unit
    refused = as_unit(gateway, files, NEW_UNIT).get("/v1/me")
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/unregistered-certificate"

    edit_registry(lambda document: institution(document, "imr")["units"].append(entry))
    status, printed = apply(capsys)
    assert status == 0 and "registry version 2 applied" in printed
    serves_version(gateway, 2)
    opened = as_unit(gateway, files, NEW_UNIT).post("/v1/cases", json=case_payload(
        project={"name": "Al Amal", "city": "Oujda", "region": "oriental"}))
    assert opened.status_code == 201 and opened.json()["mediator_unit"] == NEW_UNIT
    changes = registry_entries(engine_sql)[-1]["changes"]
    kid = entry["signing_keys"][0]["kid"]
    assert changes == [
        {"change": "unit_added", "id": NEW_UNIT},
        {"change": "certificate_added", "unit": NEW_UNIT, "sha256": entry["certificates"][0]["sha256"]},
        {"change": "key_added", "kid": kid, "owner": NEW_UNIT},
    ]


def test_a_revoked_key_and_a_deactivated_institution_are_refused_from_then_on(running, client_for, edit_registry, capsys, engine_sql,
                                                                              test_pki):
    gateway = running()
    imr = as_unit(gateway, test_pki.files("imr"), "imr")
    assert imr.post("/v1/cases", json=case_payload()).status_code == 201
    kid = Registry.load(gateway.app.state.settings.registry_file).institutions[0].signing_keys[0].kid

    edit_registry(lambda document: institution(document, "imr")["signing_keys"][0].update(revoked=True))
    assert apply(capsys)[0] == 0
    serves_version(gateway, 2)
    refused = imr.post("/v1/cases", json=case_payload())
    assert refused.status_code == 401 and refused.json()["type"] == "/problems/signature-key-revoked"
    assert registry_entries(engine_sql)[-1]["changes"] == [{"change": "key_revoked", "kid": kid, "owner": "imr"}]

    edit_registry(lambda document: institution(document, "al-omrane").update(active=False))
    assert apply(capsys)[0] == 0
    serves_version(gateway, 3)
    for name in ("al-omrane", "al-omrane-marrakech-safi"):
        me = as_unit(gateway, test_pki.files(name), name).get("/v1/me")
        assert me.status_code == 403 and me.json()["type"] == "/problems/unregistered-certificate"
    changes = registry_entries(engine_sql)[-1]["changes"]
    assert {"change": "institution_deactivated", "id": "al-omrane"} in changes
    assert {"change": "unit_deactivated", "id": "al-omrane-marrakech-safi"} in changes
    history = engine_sql("SELECT active FROM institutions WHERE id = 'al-omrane'").scalar_one()
    assert not history and engine_sql("SELECT count(*) FROM units WHERE institution_id = 'al-omrane'").scalar_one() == 4  # kept
    jwks = {key["kid"]: key for key in as_unit(gateway, test_pki.files("auditor"), "auditor").get("/.well-known/jwks.json").json()["keys"]}
    assert all(jwks[key["kid"]].get("revoked") for key in institution(json.loads(gateway.app.state.settings.registry_file.read_text()),
                                                                          "al-omrane")["signing_keys"])


def test_an_unchanged_registry_records_nothing(running, capsys, engine_sql):
    running()
    before = entries(engine_sql)
    status, printed = apply(capsys)
    assert (status, printed.strip()) == (0, "registry unchanged: version 1 stays in force")
    assert entries(engine_sql) == before and engine_sql("SELECT count(*) FROM registry_versions").scalar_one() == 1


def test_an_invalid_file_changes_nothing_and_says_why_in_one_line(running, own_settings, test_pki, capsys, engine_sql):
    gateway = running()
    before = entries(engine_sql)
    document = json.loads(own_settings.registry_file.read_text())
    document["institutions"][1]["signing_keys"] = document["institutions"][0]["signing_keys"]  # a kid twice
    own_settings.registry_file.write_text(json.dumps(document))
    status, printed = apply(capsys)
    assert status == 2 and printed.count("\n") == 1 and "GATEWAY_REGISTRY_FILE" in printed and "kid" in printed
    own_settings.registry_file.write_text("{not json")
    status, printed = apply(capsys)
    assert status == 2 and printed.count("\n") == 1 and "GATEWAY_REGISTRY_FILE" in printed
    assert entries(engine_sql) == before and engine_sql("SELECT count(*) FROM registry_versions").scalar_one() == 1
    assert as_unit(gateway, test_pki.files("imr"), "imr").get("/v1/me").status_code == 200


def test_the_registry_entries_verify_offline_and_name_the_registry_applied(running, edit_registry, new_unit, capsys, tmp_path,
                                                                         engine_sql):
    running()
    edit_registry(lambda document: institution(document, "imr")["units"].append(new_unit[1]))
    assert apply(capsys)[0] == 0
    export = tmp_path / "ledger.jsonl"
    assert main(["ledger", "export", str(export)]) == 0
    assert main(["ledger", "key"]) == 0
    note_key = capsys.readouterr().out.strip()
    assert main(["ledger", "verify", str(export), "--key", note_key]) == 0, capsys.readouterr().out
    entries = [Entry.from_dict(record["entry"]) for record in map(json.loads, export.read_text().splitlines())
               if record["type"] == "entry"]
    applied = [entry for entry in entries if entry.kind == "registry_changed"]
    assert [json.loads(entry.detail)["version"] for entry in applied] == [1, 2]
    current = engine_sql("SELECT document FROM registry_versions WHERE version = 2").scalar_one()
    assert applied[-1].payload_digest == content_digest(current.encode())
    assert json.loads(applied[-1].detail)["registry"] == hashlib.sha256(current.encode()).hexdigest()


def test_concurrent_applies_are_serialized_and_the_second_records_nothing(own_settings, edit_registry, new_unit, engine_sql):
    runtimes = [Runtime(own_settings) for _ in range(4)]
    try:
        runtimes[0].start()
        edit_registry(lambda document: institution(document, "imr")["units"].append(new_unit[1]))
        with ThreadPoolExecutor(len(runtimes)) as pool:
            applied = list(pool.map(lambda runtime: runtime.apply_files(), runtimes))
    finally:
        for runtime in runtimes:
            runtime.close()
    assert sorted(result.version for result in applied if result is not None) == [2]
    assert engine_sql("SELECT count(*) FROM registry_versions").scalar_one() == 2 and len(registry_entries(engine_sql)) == 2
    assert {runtime.trust.version for runtime in runtimes} == {2}
