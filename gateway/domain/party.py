"""Who is behind a request, as the rules see it: a unit of an institution.

Every institution has a head office, whose unit id is the institution's own id, and may have
regional units (Al Omrane's regional companies, IMR's regional delegations). A regional unit acts
on its own cases; its head office acts on all of its institution's cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import Role


@dataclass(frozen=True)
class Unit:
    id: str
    institution_id: str
    name_fr: str
    name_ar: str
    regions: frozenset[Region]  # what a regional unit serves; a head office serves the rest
    head_office: bool

    def holds(self, institution_id: str, unit_id: str) -> bool:
        """Whether this unit acts on what belongs to `unit_id` of `institution_id`."""
        return self.institution_id == institution_id and (self.head_office or self.id == unit_id)


@dataclass(frozen=True)
class Party:
    id: str  # the institution
    role: Role
    name_fr: str
    name_ar: str
    unit: Unit

    @property
    def unit_id(self) -> str:
        return self.unit.id
