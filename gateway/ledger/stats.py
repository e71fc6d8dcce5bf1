"""Processing-time statistics computed from ledger entries alone (no case content, no database).

Per respondent, per subject category and per month of opening: how many cases were opened,
acknowledged, answered and closed; the median and 90th percentile of the time to each milestone;
and how many were not answered within the reply period (a policy given by the caller, since the
ledger records events, not deadlines).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.ledger.entry import Entry

MILESTONES = {"acknowledgement": "acknowledged", "final_reply": "answered", "closure": "closed"}


@dataclass
class CaseTimes:
    respondent: str
    subject: str
    opened: datetime
    acknowledged: datetime | None = None
    answered: datetime | None = None
    closed: datetime | None = None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def case_times(entries: Iterable[Entry]) -> dict[str, CaseTimes]:
    """When each case first reached each milestone, from its ledger entries (in ledger order)."""
    cases: dict[str, CaseTimes] = {}
    for entry in entries:
        if entry.kind == "case_opened":
            cases[entry.case] = CaseTimes(entry.recipient, entry.detail or "other", _time(entry.at))
        elif entry.kind == "message_sent" and entry.case in cases and entry.detail in MILESTONES:
            times = cases[entry.case]
            attribute = MILESTONES[entry.detail]
            if getattr(times, attribute) is None:
                setattr(times, attribute, _time(entry.at))
    return cases


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (what a reader can recompute by hand)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(cases: Iterable[CaseTimes], reply_days: int, now: datetime) -> dict:
    cases = list(cases)
    report: dict = {"opened": len(cases)}
    for attribute in ("acknowledged", "answered", "closed"):
        durations = [(getattr(c, attribute) - c.opened).total_seconds() for c in cases if getattr(c, attribute)]
        report[attribute] = len(durations)
        report[f"seconds_to_{attribute}"] = {"median": percentile(durations, 0.5), "p90": percentile(durations, 0.9)}
    period = timedelta(days=reply_days)
    report["overdue"] = sum(1 for c in cases if (c.answered or now) - c.opened > period)
    return report


def statistics(entries: Iterable[Entry], reply_days: int, now: datetime) -> dict:
    cases = case_times(entries)
    groups = {
        "respondent": lambda c: c.respondent,
        "subject": lambda c: c.subject,
        "month": lambda c: c.opened.strftime("%Y-%m"),
    }
    report = {"reply_days": reply_days, "overall": summarize(cases.values(), reply_days, now)}
    for name, key in groups.items():
        buckets: dict[str, list[CaseTimes]] = {}
        for times in cases.values():
            buckets.setdefault(key(times), []).append(times)
        report[f"by_{name}"] = {group: summarize(members, reply_days, now) for group, members in sorted(buckets.items())}
    return report
