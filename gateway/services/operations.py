"""What the database says about the exchange's health, for /metrics: a handful of aggregate queries,
grouped by institution and unit (never by case), each answered from an index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.services.cases import overdue
from gateway.storage.models import Case, InboxEvent, LedgerCheckpoint

Counts = dict[tuple[str, str], int]  # (institution, unit) → how many


@dataclass(frozen=True)
class Figures:
    ledger_size: int
    checkpoint_at: datetime | None  # when the latest checkpoint was signed; None for an empty ledger
    unacknowledged: Counts  # inbox events not acknowledged yet, by recipient
    overdue_cases: Counts  # by the respondent's unit holding the case


def figures(session: Session, now: datetime) -> Figures:
    latest = session.execute(
        select(LedgerCheckpoint.size, LedgerCheckpoint.created_at).order_by(LedgerCheckpoint.size.desc()).limit(1)
    ).first()
    unacknowledged = select(InboxEvent.recipient_id, InboxEvent.recipient_unit, func.count()).where(
        InboxEvent.delivered_at.is_(None)
    ).group_by(InboxEvent.recipient_id, InboxEvent.recipient_unit)
    late = select(Case.respondent_id, Case.respondent_unit, func.count()).where(overdue(now)).group_by(
        Case.respondent_id, Case.respondent_unit
    )
    return Figures(
        ledger_size=latest.size if latest else 0, checkpoint_at=latest.created_at if latest else None,
        unacknowledged=_counts(session, unacknowledged), overdue_cases=_counts(session, late),
    )


def _counts(session: Session, statement) -> Counts:
    return {(institution, unit): count for institution, unit, count in session.execute(statement)}
