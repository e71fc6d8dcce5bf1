"""Every operation of the contract: its stable id, what it does, who may call it, what it writes
to the ledger, how a retry is answered; the headers it takes and sends, the refusals its service
adds to those its route implies (gateway.api.openapi.problems), and its examples.

Routers name their operation (`**described("openCase")`); gateway.api.openapi.document applies
the rest when the document is built. Declaring a header an operation sends is its name in
`headers`; a refusal its service adds, its slug in `problems`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.api.openapi import examples as ex
from gateway.domain import lifecycle, thematic
from gateway.ops.context import REQUEST_ID_HEADER
from imr_alomrane_gateway_client.signing import RECEIPT_HEADER

RECEIPTED = (RECEIPT_HEADER, "Receipt-Location")
NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"  # a checkpoint as the signed note itself (C2SP tlog-checkpoint)
PAGED = ("Link",)


@dataclass(frozen=True)
class Operation:
    summary: str
    what: str
    who: str
    ledger: str | None = None  # None: a read, which writes nothing
    retry: str | None = None  # a write's answer to a retry
    request: Any = None  # the request body's example
    answers: dict[int, Any] = field(default_factory=dict)  # status → example
    headers: dict[int, tuple[str, ...]] = field(default_factory=dict)  # status → response headers beyond X-Request-ID
    takes: tuple[str, ...] = ()  # request headers beyond those every operation (or every write) takes
    problems: tuple[str, ...] = ()  # refusals of the service, beyond those its route implies
    media_type: str = "application/json"  # of a success's body, or DOCUMENT
    alternatives: dict[str, str] = field(default_factory=dict)  # another media type of a success's body, by `Accept` → its example

    @property
    def description(self) -> str:
        parts = [self.what, f"**Who may call it**: {self.who}"]
        if self.ledger is None:
            parts.append("**Ledger**: a read; it writes nothing. Safe to repeat.")
        else:
            parts += [f"**Ledger**: {self.ledger}", f"**Retries**: {self.retry or _RETRY}"]
        return "\n\n".join(parts)


_RETRY = ("send the same request, signed afresh, with the same `Idempotency-Key`: it is answered as the first time, with the "
          "first receipt, and writes nothing more.")
_PARTIES = "the mediator (IMR) or the respondent (Al Omrane), with their units; a party to the case."
_FILE_PARTIES = "the mediator or the respondent, a party to the thematic file."
_ANYONE = "any registered institution (mediator, respondent, auditor)."
_AUDITOR = "an auditor only."
_PUBLIC = "any registered institution here; anyone, without a client certificate, on the public listener (`GATEWAY_PUBLIC_PORT`)."
_DOWNLOAD = ("Content-Disposition", "Content-Digest", "Repr-Digest", "ETag", "Accept-Ranges", "Cache-Control")
DOCUMENT = "the document's own type"  # a download's media type: one of GATEWAY_DOCUMENT_TYPES, detected at upload


def _documents(holder: str, path_example: Any, holder_ops: dict[str, str]) -> dict[str, Operation]:
    """The document operations under a case or a thematic file (built once, as their routes are)."""
    upload, listing, describe, download = holder_ops["upload"], holder_ops["list"], holder_ops["get"], holder_ops["download"]
    return {
        upload: Operation(
            summary="Attach a document (streamed; signed over its Content-Digest)",
            what=f"Uploads one document to the {holder}. The body is the document's bytes, as they are; their type is detected from the "
            "bytes (one of `GATEWAY_DOCUMENT_TYPES`). `Content-Digest: sha-256=:…:` is required and the request signature covers it "
            "(its `dig`), and the signature's `hdr` claim covers `Content-Disposition`. The bytes are hashed as they arrive: a "
            "mismatch, a refused type or an excess over the size limit stores nothing.",
            who=_PARTIES if holder == "case" else _FILE_PARTIES,
            ledger="one `document_attached` entry; the other party's unit gets a `document_attached` inbox event.",
            answers={201: path_example}, headers={201: (*RECEIPTED, "Location")}, takes=("Content-Disposition",),
            problems=("case-closed", "document-type-refused", "invalid-filename") + (("personal-data-erased",) if holder == "case" else ()),
        ),
        listing: Operation(summary=f"The {holder}'s documents", what=f"Every document attached to the {holder}, oldest first.",
                           who=_PARTIES if holder == "case" else _FILE_PARTIES, answers={200: [path_example]}),
        describe: Operation(summary="One document's description", what="The document's description: its name, type, size, digest and "
                            "the sender's signature over it.", who=_PARTIES if holder == "case" else _FILE_PARTIES,
                            answers={200: path_example}),
        download: Operation(
            summary="Download a document (Range supported)",
            what="The document's bytes, as the type detected at upload (`Content-Type`), streamed and decrypted one authenticated segment "
            "at a time. One byte range may be asked for (`Range`, with `If-Range`): 206 with `Content-Range`. `Content-Digest` is the "
            "SHA-256 of the bytes in this response; `Repr-Digest` is always the whole document's.",
            who=_PARTIES if holder == "case" else _FILE_PARTIES,             headers={200: _DOWNLOAD, 206: (*_DOWNLOAD, "Content-Range")}, takes=("Range", "If-Range"), media_type=DOCUMENT,
            problems=("personal-data-erased", "range-not-satisfiable") if holder == "case" else ("range-not-satisfiable",),
        ),
    }


# The document operations' ids, by their holder's name (gateway.services.documents.Holder.what).
DOCUMENT_OPERATIONS = {
    "case": {"upload": "attachDocument", "list": "listDocuments", "get": "getDocument", "download": "downloadDocument"},
    "thematic file": {"upload": "attachThematicDocument", "list": "listThematicDocuments", "get": "getThematicDocument",
                      "download": "downloadThematicDocument"},
}

OPERATIONS: dict[str, Operation] = {
    "getJwks": Operation(
        summary="The gateway's key set: its receipt keys and its checkpoint key, and no other",
        what="A JSON Web Key Set (RFC 7517) of the gateway's own keys: verify a receipt against this set alone, with an `ES256` key "
        "of purpose `receipts` (the Ed25519 checkpoint key signs C2SP notes, never a JWS). Every `kid` is the key's RFC 7638 "
        "thumbprint. Also served on the public listener, without a client certificate.",
        who=_PUBLIC, answers={200: ex.JWKS}, headers={200: ("Cache-Control",)},
    ),
    "listInstitutionKeys": Operation(
        summary="The institutions' key set: every unit's request-signing keys (never a receipt key)",
        what="A JSON Web Key Set (RFC 7517) of the request-signing keys the registry trusts; each key names its `owner` (the unit "
        "that signs with it: a request's `iss`) and `institution`. It verifies the signed requests the gateway keeps.",
        who=_ANYONE, answers={200: ex.INSTITUTION_KEYS}, headers={200: ("Cache-Control",)},
    ),
    "whoAmI": Operation(summary="The institution and unit behind the client certificate",
                        what="Who the gateway takes you for: your institution, its role and the unit whose certificate you present.",
                        who=_ANYONE, answers={200: ex.ME}),
    "listUnits": Operation(summary="The units of your institution and of the parties you deal with",
                           what="Units, with the regions each serves: a case goes to the unit serving its project's region unless named.",
                           who=_ANYONE, answers={200: ex.UNITS}),
    "openCase": Operation(
        summary="Open a case file (mediator)",
        what="Opens a complaint case addressed to a respondent. It is routed to the respondent's unit serving the project's region "
        "(or the unit named), and held on the mediator's side by the unit named or serving that region. `reference` is the "
        "mediator's own and unique per mediator.",
        who="the mediator (IMR) only.",
        ledger="one `case_opened` entry (its `due` is the reply deadline); the respondent's unit gets a `case_opened` inbox event.",
        request=ex.CASE_CREATE, answers={201: ex.OPENED_CASE}, headers={201: (*RECEIPTED, "Location", "ETag")},
        problems=("duplicate-reference", "unknown-respondent", "unknown-unit"),
    ),
    "listCases": Operation(
        summary="Cases you are a party to",
        what="Cases, newest first, without the complainant's data, filtered as asked; `next_cursor` (and `Link: rel=\"next\"`) while "
        "there are more.", who=_PARTIES, answers={200: ex.page(ex.CASE_SUMMARY)}, headers={200: PAGED}, problems=("invalid-cursor",),
    ),
    "getCase": Operation(summary="A case with its timeline",
                         what="The case with the complainant's data (until erased), its messages and its signed request.",
                         who=_PARTIES, answers={200: ex.CASE_DETAIL}, headers={200: ("ETag",)}),
    "sendMessage": Operation(
        summary="Send a message; its kind drives the case's status",
        what="Kinds, senders and the status changes they drive:\n\n" + lifecycle.described(lifecycle.RULES)
        + "\n\nWith `If-Match`, the message is refused (412) if the case changed since you read it.",
        who=_PARTIES + " The kind must be one of the case's `allowed_kinds` for you.",
        ledger="one `message_sent` entry (`detail`: the kind); the other party's unit gets `message_received` (and `status_changed`).",
        request=ex.MESSAGE_CREATE, answers={201: ex.MESSAGE}, headers={201: (*RECEIPTED, "Location", "ETag")}, takes=("If-Match",),
        problems=("transition-refused", "precondition-failed", "personal-data-erased", "unknown-document"),
    ),
    "getMessage": Operation(summary="One message of a case", what="One message, with the sender's signed request.", who=_PARTIES,
                            answers={200: ex.MESSAGE}),
    "transferCase": Operation(
        summary="Move the case to another unit of your institution",
        what="By the unit holding the case on your side, or its head office. Both units and the other party's unit are notified.",
        who=_PARTIES, ledger="one `case_transferred` entry (`detail`: the unit it left; `recipient_unit`: the one it went to).",
        request=ex.TRANSFER, answers={200: ex.TRANSFERRED}, headers={200: (*RECEIPTED, "Location", "ETag")},
        problems=("transfer-refused", "unknown-unit", "case-closed"),
    ),
    "erasePersonalData": Operation(
        summary="Erase the complainant's personal data (mediator): crypto-shredding",
        what="The case's data key and ciphertexts are destroyed, its documents' bytes and names with them; the case keeps its "
        "non-personal skeleton (subject, dates, statuses, messages). It then takes no more messages or documents (410).",
        who="the mediator (IMR), a party to the case.",
        ledger="one `personal_data_erased` entry.",
        retry="erasing again changes nothing and answers with the first erasure's receipt, with or without `Idempotency-Key`.",
        answers={200: ex.ERASED_CASE}, headers={200: (*RECEIPTED, "Location", "ETag")},
    ),
    "openThematicFile": Operation(
        summary="Open a thematic file with the other party (mediator or respondent)",
        what="A joint review of a recurring problem (a project, a subject), held by a unit on each side chosen as for a case.",
        who="the mediator or the respondent.",
        ledger="one `thematic_file_opened` entry (`detail`: the subject); the other party's unit gets `thematic_file_opened`.",
        request=ex.FILE_CREATE, answers={201: ex.OPENED_FILE}, headers={201: (*RECEIPTED, "Location")},
        problems=("unknown-counterpart", "unknown-unit"),
    ),
    "listThematicFiles": Operation(summary="Thematic files you are a party to", what="Thematic files, without their free text, filtered "
                                   "as asked; `next_cursor` while there are more.", who=_FILE_PARTIES,
                                   answers={200: ex.page(ex.FILE_SUMMARY)}, headers={200: PAGED}, problems=("invalid-cursor",)),
    "getThematicFile": Operation(summary="A thematic file with its linked cases, commitments and messages",
                                 what="The file with its free text, linked cases, commitments (and whether each is overdue) and messages.",
                                 who=_FILE_PARTIES, answers={200: ex.FILE_DETAIL}),
    "sendThematicMessage": Operation(
        summary="Send a message; its kind drives the thematic file's status",
        what="Kinds, senders and the status changes they drive:\n\n" + lifecycle.described(thematic.RULES)
        + "\n\nA commitment needs a future `due_date`; a progress report names its `commitment_id` and whether it `fulfils` it.",
        who=_FILE_PARTIES, ledger="one `thematic_message_sent` entry (`detail`: the kind, or `commitment_fulfilled`).",
        request=ex.THEMATIC_MESSAGE_CREATE, answers={201: ex.THEMATIC_MESSAGE}, headers={201: (*RECEIPTED, "Location")},
        problems=("transition-refused", "unknown-commitment", "commitment-fulfilled"),
    ),
    "getThematicMessage": Operation(summary="One message of a thematic file", what="One message, with the sender's signed request.",
                                    who=_FILE_PARTIES, answers={200: ex.THEMATIC_MESSAGE}),
    "linkCase": Operation(
        summary="Link a case (of the same two institutions) to the thematic file", what="Links one of the two parties' cases to the file.",
        who=_FILE_PARTIES, ledger="one `case_linked` entry (`case`: the file; `refers`: the case).",
        retry=_RETRY + " Linking a case linked already, without the key, is refused (409 `link-refused`).",
        answers={200: ex.FILE_DETAIL}, headers={200: RECEIPTED}, problems=("link-refused",),
    ),
    "unlinkCase": Operation(
        summary="Unlink a case from the thematic file", what="Removes the link; the case and the file are otherwise unchanged.",
        who=_FILE_PARTIES, ledger="one `case_unlinked` entry.",
        retry=_RETRY + " Unlinking a case not linked, without the key, is refused (409 `link-refused`).",
        answers={200: ex.FILE_DETAIL}, headers={200: RECEIPTED}, problems=("link-refused",),
    ),
    "listInboxEvents": Operation(
        summary="Events addressed to your unit (or, for a head office, to one of its units), oldest first",
        what="The unit's inbox, in `seq` order (strictly increasing, no gaps). Events carry identifiers only; resume from "
        "`next_cursor`, and acknowledge each event once handled.", who=_PARTIES,
        answers={200: ex.page(ex.EVENT)}, headers={200: (*PAGED, "Deprecation", "Sunset")},
        problems=("invalid-cursor", "cursor-conflict", "unknown-unit"),
    ),
    "acknowledgeEvent": Operation(
        summary="Record that an event was delivered (idempotent)",
        what="Marks the event delivered. The first acknowledgement records the delivery and gives the sender a delivery receipt.",
        who="the unit the event is addressed to (or its head office).",
        ledger="one `delivery_acknowledged` entry, the first time.",
        retry="acknowledging again answers the same, with the first receipt, with or without `Idempotency-Key`.",
        answers={200: ex.DELIVERED}, headers={200: RECEIPTED},
    ),
    "listReceipts": Operation(summary="Receipts about one resource (e.g. a message you sent)",
                              what="The acceptance and delivery receipts about `resource` (a path such as `/v1/cases/{id}`).",
                              who="the two parties the receipts concern.", answers={200: [ex.RECEIPT]}),
    "getReceipt": Operation(summary="One receipt", what="One receipt, as its `Receipt-Location` names it.",
                            who="the two parties the receipt concerns.", answers={200: ex.RECEIPT}),
    "getLedgerKey": Operation(summary="The checkpoint signer's C2SP verifier key",
                              what="The ledger's origin and the verifier key its checkpoints are signed with (C2SP signed-note). "
                              "Also on the public listener.", who=_PUBLIC, answers={200: ex.LEDGER_KEY}),
    "getCheckpoint": Operation(summary="The latest signed checkpoint (or the one of a given size)",
                               what="The C2SP tlog-checkpoint signed note, with any witness cosignatures: in the JSON member `note`, "
                               "or with `Accept: text/plain` the note itself, its exact bytes, as a static log serves it. Size 0, and an "
                               "empty ledger's latest, is the empty tree's checkpoint. Also on the public listener.",
                               who=_PUBLIC, answers={200: ex.CHECKPOINT}, alternatives={NOTE_MEDIA_TYPE: ex.NOTE}, headers={200: ("Vary",)},
                               problems=("not-found",)),
    "addCosignature": Operation(
        summary="Add your witness cosignature to a checkpoint",
        what="Check consistency with the last checkpoint you cosigned before cosigning (C2SP tlog-cosignature). The line is added to "
        "the checkpoint's note.", who="an institution with a registered witness key.",
        ledger="no entry: the cosignature is stored beside the checkpoint and published in its note and the export.",
        retry="adding the same cosignature again answers the same.",
        request=ex.COSIGNATURE, answers={201: ex.CHECKPOINT}, problems=("not-found", "role-forbidden"),
    ),
    "listEntries": Operation(summary="Entries with index in [start, end)",
                             what="At most 1000 entries with their leaf hashes; an institution sees the entries it sent or received.",
                             who=_ANYONE, answers={200: [ex.ENTRY_OUT]}, problems=("not-found",)),
    "searchEntries": Operation(summary="Entries by case, institution, unit, region, kind or time (auditors)",
                               what="Entries matching every filter given, in index order; `next_cursor` while there are more.",
                               who=_AUDITOR, answers={200: ex.page(ex.ENTRY_OUT)}, headers={200: PAGED}, problems=("invalid-cursor",)),
    "getStatistics": Operation(summary="Processing times computed from the ledger alone (auditors), as `gateway report` computes them",
                               what="Counts and durations (nearest-rank median and 90th percentile, in days) overall and by unit, "
                               "region, subject and month of opening.", who=_AUDITOR, answers={200: ex.STATISTICS}),
    "getInclusionProof": Operation(summary="Inclusion proof of an entry (by index or leaf hash) in the tree of a given size",
                                   what="RFC 9162 audit path of one entry, by `index` or `leaf_hash` (exactly one).", who=_ANYONE,
                                   answers={200: ex.INCLUSION}, problems=("not-found",)),
    "getConsistencyProof": Operation(summary="Consistency proof between two tree sizes",
                                     what="RFC 9162 consistency proof from tree size `first` to `second`.", who=_ANYONE,
                                     answers={200: ex.CONSISTENCY}, problems=("not-found",)),
    "exportLedger": Operation(
        summary="The whole ledger as JSON Lines (auditors), resumable from an index",
        what="One JSON object a line: a `header` record, then each `entry` record followed, where one was signed at its size, by a "
        "`checkpoint` record. The records' JSON Schemas are in `schemas/ExportHeaderRecord.json`, `schemas/ExportEntryRecord.json` "
        "and `schemas/ExportCheckpointRecord.json`.", who=_AUDITOR, answers={200: ex.EXPORT}, media_type="application/jsonl",
    ),
    "getKeyHistory": Operation(summary="Every key ever published, with the registry versions and times it was trusted",
                               what="For verifying old signatures, receipts and checkpoints. Also on the public listener.", who=_PUBLIC, answers={200: ex.KEY_HISTORY}),
    **_documents("case", ex.DOCUMENT, DOCUMENT_OPERATIONS["case"]),
    **_documents("thematic file", ex.THEMATIC_DOCUMENT, DOCUMENT_OPERATIONS["thematic file"]),
}

# Request headers every operation takes, and those every signed write takes besides its signature
# (the `requestSignature` security scheme); `True`: required.
EVERY_REQUEST = {REQUEST_ID_HEADER: False, "Accept-Language": False}
EVERY_WRITE = {"Idempotency-Key": False, "Content-Digest": False}
STREAMED_WRITE = {**EVERY_WRITE, "Content-Digest": True}


def described(operation_id: str) -> dict[str, str]:
    """The route decorator's arguments naming and describing the operation."""
    operation = OPERATIONS[operation_id]
    return {"operation_id": operation_id, "summary": operation.summary, "description": operation.description}
