"""Who is calling, and the units of the parties to the exchange."""

from pydantic import BaseModel, Field

from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import Role


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
