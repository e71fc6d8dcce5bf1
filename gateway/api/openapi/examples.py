"""Examples for every request and response body: a realistic exchange in Arabic and French, on the
invented complaints of gateway/samples.py. Built as the contract's own models wherever one
exists, so that an example that stops matching its schema fails when the document is generated
(and tests/contract checks each against the published schema).

The tokens are well-formed compact JWS with illustrative signatures: conformance/ holds
verifiable ones."""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel

from gateway import samples

from imr_alomrane_gateway_client.contract.cases import (
    CaseCreate, CaseDetail, CaseSummary, HousingProjectOut, MessageCreate, MessageOut, ProcessingTimes, SignedRequestOut,
    TransferCreate,
)
from imr_alomrane_gateway_client.contract.common import Page
from imr_alomrane_gateway_client.contract.documents import DocumentOut
from imr_alomrane_gateway_client.contract.inbox import InboxEventOut
from imr_alomrane_gateway_client.contract.institutions import InstitutionOut, UnitOut
from imr_alomrane_gateway_client.contract.keys import KeyHistoryOut, PublishedKeyOut
from imr_alomrane_gateway_client.contract.ledger import (
    CheckpointOut, ConsistencyProofOut, CosignatureIn, Durations, EntryOut, InclusionProofOut, LedgerKeyOut, ProcessingFigures,
    ProcessingStatisticsOut,
)
from imr_alomrane_gateway_client.contract.receipts import ReceiptOut
from imr_alomrane_gateway_client.signing import RECEIPTS, REQUESTS, SIGNATURE_KEY, thumbprint
from imr_alomrane_gateway_client.contract.thematic import (
    CommitmentOut, LinkedCaseOut, ThematicFileCreate, ThematicFileDetail, ThematicFileSummary, ThematicMessageCreate, ThematicMessageOut,
)

CASE_ID = "3f6c1d2e-8a4b-4c7d-9e0f-1a2b3c4d5e6f"
MESSAGE_ID = "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
DOCUMENT_ID = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a"
FILE_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
COMMITMENT_ID = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
EVENT_ID = "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6"
RECEIPT_ID = "6f5e4d3c-2b1a-4f0e-8d9c-b8a7f6e5d4c3"
OPENED_AT = "2026-11-24T07:36:25.123456Z"
DIGEST = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
SIGNATURE_DIGEST = "sha-256=:2jmj7l5rSw0yVb/vlWAYkK/YBwk+8Ncb3mYgQU1W3Do=:"
LEAF_HASH = "a3f1c9e24b7d6085e2c1f0b9d8a7e6f5c4b3a29180716f5e4d3c2b1a0f9e8d7c"
NODE_HASHES = ["q+1fXK3yDk8lH0Zr9vV5u2bJ7cN4mW6tA1sE8gP0oRI=", "Zm9yIGEgdHJlZSBvZiA0MiBsZWF2ZXM6IGEgbm9kZSA="]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws(header: dict[str, Any], claims: dict[str, Any]) -> str:
    segments = (json.dumps(header, separators=(",", ":")).encode(), json.dumps(claims, separators=(",", ":")).encode(), b"\x5a" * 64)
    return ".".join(_b64url(segment) for segment in segments)


_EC_JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
_GATEWAY_JWK = {"kty": "EC", "crv": "P-256", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
REQUEST_KID = thumbprint(_EC_JWK)  # every key's kid is its RFC 7638 thumbprint
RECEIPT_KID = thumbprint(_GATEWAY_JWK)
REQUEST_JWS = _jws({"alg": "ES256", "kid": REQUEST_KID, "typ": "gateway-request+jwt"}, {
    "iss": "imr-casablanca-settat", "aud": "imr-alomrane-gateway", "htm": "POST", "htu": "/v1/cases", "iat": 1795505785,
    "jti": "5d0a3c1e-7f42-4b8a-a1e9-6c2d0b9f8e71", "dig": DIGEST,
})
RECEIPT_JWS = _jws({"alg": "ES256", "kid": RECEIPT_KID, "typ": "gateway-receipt+jwt"}, {
    "iss": "imr-alomrane-gateway", "sub": "imr-casablanca-settat", "kind": "acceptance", "resource": f"/v1/cases/{CASE_ID}",
    "at": OPENED_AT, "req_dig": DIGEST,
})
NOTE = ("imr-alomrane-gateway/ledger\n42\n2Pq+1fXK3yDk8lH0Zr9vV5u2bJ7cN4mW6tA1sE8gP0o=\n\n"
        "\u2014 imr-alomrane-gateway/ledger Az3rFQ" + "b3+Nq0sUuM2o5y9yJ7q1qvB8h0v3x6m0rO1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r7s8t9u0v1w2==\n")


def _changed(model: BaseModel, **changes: Any) -> BaseModel:
    """`model` with `changes`, validated again (as `model_copy` does not)."""
    return type(model).model_validate({**model.model_dump(), **changes})


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True)


# --- cases ----------------------------------------------------------------------------------------

CASE_CREATE = CaseCreate(respondent_id="al-omrane", reference="IMR/2026/00042", **samples.COMPLAINTS[0])
_SUMMARY = dict(
    id=CASE_ID, reference="IMR/2026/00042", mediator_id="imr", respondent_id="al-omrane", mediator_unit="imr-casablanca-settat",
    respondent_unit="al-omrane-casablanca-settat", region="casablanca-settat", status="acknowledged", subject="delivery_delays",
    title=CASE_CREATE.title, outcome=None,
    times=ProcessingTimes(opened_at=OPENED_AT, acknowledged_at="2026-11-25T09:02:11.004512Z", answered_at=None, closed_at=None,
                          deadline="2026-12-24T07:36:25.123456Z", overdue=False),
    updated_at="2026-11-25T09:02:11.004512Z", version=2, allowed_kinds=["information_request", "interim_reply", "final_reply", "note"],
)
MESSAGE_CREATE = MessageCreate(kind="acknowledgement", body="Nous accusons réception du dossier. نؤكد توصلنا بالملف.")
MESSAGE = MessageOut(
    id=MESSAGE_ID, case_id=CASE_ID, position=1, kind="acknowledgement", sender_id="al-omrane", sender_unit="al-omrane-casablanca-settat",
    body=MESSAGE_CREATE.body, outcome=None, new_deadline=None, status_before="open", status_after="acknowledged",
    created_at="2026-11-25T09:02:11.004512Z", late_seconds=None, documents=[],
    signed_request=SignedRequestOut(signature=REQUEST_JWS, body=MESSAGE_CREATE.model_dump_json(exclude_defaults=True)),
)
CASE_SUMMARY = CaseSummary(**_SUMMARY)
CASE_DETAIL = CaseDetail(
    **_SUMMARY, complainant=CASE_CREATE.complainant, personal_data_erased=False, summary=CASE_CREATE.summary,
    project=HousingProjectOut(**CASE_CREATE.project.model_dump()),
    requested_action=CASE_CREATE.requested_action, messages=[MESSAGE],
    signed_request=SignedRequestOut(signature=REQUEST_JWS, body=CASE_CREATE.model_dump_json(exclude_defaults=True)), thematic_files=[FILE_ID],
)
OPENED_CASE = _changed(CASE_DETAIL,
    status="open", version=1, messages=[], thematic_files=[], updated_at=OPENED_AT,
    times=ProcessingTimes(opened_at=OPENED_AT, acknowledged_at=None, answered_at=None, closed_at=None,
                          deadline="2026-12-24T07:36:25.123456Z", overdue=False),
    allowed_kinds=["note"],
)
ERASED_CASE = _changed(CASE_DETAIL,
    title=None, complainant=None, summary=None, requested_action=None, personal_data_erased=True, version=3,
    messages=[_changed(MESSAGE, body=None, signed_request=SignedRequestOut(signature=REQUEST_JWS, body=None))],
    signed_request=SignedRequestOut(signature=REQUEST_JWS, body=None),
)
TRANSFER = TransferCreate(unit="al-omrane")
TRANSFERRED = _changed(CASE_SUMMARY, respondent_unit="al-omrane", version=3)

# --- documents ------------------------------------------------------------------------------------

DOCUMENT = DocumentOut(
    id=DOCUMENT_ID, case_id=CASE_ID, thematic_file_id=None, sender_id="imr", filename="محضر معاينة – constat.pdf",
    disposition="attachment; filename*=UTF-8''%D9%85%D8%AD%D8%B6%D8%B1%20%D9%85%D8%B9%D8%A7%D9%8A%D9%86%D8%A9%20%E2%80%93%20constat.pdf",
    media_type="application/pdf", size=48213, digest=DIGEST, created_at="2026-11-24T08:10:02.551201Z", erased=False,
    signature=REQUEST_JWS, content=f"/v1/cases/{CASE_ID}/documents/{DOCUMENT_ID}/content",
)
THEMATIC_DOCUMENT = _changed(DOCUMENT,
    case_id=None, thematic_file_id=FILE_ID, filename="Procès-verbal de réunion.pdf",
    disposition="attachment; filename*=UTF-8''Proc%C3%A8s-verbal%20de%20r%C3%A9union.pdf",
    content=f"/v1/thematic-files/{FILE_ID}/documents/{DOCUMENT_ID}/content",
)

# --- thematic files -------------------------------------------------------------------------------

FILE_CREATE = ThematicFileCreate(
    counterpart_id="al-omrane", subject="title_deeds", title="Titres fonciers non délivrés – lotissement Al Firdaous, Témara",
    description="Plusieurs acquéreurs du lotissement signalent que leurs titres fonciers individuels ne sont pas établis. "
    "عدة مقتنين يشتكون من عدم تسليم الرسوم العقارية الفردية.",
    project={"name": "Al Firdaous – الفردوس", "city": "Témara", "region": "rabat-sale-kenitra"},
)
_FILE_SUMMARY = dict(
    id=FILE_ID, mediator_id="imr", respondent_id="al-omrane", mediator_unit="imr", respondent_unit="al-omrane-rabat-sale-kenitra",
    opened_by="imr", region="rabat-sale-kenitra", status="committed", subject="title_deeds",
    project=HousingProjectOut(name="Al Firdaous – الفردوس", city="Témara", region="rabat-sale-kenitra"), opened_at=OPENED_AT,
    updated_at="2026-11-28T10:00:00.000000Z", version=4, overdue=False, allowed_kinds=["position", "meeting_minutes", "progress_report"],
)
THEMATIC_MESSAGE_CREATE = ThematicMessageCreate(
    kind="commitment", body="Engagement : titres individuels remis à tous les acquéreurs sous soixante jours. "
    "الالتزام بتسليم الرسوم الفردية داخل ستين يوما.", due_date="2027-01-27T17:00:00+01:00",
)
THEMATIC_MESSAGE = ThematicMessageOut(
    id=COMMITMENT_ID, thematic_file_id=FILE_ID, position=2, kind="commitment", sender_id="al-omrane",
    sender_unit="al-omrane-rabat-sale-kenitra", body=THEMATIC_MESSAGE_CREATE.body, due_date="2027-01-27T16:00:00Z", commitment_id=None,
    fulfils=None, late_seconds=None, status_before="recommended", status_after="committed", created_at="2026-11-28T10:00:00.000000Z",
    signed_request=SignedRequestOut(signature=REQUEST_JWS, body=THEMATIC_MESSAGE_CREATE.model_dump_json(exclude_defaults=True)),
)
FILE_SUMMARY = ThematicFileSummary(**_FILE_SUMMARY)
FILE_DETAIL = ThematicFileDetail(
    **_FILE_SUMMARY, title=FILE_CREATE.title, description=FILE_CREATE.description,
    cases=[LinkedCaseOut(case_id=CASE_ID, linked_by="imr", linked_at="2026-11-26T11:30:00.000000Z")],
    commitments=[CommitmentOut(id=COMMITMENT_ID, due_date="2027-01-27T16:00:00Z", fulfilled=False, fulfilled_by=None, overdue=False)],
    messages=[THEMATIC_MESSAGE], signed_request=SignedRequestOut(signature=REQUEST_JWS, body=FILE_CREATE.model_dump_json(exclude_defaults=True)),
)
OPENED_FILE = _changed(FILE_DETAIL, status="open", version=1, cases=[], commitments=[], messages=[], updated_at=OPENED_AT,
                                                 allowed_kinds=["position", "proposal", "meeting_minutes", "recommendation", "closure"])

# --- inbox, receipts, institutions, keys ----------------------------------------------------------

EVENT = InboxEventOut(
    id=EVENT_ID, seq=17, recipient_unit="al-omrane-casablanca-settat", kind="case_opened", case_id=CASE_ID, message_id=None,
    thematic_file_id=None, thematic_message_id=None, status="open", created_at=OPENED_AT, delivered_at=None,
)
DELIVERED = _changed(EVENT, delivered_at="2026-11-24T07:36:31.870112Z")
RECEIPT = ReceiptOut(id=RECEIPT_ID, kind="acceptance", case_id=CASE_ID, thematic_file_id=None, resource=f"/v1/cases/{CASE_ID}",
                     sender_id="imr", counterpart_id="al-omrane", token=RECEIPT_JWS, created_at=OPENED_AT)
UNIT = UnitOut(id="imr-casablanca-settat", institution_id="imr", name_fr="Délégation régionale de Casablanca-Settat",
               name_ar="المندوبية الجهوية للدار البيضاء سطات", head_office=False, regions=["casablanca-settat"])
ME = InstitutionOut(id="imr", name_fr="Institution du Médiateur du Royaume", name_ar="مؤسسة وسيط المملكة", role="mediator", unit=UNIT)
UNITS = [UNIT, UnitOut(id="al-omrane", institution_id="al-omrane", name_fr="Groupe Al Omrane – siège", name_ar="مجموعة العمران – المقر",
                       head_office=True, regions=[])]
KEY_HISTORY = KeyHistoryOut(registry_version=3, keys=[PublishedKeyOut(
    kid=REQUEST_KID, owner="imr-casablanca-settat", purpose="requests", key_set="/v1/institutions/keys", jwk=_EC_JWK, not_before="2026-01-01T00:00:00Z",
    not_after="2027-01-01T00:00:00Z", first_version=1, trusted_from="2026-01-02T08:00:00Z", last_version=3, trusted_until=None,
    revoked_at=None,
)])
JWKS = {"keys": [{**_GATEWAY_JWK, "kid": RECEIPT_KID, **SIGNATURE_KEY, "alg": "ES256", "owner": "imr-alomrane-gateway", "purpose": RECEIPTS}]}
INSTITUTION_KEYS = {"keys": [{**_EC_JWK, "kid": REQUEST_KID, **SIGNATURE_KEY, "alg": "ES256", "owner": "imr-casablanca-settat",
                              "institution": "imr", "purpose": REQUESTS}]}

# --- ledger ---------------------------------------------------------------------------------------

ENTRY = {
    "v": 2, "seq": 42, "at": OPENED_AT, "kind": "case_opened", "detail": None, "sender": "imr", "recipient": "al-omrane",
    "case": CASE_ID, "resource": f"/v1/cases/{CASE_ID}", "payload_digest": DIGEST, "signature_digest": SIGNATURE_DIGEST,
    "sender_unit": "imr-casablanca-settat", "recipient_unit": "al-omrane-casablanca-settat", "region": "casablanca-settat",
    "due": "2026-12-24T07:36:25.123456Z", "refers": None,
}
ENTRY_OUT = EntryOut(index=41, leaf_hash=LEAF_HASH, entry=ENTRY)
LEDGER_KEY = LedgerKeyOut(origin="imr-alomrane-gateway/ledger",
                          note_key="imr-alomrane-gateway/ledger+3fa1c2d4+AdC2RkN0yXH6O3n2dOnwqg1d3y3s8qK1m0b5m2n0Zx1V")
CHECKPOINT = CheckpointOut(size=42, note=NOTE)
COSIGNATURE = CosignatureIn(size=42, cosignature="\u2014 witness.cndp.ma/w1 " + base64.b64encode(b"k" * 76).decode() + "\n")
INCLUSION = InclusionProofOut(index=41, size=42, leaf_hash=LEAF_HASH, proof=NODE_HASHES)
CONSISTENCY = ConsistencyProofOut(first=40, second=42, proof=NODE_HASHES)
_FIGURES = ProcessingFigures(
    cases_opened=128, cases_acknowledged=121, cases_answered=97, cases_closed=88,
    days_to_acknowledgement=Durations(median=1.0, p90=3.0), days_to_final_reply=Durations(median=21.0, p90=44.0),
    days_to_closure=Durations(median=30.0, p90=58.0), overdue=6, answered_late=11, reminders=19, escalations=3, thematic_files=4,
    open_commitments=2, overdue_commitments=0,
)
STATISTICS = ProcessingStatisticsOut(
    at="2026-12-01T00:00:00Z", reply_days=30, unit=None, region=None, from_month="2026-01", to_month="2026-11", overall=_FIGURES,
    by_unit={"al-omrane-casablanca-settat": _FIGURES}, by_region={"casablanca-settat": _FIGURES},
    by_subject={"delivery_delays": _FIGURES}, by_month={"2026-11": _FIGURES},
)
EXPORT = "\n".join(json.dumps(line, ensure_ascii=False) for line in (
    {"type": "header", "origin": LEDGER_KEY.origin, "note_key": LEDGER_KEY.note_key, "from": 41, "size": 42},
    {"type": "entry", "index": 41, "entry": ENTRY},
    {"type": "checkpoint", "size": 42, "note": NOTE},
)) + "\n"


def page(*items: BaseModel, next_cursor: str | None = "eyJpIjoiM2Y2YzFkMmUiLCJvIjoiMjAyNi0xMS0yNFQwNzozNjoyNSJ9") -> dict[str, Any]:
    return _dump(Page[type(items[0])](items=list(items), next_cursor=next_cursor))


def value(example: BaseModel | list | dict | str) -> Any:
    if isinstance(example, BaseModel):
        return _dump(example)
    if isinstance(example, list):
        return [value(item) for item in example]
    return example
