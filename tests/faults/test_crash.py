"""SIGKILL the gateway at random moments under a signed, multi-threaded workload; restart it on
the same port and database; retry every operation with its own Idempotency-Key until it is
done. Afterwards each key has exactly one effect, every receipt a client holds is the gateway's,
the ledger exports and verifies offline, and the database-wide invariants hold.

The kills land anywhere: between the admission transaction and the work, mid-commit, after the
commit but before the answer left. Only the database's atomicity and the idempotency records
make a retry safe; that is what this proves.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, Conflict, GatewayClient, LedgerInconsistent, MessageCreate, ReceiptInvalid, ServerError, inbox_resume
from imr_alomrane_gateway_client.core import Call, Upload
from imr_alomrane_gateway_client.contract.cases import CaseDetail, MessageOut
from imr_alomrane_gateway_client.contract.documents import DocumentOut
from imr_alomrane_gateway_client.contract.inbox import InboxEventOut
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from gateway.ledger.verify import verify_export
from tests.factories import case_payload
from tests.faults.conftest import GatewayProcess, run_cli
from tests.faults.invariants import assert_invariants

pytestmark = pytest.mark.tls

KILL_DELAY_SECONDS = (0.3, 2.0)
OPERATION_SECONDS = 45.0  # one operation's retries, across restarts
TAIL_SECONDS = 0.5  # workload kept running after the last restart
MAX_OPERATIONS_PER_THREAD = 400
DOCUMENT = samples.png(8, 8)


@dataclass(frozen=True)
class Done:
    value: Any
    receipt_id: str
    receipt_token: str


@dataclass
class Operation:
    """One write, identified by its Idempotency-Key; `call` is rebuilt identically on every attempt."""

    key: str
    client: GatewayClient
    call: Call[Any]
    effect: Callable[[Done], None] = lambda done: None


@dataclass
class Journal:
    """What the clients saw: receipts held, keys used and what each should have created."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    receipts: list[tuple[GatewayClient, str, str]] = field(default_factory=list)
    cases: dict[str, str] = field(default_factory=dict)  # reference -> case id
    message_markers: dict[str, str] = field(default_factory=dict)  # marker -> case id
    document_names: dict[str, str] = field(default_factory=dict)  # file name -> case id
    acked_events: set[str] = field(default_factory=set)
    in_doubt: list[Operation] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # 500s and refusals: the gateway's faults
    retried: int = 0
    replayed: int = 0  # accepted with the receipt stored for an earlier call

    def note(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def add(self, what: list | set, item: Any) -> None:
        with self.lock:
            what.add(item) if isinstance(what, set) else what.append(item)


def in_flight(error: Exception) -> bool:
    return isinstance(error, Conflict) and error.slug == "idempotency-in-flight"


def attempt(operation: Operation, journal: Journal) -> Done:
    """The SDK's own conversation: signing, retries, receipt checks. A retry of a call that died
    gets the receipt stored for its key, which the SDK accepts though it covers the dead call's signature."""
    accepted = operation.client._run(operation.call)
    if isinstance(accepted.deferred, LedgerInconsistent):
        journal.add(journal.unexpected, f"{operation.key}: {accepted.deferred}")
    journal.note(replayed=int(accepted.receipt.replayed))
    return Done(accepted.value, accepted.receipt.id, accepted.receipt.token)


def perform(operation: Operation, journal: Journal, seconds: float = OPERATION_SECONDS) -> Done | None:
    """Retry with the same key until the gateway is back and answers; None if it never did."""
    deadline = time.monotonic() + seconds
    for tries in range(1000):
        try:
            done = attempt(operation, journal)
        except ReceiptInvalid as error:  # an accepted write reported as failed
            journal.add(journal.unexpected, f"{operation.key}: {error}")
            return None
        except (httpx.TransportError, ServerError, Conflict) as error:
            if isinstance(error, Conflict) and not in_flight(error):
                journal.add(journal.unexpected, f"{operation.key}: {error}")
                return None
            if isinstance(error, ServerError) and error.status == 500:
                journal.add(journal.unexpected, f"{operation.key}: {error}")
        else:
            operation.effect(done)
            journal.add(journal.receipts, (operation.client, done.receipt_id, done.receipt_token))
            journal.note(retried=1 if tries else 0)
            return done
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    journal.add(journal.in_doubt, operation)
    return None


def read(action: Callable[[], Any], seconds: float = OPERATION_SECONDS) -> Any:
    """A read, repeated while the gateway is down."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except (httpx.TransportError, ServerError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# The writes. Each takes its key; the JSON body is built once, so every attempt sends the same bytes.

def open_case(client: GatewayClient, journal: Journal, reference: str) -> Operation:
    key = f"open-{reference}"
    body = CaseCreate.model_validate(case_payload(reference=reference))
    call = Call("POST", "/v1/cases", CaseDetail.model_validate, body=body, headers={"Idempotency-Key": key})
    return Operation(key, client, call, lambda done: journal.cases.__setitem__(reference, done.value.id))


def send_message(client: GatewayClient, journal: Journal, case_id: str, kind: str) -> Operation:
    key = f"message-{uuid.uuid4()}"
    marker = f"[{key}]"
    body = MessageCreate(kind=kind, body=f"Réponse d'étape {marker} – رد مرحلي")
    call = Call("POST", f"/v1/cases/{case_id}/messages", MessageOut.model_validate, body=body, headers={"Idempotency-Key": key})
    return Operation(key, client, call, lambda done: journal.message_markers.__setitem__(marker, case_id))


def upload_document(client: GatewayClient, journal: Journal, case_id: str) -> Operation:
    key = f"document-{uuid.uuid4()}"
    name = f"{key}.png"
    headers = {"Idempotency-Key": key, "Content-Disposition": attachment_header(name)}
    call = Call("POST", f"/v1/cases/{case_id}/documents", DocumentOut.model_validate, body=Upload(DOCUMENT), headers=headers)
    return Operation(key, client, call, lambda done: journal.document_names.__setitem__(name, case_id))


def ack(client: GatewayClient, journal: Journal, event_id: str) -> Operation:
    """Through a Call: the SDK's `ack()` takes no idempotency_key (it makes a fresh one per call)."""
    key = f"ack-{client.unit_id}-{event_id}"
    call = Call("POST", f"/v1/inbox/{event_id}/ack", InboxEventOut.model_validate, headers={"Idempotency-Key": key})
    return Operation(key, client, call, lambda done: journal.acked_events.add(event_id))


# The workload threads.

def mediator(client: GatewayClient, journal: Journal, opened: queue.Queue, stop: threading.Event, run: str) -> None:
    """IMR opens cases, and attaches a document to every third."""
    for n in range(MAX_OPERATIONS_PER_THREAD):
        if stop.is_set():
            return
        done = perform(open_case(client, journal, f"CRASH/{run}/{n:04d}"), journal)
        if done is not None:
            opened.put(done.value.id)
            if n % 3 == 0:
                perform(upload_document(client, journal, done.value.id), journal)


def respondent(client: GatewayClient, journal: Journal, opened: queue.Queue, stop: threading.Event) -> None:
    """Al Omrane acknowledges each case, then sends an interim reply, a note and a document."""
    for _ in range(MAX_OPERATIONS_PER_THREAD):
        try:
            case_id = opened.get(timeout=0.2)
        except queue.Empty:
            if stop.is_set():
                return
            continue
        for kind in ("acknowledgement", "interim_reply", "note"):
            perform(send_message(client, journal, case_id, kind), journal)
        perform(upload_document(client, journal, case_id), journal)


def inbox_reader(client: GatewayClient, journal: Journal, stop: threading.Event) -> None:
    """Read the inbox from where it left off and acknowledge each event, each with its own key."""
    cursor = None
    for _ in range(MAX_OPERATIONS_PER_THREAD):
        page = read(lambda: client.inbox_page(cursor=cursor, limit=20))
        for event in page.items:
            perform(ack(client, journal, event.id), journal)
        cursor = inbox_resume(page, cursor)
        if not page.items:
            if stop.is_set():
                return
            stop.wait(0.1)


def killer(gateway: GatewayProcess, kills: int, done: threading.Event, stop: threading.Event) -> None:
    """SIGKILL the gateway after a random delay, restart it at once; `kills` times, then let the
    workload run a moment on the last incarnation and stop it."""
    try:
        for _ in range(kills):
            time.sleep(random.uniform(*KILL_DELAY_SECONDS))
            gateway.kill()
            gateway.start()
        done.set()
        time.sleep(TAIL_SECONDS)
    finally:
        stop.set()


# The checks.

def check_receipts(journal: Journal) -> None:
    """Each receipt a client holds is stored, identical, at the gateway."""
    for client, receipt_id, token in journal.receipts:
        assert read(lambda: client.receipt(receipt_id)).token == token, f"receipt {receipt_id} differs"


def check_one_effect_per_key(journal: Journal, imr: GatewayClient, engine_sql) -> None:
    references = Counter(engine_sql("SELECT reference FROM cases").scalars())
    assert references == Counter(journal.cases.keys()), "cases in the database differ from those opened, one per reference"
    markers: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for case_id in journal.cases.values():
        detail = read(lambda: imr.get_case(case_id))
        markers.update(marker for m in detail.messages for marker in journal.message_markers if marker in (m.body or ""))
        names.update(d.filename for d in read(lambda: imr.documents(case_id)))
    assert markers == Counter(journal.message_markers.keys()), "a message key did not have exactly one message"
    assert names == Counter(journal.document_names.keys()), "a document key did not have exactly one document"
    assert engine_sql("SELECT count(*) FROM messages").scalar() == len(journal.message_markers)
    delivered = set(engine_sql("SELECT id FROM inbox_events WHERE delivered_at IS NOT NULL").scalars())
    assert journal.acked_events <= delivered


def check_export(settings, tmp_path: Path, expected_size: int) -> int:
    """`gateway ledger export`, verified offline against `gateway ledger key`."""
    export = tmp_path / "ledger.jsonl"
    run_cli(settings, "ledger", "export", str(export))
    key = run_cli(settings, "ledger", "key").strip()
    with open(export, "rb") as lines:
        verdict = verify_export(lines, NoteVerifier.from_key_string(key), progress=None)
    assert verdict.entries == expected_size, f"the export holds {verdict.entries} entries, the database {expected_size} events"
    return verdict.entries


def guarded(journal: Journal, target: Callable[..., None], *args: Any) -> threading.Thread:
    """A thread whose crash is reported as a failure of the test, not lost on stderr."""

    def run() -> None:
        try:
            target(*args)
        except Exception as error:  # noqa: BLE001 - reported below
            journal.add(journal.unexpected, f"{target.__name__} thread died: {type(error).__name__}: {error}")

    return threading.Thread(target=run, name=target.__name__)


def run_workload(gateway: GatewayProcess, test_pki, journal: Journal, kills: int) -> list[GatewayClient]:
    """The four clients and the killer, until the last restart; returns the clients (still open)."""
    pki_dir = test_pki.dev.directory
    clients = [GatewayClient.from_pki_dir(gateway.url, name, pki_dir, **test_pki.trust) for name in ("imr", "al-omrane", "imr", "al-omrane")]
    imr, omrane, imr_inbox, omrane_inbox = clients
    opened: queue.Queue[str] = queue.Queue()
    stop, killed_all = threading.Event(), threading.Event()
    run = uuid.uuid4().hex[:8]
    threads = [
        guarded(journal, mediator, imr, journal, opened, stop, run),
        guarded(journal, respondent, omrane, journal, opened, stop),
        guarded(journal, inbox_reader, imr_inbox, journal, stop),
        guarded(journal, inbox_reader, omrane_inbox, journal, stop),
        guarded(journal, killer, gateway, kills, killed_all, stop),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(OPERATION_SECONDS * 4)
    assert not any(thread.is_alive() for thread in threads), "the workload did not stop"
    assert killed_all.is_set(), f"the gateway was not killed {kills} times"
    return clients


def test_sigkill_under_load_loses_nothing_and_duplicates_nothing(start_gateway, settings, test_pki, engine_sql, tmp_path, request):
    kills = request.config.getoption("--crash-kills")
    gateway = start_gateway()
    journal = Journal()
    clients = run_workload(gateway, test_pki, journal, kills)
    try:
        unsure, journal.in_doubt = journal.in_doubt, []
        for operation in unsure:  # finish what was in doubt, with its key, on the last incarnation
            perform(operation, journal)
        assert not journal.in_doubt, f"{len(journal.in_doubt)} operations never completed: {[o.key for o in journal.in_doubt]}"
        assert journal.cases and journal.message_markers and journal.document_names and journal.acked_events

        check_receipts(journal)
        check_one_effect_per_key(journal, clients[0], engine_sql)
        census = assert_invariants(settings.database_url)
        registry = census.expected_by_kind["registry_changed"]  # the start-up's: the restarts applied the same file, recording nothing
        assert census.ledger_size == census.expected_size == len(journal.receipts) + registry and registry == 1
        check_export(settings, tmp_path, census.expected_size)
        # Last, so that the checks above also judge a run where some request failed (and was retried).
        assert not journal.unexpected, "the gateway failed requests:\n" + "\n".join(journal.unexpected + gateway.logged_errors())
    finally:
        for client in clients:
            client.close()
    print(f"\n{kills} kills: {len(journal.cases)} cases, {len(journal.message_markers)} messages, "
          f"{len(journal.document_names)} documents, {len(journal.acked_events)} acks, {census.ledger_size} ledger entries; "
          f"{journal.retried} operations needed a retry after an SDK failure, {journal.replayed} got the stored receipt of an earlier call")
