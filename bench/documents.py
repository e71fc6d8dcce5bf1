"""Throughput and memory of document uploads and downloads over mutual TLS through the SDK, against
a baseline measured in the same run: the same uvicorn server, TLS set-up and client moving the same
bytes to and from a bare ASGI app that does nothing with them. The ratio is what the gateway adds
(signature, digest, type check, segmented AES-GCM, atomic storage, ledger entry and receipt on the
way up; key unwrapping, decryption and the SDK's digest check on the way down).

Memory: the Python heap's peak while each transfer runs (client and server share this process),
from tracemalloc, in a separate pass, since tracing slows allocation down; and the process's peak
resident size (which also counts OpenSSL's and the allocator's memory) before and after all transfers.

Run: .venv/bin/python bench/documents.py [--mib 200] [--repeat 3]   (about a minute)
"""

from __future__ import annotations

import argparse
import os
import resource
import ssl
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, GatewayClient
from gateway.security.dev import trust_roots
from gateway.server import background_gateway, scratch_settings

MiB = 1024 * 1024
CHUNK = 256 * 1024
CASE = {
    "respondent_id": "al-omrane", "reference": "BENCH/DOCS",
    "complainant": {"full_name": "Nadia El Amrani", "cin": "A456789", "address": "Témara", "preferred_language": "fr"},
    "subject": "title_deeds", "title": "Titre foncier", "summary": "Banc d'essai.",
    "project": {"name": "Al Firdaous", "city": "Témara", "region": "fes-meknes"}, "requested_action": "Aucune.",
}


async def bare_app(scope, receive, send):
    """The baseline: reads an upload and forgets it; streams a download of the requested size."""
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    size = int(scope["query_string"].decode().removeprefix("size="))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(size).encode())]})
    block = bytes(CHUNK)
    for start in range(0, size, CHUNK):
        await send({"type": "http.response.body", "body": block[: min(CHUNK, size - start)], "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def file_chunks(path: Path):
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def heap_peak(action) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200, help="document size")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * MiB
    with tempfile.TemporaryDirectory() as directory, scratch_settings(max_document_bytes=2 * size) as settings:
        root = Path(directory)
        document = root / "plan.pdf"
        with open(document, "wb") as out:
            out.write(samples.pdf(["Plan de masse"]))
            while out.tell() < size:
                out.write(os.urandom(min(MiB, size - out.tell())))
        rss_before = peak_rss()
        context = ssl.create_default_context(cafile=str(settings.pki_dir / "ca.pem"))
        context.load_cert_chain(settings.pki_dir / "imr.pem", settings.pki_dir / "imr.key")

        with background_gateway(settings, bare_app) as url, httpx.Client(base_url=url, verify=context, timeout=120) as bare:
            def bare_upload():
                bare.post("/", content=file_chunks(document), headers={"Content-Length": str(size)}).raise_for_status()

            def bare_download():
                with bare.stream("GET", f"/?size={size}") as response, open(root / "bare.bin", "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)

            base_up = statistics.median(seconds(bare_upload) for _ in range(args.repeat))
            base_down = statistics.median(seconds(bare_download) for _ in range(args.repeat))

        with background_gateway(settings) as url:
            imr = GatewayClient.from_pki_dir(url, "imr", settings.pki_dir, timeout=120, **trust_roots(settings))
            omrane = GatewayClient.from_pki_dir(url, "al-omrane", settings.pki_dir, timeout=120, **trust_roots(settings))
            case_id = imr.open_case(CaseCreate(**CASE)).value.id
            uploaded: list[str] = []
            up = statistics.median(
                seconds(lambda: uploaded.append(imr.upload_document(case_id, document, "مخطط – plan.pdf").value.id))
                for _ in range(args.repeat)
            )
            down = statistics.median(
                seconds(lambda: omrane.download_document(case_id, uploaded[0], root / "received.pdf")) for _ in range(args.repeat)
            )
            up_heap = heap_peak(lambda: imr.upload_document(case_id, document, "plan.pdf"))
            down_heap = heap_peak(lambda: omrane.download_document(case_id, uploaded[0], root / "received.pdf"))
            imr.close(), omrane.close()
        rss_after = peak_rss()

    print(f"document of {args.mib} MiB, median of {args.repeat}, mutual TLS on loopback, SQLite, one process\n")
    print(f"{'transfer':<34}{'seconds':>9}{'MiB/s':>9}{'ratio':>8}{'heap peak':>12}")
    for name, took, baseline, heap in (
        ("upload, bare ASGI app (baseline)", base_up, base_up, None),
        ("upload through the gateway (SDK)", up, base_up, up_heap),
        ("download, bare ASGI app (baseline)", base_down, base_down, None),
        ("download through the gateway (SDK)", down, base_down, down_heap),
    ):
        peak = f"{heap:>8.1f} MiB" if heap is not None else ""
        print(f"{name:<34}{took:>9.2f}{args.mib / took:>9.0f}{took / baseline:>8.2f}{peak:>12}")
    print(f"\nprocess peak resident size: {rss_before:.0f} MiB before the transfers, {rss_after:.0f} MiB after them all")


if __name__ == "__main__":
    main()
