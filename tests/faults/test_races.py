"""Three gateway processes on one PostgreSQL database, racing on the same cases and events.

The clients are bare httpx clients (signing, no retries): a 5xx is counted, never retried away.
What must hold: no request fails with a 5xx (a deadlock or a serialization error is the
gateway's to handle), exactly one winner per lifecycle conflict, one ledger entry per event
whatever the number of acknowledgements, and the database-wide invariants.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import cycle

import httpx
import pytest

from tests.factories import case_payload, message
from tests.faults.conftest import GatewayProcess, institution_http, requires_postgres
from tests.faults.invariants import check, describe

pytestmark = [requires_postgres, pytest.mark.tls]

PROCESSES = 3
CASES = 4
CONTENDERS = 6  # concurrent requests per conflict, spread over the processes
NOTES_PER_SIDE = 6
WORKERS = 24

Request = Callable[[], httpx.Response]


@dataclass
class Cluster:
    """A client per process for each institution."""

    imr: list[httpx.Client]
    omrane: list[httpx.Client]
    gateways: list[GatewayProcess]

    def deadlocks_logged(self) -> int:
        """Deadlocks PostgreSQL detected, from the processes' logs: each has its own `DETAIL` line
        (the processes and transactions involved), printed several times with its traceback."""
        return len({line for g in self.gateways for line in g.logged_errors() if line.startswith("DETAIL:  Process")})


@dataclass
class Tally:
    """Every answer, by what was asked; the 5xx ones (and connections dropped without an answer)
    kept for the report."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def record(self, what: str, response: httpx.Response) -> httpx.Response:
        with self.lock:
            self.statuses[(what, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what}: {response.status_code} {response.text[:200]}")
        return response

    def dropped(self, what: str, error: httpx.TransportError) -> httpx.Response:
        """No answer at all: counted as status 0, and as a server error."""
        with self.lock:
            self.statuses[(what, 0)] += 1
            self.server_errors.append(f"{what}: no answer ({type(error).__name__}: {error})")
        return httpx.Response(599, json={"type": "no-answer"})

    def summary(self) -> str:
        counts = ", ".join(f"{what} {status}: {n}" for (what, status), n in sorted(self.statuses.items()))
        return f"{len(self.server_errors)} answers were 5xx or missing (status 0); {counts}"


@pytest.fixture
def cluster(start_gateways, settings, test_pki) -> Cluster:
    if settings.is_sqlite:
        pytest.skip("several gateway processes on one database: PostgreSQL only")
    gateways = start_gateways(PROCESSES)
    clients = {name: [institution_http(g.url, test_pki, name) for g in gateways] for name in ("imr", "al-omrane")}
    yield Cluster(clients["imr"], clients["al-omrane"], gateways)
    for client in clients["imr"] + clients["al-omrane"]:
        client.close()


def post(client: httpx.Client, path: str, tally: Tally, what: str, **options) -> Request:
    """A POST to send later, with a fresh Idempotency-Key: each is a distinct request."""

    def send() -> httpx.Response:
        try:
            return tally.record(what, client.post(path, headers={"Idempotency-Key": str(uuid.uuid4())}, **options))
        except httpx.TransportError as error:
            return tally.dropped(what, error)

    return send


def race(requests: list[Request]) -> list[httpx.Response]:
    """Send all at once: every thread waits at a barrier, then fires."""
    barrier = threading.Barrier(len(requests))

    def fire(request: Request) -> httpx.Response:
        barrier.wait(30)
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(fire, requests))


def concurrently(requests: list[Request]) -> list[httpx.Response]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda request: request(), requests))


def acknowledged_cases(cluster: Cluster, count: int) -> list[str]:
    """Cases opened by IMR and acknowledged by Al Omrane, ready for replies."""
    case_ids = []
    for _ in range(count):
        opened = cluster.imr[0].post("/v1/cases", json=case_payload())
        assert opened.status_code == 201, opened.text
        acknowledged = cluster.omrane[0].post(f"/v1/cases/{opened.json()['id']}/messages", json=message("acknowledgement"))
        assert acknowledged.status_code == 201, acknowledged.text
        case_ids.append(opened.json()["id"])
    return case_ids


def spread(clients: list[httpx.Client], count: int) -> list[httpx.Client]:
    """`count` clients, taking the processes in turn."""
    return [client for client, _ in zip(cycle(clients), range(count))]


def unread_events(client: httpx.Client, case_ids: set[str]) -> list[str]:
    events = client.get("/v1/inbox", params={"limit": 1000}).json()["items"]
    return [event["id"] for event in events if event["case_id"] in case_ids]


def winners(responses: list[httpx.Response]) -> tuple[int, list[str]]:
    """How many were accepted, and how the others were refused (problem types)."""
    refused = [r.json().get("type", "?") if r.status_code < 500 else str(r.status_code) for r in responses if r.status_code != 201]
    return sum(r.status_code == 201 for r in responses), refused


def assert_race_held(cluster: Cluster, tally: Tally, database_url: str, conflicts: list[tuple[int, list[str]]] = ()) -> None:
    """Every expectation at once, so that the report shows the whole picture."""
    _, broken = check(database_url)
    lost = [(n, refused) for n, refused in conflicts if n != 1 or set(refused) - {"/problems/transition-refused"}]
    report = [f"{tally.summary()}; {cluster.deadlocks_logged()} deadlocks in the gateways' logs"]
    if lost:
        report.append(f"{len(lost)} of {len(conflicts)} conflicts without exactly one winner: {lost[:5]}")
    if broken:
        report.append(describe(broken))
    report += tally.server_errors[:5]
    assert not tally.server_errors and not lost and not broken, "\n".join(report)


def test_racing_final_replies_and_closures_have_one_winner_each(cluster, database_url):
    tally = Tally()
    conflicts = []
    for case_id in acknowledged_cases(cluster, CASES):
        path = f"/v1/cases/{case_id}/messages"
        replies = [post(c, path, tally, "final_reply", json=message("final_reply", outcome="favourable"))
                   for c in spread(cluster.omrane, CONTENDERS)]
        conflicts.append(winners(race(replies)))
        closures = [post(c, path, tally, "closure", json=message("closure", outcome="favourable"))
                    for c in spread(cluster.imr, CONTENDERS)]
        conflicts.append(winners(race(closures)))
    assert_race_held(cluster, tally, database_url, conflicts)


def test_racing_acknowledgements_of_the_same_events_record_one_delivery_each(cluster, database_url):
    tally = Tally()
    case_ids = acknowledged_cases(cluster, CASES)
    events = unread_events(cluster.omrane[0], set(case_ids))
    for event_id in events:
        race([post(c, f"/v1/inbox/{event_id}/ack", tally, "ack") for c in spread(cluster.omrane, CONTENDERS)])
    assert_race_held(cluster, tally, database_url)


def test_messages_racing_acknowledgements_on_the_same_case_do_not_deadlock(cluster, database_url):
    """Each side writes notes on a case while acknowledging the other side's events on it: a
    message locks the case row then takes the inbox and ledger counters, an acknowledgement's
    receipt takes a key-share lock on the case through its foreign key."""
    tally = Tally()
    case_ids = acknowledged_cases(cluster, CASES)
    for case_id in case_ids:  # events for both sides to acknowledge during the race
        for sender in (cluster.imr[0], cluster.omrane[0]):
            for _ in range(NOTES_PER_SIDE // 2):
                assert sender.post(f"/v1/cases/{case_id}/messages", json=message("note")).status_code == 201
    pending = {"imr": unread_events(cluster.imr[0], set(case_ids)), "al-omrane": unread_events(cluster.omrane[0], set(case_ids))}
    requests = []
    for case_id in case_ids:
        for side in (cluster.imr, cluster.omrane):
            requests += [post(c, f"/v1/cases/{case_id}/messages", tally, "note", json=message("note"))
                         for c in spread(side, NOTES_PER_SIDE)]
    for name, side in (("imr", cluster.imr), ("al-omrane", cluster.omrane)):
        requests += [post(c, f"/v1/inbox/{event_id}/ack", tally, "ack") for c, event_id in zip(cycle(side), pending[name])]
    random.Random(0).shuffle(requests)  # notes and acknowledgements meet on the same case at the same moment
    concurrently(requests)
    assert_race_held(cluster, tally, database_url)

