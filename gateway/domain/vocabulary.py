"""Closed vocabularies shared by the API, the storage and the documentation."""

from enum import StrEnum


class Role(StrEnum):
    MEDIATOR = "mediator"  # IMR
    RESPONDENT = "respondent"  # Al Omrane (the model allows several)
    AUDITOR = "auditor"


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_INFORMATION = "awaiting_information"
    ANSWERED = "answered"
    CLOSED = "closed"


class MessageKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    INFORMATION_REQUEST = "information_request"
    INFORMATION_RESPONSE = "information_response"
    INTERIM_REPLY = "interim_reply"
    FINAL_REPLY = "final_reply"
    FOLLOW_UP = "follow_up"
    CLOSURE = "closure"
    NOTE = "note"


class Subject(StrEnum):
    """What the citizen complains about."""

    HOUSING_ALLOCATION = "housing_allocation"
    TITLE_DEEDS = "title_deeds"
    DELIVERY_DELAYS = "delivery_delays"
    CONSTRUCTION_QUALITY = "construction_quality"
    SLUM_REHOUSING = "slum_rehousing"
    PAYMENTS_AND_REFUNDS = "payments_and_refunds"
    EASEMENT_RIGHTS = "easement_rights"
    COMMERCIAL_RELATIONS = "commercial_relations"
    OTHER = "other"


class Outcome(StrEnum):
    FAVOURABLE = "favourable"
    PARTIALLY_FAVOURABLE = "partially_favourable"
    UNFAVOURABLE = "unfavourable"
    NOT_COMPETENT = "not_competent"


class Language(StrEnum):
    AR = "ar"
    FR = "fr"


class InboxEventKind(StrEnum):
    CASE_OPENED = "case_opened"
    MESSAGE_RECEIVED = "message_received"
    STATUS_CHANGED = "status_changed"
    DOCUMENT_ATTACHED = "document_attached"


class LedgerKind(StrEnum):
    """What a ledger entry records: one kind per exchange event that changes what was exchanged."""

    CASE_OPENED = "case_opened"
    MESSAGE_SENT = "message_sent"
    DOCUMENT_ATTACHED = "document_attached"
    DELIVERY_ACKNOWLEDGED = "delivery_acknowledged"
    PERSONAL_DATA_ERASED = "personal_data_erased"
