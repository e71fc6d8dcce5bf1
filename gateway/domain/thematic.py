"""The thematic file lifecycle as data, like the case lifecycle (gateway.domain.lifecycle), and
what a commitment owes.

A thematic file is the joint review, by the mediator and one respondent institution, of a
recurring problem (title deeds not delivered in one housing project, say). Both parties
deliberate; the mediator recommends; the respondent commits, each commitment with a due date,
and reports progress on it until a report fulfils it; the mediator closes the file.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.lifecycle import Table, rule
from imr_alomrane_gateway_client.vocabulary import COMMITMENT_FULFILLED, Role, ThematicMessageKind, ThematicStatus

S, K = ThematicStatus, ThematicMessageKind
OPEN_STATES: frozenset[ThematicStatus] = frozenset(status for status in S if status is not S.CLOSED)
_BOTH = {Role.MEDIATOR, Role.RESPONDENT}
_DELIBERATING = {S.OPEN, S.IN_DELIBERATION}

RULES: Table = {
    K.POSITION: rule(_BOTH, _DELIBERATING, S.IN_DELIBERATION),
    K.PROPOSAL: rule(_BOTH, _DELIBERATING, S.IN_DELIBERATION),
    K.MEETING_MINUTES: rule(_BOTH, OPEN_STATES, None),
    K.RECOMMENDATION: rule({Role.MEDIATOR}, OPEN_STATES, S.RECOMMENDED),
    K.COMMITMENT: rule({Role.RESPONDENT}, {S.RECOMMENDED, S.COMMITTED}, S.COMMITTED),
    K.PROGRESS_REPORT: rule({Role.RESPONDENT}, {S.COMMITTED}, None),
    K.CLOSURE: rule({Role.MEDIATOR}, OPEN_STATES, S.CLOSED),
}

def ledger_detail(kind: ThematicMessageKind, fulfils: bool | None) -> str:
    """What the ledger says a message was: its kind, or that it fulfilled its commitment."""
    return COMMITMENT_FULFILLED if kind is K.PROGRESS_REPORT and fulfils else kind.value


def is_overdue(due: datetime, fulfilled: bool, now: datetime) -> bool:
    """A commitment is overdue once its due date passed without a progress report fulfilling it."""
    return not fulfilled and now > due
