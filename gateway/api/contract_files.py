"""The published contract, generated from the app and the pydantic models of imr_alomrane_gateway_client.contract:
`openapi/v1.json` and `schemas/*.json`.

Both are committed so that the institutions' teams can read them without running anything; a
test fails when they drift from the code."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from imr_alomrane_gateway_client.contract.cases import CaseCreate, CaseDetail, CaseSummary, MessageCreate, MessageOut
from imr_alomrane_gateway_client.contract.common import Problem
from imr_alomrane_gateway_client.contract.documents import DocumentOut
from imr_alomrane_gateway_client.contract.inbox import InboxEventOut
from imr_alomrane_gateway_client.contract.institutions import InstitutionOut
from imr_alomrane_gateway_client.contract.keys import KeyHistoryOut
from imr_alomrane_gateway_client.contract.ledger import CheckpointOut, ConsistencyProofOut, CosignatureIn, EntryOut, InclusionProofOut
from imr_alomrane_gateway_client.contract.receipts import ReceiptOut
from imr_alomrane_gateway_client.contract.thematic import ThematicFileCreate, ThematicFileDetail, ThematicFileSummary, ThematicMessageCreate, ThematicMessageOut

PAYLOADS: tuple[type[BaseModel], ...] = (
    CaseCreate, CaseDetail, CaseSummary, MessageCreate, MessageOut, DocumentOut, InboxEventOut, InstitutionOut, Problem, ReceiptOut,
    CheckpointOut, ConsistencyProofOut, CosignatureIn, EntryOut, InclusionProofOut, KeyHistoryOut,
    ThematicFileCreate, ThematicFileDetail, ThematicFileSummary, ThematicMessageCreate, ThematicMessageOut,
)


def _dump(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def generated_files() -> dict[Path, str]:
    from gateway.app import create_app
    from gateway.config import Settings

    files = {Path("openapi/v1.json"): _dump(create_app(Settings()).openapi())}
    for model in PAYLOADS:
        schema = model.model_json_schema(mode="validation" if model.model_config.get("extra") == "forbid" else "serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        files[Path("schemas") / f"{model.__name__}.json"] = _dump(schema)
    return files


def write_files(root: Path) -> list[Path]:
    written = []
    for relative, text in generated_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(root: Path) -> list[Path]:
    expected = generated_files()
    stale = [root / p for p, text in expected.items() if not (root / p).exists() or (root / p).read_text(encoding="utf-8") != text]
    stale += [p for p in (root / "schemas").glob("*.json") if p.relative_to(root) not in expected]
    return stale
