"""Schemathesis against the running gateway: uvicorn over mutual TLS on a loopback port, the schema
read from the server itself, each institution presenting its own certificate and signing its writes
with its own key, so every layer a real exchange crosses (TLS, identity, signature, body limits,
the services, the database) is under test.

Generated values alone would seldom name a case that exists, a registered respondent, the fields a
message's kind needs or a file type the gateway accepts: most requests would stop at a 404 or a 422.
So the generated path parameters (`seeded`), respondent, message and upload are sometimes swapped
for real ones, and the requests reach the code behind those refusals too."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import StepInput

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, MessageCreate
from imr_alomrane_gateway_client.vocabulary import KINDS_WITH_DEADLINE, KINDS_WITH_OUTCOME
from imr_alomrane_gateway_client.vocabulary import MessageKind, Outcome
from tests.conftest import NO_LONG_POLLS, OTHER_RESPONDENT, UNLIMITED, signer_for
from tests.factories import case_payload, message
from tests.schemathesis_signing import EXCLUDED_CHECKS, REPEATABLE, SigningAuth

pytestmark = pytest.mark.tls

# Bounded for the suite (about 35 seconds per engine here) and the same examples on every run.
QUICK = settings(REPEATABLE, max_examples=10)
LONG = settings(QUICK, max_examples=200)
QUICK_STATEFUL = settings(QUICK, max_examples=20, stateful_step_count=10)
LONG_STATEFUL = settings(QUICK, max_examples=100, stateful_step_count=20)

UPLOAD = samples.pdf(["Procès-verbal de constat – محضر معاينة"])
UPLOAD_DISPOSITION = "attachment; filename=\"constat.pdf\"; filename*=UTF-8''%D9%85%D8%AD%D8%B6%D8%B1.pdf"


@pytest.fixture
def settings(settings):
    """Limits off: the run checks the contract, as fast as it can (tests/conftest.py, UNLIMITED, NO_LONG_POLLS)."""
    return settings.model_copy(update={**UNLIMITED, **NO_LONG_POLLS})


@pytest.fixture
def seeded(sdk) -> dict[str, list[str]]:
    """Real identifiers, by path parameter name: a case acknowledged, with a document, a note citing
    it and receipts; a case still open; each party's inbox events."""
    imr, omrane = sdk("imr"), sdk("al-omrane")
    active = imr.open_case(CaseCreate(**case_payload())).value.id
    still_open = imr.open_case(CaseCreate(**case_payload())).value.id
    acknowledgement = omrane.send_message(active, MessageCreate(**message("acknowledgement"))).value
    document = omrane.upload_document(active, UPLOAD, "constat.pdf").value
    note = imr.send_message(active, MessageCreate(**message("note", documents=[document.id]))).value
    receipts = [r.id for r in imr.receipts_for(f"/v1/cases/{active}")]
    events = [e.id for client in (imr, omrane) for e in client.inbox_page().items]
    return {
        "case_id": [active, still_open], "message_id": [acknowledgement.id, note.id], "document_id": [document.id],
        "event_id": events, "receipt_id": receipts,
    }


def steer(schema, seeded: dict[str, list[str]]) -> None:
    """A hook that offers real values beside the generated ones, in the parts of a case schemathesis
    generated valid: a part it made invalid on purpose stays as it is, so that the case is still
    judged as the invalid request it is."""

    def one_of(generated, real):
        return st.sampled_from([*real, generated])  # real ones first: Hypothesis favours the first

    @schema.hook
    def flatmap_case(context, case):
        def valid(location):
            return case.meta is None or not case.meta.is_negative_at(location)

        swaps = {}
        following_a_link = case.meta is not None and case.meta.phase.name is TestPhase.STATEFUL  # real ids already
        if valid(ParameterLocation.PATH) and isinstance(case.path_parameters, dict) and not following_a_link:
            swaps["path_parameters"] = st.fixed_dictionaries({
                name: one_of(value, seeded[name]) if name in seeded else st.just(value)
                for name, value in case.path_parameters.items()
            })
        bodies = real_bodies(case.body)
        if valid(ParameterLocation.BODY) and bodies:
            swaps["body"] = one_of(case.body, bodies)
        disposition = case.headers.get("content-disposition") if isinstance(case.headers, Mapping) else None
        if valid(ParameterLocation.HEADER) and isinstance(disposition, str):
            swaps["headers"] = one_of(disposition, [UPLOAD_DISPOSITION]).map(
                lambda value: {**case.headers, "content-disposition": value})
        return st.fixed_dictionaries(swaps).map(lambda chosen: swapped(case, chosen))


def real_bodies(body) -> list:
    """Bodies to offer beside a generated one: with a registered respondent, a message with the
    fields its kind needs, a PDF to upload."""
    if isinstance(body, dict) and isinstance(body.get("respondent_id"), str):
        return [{**body, "respondent_id": respondent} for respondent in ("al-omrane", OTHER_RESPONDENT[0])]
    if isinstance(body, dict) and body.get("kind") in set(MessageKind):
        return [coherent(body)]
    return [UPLOAD] if isinstance(body, bytes) else []


def coherent(message: dict) -> dict:
    """The message with the fields its kind needs and no other (a rule the schema does not state)."""
    kind = MessageKind(message["kind"])
    fields = {name: value for name, value in message.items() if name not in ("outcome", "new_deadline", "documents")}
    if kind in KINDS_WITH_OUTCOME:
        fields["outcome"] = Outcome.FAVOURABLE.value
    if kind in KINDS_WITH_DEADLINE:
        fields["new_deadline"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return fields


def swapped(case, parts: dict):
    for name, value in parts.items():
        setattr(case, name, value)
    return case


@pytest.fixture(params=["imr", "al-omrane", "auditor"])
def live_schema(request, tls_gateway, test_pki, seeded):
    """The schema as the live gateway serves it, called as one institution (the parameter)."""
    files = test_pki.files(request.param)
    config = schemathesis.Config.from_dict({
        "tls-verify": str(test_pki.dev.ca_cert), "request-cert": str(files.cert), "request-cert-key": str(files.key),
        # The coverage phase's boundary values meet the same validation whoever sends them: IMR's run
        # has them; the others spend their time on what their role may do.
        "phases": {"coverage": {"enabled": request.param == "imr"}},
    })
    schema = schemathesis.openapi.from_url(f"{tls_gateway.url}/openapi.json", config=config)
    without_request_examples(schema.raw_schema)
    schema.auth.set_from_requests(SigningAuth(signer_for(test_pki, request.param)))
    steer(schema, seeded)
    return schema


def without_request_examples(document: dict) -> None:
    """The contract's request examples name fixed values (a reference, a kind, a unit) that the live
    gateway answers differently once it has seen them (201, then 409): Hypothesis replays a draw and
    stops the stateful run as flaky. They are checked against their schemas in tests/contract."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                media.pop("example", None)


live = schemathesis.pytest.from_fixture("live_schema")


def call_and_check(case) -> None:
    """Any 5xx, any status, content type, header or body outside the schema fails."""
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)


@live.parametrize()
@QUICK
def test_every_operation_live(case):
    call_and_check(case)


@pytest.mark.long
@live.parametrize()
@LONG
def test_every_operation_live_long(case):
    call_and_check(case)


def run_stateful(schema, start: tuple[str, str], options: settings) -> None:
    """Sequences of calls that follow the links, those the OpenAPI document declares (gateway/app.py)
    and those schemathesis infers from the responses' fields: read a case, send it a message or a
    document, read those, acknowledge an inbox event, erase a case's personal data and try again.

    Each sequence starts with `start`: IMR opens a case, Al Omrane lists its cases. Schemathesis
    would start from neither on its own (it expects no success from `POST /v1/cases`, whose
    respondent no operation lists)."""
    method, path = start

    class Scenario(schema.as_state_machine()):
        @initialize(target=Bundle("started"), case=schema[path][method].as_strategy())
        def begin(self, case):
            if isinstance(case.body, dict):
                # A fresh reference: a draw repeated in a later sequence must get the same answer, not
                # 409 duplicate-reference, or Hypothesis stops the run as flaky.
                case.body["reference"] = f"ST-{uuid.uuid4().hex}"
            self.recorder.record_case(case=case)
            return self.step(StepInput.initial(case))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    Scenario.run(settings=options)


# The two parties, each from where its work starts (the auditor's operations take no identifier
# from another's response).
parties = pytest.mark.parametrize(
    "live_schema, start", [("imr", ("POST", "/v1/cases")), ("al-omrane", ("GET", "/v1/cases"))], indirect=["live_schema"]
)


@parties
def test_stateful_live(live_schema, start):
    run_stateful(live_schema, start, QUICK_STATEFUL)


@pytest.mark.long
@parties
def test_stateful_live_long(live_schema, start):
    run_stateful(live_schema, start, LONG_STATEFUL)
