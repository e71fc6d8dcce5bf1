from fastapi import APIRouter

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CurrentInstitution
from gateway.contract.institutions import InstitutionOut

router = APIRouter(tags=["institutions"], route_class=StrictJsonRoute)


@router.get("/me", summary="The institution behind the client certificate")
def who_am_i(caller: CurrentInstitution) -> InstitutionOut:
    return InstitutionOut(id=caller.id, name_fr=caller.name_fr, name_ar=caller.name_ar, role=caller.role)
