"""`gateway blobs collect` removes what no document needs (an upload published but never committed,
an erasure whose deletion was interrupted) and nothing else: not a live document, not a young blob."""

from __future__ import annotations

import os
import time
import uuid

from gateway import samples
from gateway.cli import main
from gateway.storage.blobs import LocalBlobStore
from tests.api.test_documents import stored_blobs, upload
from tests.factories import case_payload

DAY = 24 * 3600


def test_collect_removes_orphans_and_leftovers_of_erasure_only(imr, settings, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_BLOB_DIR", str(settings.blob_dir))
    store = LocalBlobStore(settings.blob_dir)
    live_case = imr.post("/v1/cases", json=case_payload()).json()["id"]
    live = upload(imr, live_case, samples.png(), "façade.png").json()
    erased_case = imr.post("/v1/cases", json=case_payload()).json()["id"]
    erased = upload(imr, erased_case, samples.png(), "fissure.png").json()
    leftover = store.path(erased["id"]).read_bytes()
    assert imr.delete(f"/v1/cases/{erased_case}/personal-data").status_code == 200
    store.path(erased["id"]).write_bytes(leftover)  # as if the deletion after the commit had been interrupted

    def orphan() -> str:  # published, then the process died before its commit
        staged, name = store.stage(), str(uuid.uuid4())
        staged.write(b"sealed bytes")
        staged.publish(name)
        return name

    old_orphan, young_orphan = orphan(), orphan()
    for name in (live["id"], erased["id"], old_orphan):
        os.utime(store.path(name), (time.time() - 2 * DAY,) * 2)

    assert main(["blobs", "collect", "--dry-run"]) == 0
    assert "would remove 2 blob(s)" in capsys.readouterr().out and len(stored_blobs(settings)) == 4
    assert main(["blobs", "collect"]) == 0
    assert "removed 2 blob(s)" in capsys.readouterr().out
    assert sorted(path.name for path in stored_blobs(settings)) == sorted([live["id"], young_orphan])
    assert imr.get(live["content"]).content == samples.png()
