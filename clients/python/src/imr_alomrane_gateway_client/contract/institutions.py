"""Who is calling, and the units of the parties to the exchange."""

from pydantic import BaseModel, Field

from gateway.domain.regions import Region
from gateway.domain.vocabulary import Role


class UnitOut(BaseModel):
    id: str = Field(description="A head office's id is its institution's id.")
    institution_id: str
    name_fr: str
    name_ar: str
    head_office: bool
    regions: list[Region] = Field(description="The regions whose cases go to this unit (a head office takes the others).")


class InstitutionOut(BaseModel):
    id: str
    name_fr: str
    name_ar: str
    role: Role
    unit: UnitOut = Field(description="The unit whose certificate you connected with.")
