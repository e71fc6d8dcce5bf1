"""GET /v1/keys/history: every key ever published, with the registry versions that trusted it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.storage.models import RegistryVersion
from tests.registry.conftest import NEW_UNIT, apply, as_unit, institution

GATEWAY = "imr-alomrane-gateway"


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_history_lists_old_and_new_keys_with_when_they_were_trusted(running, edit_registry, new_unit, capsys, engine_sql, test_pki):
    gateway = running()
    files, entry = new_unit
    new_kid = entry["signing_keys"][0]["kid"]
    ended = datetime.now(UTC) - timedelta(days=1)
    edit_registry(lambda document: (institution(document, "imr")["units"].append(entry),
                                    institution(document, "al-omrane")["signing_keys"][0].update(not_after=ended.isoformat())))
    assert apply(capsys)[0] == 0  # version 2: a unit and its key; a key that expired
    edit_registry(lambda document: (institution(document, "imr")["signing_keys"][0].update(revoked=True),
                                    institution(document, "imr")["units"][-1].update(signing_keys=[])))
    assert apply(capsys)[0] == 0  # version 3: a key revoked, a key removed
    applied_at = dict(engine_sql(select(RegistryVersion.version, RegistryVersion.applied_at)).all())

    response = as_unit(gateway, test_pki.files("auditor"), "auditor").get("/v1/keys/history")
    assert response.status_code == 200
    history = response.json()
    assert history["registry_version"] == 3
    keys = {key["kid"]: key for key in history["keys"]}

    revoked = next(key for key in keys.values() if key["owner"] == "imr")
    assert (revoked["first_version"], revoked["last_version"]) == (1, 2)
    assert _moment(revoked["trusted_until"]) == _moment(revoked["revoked_at"]) == applied_at[3]
    added = keys[new_kid]
    assert (added["owner"], added["purpose"], added["first_version"], added["last_version"]) == (NEW_UNIT, "requests", 2, 2)
    assert (_moment(added["trusted_from"]), _moment(added["trusted_until"])) == (applied_at[2], applied_at[3])
    assert added["revoked_at"] is None and added["jwk"] == {name: entry["signing_keys"][0]["jwk"][name] for name in ("kty", "crv", "x", "y")}
    expired = next(key for key in keys.values() if key["owner"] == "al-omrane")
    assert _moment(expired["not_after"]) == ended and (expired["last_version"], expired["trusted_until"]) == (3, None)
    own = [key for key in keys.values() if key["owner"] == GATEWAY]
    assert {key["purpose"] for key in own} == {"receipts", "ledger-checkpoints"}
    assert all((key["first_version"], key["last_version"], key["trusted_until"]) == (1, 3, None) for key in own)

    changes = [change for (detail,) in engine_sql("SELECT detail FROM ledger_entries WHERE kind = 'registry_changed' ORDER BY seq").all()
               for change in json.loads(detail)["changes"]]
    assert {"change": "key_expired", "kid": expired["kid"], "owner": "al-omrane"} in changes
    assert {"change": "key_revoked", "kid": revoked["kid"], "owner": "imr"} in changes
    assert {"change": "key_removed", "kid": new_kid, "owner": NEW_UNIT} in changes


def test_the_history_needs_a_registered_certificate(running):
    history = running().get("/v1/keys/history")
    assert history.status_code == 401 and history.json()["type"] == "/problems/client-certificate-required"
