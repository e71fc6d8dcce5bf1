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


# The message kinds that carry an outcome, and the one that sets a new deadline (required with them, refused otherwise).
KINDS_WITH_OUTCOME = frozenset({MessageKind.FINAL_REPLY, MessageKind.CLOSURE})
KINDS_WITH_DEADLINE = frozenset({MessageKind.FOLLOW_UP})


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
    CASE_TRANSFERRED = "case_transferred"
    REMINDER = "reminder"
    THEMATIC_FILE_OPENED = "thematic_file_opened"
    THEMATIC_MESSAGE_RECEIVED = "thematic_message_received"  # with status_changed when it moves the file's status
    CASE_LINKED = "case_linked"  # to a thematic file
    CASE_UNLINKED = "case_unlinked"


class LedgerKind(StrEnum):
    """What a ledger entry records: one kind per exchange event that changes what was exchanged."""

    CASE_OPENED = "case_opened"
    MESSAGE_SENT = "message_sent"
    DOCUMENT_ATTACHED = "document_attached"
    DELIVERY_ACKNOWLEDGED = "delivery_acknowledged"
    PERSONAL_DATA_ERASED = "personal_data_erased"
    CASE_TRANSFERRED = "case_transferred"  # detail: the unit it left; recipient_unit: the unit it went to
    REMINDER_SENT = "reminder_sent"  # sent by the gateway; detail: the step (ReminderStep); due: the deadline
    THEMATIC_FILE_OPENED = "thematic_file_opened"  # case: the thematic file's id; detail: its subject
    THEMATIC_MESSAGE_SENT = "thematic_message_sent"  # detail: the kind, or commitment_fulfilled
    CASE_LINKED = "case_linked"  # case: the thematic file; refers: the linked case
    CASE_UNLINKED = "case_unlinked"
    REGISTRY_CHANGED = "registry_changed"  # sent by the gateway; detail: the new registry's digest and what changed (JSON)


class ReminderStep(StrEnum):
    """A deadline passed: first the unit responsible is reminded, `GATEWAY_ESCALATION_DAYS` later its head office."""

    DUE = "due"
    ESCALATED = "escalated"


class ThematicStatus(StrEnum):
    """Where the joint review of a recurring problem stands (the table in gateway.domain.thematic)."""

    OPEN = "open"
    IN_DELIBERATION = "in_deliberation"
    RECOMMENDED = "recommended"
    COMMITTED = "committed"
    CLOSED = "closed"


class ThematicMessageKind(StrEnum):
    POSITION = "position"
    PROPOSAL = "proposal"
    MEETING_MINUTES = "meeting_minutes"
    RECOMMENDATION = "recommendation"  # the mediator's
    COMMITMENT = "commitment"  # the respondent's, with a due date
    PROGRESS_REPORT = "progress_report"  # on one commitment; it may fulfil it
    CLOSURE = "closure"


# The ledger's detail for a progress report that fulfils its commitment (any other keeps its kind).
COMMITMENT_FULFILLED = "commitment_fulfilled"

# The thematic kinds that carry a due date, and those reporting on a commitment.
KINDS_WITH_DUE_DATE = frozenset({ThematicMessageKind.COMMITMENT})
KINDS_ON_A_COMMITMENT = frozenset({ThematicMessageKind.PROGRESS_REPORT})  # with `commitment_id` and `fulfils`
