"""The case lifecycle as data (the table in design.md) plus pure functions over it.

The API, the OpenAPI description and the tests all read the table from here, so the rules
are written exactly once. The functions take any such table: thematic files have theirs
(gateway.domain.thematic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from imr_alomrane_gateway_client.vocabulary import CaseStatus, MessageKind, Role

S = CaseStatus
OPEN_STATES: frozenset[CaseStatus] = frozenset(status for status in S if status is not S.CLOSED)
REPLY_PENDING_STATES: frozenset[CaseStatus] = frozenset({S.OPEN, S.ACKNOWLEDGED, S.AWAITING_INFORMATION})


@dataclass(frozen=True)
class Rule:
    """Who may send a kind of message, from which states, and where it leads (None: no change)."""

    sender: frozenset[Role]
    from_states: frozenset[StrEnum]
    to_state: StrEnum | None


def rule(senders: set[Role], from_states: set | frozenset, to: StrEnum | None) -> Rule:
    return Rule(frozenset(senders), frozenset(from_states), to)


Table = dict[StrEnum, Rule]  # message kind → its rule, in the order `allowed_kinds` lists them

RULES: Table = {
    MessageKind.ACKNOWLEDGEMENT: rule({Role.RESPONDENT}, {S.OPEN}, S.ACKNOWLEDGED),
    MessageKind.INFORMATION_REQUEST: rule({Role.RESPONDENT}, {S.ACKNOWLEDGED}, S.AWAITING_INFORMATION),
    MessageKind.INFORMATION_RESPONSE: rule({Role.MEDIATOR}, {S.AWAITING_INFORMATION}, S.ACKNOWLEDGED),
    MessageKind.INTERIM_REPLY: rule({Role.RESPONDENT}, {S.ACKNOWLEDGED, S.AWAITING_INFORMATION}, None),
    MessageKind.FINAL_REPLY: rule({Role.RESPONDENT}, {S.ACKNOWLEDGED}, S.ANSWERED),
    MessageKind.FOLLOW_UP: rule({Role.MEDIATOR}, {S.ANSWERED}, S.ACKNOWLEDGED),
    MessageKind.CLOSURE: rule({Role.MEDIATOR}, OPEN_STATES, S.CLOSED),
    MessageKind.NOTE: rule({Role.MEDIATOR, Role.RESPONDENT}, OPEN_STATES, None),
}

def allowed_kinds(role: Role, status: StrEnum, table: Table = RULES) -> list:
    """The message kinds `role` may send in `status`, in table order."""
    return [kind for kind, rule in table.items() if role in rule.sender and status in rule.from_states]


def described(table: Table) -> str:
    """The table as the API description lists it: kinds, senders and the status changes they drive."""
    return "\n".join(
        f"- `{kind.value}`: {', '.join(sorted(r.value for r in rule.sender))}; from "
        f"{', '.join(sorted(s.value for s in rule.from_states))}"
        + (f" → `{rule.to_state.value}`" if rule.to_state else " (no change)")
        for kind, rule in table.items()
    )


class TransitionRefused(Exception):
    """The kind is not allowed for this role or in this state; carries what is allowed now."""

    def __init__(self, kind: StrEnum, role: Role, status: StrEnum, table: Table = RULES) -> None:
        super().__init__(f"{kind} not allowed for {role} in state {status}")
        self.kind, self.role, self.status = kind, role, status
        self.allowed = allowed_kinds(role, status, table)
        self.wrong_role = role not in table[kind].sender


def next_status(kind: StrEnum, role: Role, status: StrEnum, table: Table = RULES):
    """The status after `role` sends `kind`; raises TransitionRefused when the table forbids it."""
    rule = table[kind]
    if role not in rule.sender or status not in rule.from_states:
        raise TransitionRefused(kind, role, status, table)
    return rule.to_state or status


def is_overdue(status: CaseStatus, deadline: datetime, now: datetime) -> bool:
    """A case is overdue while the respondent still owes a final reply after the deadline."""
    return status in REPLY_PENDING_STATES and now > deadline


# The answer a case's deadline waits for: sent late, it records how late it came.
ANSWER = MessageKind.FINAL_REPLY


def seconds_late(deadline: datetime, answered_at: datetime) -> int | None:
    """How late an answer came, in whole seconds rounded up (None: on time)."""
    return math.ceil((answered_at - deadline).total_seconds()) if answered_at > deadline else None
