"""The catalogue of problem types (RFC 9457): stable `type` URIs, statuses, titles in fr/ar/en.

Services raise `ProblemError`; the HTTP layer (gateway.api.problems) renders it. Keeping the
catalogue here lets every layer speak the same error vocabulary without importing FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBLEM_BASE = "/problems/"
LANGUAGES = ("fr", "ar", "en")
DEFAULT_LANGUAGE = "fr"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    titles: dict[str, str]  # language → title

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


def _p(slug: str, status: int, fr: str, ar: str, en: str) -> ProblemType:
    return ProblemType(slug, status, {"fr": fr, "ar": ar, "en": en})


CATALOGUE: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        _p("validation-failed", 422, "La requête ne respecte pas le contrat", "الطلب لا يحترم العقد", "The request does not match the contract"),
        _p("malformed-request", 400, "Requête mal formée", "طلب غير سليم الصياغة", "Malformed request"),
        _p("body-not-utf8", 400, "Le corps JSON n'est pas en UTF-8 strict", "محتوى JSON ليس بترميز UTF-8 صارم", "The JSON body is not strict UTF-8"),
        _p("duplicate-json-key", 400, "Le corps JSON nomme deux fois le même membre", "محتوى JSON يذكر نفس العنصر مرتين", "The JSON body names the same member twice"),
        _p("invalid-cursor", 400, "Curseur de pagination invalide", "مؤشر الترقيم غير صالح", "Invalid pagination cursor"),
        _p("cursor-conflict", 400, "Deux curseurs donnés : cursor et son ancien nom after", "تم إعطاء مؤشرين: cursor واسمه القديم after", "Two cursors given: cursor and its former name after"),
        _p("client-certificate-required", 401, "Certificat client requis", "شهادة العميل مطلوبة", "Client certificate required"),
        _p("client-certificate-invalid", 401, "Certificat client invalide", "شهادة العميل غير صالحة", "Invalid client certificate"),
        _p("signature-missing", 401, "Signature de la requête manquante", "توقيع الطلب مفقود", "Request signature missing"),
        _p("signature-malformed", 401, "Signature de la requête mal formée", "توقيع الطلب غير سليم الصياغة", "Malformed request signature"),
        _p("signature-algorithm-refused", 401, "Algorithme ou en-tête de signature refusé", "خوارزمية أو رأس التوقيع مرفوض", "Signature algorithm or header refused"),
        _p("signature-key-unknown", 401, "Clé de signature inconnue", "مفتاح التوقيع غير معروف", "Unknown signing key"),
        _p("signature-key-not-yours", 401, "Clé de signature d'une autre unité", "مفتاح توقيع تابع لوحدة أخرى", "Signing key belongs to another unit"),
        _p("signature-key-revoked", 401, "Clé de signature révoquée", "مفتاح التوقيع ملغى", "Signing key revoked"),
        _p("signature-key-expired", 401, "Clé de signature hors de sa période de validité", "مفتاح التوقيع خارج فترة صلاحيته", "Signing key outside its validity period"),
        _p("signature-invalid", 401, "Signature invalide", "توقيع غير صالح", "Invalid signature"),
        _p("signature-request-mismatch", 401, "La signature ne couvre pas cette requête", "التوقيع لا يغطي هذا الطلب", "The signature does not cover this request"),
        _p("signature-digest-mismatch", 401, "L'empreinte du corps ne correspond pas", "بصمة المحتوى غير مطابقة", "Body digest mismatch"),
        _p("signature-digest-malformed", 401, "Empreinte signée mal écrite : base64 standard avec remplissage attendu", "بصمة موقعة غير سليمة الكتابة: المطلوب base64 القياسي مع الحشو", "Signed digest malformed: padded standard base64 expected"),
        _p("signature-stale", 401, "Signature trop ancienne ou datée du futur", "توقيع قديم جدا أو مؤرخ في المستقبل", "Signature too old or from the future"),
        _p("signature-replayed", 401, "Requête signée déjà reçue", "طلب موقع تم استلامه من قبل", "Signed request already received"),
        _p("unregistered-certificate", 403, "Certificat non enregistré", "شهادة غير مسجلة", "Certificate not registered"),
        _p("role-forbidden", 403, "Action non autorisée pour ce rôle", "إجراء غير مسموح به لهذا الدور", "Action not allowed for this role"),
        _p("not-found", 404, "Ressource introuvable", "المورد غير موجود", "Resource not found"),
        _p("method-not-allowed", 405, "Méthode non autorisée", "الطريقة غير مسموح بها", "Method not allowed"),
        _p("transition-refused", 409, "Message non autorisé dans l'état actuel du dossier", "رسالة غير مسموح بها في الحالة الحالية للملف", "Message not allowed in the case's current state"),
        _p("duplicate-reference", 409, "Référence déjà utilisée", "المرجع مستعمل من قبل", "Reference already used"),
        _p("idempotency-key-missing", 400, "Clé d'idempotence requise", "مفتاح عدم التكرار مطلوب", "Idempotency key required"),
        _p("idempotency-key-invalid", 400, "Clé d'idempotence invalide", "مفتاح عدم التكرار غير صالح", "Invalid idempotency key"),
        _p("idempotency-key-reused", 422, "Clé d'idempotence déjà utilisée pour une autre requête", "مفتاح عدم التكرار مستعمل لطلب آخر", "Idempotency key already used for another request"),
        _p("idempotency-in-flight", 409, "Une requête avec cette clé est en cours", "طلب بهذا المفتاح قيد المعالجة", "A request with this key is in progress"),
        _p("unknown-respondent", 422, "Institution destinataire inconnue", "المؤسسة المرسل إليها غير معروفة", "Unknown respondent institution"),
        _p("unknown-unit", 422, "Unité inconnue", "وحدة غير معروفة", "Unknown unit"),
        _p("transfer-refused", 409, "Transfert refusé", "تم رفض الإحالة", "Transfer refused"),
        _p("unknown-counterpart", 422, "Institution partenaire inconnue", "المؤسسة الشريكة غير معروفة", "Unknown counterpart institution"),
        _p("unknown-commitment", 422, "Engagement inconnu pour ce dossier thématique", "التزام غير معروف في هذا الملف الموضوعاتي", "Unknown commitment for this thematic file"),
        _p("commitment-fulfilled", 409, "Engagement déjà tenu", "تم الوفاء بالالتزام من قبل", "Commitment already fulfilled"),
        _p("link-refused", 409, "Rattachement du dossier refusé", "تم رفض ربط الملف", "Case link refused"),
        _p("precondition-failed", 412, "Le dossier a changé depuis votre lecture", "تغير الملف منذ قراءتكم له", "The case changed since you read it"),
        _p("payload-too-large", 413, "Requête trop volumineuse", "الطلب كبير جدا", "Request too large"),
        _p("unsupported-media-type", 415, "Type de contenu non pris en charge", "نوع المحتوى غير مدعوم", "Unsupported media type"),
        _p("document-type-refused", 415, "Type de document non accepté", "نوع الوثيقة غير مقبول", "Document type not accepted"),
        _p("content-digest-required", 400, "Empreinte Content-Digest requise", "بصمة Content-Digest مطلوبة", "Content-Digest required"),
        _p("content-digest-malformed", 400, "En-tête Content-Digest mal formé", "رأس Content-Digest غير سليم الصياغة", "Malformed Content-Digest header"),
        _p("content-digest-mismatch", 400, "Le contenu reçu ne correspond pas à son empreinte", "المحتوى المستلم لا يطابق بصمته", "The content received does not match its digest"),
        _p("invalid-filename", 422, "Nom de fichier invalide", "اسم ملف غير صالح", "Invalid file name"),
        _p("unknown-document", 422, "Document inconnu pour ce dossier", "وثيقة غير معروفة في هذا الملف", "Unknown document for this case"),
        _p("case-closed", 409, "Le dossier est clôturé", "الملف مغلق", "The case is closed"),
        _p("personal-data-erased", 410, "Données personnelles effacées", "تم محو المعطيات الشخصية", "Personal data erased"),
        _p("range-not-satisfiable", 416, "Plage demandée hors du document", "النطاق المطلوب خارج الوثيقة", "Range not satisfiable"),
        _p("request-timeout", 408, "Requête trop lente : délai de lecture dépassé", "طلب بطيء جدا: تجاوز مهلة القراءة", "Request too slow: read timeout"),
        _p("target-too-long", 414, "Cible de la requête trop longue", "هدف الطلب طويل جدا", "Request target too long"),
        _p("header-too-large", 431, "En-têtes de la requête trop volumineux ou trop nombreux", "رؤوس الطلب كبيرة أو كثيرة جدا", "Request headers too large or too many"),
        _p("rate-limited", 429, "Trop de requêtes : réessayez après Retry-After", "طلبات كثيرة جدا: أعيدوا المحاولة بعد Retry-After", "Too many requests: retry after Retry-After"),
        _p("too-many-connections", 503, "Trop de connexions ouvertes", "عدد الاتصالات المفتوحة كبير جدا", "Too many open connections"),
        _p("storage-unavailable", 503, "Stockage momentanément indisponible : rien n'a été enregistré", "التخزين غير متاح مؤقتا: لم يسجل أي شيء", "Storage temporarily unavailable: nothing was recorded"),
        _p("writes-suspended", 503, "Écritures suspendues sur cette passerelle : rien n'a été enregistré", "الكتابة معلقة في هذه البوابة: لم يسجل أي شيء", "Writes suspended on this gateway: nothing was recorded"),
        _p("internal-error", 500, "Erreur interne", "خطأ داخلي", "Internal error"),
    )
}


class ProblemError(Exception):
    """Raise anywhere below the routers to answer with a problem document."""

    def __init__(self, slug: str, detail: str | None = None, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(slug if detail is None else f"{slug}: {detail}")
        self.problem_type = CATALOGUE[slug]
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def negotiate_language(accept_language: str | None) -> str:
    """Pick fr, ar or en from an `Accept-Language` header (RFC 9110 §12.5.4), French by default."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best
