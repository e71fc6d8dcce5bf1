"""The thematic file lifecycle table itself (pure; no database): every kind × role × status is
allowed exactly where the issue's table says, and refused elsewhere with what is allowed."""

from __future__ import annotations

import itertools

import pytest

from gateway.domain import lifecycle, thematic
from imr_alomrane_gateway_client.vocabulary import COMMITMENT_FULFILLED
from imr_alomrane_gateway_client.vocabulary import Role as R
from imr_alomrane_gateway_client.vocabulary import ThematicMessageKind as K
from imr_alomrane_gateway_client.vocabulary import ThematicStatus as S

OPEN = {S.OPEN, S.IN_DELIBERATION, S.RECOMMENDED, S.COMMITTED}
BOTH = {R.MEDIATOR, R.RESPONDENT}
# kind: (senders, from states, status after or None for no change), written out from the issue.
EXPECTED = {
    K.POSITION: (BOTH, {S.OPEN, S.IN_DELIBERATION}, S.IN_DELIBERATION),
    K.PROPOSAL: (BOTH, {S.OPEN, S.IN_DELIBERATION}, S.IN_DELIBERATION),
    K.MEETING_MINUTES: (BOTH, OPEN, None),
    K.RECOMMENDATION: ({R.MEDIATOR}, OPEN, S.RECOMMENDED),
    K.COMMITMENT: ({R.RESPONDENT}, {S.RECOMMENDED, S.COMMITTED}, S.COMMITTED),
    K.PROGRESS_REPORT: ({R.RESPONDENT}, {S.COMMITTED}, None),
    K.CLOSURE: ({R.MEDIATOR}, OPEN, S.CLOSED),
}
EVERY = list(itertools.product(K, R, S))


@pytest.mark.parametrize(("kind", "role", "status"), [
    pytest.param(*combination, id="-".join(combination)) for combination in EVERY
])
def test_each_kind_role_and_status_is_allowed_exactly_where_the_table_says(kind, role, status):
    senders, from_states, after = EXPECTED[kind]
    if role in senders and status in from_states:
        assert lifecycle.next_status(kind, role, status, thematic.RULES) is (after or status)
        assert kind in lifecycle.allowed_kinds(role, status, thematic.RULES)
        return
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.next_status(kind, role, status, thematic.RULES)
    assert refused.value.allowed == lifecycle.allowed_kinds(role, status, thematic.RULES)
    assert kind not in refused.value.allowed
    assert refused.value.wrong_role is (role not in senders)


def test_the_table_has_every_kind_and_lists_them_in_its_order():
    assert list(thematic.RULES) == list(K)
    assert lifecycle.allowed_kinds(R.RESPONDENT, S.COMMITTED, thematic.RULES) == [K.MEETING_MINUTES, K.COMMITMENT, K.PROGRESS_REPORT]


def test_closed_is_terminal_auditors_send_nothing_and_every_state_is_reachable():
    for role in R:
        assert lifecycle.allowed_kinds(role, S.CLOSED, thematic.RULES) == []
    assert all(lifecycle.allowed_kinds(R.AUDITOR, status, thematic.RULES) == [] for status in S)
    reachable, frontier = {S.OPEN}, [S.OPEN]
    while frontier:
        status = frontier.pop()
        for role in R:
            for kind in lifecycle.allowed_kinds(role, status, thematic.RULES):
                following = lifecycle.next_status(kind, role, status, thematic.RULES)
                if following not in reachable:
                    reachable.add(following)
                    frontier.append(following)
    assert reachable == set(S)


def test_the_case_table_is_still_the_default():
    assert lifecycle.allowed_kinds(R.MEDIATOR, lifecycle.S.OPEN) == ["closure", "note"]


def test_the_ledger_says_commitment_fulfilled_only_for_a_fulfilling_progress_report():
    assert thematic.ledger_detail(K.PROGRESS_REPORT, True) == COMMITMENT_FULFILLED
    assert thematic.ledger_detail(K.PROGRESS_REPORT, False) == "progress_report"
    assert thematic.ledger_detail(K.COMMITMENT, None) == "commitment"
