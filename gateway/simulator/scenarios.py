"""What each side of a simulated case does, and when: a small table of named scenarios.

A scenario gives each side a script, steps sent in order, each when the case is in one of the
statuses it names (by default the ones the lifecycle table allows its kind from; a step expected
to be refused may name others). Neither side knows the other's script: each reads the case's status
and plays its next step when that status comes, so a simulator plays its part against the other
institution's real system as well as against the other simulator. When its next step does not fit
the status (the other side did something the scenario did not plan), a side falls back on the
answer a real system would give (`FALLBACK`), so a case never stalls on the simulator's side.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain import lifecycle
from imr_alomrane_gateway_client.vocabulary import CaseStatus, MessageKind, Outcome, Role

S, K = CaseStatus, MessageKind
TRANSFER = "transfer"  # hand the case to another unit of one's institution
ATTACH = "attach"  # attach documents without a message
ACTIONS_WITHOUT_MESSAGE = {TRANSFER: frozenset({S.ACKNOWLEDGED}), ATTACH: lifecycle.OPEN_STATES}


@dataclass(frozen=True)
class Step:
    kind: str  # a message kind, TRANSFER or ATTACH
    when: frozenset[CaseStatus]
    outcome: Outcome | None = None  # a closure without one takes the last final reply's
    documents: int = 0  # generated documents attached (and referred to by the message)
    expect: str | None = None  # the problem type the gateway is expected to refuse it with

    @property
    def label(self) -> str:
        return self.kind + (f" ({self.outcome.value})" if self.outcome else "")


def step(kind: str, *, when: set[CaseStatus] | None = None, outcome: str | None = None, documents: int = 0,
         expect: str | None = None) -> Step:
    """A step within the lifecycle rules: `when` defaults to the statuses its kind may be sent from,
    and may narrow them, never widen them, unless the step is one the gateway is expected to refuse."""
    allowed = ACTIONS_WITHOUT_MESSAGE.get(kind) or lifecycle.RULES[MessageKind(kind)].from_states
    statuses = frozenset(when) if when else allowed
    if expect is None and not statuses <= allowed:
        raise ValueError(f"{kind} cannot be sent from {sorted(statuses - allowed)}")
    return Step(kind, statuses, Outcome(outcome) if outcome else None, documents, expect)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    imr: tuple[Step, ...]
    al_omrane: tuple[Step, ...]

    def script(self, role: Role) -> tuple[Step, ...]:
        return self.imr if role is Role.MEDIATOR else self.al_omrane


CLOSE = step(K.CLOSURE, when={S.ANSWERED})
ACKNOWLEDGE = step(K.ACKNOWLEDGEMENT)

SCENARIOS: dict[str, Scenario] = {scenario.name: scenario for scenario in (
    Scenario("quick-resolution", "Al Omrane acknowledges and answers favourably; IMR closes the case.",
             imr=(CLOSE,), al_omrane=(ACKNOWLEDGE, step(K.FINAL_REPLY, outcome="favourable"))),
    Scenario("information-loop", "Al Omrane asks for information; IMR answers with two documents (a PDF letter, a PNG "
             "photo); Al Omrane sends an interim reply, then a partially favourable final reply; IMR closes.",
             imr=(step(K.INFORMATION_RESPONSE, documents=2), CLOSE),
             al_omrane=(ACKNOWLEDGE, step(K.INFORMATION_REQUEST), step(K.INTERIM_REPLY, when={S.ACKNOWLEDGED}),
                        step(K.FINAL_REPLY, outcome="partially_favourable"))),
    Scenario("follow-up", "Al Omrane answers unfavourably; IMR follows up with a new deadline; Al Omrane answers "
             "favourably; IMR closes.",
             imr=(step(K.FOLLOW_UP), CLOSE),
             al_omrane=(ACKNOWLEDGE, step(K.FINAL_REPLY, outcome="unfavourable"), step(K.FINAL_REPLY, outcome="favourable"))),
    Scenario("transfer", "Al Omrane acknowledges, then transfers the case to another of its units (a regional company's "
             "case to the head office, a head office's to a regional company), which answers; IMR closes. The Al Omrane "
             "side needs its head office's credentials to answer after the transfer.",
             imr=(CLOSE,), al_omrane=(ACKNOWLEDGE, step(TRANSFER), step(K.FINAL_REPLY, outcome="favourable"))),
    Scenario("documents", "IMR attaches the complainant's letter and a photo as it opens the case; Al Omrane attaches "
             "its technical report to its final reply; each side downloads what the other attached and checks its digest.",
             imr=(step(ATTACH, documents=2), CLOSE),
             al_omrane=(ACKNOWLEDGE, step(K.FINAL_REPLY, outcome="favourable", documents=1))),
    Scenario("out-of-order", "Al Omrane sends a final reply before acknowledging: the gateway refuses it (409 "
             "transition-refused, expected by the scenario, with allowed_kinds); it then acknowledges and answers; IMR closes.",
             imr=(CLOSE,),
             al_omrane=(step(K.FINAL_REPLY, when={S.OPEN}, outcome="favourable", expect="transition-refused"), ACKNOWLEDGE,
                        step(K.FINAL_REPLY, outcome="favourable"))),
)}

# What a side sends when its script has nothing for the case's status: the answer a real system gives.
FALLBACK: dict[Role, dict[CaseStatus, Step]] = {
    Role.MEDIATOR: {S.AWAITING_INFORMATION: step(K.INFORMATION_RESPONSE, documents=1), S.ANSWERED: CLOSE},
    Role.RESPONDENT: {S.OPEN: ACKNOWLEDGE, S.ACKNOWLEDGED: step(K.FINAL_REPLY, outcome="favourable")},
}


def next_step(role: Role, script: tuple[Step, ...], done: int, status: CaseStatus) -> tuple[Step, bool] | None:
    """The step to send now, and whether it is the script's (the script then moves on) rather
    than a fallback; None: nothing, the other side is to act."""
    if status is S.CLOSED:
        return None
    if done < len(script) and status in script[done].when:
        return script[done], True
    fallback = FALLBACK[role].get(status)
    return (fallback, False) if fallback else None
