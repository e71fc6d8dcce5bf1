"""Large documents over mutual TLS through the SDK: upload and download stream, so memory stays
flat whatever the size; the digest is checked at both ends; a changed blob never becomes a file."""

from __future__ import annotations

import logging
import asyncio
import hashlib
import os
import socket
import ssl
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway import samples
from imr_alomrane_gateway_client import AsyncGatewayClient, CaseCreate, PayloadTooLarge, UnsupportedDocument
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.signing import sha256_field
from gateway.storage.blobs import LocalBlobStore
from tests.conftest import wait_until
from tests.factories import case_payload

pytestmark = pytest.mark.tls

MiB = 1024 * 1024
LARGE = 64 * MiB  # the gateway holds at most a 256 KiB batch and one 64 KiB segment of it at a time
FLAT = 8 * MiB  # what "flat" allows for everything Python allocates meanwhile, client and server


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"max_document_bytes": 2 * LARGE})


def write_large_pdf(path: Path, size: int) -> str:
    """A PDF of `size` bytes (random filler after a real header), written without holding it."""
    sha = hashlib.sha256()
    with open(path, "wb") as out:
        head = samples.pdf(["Plan de masse – tranche 3"])
        for block in [head, *(os.urandom(MiB) for _ in range((size - len(head)) // MiB))]:
            out.write(block)
            sha.update(block)
        tail = os.urandom(size - out.tell())
        out.write(tail)
        sha.update(tail)
    return sha256_field(sha.digest())


def peak_while(action):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_document_far_larger_than_memory_streams_both_ways(sdk, tmp_path):
    imr, omrane = sdk("imr"), sdk("al-omrane")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    source = tmp_path / "plan.pdf"
    digest = write_large_pdf(source, LARGE)

    accepted, upload_peak = peak_while(lambda: imr.upload_document(case_id, source, "مخطط الكتلة – plan de masse.pdf"))
    assert accepted.value.size == LARGE and accepted.value.digest == digest
    assert accepted.receipt.claims["req_dig"] == digest and accepted.receipt.claims["ledger"]["entry"]["payload_digest"] == digest

    target = tmp_path / "received.pdf"
    downloaded, download_peak = peak_while(lambda: omrane.download_document(case_id, accepted.value.id, target))
    assert downloaded.digest == digest and target.stat().st_size == LARGE and not downloaded.partial
    print(f"\nPython heap peak: upload {upload_peak / MiB:.1f} MiB, download {download_peak / MiB:.1f} MiB, document {LARGE // MiB} MiB")
    assert upload_peak < FLAT and download_peak < FLAT

    tail = omrane.download_document(case_id, accepted.value.id, tmp_path / "tail.bin", start=LARGE - 1000)
    assert tail.partial and (tmp_path / "tail.bin").read_bytes() == source.read_bytes()[-1000:]


def test_the_async_client_uploads_and_downloads(sdk, tmp_path):
    photo = samples.png(320, 240)

    async def scenario():
        async with sdk("imr", AsyncGatewayClient) as imr:
            case_id = (await imr.open_case(CaseCreate(**case_payload()))).value.id
            document = (await imr.upload_document(case_id, photo, "شقوق الجدار.png")).value
            listed = await imr.documents(case_id)
            got = await imr.download_document(case_id, document.id, tmp_path / "photo.png", start=0, end=99)
            return document, listed, got

    document, listed, got = asyncio.run(scenario())
    assert [d.filename for d in listed] == ["شقوق الجدار.png"] and document.media_type == "image/png"
    assert got.partial and (tmp_path / "photo.png").read_bytes() == photo[:100]


def test_refusals_reach_the_sdk_as_typed_errors(sdk, tmp_path, settings):
    imr = sdk("imr")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    with pytest.raises(UnsupportedDocument) as refused:
        imr.upload_document(case_id, b"MZ" + bytes(500), "facture.pdf")
    assert refused.value.slug == "document-type-refused"
    too_big = tmp_path / "too-big.pdf"
    with open(too_big, "wb") as out:
        out.truncate(settings.max_document_bytes + 1)
    with pytest.raises(PayloadTooLarge):
        imr.upload_document(case_id, too_big)


def test_a_changed_blob_never_becomes_a_downloaded_file(sdk, settings, tmp_path):
    imr = sdk("imr")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    document = imr.upload_document(case_id, samples.pdf(["x"], padding=300_000), "acte.pdf").value
    [blob] = [path for path in settings.blob_dir.rglob("*") if path.is_file()]
    sealed = bytearray(blob.read_bytes())
    sealed[-100] ^= 1  # in the last segment: the stream breaks off after the earlier ones
    blob.write_bytes(bytes(sealed))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with pytest.raises(httpx.HTTPError):
        imr.download_document(case_id, document.id, downloads / "acte.pdf")
    assert list(downloads.iterdir()) == []  # nor a partial file


def test_a_client_that_disconnects_mid_upload_leaves_nothing(sdk, tls_gateway, test_pki, settings, engine_sql, caplog):
    """The sender's side of a crash: half a body, then the connection drops. It is the client's
    doing: an INFO line, never an error with a traceback."""
    caplog.set_level(logging.INFO, logger="gateway")
    imr = sdk("imr")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    data = samples.pdf(["Acte"], padding=2 * MiB)
    request = imr.http.build_request(
        "POST", f"/v1/cases/{case_id}/documents", content=data,
        headers={"Content-Disposition": attachment_header("acte.pdf"), "Idempotency-Key": "half"},
    )
    request = imr.http.auth.auth_flow(request).__next__()  # signed as the SDK would
    host, port = tls_gateway.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    context.load_cert_chain(test_pki.files("imr").cert, test_pki.files("imr").key)
    with socket.create_connection((host, int(port))) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        head = f"POST {request.url.raw_path.decode()} HTTP/1.1\r\nHost: {host}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in request.headers.items() if name.lower() != "host")
        tls.sendall(head.encode("latin-1") + b"\r\n" + data[: len(data) // 2])
        wait_until(lambda: any(settings.blob_dir.rglob("*.part")))  # the upload has begun: now drop the connection
    wait_until(lambda: not any(settings.blob_dir.rglob("*.part")))
    wait_until(lambda: any(record.name == "gateway.api.problems" for record in caplog.records))  # the request has ended
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info], caplog.text
    assert [path for path in settings.blob_dir.rglob("*") if path.is_file()] == []
    assert engine_sql("SELECT count(*) FROM documents").scalar() == 0
    assert imr.upload_document(case_id, data, "acte.pdf", idempotency_key="half").value.size == len(data)  # the key was released


def test_files_staged_by_a_crashed_gateway_are_swept_and_never_listed(settings):
    store = LocalBlobStore(settings.blob_dir)
    leftover = store.stage()
    leftover.write(b"half a document")
    stale = next(store.incoming.glob("*.part"))
    os.utime(stale, (time.time() - 2 * 24 * 3600,) * 2)
    fresh = store.stage()
    fresh.write(b"an upload in progress")
    assert store.sweep_incoming() == 1 and not stale.exists() and len(list(store.incoming.glob("*.part"))) == 1
    fresh.discard()


def test_concurrent_uploads_to_one_case_all_land(sdk, settings, engine_sql):
    """Bytes arrive outside any write transaction, so parallel uploads do not queue on the database
    while they stream; each then commits its row, ledger entry and receipt on its own."""
    imr = sdk("imr")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    scans = {f"scan {n} – مسح {n}.pdf": samples.pdf([f"Page {n}"], padding=(n + 1) * 400_000) for n in range(6)}
    clients = [sdk("imr" if n % 2 else "al-omrane") for n in range(len(scans))]
    with ThreadPoolExecutor(max_workers=len(scans)) as pool:
        accepted = list(pool.map(lambda job: job[0].upload_document(case_id, job[1][1], job[1][0]), zip(clients, scans.items())))
    assert sorted(a.value.filename for a in accepted) == sorted(scans)
    assert {d.filename: d.size for d in imr.documents(case_id)} == {name: len(data) for name, data in scans.items()}
    entries = engine_sql("SELECT seq FROM ledger_entries WHERE kind = 'document_attached' ORDER BY seq").scalars().all()
    assert len(entries) == len(scans) and len({a.receipt.claims["ledger"]["index"] for a in accepted}) == len(scans)
