"""The institutions' key set, and the keys' history: which keys each registry version trusted, for
auditors and anyone verifying the past (the history is on the public listener too)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CurrentInstitution, KeyRingDep, PublicReader, SessionDep
from gateway.api.openapi import described
from imr_alomrane_gateway_client.contract.keys import KeyHistoryOut, PublishedKeyOut
from gateway.services import registry as service

router = APIRouter(prefix="/keys", tags=["keys"], route_class=StrictJsonRoute)
institutions_router = APIRouter(prefix="/institutions", tags=["keys"], route_class=StrictJsonRoute)


@router.get("/history", **described("getKeyHistory"))
def history(caller: PublicReader, session: SessionDep) -> KeyHistoryOut:
    version, records = service.key_history(session)
    return KeyHistoryOut(registry_version=version, keys=[
        PublishedKeyOut(
            kid=record.key.kid, owner=record.key.owner, purpose=record.key.purpose, key_set=record.key.key_set, jwk=record.key.jwk, not_before=record.key.not_before,
            not_after=record.key.not_after, first_version=record.first_version, trusted_from=record.trusted_from,
            last_version=record.last_version, trusted_until=record.trusted_until, revoked_at=record.revoked_at,
        )
        for record in records
    ])


@institutions_router.get("/keys", **described("listInstitutionKeys"))
def institution_keys(caller: CurrentInstitution, keys: KeyRingDep) -> JSONResponse:
    """An RFC 7517 JWK Set; each key names its `owner` (the unit that signs with it: a request's
    `iss`) and `institution`. It verifies the signed requests the gateway keeps (`signed_request`)."""
    return JSONResponse(keys.institution_jwks(), headers={"Cache-Control": "max-age=300"})
