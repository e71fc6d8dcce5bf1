"""Realistic payloads: the complaints this gateway carries, in Arabic and in French."""

from __future__ import annotations

import itertools
from typing import Any

_references = itertools.count(1)


def case_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "respondent_id": "al-omrane",
        "reference": f"IMR/2026/{next(_references):05d}",
        "complainant": {
            "full_name": "فاطمة الزهراء بنعلي",
            "cin": "BE123456",
            "phone": "+212612345678",
            "email": "f.benali@example.ma",
            "address": "حي الأمل، زنقة 12، رقم 4، الدار البيضاء",
            "preferred_language": "ar",
        },
        "subject": "delivery_delays",
        "title": "تأخر تسليم شقة بمشروع الأمل – Retard de livraison, projet Al Amal",
        "summary": "اقتنت المشتكية شقة سنة 2019 وكان من المفروض تسليمها سنة 2021. "
        "La plaignante a payé l'intégralité du prix ; la livraison n'a toujours pas eu lieu.",
        "project": {"name": "Al Amal – الأمل", "city": "Casablanca", "region": "fes-meknes"},
        "requested_action": "Communiquer une date de livraison ferme et les pénalités de retard prévues au contrat.",
    }
    payload.update(overrides)
    return payload


def message(kind: str, body: str = "Nous accusons réception du dossier. نؤكد توصلنا بالملف.", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "body": body, **extra}


# A short, complete life of a case: (sender, kind, extra fields), as the lifecycle table allows.
SHORT_LIFE: list[tuple[str, str, dict[str, Any]]] = [
    ("al-omrane", "acknowledgement", {}),
    ("al-omrane", "information_request", {}),
    ("imr", "information_response", {}),
    ("al-omrane", "final_reply", {"outcome": "favourable"}),
    ("imr", "closure", {"outcome": "favourable"}),
]
