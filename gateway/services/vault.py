"""Personal data at rest: each case's complainant fields and signed opening are sealed with the
case's own data key, wrapped by the master key. Erasure destroys the key and the ciphertexts:
the case keeps its non-personal skeleton, and the ledger (digests only) still verifies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.security.encryption import MasterKey, new_data_key, open_sealed, seal, unwrap, wrap
from gateway.storage.models import Case, CaseKey


class Vault:
    def __init__(self, master: MasterKey) -> None:
        self.master = master

    def seal_case(self, session: Session, case: Case, complainant: dict[str, Any], signed_body: str | None) -> None:
        """Give a new case its data key and seal its personal data with it (caller's transaction)."""
        data_key = new_data_key()
        session.add(CaseKey(case_id=case.id, master_key_id=self.master.id, wrapped=wrap(self.master, data_key, case.id)))
        case.complainant_sealed = seal(data_key, json.dumps(complainant, ensure_ascii=False).encode(), _context(case.id, "complainant"))
        case.signed_body_sealed = seal(data_key, signed_body.encode(), _context(case.id, "signed_body")) if signed_body else None

    def _key(self, session: Session, case: Case) -> bytes | None:
        row = session.get(CaseKey, case.id)
        return unwrap(self.master, row.wrapped, case.id) if row is not None and row.wrapped else None

    def open_case(self, session: Session, case: Case) -> tuple[dict[str, Any] | None, str | None]:
        """The complainant and the signed opening body, or (None, None) once erased."""
        key = self._key(session, case)
        if key is None or case.complainant_sealed is None:
            return None, None
        complainant = json.loads(open_sealed(key, case.complainant_sealed, _context(case.id, "complainant")))
        body = open_sealed(key, case.signed_body_sealed, _context(case.id, "signed_body")).decode() if case.signed_body_sealed else None
        return complainant, body

    def erase(self, session: Session, case: Case) -> None:
        """Crypto-shredding: the data key and the ciphertexts go; nothing personal is left to recover."""
        row = session.get(CaseKey, case.id)
        if row is not None:
            row.wrapped, row.master_key_id = None, None
        case.complainant_sealed = case.signed_body_sealed = None
        case.personal_data_erased_at = datetime.now(UTC)


def _context(case_id: str, field: str) -> str:
    return f"case:{case_id}:{field}"


def seal_reply(master: MasterKey, body: str, context: str) -> str:
    """An idempotent reply kept for retries may hold personal data (a case's first answer): sealed too."""
    return base64.b64encode(seal(master.key, body.encode(), context)).decode()


def open_reply(master: MasterKey, stored: str, context: str) -> str:
    return open_sealed(master.key, base64.b64decode(stored), context).decode()
