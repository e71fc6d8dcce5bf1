"""`gateway demo`: IMR and Al Omrane work three realistic complaints through the SDK, end to end.

Each case is routed by its project's region to the units serving it (Al Omrane's regional
companies, IMR's regional delegation), and each unit's system works with its own certificate;
one case is transferred to Al Omrane's head office. Then IMR opens a thematic file with Al Omrane
on the recurring problem behind two of the cases, links them, recommends, and Al Omrane's unit
commits with a due date and reports the commitment fulfilled. Without `--url` it starts its own gateway
(mutual TLS, a throwaway PKI and SQLite database in a temporary directory); with `--url` it drives
a running one with the credentials in `--pki`. It prints a timeline per case, verifies every
receipt, and fails loudly if anything is off.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway import samples
from imr_alomrane_gateway_client import CaseCreate, GatewayClient, MessageCreate, ThematicFileCreate, ThematicMessageCreate
from gateway.config import Settings
from gateway.security.dev import DEV_UNITS, trust_roots
from gateway.server import background_gateway, scratch_settings

MEDIATOR, RESPONDENT, AUDITOR = "imr", "al-omrane", "auditor"  # a step's actor is whichever unit holds the case
TRANSFER = "transfer"  # a step that moves the case to the unit in `extra["unit"]`
UNITS = (MEDIATOR, RESPONDENT, *(unit[0] for institution in (MEDIATOR, RESPONDENT) for unit in DEV_UNITS[institution]))


@dataclass(frozen=True)
class Step:
    actor: str
    kind: str
    body: str
    extra: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)  # file name → bytes, attached and referred to


@dataclass(frozen=True)
class Scenario:
    payload: dict[str, Any]
    steps: list[Step]


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def scenarios() -> list[Scenario]:
    run = uuid.uuid4().hex[:6].upper()  # references stay unique when the demo runs twice on one gateway
    return [
        Scenario(
            payload={"respondent_id": RESPONDENT, "reference": f"IMR/2026/DEMO-{run}-1", **samples.COMPLAINTS[0]},
            steps=[
                Step(RESPONDENT, "acknowledgement", "توصلنا بالملف وهو قيد الدراسة لدى المديرية الجهوية."),
                Step(RESPONDENT, "information_request", "المرجو موافاتنا بنسخة من عقد البيع ووصولات الأداء."),
                Step(MEDIATOR, "information_response", "تجدون رفقته نسخة من العقد وثلاثة وصولات أداء.",
                     documents={"عقد البيع – إقامة النور.pdf": samples.pdf(["Contrat de vente - Residence Al Nour", "Lot B7, appartement 12"]),
                                "وصل الأداء رقم 3.png": samples.png(120, 80)}),
                Step(RESPONDENT, "interim_reply", "الأشغال المتبقية تخص الربط بشبكة الكهرباء، والتسليم مرتقب خلال ثلاثة أشهر."),
                Step(RESPONDENT, "final_reply", "تم تحديد تاريخ التسليم في 15 مارس 2027 مع احتساب غرامات التأخير.",
                     {"outcome": "partially_favourable"}),
                Step(MEDIATOR, "closure", "يحفظ الملف بعد تسوية جزئية مقبولة من طرف المشتكي.", {"outcome": "partially_favourable"}),
            ],
        ),
        Scenario(
            payload={"respondent_id": RESPONDENT, "reference": f"IMR/2026/DEMO-{run}-2", **samples.COMPLAINTS[1]},
            steps=[
                Step(RESPONDENT, "acknowledgement", "Dossier reçu ; transmis à la direction juridique du siège."),
                Step(RESPONDENT, TRANSFER, "", {"unit": RESPONDENT}),  # title deeds are handled by the head office
                Step(RESPONDENT, "final_reply", "L'éclatement du titre mère attend la réception provisoire de la voirie.",
                     {"outcome": "unfavourable"}),
                Step(MEDIATOR, "follow_up", "La réception provisoire a été prononcée le mois dernier : merci de réexaminer.",
                     {"new_deadline": _later(20)}),
                Step(RESPONDENT, "final_reply", "Le titre individuel sera remis à la plaignante sous quinze jours.",
                     {"outcome": "favourable"},
                     documents={"Procès-verbal de réception provisoire.pdf": samples.pdf(["Proces-verbal de reception provisoire",
                                                                                         "Voirie et reseaux divers - Al Firdaous"])}),
                Step(MEDIATOR, "closure", "Clôture : suite favorable.", {"outcome": "favourable"}),
            ],
        ),
        Scenario(
            payload={"respondent_id": RESPONDENT, "reference": f"IMR/2026/DEMO-{run}-3", **samples.COMPLAINTS[2]},
            steps=[
                Step(RESPONDENT, "acknowledgement", "Dossier reçu ; visite de terrain programmée."),
                Step(MEDIATOR, "note", "Le plaignant signale que l'accès des secours est également bloqué."),
                Step(RESPONDENT, "information_request", "Merci de fournir le plan cadastral de la parcelle."),
                Step(MEDIATOR, "information_response", "Plan cadastral et acte de servitude transmis.",
                     documents={"Plan cadastral – parcelle 118.pdf": samples.pdf(["Plan cadastral, parcelle 118"]),
                                "Photo du mur – صورة الجدار.png": samples.png(200, 150)}),
                Step(RESPONDENT, "final_reply", "Un portail sera ouvert dans le mur ; travaux sous trente jours.",
                     {"outcome": "favourable"}),
                Step(MEDIATOR, "closure", "Clôture après confirmation du plaignant.", {"outcome": "favourable"}),
            ],
        ),
    ]


class DemoFailure(Exception):
    pass


@dataclass
class Tally:
    receipts: int = 0
    deliveries: int = 0
    documents: int = 0


def _deliver(client: GatewayClient, tally: Tally) -> None:
    """What a back-end does on each poll: read the inbox and acknowledge every event."""
    for event in list(client.iter_inbox(getattr(client, "inbox_cursor", None))):
        client.ack(event.id)
        tally.receipts += 1


def play(clients: dict[str, GatewayClient], scenario: Scenario, say: Callable[[str], None], tally: Tally) -> str:
    """Work the case through its steps; returns its id."""
    opened = clients[MEDIATOR].open_case(CaseCreate(**scenario.payload))
    tally.receipts += 1
    case_id = opened.value.id
    holders = {MEDIATOR: opened.value.mediator_unit, RESPONDENT: opened.value.respondent_unit}
    notes = [f"routed by region {opened.value.region} to {holders[RESPONDENT]} and {holders[MEDIATOR]}"]
    for step in scenario.steps:
        actor, other = clients[holders[step.actor]], clients[holders[MEDIATOR if step.actor == RESPONDENT else RESPONDENT]]
        _deliver(actor, tally)
        if step.kind == TRANSFER:
            moved = actor.transfer(case_id, step.extra["unit"])
            tally.receipts += 1
            holders[step.actor] = moved.value.respondent_unit if step.actor == RESPONDENT else moved.value.mediator_unit
            notes.append(f"{holders[step.actor]} takes the case over from {actor.unit_id}")
            continue
        attached = [actor.upload_document(case_id, data, name) for name, data in step.documents.items()]
        tally.receipts += len(attached)
        documents = [document.value.id for document in attached]
        accepted = actor.send_message(case_id, MessageCreate(kind=step.kind, body=step.body, documents=documents, **step.extra))
        tally.receipts += 1
        _check_documents(other, case_id, step, documents, tally)
        if accepted.receipt.claims["resource"] != f"/v1/cases/{case_id}/messages/{accepted.value.id}":
            raise DemoFailure(f"receipt for the wrong resource on {step.kind}")
    for unit in UNITS:
        _deliver(clients[unit], tally)
    case = clients[MEDIATOR].get_case(case_id)
    if case.status != "closed":
        raise DemoFailure(f"{case.reference} ended {case.status}, not closed")
    tally.deliveries += _check_delivery_receipts(clients[MEDIATOR], [f"/v1/cases/{case.id}/messages/{item.id}" for item in case.messages])
    _print_timeline(case, notes, say)
    return case_id


THEMATIC = ThematicFileCreate(
    counterpart_id=RESPONDENT, subject="title_deeds",
    title="Titres fonciers non délivrés – lotissement Al Firdaous, Témara",
    description="Plusieurs acquéreurs du lotissement attendent leur titre individuel depuis la livraison : l'éclatement du titre "
    "mère bloque. عدة مشترين ينتظرون رسومهم العقارية الفردية منذ التسليم.",
    project={"name": "Lotissement Al Firdaous", "city": "Témara", "region": "rabat-sale-kenitra"},
)


def review(clients: dict[str, GatewayClient], case_ids: list[str], say: Callable[[str], None], tally: Tally) -> None:
    """The joint review of the problem behind two of the cases, to a fulfilled commitment."""
    opened = clients[MEDIATOR].open_thematic_file(THEMATIC)
    file = opened.value
    mediator, respondent = clients[file.mediator_unit], clients[file.respondent_unit]
    say(f"\nthematic file {file.title}: routed by region {file.region} to {file.respondent_unit} and {file.mediator_unit}")
    for case_id in case_ids:
        mediator.link_case(file.id, case_id)
    recommended = mediator.send_thematic_message(file.id, ThematicMessageCreate(
        kind="recommendation", body="Recommandation : finaliser l'éclatement du titre mère et remettre les titres individuels."))
    commitment = respondent.send_thematic_message(file.id, ThematicMessageCreate(
        kind="commitment", body="Engagement : titres individuels remis à tous les acquéreurs sous soixante jours.",
        due_date=_later(60)))
    report = respondent.send_thematic_message(file.id, ThematicMessageCreate(
        kind="progress_report", body="Les titres individuels ont été remis aux acquéreurs concernés.",
        commitment_id=commitment.value.id, fulfils=True))
    tally.receipts += 3 + len(case_ids) + 1
    for unit in UNITS:
        _deliver(clients[unit], tally)
    file = mediator.thematic_file(file.id)
    kept = file.commitments[0]
    if [linked.case_id for linked in file.cases] != case_ids or not kept.fulfilled or kept.fulfilled_by != report.value.id:
        raise DemoFailure("the thematic file does not show its linked cases and its fulfilled commitment")
    messages = [recommended.value, commitment.value, report.value]
    tally.deliveries += _check_delivery_receipts(mediator, [f"/v1/thematic-files/{file.id}/messages/{item.id}" for item in messages])
    say(f"  {len(file.cases)} cases linked by {file.mediator_unit}")
    for item in file.messages:
        due = f" (due {item.due_date:%Y-%m-%d})" if item.due_date else ""
        say(f"  {item.created_at:%H:%M:%S.%f}"[:-3] + f"  {item.sender_unit:<28} {item.kind.value + due:<36} → {item.status_after.value}")
    say(f"  commitment fulfilled by the progress report {kept.fulfilled_by}; overdue: {kept.overdue}")


def _check_documents(recipient: GatewayClient, case_id: str, step: Step, document_ids: list[str], tally: Tally) -> None:
    """The other party downloads each document and finds the exact bytes and file name sent."""
    by_id = {document.id: document for document in recipient.documents(case_id)}
    with tempfile.TemporaryDirectory(prefix="gateway-demo-download-") as directory:
        for (name, data), document_id in zip(step.documents.items(), document_ids, strict=True):
            described = by_id[document_id]
            received = recipient.download_document(case_id, document_id, Path(directory) / "document")
            if described.filename != name or (Path(directory) / "document").read_bytes() != data:
                raise DemoFailure(f"document {name!r} did not arrive intact")
            if received.digest != described.digest:
                raise DemoFailure(f"document {name!r} digest mismatch")
            tally.documents += 1


def _check_delivery_receipts(client: GatewayClient, messages: list[str]) -> int:
    """Every message the other party received has a delivery receipt, signed by the gateway."""
    for resource in messages:
        kinds = []
        for receipt in client.receipts_for(resource):
            client.receipts.verify(receipt.token)
            kinds.append(receipt.kind)
        if kinds != ["acceptance", "delivery"]:
            raise DemoFailure(f"{resource} has receipts {kinds}")
    return len(messages)


def remind(clients: dict[str, GatewayClient], say: Callable[[str], None], wait_seconds: float) -> None:
    """A complaint left unanswered past its (short) reply deadline: the gateway reminds the unit
    holding it, which then answers, late, and the answer says how late."""
    run = uuid.uuid4().hex[:6].upper()
    payload = CaseCreate(respondent_id=RESPONDENT, reference=f"IMR/2026/DEMO-{run}-R", **samples.COMPLAINTS[3],
                         reply_deadline=datetime.now(UTC) + timedelta(seconds=2))
    case = clients[MEDIATOR].open_case(payload).value
    unit = clients[case.respondent_unit]
    give_up = time.monotonic() + wait_seconds
    while not (reminded := [e for e in unit.iter_inbox() if e.case_id == case.id and e.kind == "reminder"]):
        if time.monotonic() > give_up:
            raise DemoFailure(f"no reminder within {wait_seconds:.0f} s of a missed deadline (the gateway looks every "
                              "GATEWAY_REMINDER_INTERVAL_SECONDS)")
        time.sleep(0.25)
    say(f"\n{case.reference}: deadline missed; {case.respondent_unit} reminded at {reminded[0].created_at:%H:%M:%S}")
    unit.send_message(case.id, MessageCreate(kind="acknowledgement", body="Dossier reçu ; remboursement en cours."))
    answer = unit.send_message(case.id, MessageCreate(kind="final_reply", body="Avance remboursée par virement.", outcome="favourable"))
    if answer.value.late_seconds is None:
        raise DemoFailure("a reply after the deadline did not record how late it came")
    say(f"  answered {answer.value.late_seconds} s after the deadline")


def write_report(client: GatewayClient, destination: Path, say: Callable[[str], None]) -> None:
    """What an auditor does with an export alone: the processing-time report."""
    from gateway.ledger.stats import exported_entries, statistics
    from gateway.reports import html

    with tempfile.TemporaryDirectory(prefix="gateway-demo-export-") as directory:
        export = client.download_ledger_export(Path(directory) / "ledger.jsonl")
        with open(export, encoding="utf-8") as lines:
            figures = statistics(exported_entries(lines), Settings.model_fields["default_reply_days"].default, datetime.now(UTC))
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(html.render(figures, "fr", "ledger.jsonl"), encoding="utf-8")
    say(f"\nreport: {destination} ({figures.overall.cases_opened} cases, {figures.overall.reminders} reminder(s); "
        "from the ledger export alone)")


def _print_timeline(case, notes: list[str], say: Callable[[str], None]) -> None:
    times = case.times
    say(f"\n{case.reference} · {case.subject.value} · {case.title}")
    for note in notes:
        say(f"  ({note})")
    say(f"  {times.opened_at:%H:%M:%S.%f}"[:-3] + f"  {'imr':<28} {'case opened':<36} → open")
    for item in case.messages:
        outcome = f" ({item.outcome.value})" if item.outcome else ""
        attached = f"  + {len(item.documents)} document(s)" if item.documents else ""
        say(f"  {item.created_at:%H:%M:%S.%f}"[:-3] + f"  {item.sender_unit:<28} {item.kind.value + outcome:<36} → {item.status_after.value}{attached}")
    elapsed = (times.closed_at - times.opened_at).total_seconds()
    to_ack = (times.acknowledged_at - times.opened_at).total_seconds()
    say(f"  processing time: acknowledged after {to_ack:.3f} s, closed after {elapsed:.3f} s; outcome {case.outcome.value}")


@contextmanager
def _own_gateway() -> Iterator[tuple[str, Settings]]:
    with scratch_settings(reminder_interval_seconds=0.5) as settings, background_gateway(settings) as url:
        yield url, settings


def run(url: str | None = None, pki_dir: Path | None = None, say: Callable[[str], None] = print, *,
        report: Path = Path("var/demo-report.html"), reminder_wait_seconds: float = 20) -> None:
    """Raises DemoFailure (or the SDK's exceptions) if anything does not go as it should."""

    @contextmanager
    def given() -> Iterator[tuple[str, Settings]]:
        yield url, Settings(pki_dir=pki_dir) if pki_dir else Settings()

    with (_own_gateway() if url is None else given()) as (base_url, settings):
        say(f"gateway: {base_url}")
        pins = trust_roots(settings)  # the gateway's keys, from its files: the demo runs beside it
        clients = {name: GatewayClient.from_pki_dir(base_url, name, settings.pki_dir, **pins) for name in (*UNITS, AUDITOR)}
        tally = Tally()
        try:
            for name, client in clients.items():
                me = client.me()
                say(f"{name}: {me.unit.name_fr} / {me.unit.name_ar} ({me.role.value}{'' if me.unit.head_office else ', ' + me.name_fr})")
            case_ids = [play(clients, scenario, say, tally) for scenario in scenarios()]
            review(clients, case_ids[:2], say, tally)
            remind(clients, say, reminder_wait_seconds)
            write_report(clients[AUDITOR], report, say)
        finally:
            for client in clients.values():
                client.close()
        say(f"\nOK: 3 cases closed; {tally.documents} documents attached and downloaded intact (digests checked); "
            f"{tally.receipts} acceptance receipts and {tally.deliveries} delivery receipts verified against the gateway's JWKS; "
            "1 thematic file reviewed: 2 cases linked, its commitment fulfilled")
