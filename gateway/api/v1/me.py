"""Who is calling, and who else takes part: institutions and their units."""

from fastapi import APIRouter

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CurrentInstitution, RuntimeDep
from imr_alomrane_gateway_client.contract.institutions import InstitutionOut, UnitOut
from gateway.domain.party import Party, Unit
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import Role

router = APIRouter(tags=["institutions"], route_class=StrictJsonRoute)


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(id=unit.id, institution_id=unit.institution_id, name_fr=unit.name_fr, name_ar=unit.name_ar,
                   head_office=unit.head_office, regions=[region for region in Region if region in unit.regions])


@router.get("/me", summary="The institution and unit behind the client certificate")
def who_am_i(caller: CurrentInstitution) -> InstitutionOut:
    return InstitutionOut(id=caller.id, name_fr=caller.name_fr, name_ar=caller.name_ar, role=caller.role, unit=unit_out(caller.unit))


def _deals_with(caller: Party, other: Party) -> bool:
    """Mediators and respondents deal with each other (and know their own units); auditors, with everyone."""
    return caller.role is Role.AUDITOR or other.id == caller.id or {caller.role, other.role} == {Role.MEDIATOR, Role.RESPONDENT}


@router.get("/units", summary="The units of your institution and of the parties you deal with")
def units(caller: CurrentInstitution, runtime: RuntimeDep) -> list[UnitOut]:
    directory = runtime.directory
    return [
        unit_out(unit)
        for institution in sorted(directory.by_id.values(), key=lambda party: party.id) if _deals_with(caller, institution)
        for unit in directory.units_of(institution.id)
    ]
