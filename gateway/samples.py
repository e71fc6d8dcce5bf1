"""Invented material for the demo, the sandbox simulator, the tests and the benchmarks: complaints in
Arabic and French, and real files of each accepted type (a PDF letter, a PNG photo, and the smallest
valid JPEG, TIFF, ODT and DOCX), made from nothing so that no citizen's complaint or document is ever
needed to show or test the gateway. Every name, identity number and address here is made up."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

# Complaints as IMR writes them (the body of POST /v1/cases less the respondent and the reference),
# across subjects and regions: routed to Al Omrane's regional companies of Casablanca-Settat,
# Rabat-Salé-Kénitra and Marrakech-Safi (which also serves Souss-Massa), and the others to its head
# office. The first three are the demo's cases, the fourth its reminder.
COMPLAINTS: list[dict[str, Any]] = [
    {
        "complainant": {"full_name": "عبد الرحيم الإدريسي", "cin": "BK204518", "phone": "+212661234567",
                        "address": "إقامة النور، عمارة 7، شقة 12، سيدي مومن، الدار البيضاء", "preferred_language": "ar"},
        "subject": "delivery_delays",
        "title": "تأخر تسليم شقة بمشروع النور – سيدي مومن",
        "summary": "أدى المشتكي كامل ثمن الشقة سنة 2020، وكان التسليم مقررا في دجنبر 2022، ولم يتم إلى اليوم.",
        "project": {"name": "إقامة النور", "city": "الدار البيضاء", "region": "casablanca-settat"},
        "requested_action": "تحديد تاريخ نهائي للتسليم وتطبيق غرامات التأخير المنصوص عليها في العقد.",
    },
    {
        "complainant": {"full_name": "Nadia El Amrani", "cin": "A456789", "email": "n.elamrani@example.ma",
                        "address": "Lotissement Al Firdaous, lot 214, Témara", "preferred_language": "fr"},
        "subject": "title_deeds",
        "title": "Titre foncier non délivré – lotissement Al Firdaous, Témara",
        "summary": "Lot payé intégralement en 2018 ; le titre foncier individuel n'a toujours pas été établi.",
        "project": {"name": "Lotissement Al Firdaous", "city": "Témara", "region": "rabat-sale-kenitra"},
        "requested_action": "Engager l'éclatement du titre mère et remettre le titre individuel à la plaignante.",
    },
    {
        "complainant": {"full_name": "Youssef Aït Benhaddou", "cin": "EE98765", "phone": "0524123456",
                        "address": "Douar Tassoultante, Marrakech", "preferred_language": "fr"},
        "subject": "easement_rights",
        "title": "Droit de passage supprimé par un mur de clôture – حق المرور",
        "summary": "Le mur d'enceinte du projet ferme l'unique accès à la parcelle du plaignant (servitude de passage).",
        "project": {"name": "Résidence Tamansourt Al Jadida", "city": "Marrakech", "region": "marrakech-safi"},
        "requested_action": "Rétablir le passage ou proposer un accès de substitution.",
    },
    {
        "complainant": {"full_name": "Khadija Ouazzani", "cin": "JB74125", "address": "Hay Massira, Marrakech", "preferred_language": "fr"},
        "subject": "payments_and_refunds",
        "title": "Remboursement d'avance non versé – Tamansourt",
        "summary": "Avance de 50 000 MAD non remboursée après désistement.",
        "project": {"name": "Tamansourt Al Jadida", "city": "Marrakech", "region": "marrakech-safi"},
        "requested_action": "Rembourser l'avance versée.",
    },
    {
        "complainant": {"full_name": "فاطمة الزهراء بنعلي", "cin": "CD552310", "phone": "0661987654",
                        "address": "دوار السكويلة، سيدي مومن، الدار البيضاء", "preferred_language": "ar"},
        "subject": "slum_rehousing",
        "title": "عدم الاستفادة من برنامج مدن بدون صفيح – دوار السكويلة",
        "summary": "أحصيت أسرة المشتكية سنة 2016 ضمن قاطني الدوار، ولم تتوصل بأي بقعة أو شقة بعد هدم البراكة.",
        "project": {"name": "مشروع الرحمة لإعادة الإيواء", "city": "الدار البيضاء", "region": "casablanca-settat"},
        "requested_action": "تمكين الأسرة من بقعة أرضية وفق محضر الإحصاء.",
    },
    {
        "complainant": {"full_name": "Rachid Bennani", "cin": "C318844", "email": "r.bennani@example.ma",
                        "address": "Résidence Al Wahda, immeuble 3, Fès", "preferred_language": "fr"},
        "subject": "construction_quality",
        "title": "Fissures et infiltrations – Résidence Al Wahda, Fès",
        "summary": "Fissures traversantes dans les murs porteurs et infiltrations d'eau depuis la livraison en 2023.",
        "project": {"name": "Résidence Al Wahda", "city": "Fès", "region": "fes-meknes"},
        "requested_action": "Expertise technique contradictoire et reprise des désordres au titre de la garantie.",
    },
    {
        "complainant": {"full_name": "محمد أمين الحسني", "cin": "L90412", "phone": "+212670112233",
                        "address": "حي البرانص، طنجة", "preferred_language": "ar"},
        "subject": "housing_allocation",
        "title": "إلغاء تخصيص شقة دون إشعار – مشروع الوفاء، طنجة",
        "summary": "خصصت للمشتكي شقة بمشروع الوفاء سنة 2021، ثم أعيد تخصيصها لغيره دون إشعاره ودون رد التسبيق.",
        "project": {"name": "مشروع الوفاء", "city": "طنجة", "region": "tanger-tetouan-al-hoceima"},
        "requested_action": "إعادة التخصيص أو إرجاع التسبيق مع التعويض.",
    },
    {
        "complainant": {"full_name": "Hassan Oubella", "cin": "JE60231", "phone": "0528334455",
                        "address": "Lotissement Tilila, lot 88, Agadir", "preferred_language": "fr"},
        "subject": "commercial_relations",
        "title": "Prix de cession révisé après signature – lotissement Tilila, Agadir",
        "summary": "Le prix du lot a été augmenté de 12 % après la signature du compromis, sans clause de révision.",
        "project": {"name": "Lotissement Tilila", "city": "Agadir", "region": "souss-massa"},
        "requested_action": "Appliquer le prix convenu au compromis.",
    },
]


def pdf(lines: list[str], padding: int = 0) -> bytes:
    """A one-page PDF 1.4 letter in Helvetica (Western European text), with `padding` bytes of comment to
    make it as large as a test needs."""
    text = "\n".join(
        f"BT /F1 12 Tf 72 {760 - 18 * number} Td ({_pdf_escape(line)}) Tj ET" for number, line in enumerate(lines)
    ).encode("cp1252", errors="replace")  # WinAnsiEncoding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    if padding:
        out += b"%" + b"0" * max(padding - 2, 0) + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def png(width: int = 64, height: int = 48) -> bytes:
    """An RGB gradient: stands in for a photo of a construction defect."""
    rows = b"".join(
        b"\x00" + bytes(channel for x in range(width) for channel in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    """A JFIF header and end marker: enough to be recognised (the gateway never decodes images)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def tiff() -> bytes:
    """A little-endian TIFF header with an empty directory."""
    return b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00"


def odt(text: str = "Procès-verbal de constat") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")  # first, stored
        archive.writestr("content.xml", f"<office:document-content><text>{text}</text></office:document-content>")
    return buffer.getvalue()


def docx(text: str = "Contrat de vente en l'état futur d'achèvement") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return buffer.getvalue()
