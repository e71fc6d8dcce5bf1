"""The actor loop: one institution's side of many cases, driven by its inbox.

IMR's side opens the planned cases at the rate asked; both sides read their inboxes (a head office
also those of its regional units), acknowledge every event (so the other side gets its delivery
receipts), download the documents the other side attached (the SDK checks their digests), and play
their scenario's next step on each case an event touched. Every write goes through the SDK, which
signs it and verifies its receipt. One line per action; refusals the scenario did not expect are
failures, and the run's summary says how many.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from gateway.simulator.sdk import DocumentCorrupted, GatewayClient, GatewayError, MessageCreate, ReceiptInvalid, inbox_resume
from imr_alomrane_gateway_client.vocabulary import CaseStatus, InboxEventKind, Language, MessageKind, Role
from gateway.simulator import material
from gateway.simulator.scenarios import ATTACH, SCENARIOS, TRANSFER, Scenario, Step, next_step

ROLES = {"imr": Role.MEDIATOR, "al-omrane": Role.RESPONDENT}
SIDES = {role: side for side, role in ROLES.items()}
RATE_LIMITED_WAIT_SECONDS = 1.0  # the gateway's Retry-After is whole seconds, at least one


@dataclass(frozen=True)
class Options:
    """What `gateway simulate`'s arguments say (their defaults are the command's)."""

    role: Role
    scenarios: list[str]
    seed: int
    count: int | None  # cases to carry through (None: until the duration ends or Ctrl-C)
    duration: float | None  # seconds
    rate: float  # cases IMR's side opens per minute
    actions_per_second: float  # at most, on either side (0: no cap)
    poll_interval: float  # seconds between two looks at an inbox with nothing new
    counterpart: str  # the respondent IMR's side opens cases with


@dataclass
class Summary:
    role: Role
    seed: int
    cases: int = 0  # opened (IMR) or taken up (Al Omrane)
    closed: int = 0
    handed_over: int = 0  # transferred to a unit whose cases these credentials do not reach
    unfinished: int = 0
    actions: Counter = field(default_factory=Counter)
    documents_sent: int = 0
    documents_received: int = 0
    deliveries: int = 0  # inbox events acknowledged
    expected_refusals: int = 0
    failures: list[str] = field(default_factory=list)
    rate_limited: int = 0
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        stopped = "; stopped by Ctrl-C" if self.interrupted else ""
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.actions.items()))
        return [
            f"summary (as {SIDES[self.role]}, seed {self.seed}, {self.elapsed:.1f} s{stopped}): {self.cases} case(s) "
            f"{'opened' if self.role is Role.MEDIATOR else 'taken up'}, {self.closed} closed, "
            + (f"{self.handed_over} handed over, " if self.handed_over else "") + f"{self.unfinished} unfinished",
            f"  {sum(self.actions.values())} action(s) ({kinds or 'none'}); {self.documents_sent} document(s) sent, "
            f"{self.documents_received} received (digests checked); {self.deliveries} inbox event(s) acknowledged"
            + (f"; rate-limited {self.rate_limited} time(s)" if self.rate_limited else ""),
            f"  refused as the scenario expected: {self.expected_refusals}; refused or failed otherwise: {len(self.failures)}",
            *(f"  FAILED: {failure}" for failure in self.failures),
            "  (every complainant, text and document was invented by the simulator; the lines show no personal data)",
        ]


@dataclass
class CaseWork:
    """What one side remembers of a case: its scenario, how far its script went, its own choices."""

    reference: str
    scenario: Scenario
    rng: Random
    done: int = 0
    finished: bool = False
    downloaded: set[str] = field(default_factory=set)


class Refused(Exception):
    """An action that did not go as the scenario said: the case is given up, the run fails."""


def say_now(line: str) -> None:
    """Each line as it happens, also through a pipe (`| tee`)."""
    print(line, flush=True)


class Actor:
    def __init__(self, client: GatewayClient, options: Options, say: Callable[[str], None] = say_now) -> None:
        self.client, self.options, self.say = client, options, say
        self.summary = Summary(options.role, options.seed)
        self.me = client.me()
        if self.me.role is not options.role:
            raise ValueError(f"the credentials given are {self.me.unit.id}'s, a {self.me.role.value}: "
                             f"not the {options.role.value} this side plays")
        own_units = [unit for unit in client.units() if unit.institution_id == self.me.id and not unit.head_office]
        self.regional_units = [unit.id for unit in own_units]
        # A head office works every case of its institution, so it reads its regional units' inboxes too.
        self.inboxes: dict[str | None, str | None] = {None: None} | (  # unit (None: one's own) → cursor
            {unit: None for unit in self.regional_units} if self.me.unit.head_office else {})
        self.seen: dict[str | None, int] = {}  # unit → the last seq taken
        self.cases: dict[str, CaseWork] = {}
        self.run_tag = uuid.uuid4().hex[:6].upper()  # references stay unique when the same seed runs again
        self.planned = material.planned_cases(options.seed, options.scenarios)
        self._last_action = 0.0
        self._downloads = tempfile.TemporaryDirectory(prefix="gateway-simulate-")

    # -- the loop

    def run(self) -> Summary:
        started = time.monotonic()
        ends = started + self.options.duration if self.options.duration else None
        next_opening = started
        try:
            skipped = self._skip_backlog()
            self.say(f"simulating {SIDES[self.options.role]} as {self.me.unit.id} ({self.me.name_fr}); scenarios {', '.join(self.options.scenarios)}; "
                     f"seed {self.options.seed}; run {self.run_tag}; watching {len(self.inboxes)} inbox(es), "
                     f"{skipped} earlier event(s) left alone; every name and text is invented")
            while not self._done() and (ends is None or time.monotonic() < ends):
                acted = False
                if self._may_open() and time.monotonic() >= next_opening:
                    self._open(next(self.planned))
                    next_opening = time.monotonic() + 60 / self.options.rate
                    acted = True
                touched = self._poll()
                for case_id, attached in touched.items():
                    self._work(case_id, attached)
                if not acted and not touched:
                    self._idle(ends, next_opening if self._may_open() else None)
        except KeyboardInterrupt:
            self.summary.interrupted = True
        finally:
            self._downloads.cleanup()
        self.summary.unfinished = sum(1 for work in self.cases.values() if not work.finished)
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def _idle(self, *moments: float | None) -> None:
        """Wait for the next poll, but not past the end of the run or the next case to open."""
        now = time.monotonic()
        time.sleep(max(0.0, min([self.options.poll_interval, *(moment - now for moment in moments if moment is not None)])))

    def _done(self) -> bool:
        count = self.options.count
        return count is not None and self.summary.cases >= count and all(work.finished for work in self.cases.values())

    def _may_open(self) -> bool:
        return self.options.role is Role.MEDIATOR and (self.options.count is None or self.summary.cases < self.options.count)

    # -- the inbox

    def _events(self, unit: str | None) -> Iterator:
        """The events of one inbox not seen yet. Each is taken once (by its seq), whether or not a
        caught-up page hands back a cursor."""
        while True:
            page = self._patiently(lambda: self.client.inbox_page(cursor=self.inboxes[unit], unit=unit))
            fresh = [event for event in page.items if event.seq > self.seen.get(unit, -1)]
            self.inboxes[unit] = inbox_resume(page, self.inboxes[unit])
            if fresh:
                self.seen[unit] = fresh[-1].seq
            yield from fresh
            if not fresh or not page.next_cursor:
                return

    def _skip_backlog(self) -> int:
        """Events from before this run are another run's business: start after them."""
        return sum(1 for unit in self.inboxes for _ in self._events(unit))

    def _poll(self) -> dict[str, bool]:
        """Read and acknowledge what is new; returns each case touched, and whether a document came."""
        touched: dict[str, bool] = {}
        for unit in self.inboxes:
            for event in self._events(unit):
                self._patiently(lambda: self.client.ack(event.id))
                self.summary.deliveries += 1
                if event.case_id:
                    touched[event.case_id] = touched.get(event.case_id, False) or event.kind is InboxEventKind.DOCUMENT_ATTACHED
        return touched

    # -- the cases

    def _open(self, planned: material.PlannedCase) -> None:
        payload = planned.payload(self.run_tag, self.options.counterpart)
        work = CaseWork(payload.reference, SCENARIOS[planned.scenario], material.case_rng(self.options.seed, payload.reference))
        self.summary.cases += 1
        try:
            case = self._act(lambda: self.client.open_case(payload).value)
        except Refused as refused:
            self._fail(work, "case opened", refused)
            return
        self.cases[case.id] = work
        self._line(case.mediator_unit, work, "case opened", case.status, kind="case_opened")
        self._play(work, case)

    def _adopt(self, case_id: str, reference: str) -> CaseWork | None:
        """Al Omrane's side takes up any case new to it (up to --count): a simulated case plays the
        scenario its reference names, another (a real IMR system's) one chosen by the seed."""
        if self.options.count is not None and self.summary.cases >= self.options.count:
            return None
        rng = material.case_rng(self.options.seed, reference)
        named = material.scenario_named(reference)
        scenario = named if named in self.options.scenarios else rng.choice(self.options.scenarios)
        self.summary.cases += 1
        self.cases[case_id] = CaseWork(reference, SCENARIOS[scenario], rng)
        return self.cases[case_id]

    def _work(self, case_id: str, attached: bool) -> None:
        work = self.cases.get(case_id)
        if (work is None and self.options.role is Role.MEDIATOR) or (work is not None and work.finished and not attached):
            return  # IMR's side works only the cases it opened
        try:
            case = self._patiently(lambda: self.client.get_case(case_id))
        except GatewayError as refused:
            if work is not None and not work.finished:
                self._fail(work, "read the case", Refused(str(refused)))
            return
        work = work or self._adopt(case_id, case.reference)
        if work is None:
            return
        if attached:
            self._download(work, case)
        if not work.finished:
            self._play(work, case)

    def _play(self, work: CaseWork, case) -> None:
        """Send this side's steps for as long as the case's status calls for one."""
        status = case.status
        while (decided := next_step(self.options.role, work.scenario.script(self.options.role), work.done, status)) is not None:
            step, scripted = decided
            try:
                status = self._send(work, case, step)
                if step.kind == TRANSFER and status is not None:  # the unit holding it changed
                    case = self._patiently(lambda: self.client.get_case(case.id))
            except (Refused, GatewayError) as refused:
                self._fail(work, step.label, refused)
                return
            work.done += scripted
            if status is None:  # the case left this side's hands
                work.finished = True
                self.summary.handed_over += 1
                return
        if status is CaseStatus.CLOSED:
            work.finished = True
            self.summary.closed += 1

    def _send(self, work: CaseWork, case, step: Step) -> CaseStatus | None:
        language = case.complainant.preferred_language if case.complainant else Language.FR
        documents = material.documents(self.options.role, language, step.documents, work.reference, work.rng)
        ids = [self._act(lambda name=name, data=data: self.client.upload_document(case.id, data, name).value.id)
               for name, data in documents.items()]
        self.summary.documents_sent += len(ids)
        attached = f"  + {len(ids)} document(s)" if ids else ""
        if step.kind == ATTACH:
            self._line(self._holder(case), work, step.label, case.status, attached, kind=step.kind)
            return case.status
        if step.kind == TRANSFER:
            if case.respondent_unit == self.me.id and not self.regional_units:
                raise Refused(f"{self.me.id} has no regional unit to transfer the case to")
            target = self.me.id if case.respondent_unit != self.me.id else work.rng.choice(self.regional_units)
            moved = self._act(lambda: self.client.transfer(case.id, target).value)
            self._line(self._holder(case), work, f"transfer to {moved.respondent_unit}", moved.status, kind=step.kind)
            return moved.status if self.me.unit.head_office or moved.respondent_unit == self.me.unit.id else None
        message = MessageCreate(
            kind=step.kind, body=material.text(step.kind, language, work.rng), documents=ids,
            outcome=step.outcome or (_last_outcome(case) if step.kind == MessageKind.CLOSURE else None),
            new_deadline=material.follow_up_deadline() if step.kind == MessageKind.FOLLOW_UP else None,
        )
        try:
            sent = self._act(lambda: self.client.send_message(case.id, message).value, expect=step.expect)
        except ExpectedRefusal as refused:
            self.summary.expected_refusals += 1
            allowed = ", ".join(refused.error.extension("allowed_kinds") or [])
            self._line(self._holder(case), work, step.label, case.status, f"  refused as expected: {refused.error.status} "
                       f"{refused.error.slug} (allowed now: {allowed})", kind=step.kind)
            return case.status
        if step.expect:
            raise Refused(f"accepted, but the scenario expected {step.expect}")
        self._line(self._holder(case), work, step.label, sent.status_after, attached, kind=step.kind)
        return sent.status_after

    def _download(self, work: CaseWork, case) -> None:
        """Every document the other side attached, checked against its digest (a mismatch keeps no file)."""
        destination = Path(self._downloads.name) / "document"
        try:
            fresh = [document for document in self._patiently(lambda: self.client.documents(case.id))
                     if document.sender_id != self.me.id and document.id not in work.downloaded]
            for document in fresh:
                received = self._patiently(lambda: self.client.download_document(case.id, document.id, destination))
                if received.digest != document.digest:
                    raise DocumentCorrupted(f"document {document.id} arrived with another digest than described")
                work.downloaded.add(document.id)
        except (GatewayError, DocumentCorrupted) as failed:
            self._fail(work, "download", failed)
            return
        if fresh:
            self.summary.documents_received += len(fresh)
            types = ", ".join(sorted({document.media_type for document in fresh}))
            self._line(self._holder(case), work, f"downloaded {len(fresh)} document(s)", case.status,
                       f"  ({types}; digests checked)", kind=None)

    # -- actions

    def _patiently(self, call):
        """A call, repeated while the gateway answers 429 (the simulator is a load like any other)."""
        while True:
            try:
                return call()
            except GatewayError as refused:
                if refused.status != 429:
                    raise
                self.summary.rate_limited += 1
                time.sleep(RATE_LIMITED_WAIT_SECONDS)

    def _act(self, call, *, expect: str | None = None):
        """One write, paced to --actions-per-second; a refusal becomes Refused, or ExpectedRefusal when it is `expect`."""
        if self.options.actions_per_second:
            time.sleep(max(0.0, self._last_action + 1 / self.options.actions_per_second - time.monotonic()))
        self._last_action = time.monotonic()
        try:
            return self._patiently(call)
        except GatewayError as refused:
            if expect is not None and refused.slug == expect:
                raise ExpectedRefusal(refused) from None
            request = f" (request id {refused.request_id})" if refused.request_id else ""
            raise Refused(f"{refused.status} {refused.slug}: {refused.problem.detail or refused.problem.title}{request}") from None
        except (ReceiptInvalid, DocumentCorrupted) as untrusted:
            raise Refused(f"{type(untrusted).__name__}: {untrusted}") from None

    def _holder(self, case) -> str:
        return case.mediator_unit if self.options.role is Role.MEDIATOR else case.respondent_unit

    def _line(self, unit: str, work: CaseWork, action: str, status: CaseStatus, note: str = "", *, kind: str | None) -> None:
        """One action's line (`kind`: what the summary counts it as; None: not an action, a download)."""
        if kind:
            self.summary.actions[kind] += 1
        moment = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        self.say(f"{moment}  {unit:<28} {work.reference:<36} {action:<36} → {status.value}{note}")

    def _fail(self, work: CaseWork, action: str, refused: Exception) -> None:
        work.finished = True
        self.summary.failures.append(f"{work.reference} {action}: {refused}")
        moment = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        self.say(f"{moment}  {self.me.unit.id:<28} {work.reference:<36} {action:<36} REFUSED {refused}")


class ExpectedRefusal(Exception):
    def __init__(self, error: GatewayError) -> None:
        super().__init__(str(error))
        self.error = error


def _last_outcome(case) -> str:
    """A closure's outcome: the last final reply's."""
    replies = [message.outcome for message in case.messages if message.kind == MessageKind.FINAL_REPLY and message.outcome]
    return replies[-1] if replies else "favourable"
