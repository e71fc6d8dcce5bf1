"""Processing-time statistics computed from ledger entries alone (no case content, no database).

The one computation behind `GET /v1/ledger/statistics` and `gateway report`, so that an auditor
holding only an export gets the gateway's figures. Entries are read once, in ledger order:

- a case opens at `case_opened` (detail: subject, recipient_unit: the unit it was routed to,
  region, due: its deadline); `case_transferred` on the respondent's side moves it to its
  recipient_unit, and a case is grouped under the unit it belongs to at the end of the entries read;
- `message_sent` moves its status by `lifecycle.RULES`; the first acknowledgement, final reply
  and closure are its milestones; a follow-up with a `due` sets a new deadline. A case opened
  without one (version 1) has `opened + reply_days`;
- `reminder_sent` counts for the case or thematic file it is about;
- a thematic file opens at `thematic_file_opened`; its respondent side is whichever party is not
  a mediator, a mediator being an institution that opened a case in the entries read (when
  neither party is, the file's recipient); a `commitment` message opens a commitment (its
  `resource`, due at its `due`) that a `commitment_fulfilled` message referring to it fulfils.

Cases and files are then selected by scope (unit, region, months of opening) and summarized
overall, per unit, region, subject and month of opening.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from imr_alomrane_gateway_client.contract.ledger import Durations, ProcessingFigures, ProcessingStatisticsOut
from gateway.domain.lifecycle import RULES, is_overdue
from imr_alomrane_gateway_client.vocabulary import COMMITMENT_FULFILLED, CaseStatus, LedgerKind, MessageKind, ReminderStep, Role, ThematicMessageKind
from imr_alomrane_gateway_client.ledger.entry import Entry

K = LedgerKind
# What the statistics read: the database query selects these, an export is filtered by them.
KINDS = frozenset({K.CASE_OPENED, K.CASE_TRANSFERRED, K.MESSAGE_SENT, K.REMINDER_SENT, K.THEMATIC_FILE_OPENED, K.THEMATIC_MESSAGE_SENT})
MESSAGE_KINDS = frozenset(MessageKind)
MILESTONES = {MessageKind.ACKNOWLEDGEMENT: "acknowledged", MessageKind.FINAL_REPLY: "answered", MessageKind.CLOSURE: "closed"}
UNSPECIFIED_REGION = "unspecified"  # the by_region key of cases opened before regions (version 1)
GROUPINGS = ("unit", "region", "subject", "month")


@dataclass(frozen=True)
class Scope:
    """Which cases and files count: all of them unless narrowed (months are YYYY-MM, inclusive)."""

    unit: str | None = None
    region: str | None = None
    from_month: str | None = None
    to_month: str | None = None

    def __post_init__(self) -> None:
        if self.from_month and self.to_month and self.from_month > self.to_month:
            raise ValueError(f"the first month ({self.from_month}) is after the last ({self.to_month})")

    def admits(self, tracked: Tracked) -> bool:
        month = tracked.month
        return ((self.unit is None or tracked.unit == self.unit)
                and (self.region is None or tracked.region == self.region)
                and (self.from_month is None or month >= self.from_month)
                and (self.to_month is None or month <= self.to_month))


@dataclass(kw_only=True)
class Tracked:
    """What cases and thematic files are grouped by, and the reminders sent about them."""

    unit: str
    region: str | None
    subject: str
    opened: datetime
    reminders: int = 0
    escalations: int = 0

    @property
    def month(self) -> str:
        return self.opened.strftime("%Y-%m")

    def key(self, grouping: str) -> str:
        if grouping == "region":
            return self.region or UNSPECIFIED_REGION
        return self.month if grouping == "month" else getattr(self, grouping)


@dataclass(kw_only=True)
class CaseTrack(Tracked):
    deadline: datetime
    status: CaseStatus = CaseStatus.OPEN
    acknowledged: datetime | None = None
    answered: datetime | None = None
    closed: datetime | None = None
    answered_late: bool = False


@dataclass(kw_only=True)
class FileTrack(Tracked):
    opener: tuple[str, str]  # (institution, unit) of the side that opened it
    other: tuple[str, str]
    commitments: dict[str, datetime | None] = field(default_factory=dict)  # open ones: resource → due


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Tracks:
    cases: dict[str, CaseTrack] = field(default_factory=dict)
    files: dict[str, FileTrack] = field(default_factory=dict)
    mediators: set[str] = field(default_factory=set)


def tracks(entries: Iterable[Entry], reply_days: int) -> Tracks:
    """Every case and thematic file as its entries (in ledger order) leave it."""
    found = Tracks()
    for entry in entries:
        case = found.cases.get(entry.case)
        if entry.kind == K.CASE_OPENED:
            opened = _time(entry.at)
            found.mediators.add(entry.sender)
            found.cases[entry.case] = CaseTrack(
                unit=entry.receiving_unit, region=entry.region, subject=entry.detail or "other", opened=opened,
                deadline=_time(entry.due) if entry.due else opened + timedelta(days=reply_days),
            )
        elif entry.kind == K.CASE_TRANSFERRED and case and entry.detail == Role.RESPONDENT:  # not the mediator's side
            case.unit = entry.receiving_unit
        elif entry.kind == K.MESSAGE_SENT and case and entry.detail in MESSAGE_KINDS:
            _message(case, MessageKind(entry.detail), entry)
        elif entry.kind == K.REMINDER_SENT and (about := case or found.files.get(entry.case)):
            about.reminders += 1
            if entry.detail == ReminderStep.ESCALATED:
                about.escalations += 1
        elif entry.kind == K.THEMATIC_FILE_OPENED:
            found.files[entry.case] = FileTrack(
                unit="", region=entry.region, subject=entry.detail or "other", opened=_time(entry.at),  # unit: once mediators are known
                opener=(entry.sender, entry.sending_unit), other=(entry.recipient, entry.receiving_unit),
            )
        elif entry.kind == K.THEMATIC_MESSAGE_SENT and (file := found.files.get(entry.case)):
            if entry.detail == ThematicMessageKind.COMMITMENT:
                file.commitments[entry.resource] = _time(entry.due) if entry.due else None
            elif entry.detail == COMMITMENT_FULFILLED:
                file.commitments.pop(entry.refers, None)
    for file in found.files.values():
        respondent = file.opener if file.other[0] in found.mediators else file.other
        file.unit = respondent[1]
    return found


def _message(case: CaseTrack, kind: MessageKind, entry: Entry) -> None:
    at = _time(entry.at)
    attribute = MILESTONES.get(kind)
    if attribute and getattr(case, attribute) is None:
        setattr(case, attribute, at)
        if kind is MessageKind.FINAL_REPLY:
            case.answered_late = at > case.deadline
    if kind is MessageKind.FOLLOW_UP and entry.due:
        case.deadline = _time(entry.due)
    case.status = RULES[kind].to_state or case.status


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (what a reader can recompute by hand)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _durations(cases: list[CaseTrack], attribute: str) -> Durations:
    days = [(getattr(c, attribute) - c.opened) / timedelta(days=1) for c in cases if getattr(c, attribute)]
    return Durations(median=percentile(days, 0.5), p90=percentile(days, 0.9))


def figures(cases: list[CaseTrack], files: list[FileTrack], now: datetime) -> ProcessingFigures:
    commitments = [due for file in files for due in file.commitments.values()]
    tracked: list[Tracked] = [*cases, *files]
    return ProcessingFigures(
        cases_opened=len(cases),
        cases_acknowledged=sum(1 for c in cases if c.acknowledged),
        cases_answered=sum(1 for c in cases if c.answered),
        cases_closed=sum(1 for c in cases if c.closed),
        days_to_acknowledgement=_durations(cases, "acknowledged"),
        days_to_final_reply=_durations(cases, "answered"),
        days_to_closure=_durations(cases, "closed"),
        overdue=sum(1 for c in cases if is_overdue(c.status, c.deadline, now)),
        answered_late=sum(1 for c in cases if c.answered_late),
        reminders=sum(t.reminders for t in tracked),
        escalations=sum(t.escalations for t in tracked),
        thematic_files=len(files),
        open_commitments=len(commitments),
        overdue_commitments=sum(1 for due in commitments if due is not None and now > due),
    )


def statistics(entries: Iterable[Entry], reply_days: int, now: datetime, scope: Scope = Scope()) -> ProcessingStatisticsOut:
    found = tracks(entries, reply_days)
    cases = [c for c in found.cases.values() if scope.admits(c)]
    files = [f for f in found.files.values() if scope.admits(f)]

    def by(grouping: str) -> dict[str, ProcessingFigures]:
        groups: dict[str, tuple[list[CaseTrack], list[FileTrack]]] = {}
        for case in cases:
            groups.setdefault(case.key(grouping), ([], []))[0].append(case)
        for file in files:
            groups.setdefault(file.key(grouping), ([], []))[1].append(file)
        return {key: figures(*groups[key], now) for key in sorted(groups)}

    return ProcessingStatisticsOut(
        at=now, reply_days=reply_days, unit=scope.unit, region=scope.region, from_month=scope.from_month, to_month=scope.to_month,
        overall=figures(cases, files, now), **{f"by_{grouping}": by(grouping) for grouping in GROUPINGS},
    )


def exported_entries(lines: Iterable[str]) -> Iterator[Entry]:
    """The entries of a JSON Lines export (`gateway ledger export`), its header and checkpoints skipped."""
    for line in lines:
        if line.strip() and (record := json.loads(line)).get("type") == "entry":
            yield Entry.from_dict(record["entry"])
