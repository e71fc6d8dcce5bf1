"""What the simulator writes, all invented: the cases IMR's side opens (drawn, by the seed, from the
complaints in gateway.samples with a made-up complainant), the messages' texts in Arabic and French,
and the documents, generated at run time."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway import samples
from gateway.simulator.sdk import CaseCreate
from imr_alomrane_gateway_client.vocabulary import Language, Role

# Invented complainants, by the language they write in (the complaint's own language).
NAMES = {
    Language.AR: ("سعاد المرابط", "حميد الفاسي", "نزهة الشرقاوي", "عمر بنسليمان", "زينب الوزاني"),
    Language.FR: ("Salma Berrada", "Karim Tazi", "Leïla Chraïbi", "Mehdi Alaoui", "Ghita Benjelloun"),
}

TEXTS: dict[str, dict[Language, tuple[str, ...]]] = {
    "acknowledgement": {
        Language.AR: ("توصلنا بالملف وهو قيد الدراسة لدى المصالح المختصة.", "نؤكد توصلنا بالشكاية، وقد أحيلت على المديرية الجهوية."),
        Language.FR: ("Dossier reçu ; il est à l'étude auprès des services concernés.", "Réclamation reçue et transmise à la direction régionale."),
    },
    "information_request": {
        Language.AR: ("المرجو موافاتنا بنسخة من عقد البيع ووصولات الأداء.", "نرجو تزويدنا بنسخة من محضر التسليم وصور المعاينة."),
        Language.FR: ("Merci de nous transmettre le contrat de vente et les reçus de paiement.",
                      "Merci de fournir le procès-verbal de remise des clés et des photos des désordres."),
    },
    "information_response": {
        Language.AR: ("تجدون رفقته الوثائق المطلوبة.", "نرفق لكم نسخة من العقد وصورة المعاينة."),
        Language.FR: ("Vous trouverez ci-joint les pièces demandées.", "Ci-joint la copie du contrat et la photo du constat."),
    },
    "interim_reply": {
        Language.AR: ("الملف في طور المعالجة، وسنوافيكم بالجواب النهائي قريبا.",),
        Language.FR: ("Le dossier est en cours de traitement ; une réponse définitive suivra sous peu.",),
    },
    "final_reply": {
        Language.AR: ("تمت معالجة الشكاية، وتجدون رفقته قرار الشركة.", "بعد الدراسة، تقرر ما يلي وفق مقتضيات العقد."),
        Language.FR: ("La réclamation a été traitée : vous trouverez ci-dessous la décision de la société.",
                      "Après examen, la société a statué conformément aux clauses du contrat."),
    },
    "follow_up": {
        Language.AR: ("لم يقتنع المشتكي بالجواب، المرجو إعادة دراسة الملف.",),
        Language.FR: ("Le plaignant conteste la réponse : merci de réexaminer le dossier.",),
    },
    "closure": {
        Language.AR: ("يحفظ الملف بعد جواب الشركة.", "يغلق الملف بعد موافقة المشتكي."),
        Language.FR: ("Clôture du dossier après la réponse de la société.", "Clôture après confirmation du plaignant."),
    },
}

# Documents each side attaches, in order: (file name in Arabic, in French, what the PDF's first line says; None: a photo).
DOCUMENTS: dict[Role, tuple[tuple[str, str, str | None], ...]] = {
    Role.MEDIATOR: (
        ("شكاية المواطن.pdf", "Lettre de réclamation.pdf", "Lettre de reclamation"),
        ("صورة المعاينة.png", "Photo du constat.png", None),
        ("عقد البيع.pdf", "Contrat de vente.pdf", "Contrat de vente"),
    ),
    Role.RESPONDENT: (
        ("تقرير تقني.pdf", "Rapport technique.pdf", "Rapport technique"),
        ("صورة الأشغال.png", "Photo des travaux.png", None),
    ),
}

FOLLOW_UP_DAYS = 20  # the new deadline a follow-up gives


@dataclass(frozen=True)
class PlannedCase:
    """One case IMR's side will open: everything but the run's tag (which keeps references unique)."""

    number: int
    scenario: str
    complaint: int  # index in samples.COMPLAINTS
    full_name: str
    cin: str
    phone: str

    def reference(self, run: str) -> str:
        """Names its scenario, so that the Al Omrane simulator plays the same one."""
        return f"SIM/{run}/{self.number:04d}/{self.scenario}"

    def payload(self, run: str, respondent: str) -> CaseCreate:
        complaint = samples.COMPLAINTS[self.complaint]
        complainant = {**complaint["complainant"], "full_name": self.full_name, "cin": self.cin, "phone": self.phone}
        complainant.pop("email", None)  # an invented person gets no real-looking address
        return CaseCreate(respondent_id=respondent, reference=self.reference(run), **{**complaint, "complainant": complainant})


def planned_cases(seed: int, scenarios: list[str]) -> Iterator[PlannedCase]:
    """The same seed and scenarios give the same cases, in the same order; they cycle through the scenarios."""
    rng = random.Random(seed)
    for number, scenario in enumerate(itertools.cycle(scenarios), start=1):
        complaint = rng.randrange(len(samples.COMPLAINTS))
        language = Language(samples.COMPLAINTS[complaint]["complainant"]["preferred_language"])
        yield PlannedCase(
            number, scenario, complaint, rng.choice(NAMES[language]),
            cin=rng.choice("ABCDEFGHJKLM") + rng.choice("ABCDEFGHJK") + f"{rng.randrange(10**6):06d}",
            phone=f"+2126{rng.randrange(10**8):08d}",
        )


SIMULATED = re.compile(r"SIM/[0-9A-F]{6}/(?P<case>[0-9]{4}/(?P<scenario>[a-z-]+))")


def scenario_named(reference: str) -> str | None:
    """The scenario a simulated case's reference names (None: a case the simulator did not open)."""
    simulated = SIMULATED.fullmatch(reference)
    return simulated["scenario"] if simulated else None


def case_rng(seed: int, reference: str) -> random.Random:
    """A case's own choices (texts, sizes, transfer target): the same for the same seed and case,
    whichever run's tag its reference carries."""
    simulated = SIMULATED.fullmatch(reference)
    return random.Random(f"{seed}/{simulated['case'] if simulated else reference}")


def text(kind: str, language: Language, rng: random.Random) -> str:
    return rng.choice(TEXTS[kind][language])


def follow_up_deadline() -> datetime:
    return datetime.now(UTC) + timedelta(days=FOLLOW_UP_DAYS)


def documents(role: Role, language: Language, count: int, reference: str, rng: random.Random) -> dict[str, bytes]:
    """`count` documents of `role`'s side, named in the case's language: PDF letters and PNG photos."""
    made = {}
    for name_ar, name_fr, first_line in DOCUMENTS[role][:count]:
        name = name_ar if language is Language.AR else name_fr
        made[name] = (samples.png(rng.randrange(40, 200), rng.randrange(30, 150)) if first_line is None
                      else samples.pdf([first_line, f"Dossier {reference}", "Document genere par le simulateur"]))
    return made
