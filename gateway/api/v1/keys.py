"""The keys' history: which keys each registry version trusted, for auditors and anyone verifying the past."""

from fastapi import APIRouter

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CurrentInstitution, SessionDep
from gateway.api.responses import PROBLEM_RESPONSES
from imr_alomrane_gateway_client.contract.keys import KeyHistoryOut, PublishedKeyOut
from gateway.services import registry as service

router = APIRouter(prefix="/keys", tags=["keys"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)


@router.get("/history", summary="Every key ever published, with the registry versions and times it was trusted")
def history(caller: CurrentInstitution, session: SessionDep) -> KeyHistoryOut:
    version, records = service.key_history(session)
    return KeyHistoryOut(registry_version=version, keys=[
        PublishedKeyOut(
            kid=record.key.kid, owner=record.key.owner, purpose=record.key.purpose, jwk=record.key.jwk, not_before=record.key.not_before,
            not_after=record.key.not_after, first_version=record.first_version, trusted_from=record.trusted_from,
            last_version=record.last_version, trusted_until=record.trusted_until, revoked_at=record.revoked_at,
        )
        for record in records
    ])
