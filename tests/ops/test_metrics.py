"""/metrics after real signed requests: counters by route template and status, problems by type,
signature failures by reason, and the gauges read from the database, equal to what it holds."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.routing import iter_route_contexts
from sqlalchemy import update

from gateway.app import create_app
from imr_alomrane_gateway_client import CaseCreate
from gateway.config import Settings
from gateway.ops.context import route_templates
from gateway.storage.models import Case
from tests.conftest import signer_for
from tests.factories import case_payload, message
from tests.ops.conftest import KEY_DAYS_LEFT, sample


def test_requests_problems_and_signature_failures_are_counted_by_template_and_type(ops_gateway, sdk, unsigned, test_pki):
    imr = sdk("imr")
    payload = case_payload()
    case_id = imr.open_case(CaseCreate(**payload)).value.id
    imr.get_case(case_id)
    imr.get_case(case_id)
    unsigned_note = unsigned("imr").post(f"/v1/cases/{case_id}/messages", json=message("note"))
    forged_note = unsigned("imr", auth=signer_for(test_pki, "al-omrane")).post(f"/v1/cases/{case_id}/messages", json=message("note"))
    nowhere = unsigned("imr").get("/v1/nowhere")
    assert (unsigned_note.status_code, forged_note.status_code, nowhere.status_code) == (401, 401, 404)
    forged_slug = forged_note.json()["type"].removeprefix("/problems/")

    samples = ops_gateway.scrape()
    requests = {labels: value for (name, labels), value in samples.items() if name == "gateway_http_requests_total"}
    assert requests[frozenset({"route": "/v1/cases", "method": "POST", "status": "201"}.items())] == 1
    assert requests[frozenset({"route": "/v1/cases/{case_id}", "method": "GET", "status": "200"}.items())] == 2
    assert requests[frozenset({"route": "/v1/cases/{case_id}/messages", "method": "POST", "status": "401"}.items())] == 2
    assert requests[frozenset({"route": "unmatched", "method": "GET", "status": "404"}.items())] == 1
    assert sample(samples, "gateway_http_request_duration_seconds_count", route="/v1/cases/{case_id}", method="GET") == 2
    assert sample(samples, "gateway_problems_total", type="signature-missing") == 1
    assert sample(samples, "gateway_problems_total", type=forged_slug) == 1
    assert sample(samples, "gateway_problems_total", type="not-found") == 1
    assert sample(samples, "gateway_signature_failures_total", reason="missing") == 1
    assert sample(samples, "gateway_signature_failures_total", reason=forged_slug.removeprefix("signature-")) == 1
    assert sample(samples, "gateway_idempotency_keys_in_flight") == 0

    complainant = payload["complainant"]
    personal = [complainant["full_name"], complainant["cin"], payload["subject"], payload["title"], payload["project"]["name"], case_id]
    label_values = {value for _, labels in samples for _, value in labels}
    assert not [value for value in label_values if any(text in value for text in personal)]


def test_the_database_s_figures_are_what_it_holds(ops_gateway, sdk, engine_sql, test_pki):
    imr, omrane = sdk("imr"), sdk("al-omrane")
    first = imr.open_case(CaseCreate(**case_payload())).value
    late = imr.open_case(CaseCreate(**case_payload())).value
    omrane.ack(next(event for event in omrane.iter_inbox() if event.case_id == first.id).id)
    engine_sql(update(Case).where(Case.id == late.id).values(deadline=datetime.now(UTC) - timedelta(days=1)))

    samples = ops_gateway.scrape()
    assert sample(samples, "gateway_database_up") == 1
    assert sample(samples, "gateway_ledger_entries") == engine_sql("SELECT count(*) FROM ledger_entries").scalar()  # every entry
    assert 0 <= sample(samples, "gateway_ledger_checkpoint_age_seconds") < 60
    waiting = engine_sql("SELECT recipient_id, recipient_unit, count(*) FROM inbox_events WHERE delivered_at IS NULL "
                         "GROUP BY recipient_id, recipient_unit").all()
    assert waiting and {(i, u): n for i, u, n in waiting} == {
        (dict(labels)["institution"], dict(labels)["unit"]): value
        for (name, labels), value in samples.items() if name == "gateway_inbox_unacknowledged_events"
    }
    held_by = engine_sql("SELECT respondent_unit FROM cases WHERE id = :id", id=late.id).scalar()
    assert {dict(labels)["unit"]: value for (name, labels), value in samples.items() if name == "gateway_cases_overdue"} == {held_by: 1}
    assert 0 <= sample(samples, "gateway_database_pool_checked_out") <= sample(samples, "gateway_database_pool_size")

    certificate = x509.load_pem_x509_certificate(test_pki.files("imr").cert.read_bytes())
    fingerprint = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    days = (certificate.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
    assert abs(sample(samples, "gateway_client_certificate_expiry_days", institution="imr", unit="imr", sha256=fingerprint) - days) < 0.01
    server = x509.load_pem_x509_certificate(ops_gateway.runtime.settings.server_cert_path.read_bytes())
    assert abs(sample(samples, "gateway_server_certificate_expiry_days") * 86400
               - (server.not_valid_after_utc - datetime.now(UTC)).total_seconds()) < 60
    keys = {labels: value for (name, labels), value in samples.items() if name == "gateway_signing_key_expiry_days"}
    assert len(keys) == 1 and dict(next(iter(keys)))["institution"] == "imr"
    assert KEY_DAYS_LEFT - 1 < next(iter(keys.values())) <= KEY_DAYS_LEFT


def test_the_route_templates_are_fastapi_s_own():
    """The templates read from the routers as included (gateway.ops.context) are the paths of the
    route contexts FastAPI builds for them: a FastAPI upgrade that changes how includes nest fails here."""
    app = create_app(Settings(_env_file=None, ops_port=0))
    built = {id(context.original_route): context.path for context in iter_route_contexts(app.routes)}
    assert route_templates(app) == built and "/v1/cases/{case_id}/messages/{message_id}" in built.values()
