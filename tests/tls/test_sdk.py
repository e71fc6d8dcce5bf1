"""The institutions' SDK against a real gateway over mutual TLS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from imr_alomrane_gateway_client import (
    AsyncGatewayClient,
    CaseCreate,
    MessageCreate,
    NotFound,
    ReceiptInvalid,
    ThematicFileCreate,
    ThematicMessageCreate,
    TransitionRefused,
    ValidationFailed,
)
from gateway.samples import pdf
from tests.factories import SHORT_LIFE, case_payload, message
from tests.thematic.arrange import file_payload, later

pytestmark = pytest.mark.tls


def test_a_whole_case_through_the_sdk_with_every_receipt_verified(sdk):
    imr, omrane = sdk("imr"), sdk("al-omrane")
    opened = imr.open_case(CaseCreate(**case_payload()))
    case_id = opened.value.id
    assert opened.receipt.claims["resource"] == f"/v1/cases/{case_id}"
    events = list(omrane.iter_inbox())
    assert [e.case_id for e in events] == [case_id]
    assert omrane.ack(events[0].id).receipt.claims["kind"] == "acceptance"
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE:
        client = clients[sender]
        accepted = client.send_message(case_id, MessageCreate(**message(kind, **extra)))
        assert accepted.value.kind == kind and accepted.receipt.claims["sub"] == client.unit_id
    assert imr.get_case(case_id).status == "closed"
    delivery = [r.kind for r in imr.receipts_for(f"/v1/cases/{case_id}")]
    assert delivery == ["acceptance", "delivery"]
    later = list(omrane.iter_inbox(omrane.inbox_cursor))  # IMR's information_response and closure
    assert [e.seq for e in later] == [2, 3, 4, 5] and {e.case_id for e in later} == {case_id}
    assert list(omrane.iter_inbox(omrane.inbox_cursor)) == []


def test_problems_become_typed_exceptions(sdk):
    imr, other = sdk("imr"), sdk("ac-casa")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    with pytest.raises(TransitionRefused) as refused:
        imr.send_message(case_id, MessageCreate(**message("follow_up", new_deadline=datetime.now(UTC) + timedelta(days=9))))
    assert refused.value.allowed_kinds == ["closure", "note"] and refused.value.status == 409
    with pytest.raises(NotFound):
        other.get_case(case_id)
    with pytest.raises(ValidationFailed):
        imr.open_case(CaseCreate(**case_payload(respondent_id="nobody")))


def test_a_lost_response_is_retried_once_and_creates_nothing_twice(sdk, monkeypatch):
    """The gateway commits, the answer is lost on the way back: the SDK retries with the same
    Idempotency-Key (signed afresh) and gets the first answer, whose receipt covers its first signature."""
    imr = sdk("imr")
    real_send, lost = imr.http.send, []

    def lose_first_answer(request, **kwargs):
        response = real_send(request, **kwargs)
        if request.method == "POST" and not lost:
            lost.append(request)
            raise httpx.ReadError("connection reset", request=request)
        return response

    monkeypatch.setattr(imr.http, "send", lose_first_answer)
    accepted = imr.open_case(CaseCreate(**case_payload()))
    assert lost and accepted.receipt.claims["sig_dig"]
    assert [c.id for c in imr.cases_page().items] == [accepted.value.id]


def test_a_substituted_receipt_is_refused(sdk, monkeypatch):
    imr = sdk("imr")
    first = imr.open_case(CaseCreate(**case_payload())).receipt.token
    real_send = imr.http.send

    def replay_old_receipt(request, **kwargs):
        response = real_send(request, **kwargs)
        if request.method == "POST":
            response.headers["Receipt"] = first
        return response

    monkeypatch.setattr(imr.http, "send", replay_old_receipt)
    with pytest.raises(ReceiptInvalid):
        imr.open_case(CaseCreate(**case_payload()))


def test_the_async_client_does_the_same(sdk):
    async def scenario():
        async with sdk("imr", AsyncGatewayClient) as imr, sdk("al-omrane", AsyncGatewayClient) as omrane:
            accepted = await imr.open_case(CaseCreate(**case_payload()))
            events = [event async for event in omrane.iter_inbox()]
            assert [e.case_id for e in events] == [accepted.value.id]
            ack = await omrane.send_message(accepted.value.id, MessageCreate(**message("acknowledgement")))
            assert ack.receipt.claims["sub"] == "al-omrane"
            return (await imr.get_case(accepted.value.id)).status

    assert asyncio.run(scenario()) == "acknowledged"


def test_server_errors_are_retried_with_backoff(sdk, monkeypatch):
    imr = sdk("imr", retries=3)
    real_send, failures = imr.http.send, []

    def flaky(request, **kwargs):
        if len(failures) < 2:
            failures.append(request)
            return httpx.Response(503, request=request, json={"type": "about:blank", "title": "busy", "status": 503})
        return real_send(request, **kwargs)

    monkeypatch.setattr(imr.http, "send", flaky)
    monkeypatch.setattr("imr_alomrane_gateway_client.core.backoff", lambda attempt: 0.0)
    assert imr.me().id == "imr" and len(failures) == 2


def test_a_forked_ledger_is_caught_by_the_client(sdk, settings, template, tmp_path):
    """The same gateway keys serve two different histories (an operator rewrote the log, or shows
    each institution its own view): the client that saw one refuses the other. Each write is still
    accepted (its receipt verifies): what fails is said beside it, and again by check_consistency."""
    from imr_alomrane_gateway_client import LedgerInconsistent
    from gateway.server import background_gateway

    imr = sdk("imr")
    for _ in range(3):
        imr.open_case(CaseCreate(**case_payload()))
    seen = imr.receipts.latest
    assert seen is not None and seen.size == 4  # the start-up's registry_changed entry, then the three cases
    # Another gateway with the same keys: its own blobs and record of published checkpoints.
    fork = settings.model_copy(update={"database_url": template.clone(tmp_path), "blob_dir": tmp_path / "fork" / "blobs"})
    with background_gateway(fork) as forked_url:
        imr.http.base_url = httpx.URL(forked_url)
        for _ in range(4):  # a different history, growing past what the client saw
            accepted = imr.open_case(CaseCreate(**case_payload()))
            assert isinstance(accepted.deferred, LedgerInconsistent) and not accepted.consistent
            with pytest.raises(LedgerInconsistent):
                imr.check_consistency()
    assert imr.receipts.latest == seen  # the client kept the history it could prove


def test_an_entry_changed_in_the_database_is_caught_by_the_client(sdk, engine_sql, database_url):
    from imr_alomrane_gateway_client import LedgerInconsistent

    imr = sdk("imr")
    for _ in range(4):
        imr.open_case(CaseCreate(**case_payload()))
    assert imr.audit_entries() == 4
    if database_url.startswith("sqlite"):  # a superuser bypasses the append-only triggers
        engine_sql("DROP TRIGGER ledger_entries_no_update")
    else:
        engine_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    engine_sql("UPDATE ledger_entries SET recipient_id = 'ac-casa' WHERE seq = 3")
    with pytest.raises(LedgerInconsistent, match="entry 2 "):
        imr.audit_entries()


def test_a_thematic_file_through_the_sdk_with_every_receipt_verified(sdk):
    imr, omrane = sdk("imr"), sdk("al-omrane")
    case_id = imr.open_case(CaseCreate(**case_payload())).value.id
    opened = imr.open_thematic_file(ThematicFileCreate(**file_payload()))
    file_id = opened.value.id
    assert opened.receipt.claims["resource"] == f"/v1/thematic-files/{file_id}" and opened.receipt.claims["case"] == file_id
    assert [c.case_id for c in imr.link_case(file_id, case_id).value.cases] == [case_id]
    assert imr.unlink_case(file_id, case_id).value.cases == []
    imr.send_thematic_message(file_id, ThematicMessageCreate(kind="recommendation", body="Recommandation."))
    commitment = omrane.send_thematic_message(file_id, ThematicMessageCreate(kind="commitment", body="Engagement.", due_date=later()))
    report = omrane.send_thematic_message(file_id, ThematicMessageCreate(
        kind="progress_report", body="Fait.", commitment_id=commitment.value.id, fulfils=True))
    assert report.receipt.claims["ledger"]["entry"]["detail"] == "commitment_fulfilled"
    attached = omrane.upload_thematic_document(file_id, pdf(["Rapport d'avancement"]), "rapport.pdf")
    assert [d.id for d in imr.thematic_documents(file_id)] == [attached.value.id]
    page = imr.thematic_files_page(overdue=False, project=file_payload()["project"]["name"])
    assert [f.id for f in page.items] == [file_id]
    assert imr.thematic_file(file_id).commitments[0].fulfilled_by == report.value.id
    with pytest.raises(TransitionRefused):
        omrane.send_thematic_message(file_id, ThematicMessageCreate(kind="closure", body="Non."))
