"""The lifecycle table itself (pure; no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import lifecycle
from imr_alomrane_gateway_client.vocabulary import CaseStatus as S
from imr_alomrane_gateway_client.vocabulary import MessageKind as K
from imr_alomrane_gateway_client.vocabulary import Role as R


@pytest.mark.parametrize(
    ("kind", "role", "before", "after"),
    [
        (K.ACKNOWLEDGEMENT, R.RESPONDENT, S.OPEN, S.ACKNOWLEDGED),
        (K.INFORMATION_REQUEST, R.RESPONDENT, S.ACKNOWLEDGED, S.AWAITING_INFORMATION),
        (K.INFORMATION_RESPONSE, R.MEDIATOR, S.AWAITING_INFORMATION, S.ACKNOWLEDGED),
        (K.INTERIM_REPLY, R.RESPONDENT, S.ACKNOWLEDGED, S.ACKNOWLEDGED),
        (K.INTERIM_REPLY, R.RESPONDENT, S.AWAITING_INFORMATION, S.AWAITING_INFORMATION),
        (K.FINAL_REPLY, R.RESPONDENT, S.ACKNOWLEDGED, S.ANSWERED),
        (K.FOLLOW_UP, R.MEDIATOR, S.ANSWERED, S.ACKNOWLEDGED),
        (K.CLOSURE, R.MEDIATOR, S.OPEN, S.CLOSED),
        (K.CLOSURE, R.MEDIATOR, S.AWAITING_INFORMATION, S.CLOSED),
        (K.CLOSURE, R.MEDIATOR, S.ANSWERED, S.CLOSED),
        (K.NOTE, R.MEDIATOR, S.ANSWERED, S.ANSWERED),
        (K.NOTE, R.RESPONDENT, S.OPEN, S.OPEN),
    ],
)
def test_design_table_transitions(kind, role, before, after):
    assert lifecycle.next_status(kind, role, before) is after


@pytest.mark.parametrize(
    ("kind", "role", "status"),
    [
        (K.ACKNOWLEDGEMENT, R.MEDIATOR, S.OPEN),
        (K.ACKNOWLEDGEMENT, R.RESPONDENT, S.ACKNOWLEDGED),
        (K.FINAL_REPLY, R.RESPONDENT, S.AWAITING_INFORMATION),
        (K.FINAL_REPLY, R.RESPONDENT, S.OPEN),
        (K.FOLLOW_UP, R.MEDIATOR, S.ACKNOWLEDGED),
        (K.CLOSURE, R.RESPONDENT, S.OPEN),
        (K.CLOSURE, R.MEDIATOR, S.CLOSED),
        (K.NOTE, R.MEDIATOR, S.CLOSED),
        (K.NOTE, R.AUDITOR, S.OPEN),
    ],
)
def test_refusals_say_what_is_allowed_now(kind, role, status):
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.next_status(kind, role, status)
    assert refused.value.allowed == lifecycle.allowed_kinds(role, status)
    assert kind not in refused.value.allowed


def test_closed_is_terminal_and_auditors_send_nothing():
    for role in R:
        assert lifecycle.allowed_kinds(role, S.CLOSED) == []
    for status in S:
        assert lifecycle.allowed_kinds(R.AUDITOR, status) == []


def test_every_state_but_closed_is_reachable_and_can_be_closed():
    reachable, frontier = {S.OPEN}, [S.OPEN]
    while frontier:
        status = frontier.pop()
        for role in R:
            for kind in lifecycle.allowed_kinds(role, status):
                following = lifecycle.next_status(kind, role, status)
                if following not in reachable:
                    reachable.add(following)
                    frontier.append(following)
    assert reachable == set(S)
    assert all(K.CLOSURE in lifecycle.allowed_kinds(R.MEDIATOR, s) for s in S if s is not S.CLOSED)


def test_overdue_only_while_a_reply_is_owed():
    now = datetime.now(UTC)
    past, future = now - timedelta(seconds=1), now + timedelta(days=1)
    assert lifecycle.is_overdue(S.ACKNOWLEDGED, past, now)
    assert lifecycle.is_overdue(S.AWAITING_INFORMATION, past, now)
    assert not lifecycle.is_overdue(S.ACKNOWLEDGED, future, now)
    assert not lifecycle.is_overdue(S.ANSWERED, past, now)
    assert not lifecycle.is_overdue(S.CLOSED, past, now)
