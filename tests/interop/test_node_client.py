"""A second language: the Node.js client beside this file (jose for the JWS, its own RFC 9162 and
C2SP code) opens cases on a live gateway over mutual TLS and verifies what it gets back; its
verifier also checks the conformance vectors, and refuses them tampered."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.generate import DIRECTORY as VECTORS
from gateway.server import background_gateway

INTEROP = Path(__file__).resolve().parent
CHECKS = ["ledger-key", "receipt-verifies-with-jwks", "inclusion-in-receipt-checkpoint",
          "inclusion-in-latest-checkpoint", "consistency-of-checkpoints"]
REFUSALS = ["receipt-claim-changed", "receipt-signature-changed", "receipt-forged-with-a-request-key", "entry-changed", "index-changed",
            "inclusion-proof-changed", "inclusion-proof-too-long", "checkpoint-root-changed", "consistency-to-another-root"]


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js, with the committed lockfile's packages installed in tests/interop/node_modules (npm ci:
    from npm's cache once it holds them)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed: scripts/system-packages installs Debian's nodejs and npm"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=INTEROP, check=True, capture_output=True, timeout=180)
    return node


def run(node: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node, *arguments], cwd=INTEROP, capture_output=True, text=True, timeout=60)


@pytest.mark.tls
def test_the_node_client_opens_cases_and_verifies_receipts_proofs_and_checkpoints(node, settings, test_pki, tmp_path, ledger_size):
    files = test_pki.files("imr")
    config = tmp_path / "client.json"
    with background_gateway(settings) as url:
        config.write_text(json.dumps({
            "url": url, "ca": str(test_pki.dev.ca_cert), "cert": str(files.cert), "key": str(files.key),
            "signing_key": str(files.signing_key), "unit": "imr", "gateway_id": settings.gateway_id,
        }))
        result = run(node, "client.mjs", str(config))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["checks"], report["rejected"]) == (CHECKS, REFUSALS)
    assert ledger_size() == 2  # the two cases it opened


def test_the_node_verifier_checks_every_conformance_vector(node):
    result = run(node, "vectors.mjs", str(VECTORS))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"request signatures": 4, "receipts": 5, "ledger entries": 9, "inclusion proofs": 36,
                                         "consistency proofs": 36, "checkpoints": 4, "cosignatures": 1}


def _tamper_receipt_claim(documents: dict) -> None:
    receipt = documents["receipts.json"]["receipts"][0]
    header, claims, signature = receipt["jws"].split(".")
    receipt["jws"] = f"{header}.{claims[:-2]}{'A' if claims[-2] != 'A' else 'B'}{claims[-1]}.{signature}"


def _tamper_inclusion_proof(documents: dict) -> None:
    item = next(item for item in documents["merkle.json"]["inclusion"] if item["proof_hex"])
    item["proof_hex"][0] = "00" + item["proof_hex"][0][2:]


def _tamper_entry(documents: dict) -> None:
    documents["ledger-entries.json"]["entries"][-1]["entry"]["detail"] += "!"


def _tamper_checkpoint(documents: dict) -> None:
    item = documents["checkpoints.json"]["checkpoints"][0]
    item["note"] = item["note"].replace("\n1\n", "\n2\n", 1)


@pytest.mark.parametrize("tamper", [_tamper_receipt_claim, _tamper_inclusion_proof, _tamper_entry, _tamper_checkpoint],
                         ids=lambda tamper: tamper.__name__.removeprefix("_tamper_"))
def test_the_node_verifier_refuses_tampered_vectors(node, tmp_path, tamper):
    documents = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in VECTORS.glob("*.json")}
    tamper(documents)
    for name, document in documents.items():
        (tmp_path / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = run(node, "vectors.mjs", str(tmp_path))
    assert result.returncode != 0 and result.stdout == ""
