"""Long polling on the inbox against a real server: a waiting read answers as soon as an event for
it commits (in this process at once, from another process on its next look), holds neither a
worker thread nor a database connection while it waits, and ends at its time, at the gateway's
maximum, or when the gateway stops."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx

from gateway import jobs
from gateway.app import create_app
from imr_alomrane_gateway_client import GatewayClient
from gateway.domain.events import Side
from imr_alomrane_gateway_client.vocabulary import InboxEventKind
from gateway.server import background_gateway
from gateway.services.inbox import Notice, deliver
from gateway.storage.engine import Database
from tests.conftest import UNLIMITED, signer_for, wait_until
from tests.factories import case_payload

# More waiting reads than the worker threads FastAPI runs plain functions on (anyio's 40).
WAITERS = 45


@contextmanager
def gateway(settings, **overrides) -> Iterator[tuple[str, object]]:
    settings = settings.model_copy(update={**UNLIMITED, "max_connections_per_certificate": 100, **overrides})
    app = create_app(settings)
    with background_gateway(settings, app) as url:
        yield url, app.state


def client(url: str, test_pki, name: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    context.load_cert_chain(test_pki.files(name).cert, test_pki.files(name).key)
    return httpx.Client(base_url=url, verify=context, timeout=60, auth=signer_for(test_pki, name),
                        limits=httpx.Limits(max_connections=WAITERS + 5, max_keepalive_connections=WAITERS + 5))


def waiting(state, pool: ThreadPoolExecutor, read: Callable[[], httpx.Response], count: int = 1) -> list[Future]:
    """`count` reads started, once the gateway has every one of them waiting."""
    futures = [pool.submit(read) for _ in range(count)]
    wait_until(lambda: state.runtime.inbox_signals.waiting("al-omrane") == count)
    return futures


def test_waiting_reads_answer_as_an_event_commits_and_hold_no_thread_or_connection(settings, test_pki):
    """The re-poll interval is long: only the in-process signal can answer this fast. The pool has
    two connections and FastAPI 40 threads: were waiting reads holding either, nothing else would answer."""
    with gateway(settings, inbox_repoll_seconds=60, database_pool_size=2) as (url, state), \
            client(url, test_pki, "al-omrane") as omrane, client(url, test_pki, "imr") as imr, ThreadPoolExecutor(WAITERS) as pool:
        reads = waiting(state, pool, lambda: omrane.get("/v1/inbox", params={"wait": 20}), WAITERS)
        started = time.monotonic()
        assert imr.get("/v1/me").status_code == 200 and omrane.get("/v1/cases").status_code == 200
        opened = imr.post("/v1/cases", json=case_payload())
        assert opened.status_code == 201, opened.text
        answers = [read.result(timeout=10) for read in reads]
        assert time.monotonic() - started < 5
        assert {tuple(e["case_id"] for e in answer.json()["items"]) for answer in answers} == {(opened.json()["id"],)}


def test_an_event_another_process_commits_is_found_on_the_next_look(settings, test_pki):
    with gateway(settings, inbox_repoll_seconds=0.2) as (url, state), client(url, test_pki, "al-omrane") as omrane, \
            client(url, test_pki, "imr") as imr, ThreadPoolExecutor(1) as pool:
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        seq = omrane.get("/v1/inbox").json()["items"][-1]["seq"]
        [read] = waiting(state, pool, lambda: omrane.get("/v1/inbox", params={"cursor": str(seq), "wait": 20}))
        elsewhere = Database(settings.database_url)  # another gateway process's write: it rings nothing here
        with elsewhere.session(write=True) as session:
            deliver(session, [Notice(Side("al-omrane", "al-omrane"), InboxEventKind.STATUS_CHANGED, case_id, None, "open")])
            session.commit()
        elsewhere.dispose()
        started = time.monotonic()
        answer = read.result(timeout=10)
        assert time.monotonic() - started < 3
        assert [e["seq"] for e in answer.json()["items"]] == [seq + 1]


def test_a_reminder_this_process_sends_wakes_its_recipients_waiting_read(settings, test_pki):
    with gateway(settings, inbox_repoll_seconds=60) as (url, state), client(url, test_pki, "al-omrane") as omrane, \
            client(url, test_pki, "imr") as imr, ThreadPoolExecutor(1) as pool:
        case = imr.post("/v1/cases", json=case_payload()).json()
        seq = max([e["seq"] for e in omrane.get("/v1/inbox").json()["items"]], default=0)
        [read] = waiting(state, pool, lambda: omrane.get("/v1/inbox", params={"cursor": str(seq), "wait": 20}))
        escalated = datetime.fromisoformat(case["times"]["deadline"]) + timedelta(days=settings.escalation_days + 1)
        assert jobs.send_reminders(state.runtime, now=escalated) >= 1  # the head office's escalation among them
        answer = read.result(timeout=5)
        assert answer.json()["items"] and {e["kind"] for e in answer.json()["items"]} == {"reminder"}  # the due step's, and the escalation's if it committed by then


def test_a_wait_ends_empty_at_its_time_or_the_gateways_maximum(settings, test_pki):
    with gateway(settings, inbox_max_wait_seconds=1) as (url, _), client(url, test_pki, "al-omrane") as omrane:
        for wait in (1, 300):
            started = time.monotonic()
            answer = omrane.get("/v1/inbox", params={"wait": wait})
            assert answer.json() == {"items": []} and 1 <= time.monotonic() - started < 4
        assert omrane.get("/v1/inbox", params={"wait": 3601}).status_code == 422


def test_waiting_reads_answer_at_once_when_the_gateway_stops(settings, test_pki):
    """uvicorn gives requests still running one second (timeout_graceful_shutdown), then cuts them."""
    with ThreadPoolExecutor(1) as pool:
        with gateway(settings) as (url, state):
            omrane = client(url, test_pki, "al-omrane")  # closed after the answer, not before the gateway stops
            [read] = waiting(state, pool, lambda: omrane.get("/v1/inbox", params={"wait": 20}))
            stopping = time.monotonic()
        answer = read.result(timeout=10)
        omrane.close()
        assert answer.status_code == 200 and answer.json() == {"items": []}
        assert time.monotonic() - stopping < 3


def test_the_sdk_waits_past_its_own_read_timeout(settings, test_pki):
    """The SDK adds the wait to its read timeout: a 1 s client timeout and a 2 s wait still answer."""
    with gateway(settings, inbox_max_wait_seconds=2) as (url, _):
        files = test_pki.files("al-omrane")
        with GatewayClient(url, "al-omrane", ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key,
                           signing_key=files.signing_key, timeout=1, trust_on_first_use=True) as omrane:
            started = time.monotonic()
            assert omrane.inbox_page(wait=2).items == [] and time.monotonic() - started >= 2
