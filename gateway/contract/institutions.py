"""Who is calling."""

from pydantic import BaseModel

from gateway.domain.vocabulary import Role


class InstitutionOut(BaseModel):
    id: str
    name_fr: str
    name_ar: str
    role: Role
