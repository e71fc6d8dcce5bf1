"""The institution behind a request, as the rules see it."""

from dataclasses import dataclass

from gateway.domain.vocabulary import Role


@dataclass(frozen=True)
class Party:
    id: str
    role: Role
    name_fr: str
    name_ar: str
