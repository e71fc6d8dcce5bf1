"""Every word the report shows, in French and Arabic, from one table (region names come from
imr_alomrane_gateway_client.regions; unit ids are shown as they are: the ledger knows ids, not names)."""

from __future__ import annotations

from typing import Literal

from imr_alomrane_gateway_client.regions import NAMES, Region
from imr_alomrane_gateway_client.vocabulary import Subject
from gateway.ledger.stats import UNSPECIFIED_REGION

Lang = Literal["fr", "ar"]

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Rapport des délais de traitement", "تقرير آجال المعالجة"),
    "period": ("Dossiers ouverts de {first} à {last}", "الملفات المفتوحة من {first} إلى {last}"),
    "period.start": ("le début", "البداية"),
    "period.end": ("aujourd'hui", "اليوم"),
    "at": ("Situation au {at} (UTC)", "الوضعية في {at} (بالتوقيت العالمي)"),
    "source": ("Source : {source}", "المصدر: {source}"),
    "source.database": ("le registre de la passerelle", "سجل البوابة"),
    "reply_days": ("Délai de réponse supposé pour les dossiers ouverts sans échéance : {days} jours",
                   "أجل الرد المفترض للملفات المفتوحة دون أجل محدد: {days} يوما"),
    "scope.unit": ("Unité : {unit}", "الوحدة: {unit}"),
    "scope.region": ("Région : {region}", "الجهة: {region}"),
    "method": (
        "Calculé à partir du registre seul : chaque chiffre se recalcule depuis un export du registre "
        "(gateway report --export). Un dossier est rattaché à l'unité qui le traite à la fin du registre lu "
        "(après transferts) et au mois de son ouverture ; il est en retard s'il attend encore une réponse "
        "finale après son échéance. Les délais sont en jours depuis l'ouverture (médiane et 90e centile, "
        "au rang le plus proche).",
        "محسوب انطلاقا من السجل وحده: يمكن إعادة حساب كل رقم من نسخة مصدرة من السجل (gateway report --export). "
        "يُنسب الملف إلى الوحدة التي تعالجه في نهاية السجل المقروء (بعد الإحالات) وإلى شهر فتحه؛ ويكون متأخرا "
        "إذا كان لا يزال ينتظر ردا نهائيا بعد انقضاء أجله. الآجال بالأيام منذ الفتح (الوسيط والمئين التسعون، "
        "حسب أقرب رتبة).",
    ),
    "grouping.overall": ("Ensemble", "المجموع"),
    "grouping.unit": ("Unité", "الوحدة"),
    "grouping.region": ("Région", "الجهة"),
    "grouping.subject": ("Objet", "الموضوع"),
    "grouping.month": ("Mois d'ouverture", "شهر الفتح"),
    "heading.overall": ("Ensemble", "المجموع"),
    "heading.unit": ("Par unité", "حسب الوحدة"),
    "heading.region": ("Par région", "حسب الجهة"),
    "heading.subject": ("Par objet", "حسب الموضوع"),
    "heading.month": ("Par mois d'ouverture", "حسب شهر الفتح"),
    "column.grouping": ("Regroupement", "التجميع"),
    "column.group": ("Code", "الرمز"),
    "column.name": ("Groupe", "المجموعة"),
    "cases_opened": ("Dossiers ouverts", "الملفات المفتوحة"),
    "cases_acknowledged": ("Accusés de réception", "الإشعارات بالتوصل"),
    "cases_answered": ("Réponses finales", "الردود النهائية"),
    "cases_closed": ("Dossiers clôturés", "الملفات المغلقة"),
    "days_to_acknowledgement.median": ("Jours jusqu'à l'accusé (médiane)", "أيام حتى الإشعار بالتوصل (الوسيط)"),
    "days_to_acknowledgement.p90": ("Jours jusqu'à l'accusé (90e centile)", "أيام حتى الإشعار بالتوصل (المئين 90)"),
    "days_to_final_reply.median": ("Jours jusqu'à la réponse finale (médiane)", "أيام حتى الرد النهائي (الوسيط)"),
    "days_to_final_reply.p90": ("Jours jusqu'à la réponse finale (90e centile)", "أيام حتى الرد النهائي (المئين 90)"),
    "days_to_closure.median": ("Jours jusqu'à la clôture (médiane)", "أيام حتى الإغلاق (الوسيط)"),
    "days_to_closure.p90": ("Jours jusqu'à la clôture (90e centile)", "أيام حتى الإغلاق (المئين 90)"),
    "overdue": ("Dossiers en retard", "الملفات المتأخرة"),
    "answered_late": ("Répondus après l'échéance", "أجيب عنها بعد الأجل"),
    "reminders": ("Relances", "التذكيرات"),
    "escalations": ("Relances au siège", "التذكيرات الموجهة إلى المقر"),
    "thematic_files": ("Dossiers thématiques", "الملفات الموضوعاتية"),
    "open_commitments": ("Engagements ouverts", "الالتزامات المفتوحة"),
    "overdue_commitments": ("Engagements en retard", "الالتزامات المتأخرة"),
    "chart.opened_closed": ("Dossiers ouverts et clôturés, par mois d'ouverture", "الملفات المفتوحة والمغلقة حسب شهر الفتح"),
    "chart.median_days": ("Délais médians en jours, par unité", "الآجال الوسيطة بالأيام حسب الوحدة"),
    "chart.late": ("Retards et relances, par unité", "التأخيرات والتذكيرات حسب الوحدة"),
    "none": ("aucun dossier", "لا يوجد أي ملف"),
    UNSPECIFIED_REGION: ("Région non précisée", "جهة غير محددة"),
    Subject.HOUSING_ALLOCATION: ("Attribution de logements", "تخصيص السكن"),
    Subject.TITLE_DEEDS: ("Titres fonciers", "الرسوم العقارية"),
    Subject.DELIVERY_DELAYS: ("Retards de livraison", "التأخر في التسليم"),
    Subject.CONSTRUCTION_QUALITY: ("Qualité de construction", "جودة البناء"),
    Subject.SLUM_REHOUSING: ("Relogement des bidonvilles", "إعادة إيواء قاطني دور الصفيح"),
    Subject.PAYMENTS_AND_REFUNDS: ("Paiements et remboursements", "الأداءات والاسترجاعات"),
    Subject.EASEMENT_RIGHTS: ("Servitudes", "حقوق الارتفاق"),
    Subject.COMMERCIAL_RELATIONS: ("Relations commerciales", "العلاقات التجارية"),
    Subject.OTHER: ("Autre", "أخرى"),
}


_REGION_CODES = frozenset(Region)


def label(key: str, lang: Lang, **values: object) -> str:
    french, arabic = LABELS[key]
    return (arabic if lang == "ar" else french).format(**values)


def group_name(grouping: str, key: str, lang: Lang) -> str:
    """What a group is called: a region's or subject's name, a unit id or a month as it is."""
    if grouping == "region" and key in _REGION_CODES:
        return getattr(NAMES[Region(key)], lang)
    if grouping in ("region", "subject") and key in LABELS:
        return label(key, lang)
    return key
