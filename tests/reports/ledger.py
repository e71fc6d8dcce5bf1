"""A hand-built ledger whose figures are counted by hand in the tests: an old (version-1) case, a
transfer, a follow-up deadline, reminders, and thematic files with commitments open, overdue and
fulfilled."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from imr_alomrane_gateway_client.ledger.entry import Entry

GATEWAY = "imr-alomrane-gateway"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def at(day: str) -> str:
    """A day of 2026 ("03-01") as an entry's fixed-width timestamp."""
    return f"2026-{day}T00:00:00.000000Z"


class Ledger:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._seq = itertools.count(1)

    def v2(self, kind: str, case: str, day: str, detail: str | None = None, *, sender=("imr", "imr"),
           recipient=("al-omrane", "ao-casa"), region: str | None = None, due: str | None = None,
           resource: str | None = None, refers: str | None = None) -> None:
        self.entries.append(Entry(
            seq=next(self._seq), at=at(day), kind=kind, detail=detail, sender=sender[0], sender_unit=sender[1],
            recipient=recipient[0], recipient_unit=recipient[1], case=case, resource=resource or f"/v1/cases/{case}",
            payload_digest="sha-256=:p:", signature_digest="sha-256=:s:", region=region, due=due and at(due), refers=refers,
        ))

    def v1(self, kind: str, case: str, day: str, detail: str, *, sender="imr", recipient="al-omrane") -> None:
        self.entries.append(Entry(
            v=1, seq=next(self._seq), at=at(day), kind=kind, detail=detail, sender=sender, recipient=recipient,
            case=case, resource=f"/v1/cases/{case}", payload_digest="sha-256=:p:", signature_digest="sha-256=:s:",
        ))


CASA, RABAT, IMR = ("al-omrane", "ao-casa"), ("al-omrane", "ao-rabat"), ("imr", "imr")
ROBOT = (GATEWAY, GATEWAY)


def sample() -> list[Entry]:
    ledger = Ledger()
    # "old": written before units (version 1), acknowledged after 2 days, never answered: its 30-day period ran out on 02-09
    ledger.v1("case_opened", "old", "01-10", "title_deeds")
    ledger.v1("message_sent", "old", "01-12", "acknowledgement", sender="al-omrane", recipient="imr")
    # "a": routed to Casablanca, transferred to Rabat, answered on time, followed up with a new deadline it missed
    ledger.v2("case_opened", "a", "03-01", "delivery_delays", region="casablanca-settat", due="03-31")
    ledger.v2("message_sent", "a", "03-03", "acknowledgement", sender=CASA, recipient=IMR)
    ledger.v2("case_transferred", "a", "03-05", "respondent", sender=CASA, recipient=RABAT, region="casablanca-settat")
    # IMR moving it between its own units changes nothing on the respondent's side
    ledger.v2("case_transferred", "a", "03-06", "mediator", sender=IMR, recipient=("imr", "imr-casa"), region="casablanca-settat")
    ledger.v2("message_sent", "a", "03-11", "final_reply", sender=RABAT, recipient=IMR)
    ledger.v2("message_sent", "a", "03-16", "follow_up", recipient=RABAT, due="04-30")
    ledger.v2("reminder_sent", "a", "05-01", "due", sender=ROBOT, recipient=RABAT, due="04-30")
    ledger.v2("reminder_sent", "a", "05-05", "escalated", sender=ROBOT, recipient=("al-omrane", "al-omrane"), due="04-30")
    # "b": Rabat, answered late (day 40 of a 30-day deadline), closed on day 45
    ledger.v2("case_opened", "b", "03-02", "title_deeds", recipient=RABAT, region="rabat-sale-kenitra", due="04-01")
    ledger.v2("message_sent", "b", "03-06", "acknowledgement", sender=RABAT, recipient=IMR)
    ledger.v2("message_sent", "b", "04-11", "final_reply", sender=RABAT, recipient=IMR)
    ledger.v2("message_sent", "b", "04-16", "closure", recipient=RABAT)
    # "c": Casablanca, opened in April, its deadline still ahead
    ledger.v2("case_opened", "c", "04-10", "title_deeds", region="casablanca-settat", due="07-10")
    # "t": a thematic file the mediator opened with Casablanca: one commitment overdue, one open, one fulfilled
    ledger.v2("thematic_file_opened", "t", "03-20", "delivery_delays", region="casablanca-settat", resource="/v1/thematic-files/t")
    for number, due in (("1", "05-01"), ("2", "09-01"), ("3", "04-15")):
        ledger.v2("thematic_message_sent", "t", "03-25", "commitment", sender=CASA, recipient=IMR, due=due,
                  resource=f"/v1/thematic-files/t/messages/{number}")
    ledger.v2("thematic_message_sent", "t", "04-14", "commitment_fulfilled", sender=CASA, recipient=IMR,
              resource="/v1/thematic-files/t/messages/4", refers="/v1/thematic-files/t/messages/3")
    ledger.v2("reminder_sent", "t", "05-02", "due", sender=ROBOT, recipient=CASA, due="05-01")
    # "u": a thematic file Rabat opened with the mediator (its respondent side is still Rabat)
    ledger.v2("thematic_file_opened", "u", "05-03", "title_deeds", sender=RABAT, recipient=IMR, region="rabat-sale-kenitra",
              resource="/v1/thematic-files/u")
    # the same case id in an entry the statistics do not read
    ledger.v2("document_attached", "a", "03-04", None, sender=CASA, recipient=IMR)
    return ledger.entries
