"""Morocco's twelve regions (the 2015 territorial division): the closed vocabulary a project's
region and a unit's area are written in. Codes are stable identifiers; names are for people."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Region(StrEnum):
    TANGER_TETOUAN_AL_HOCEIMA = "tanger-tetouan-al-hoceima"
    ORIENTAL = "oriental"
    FES_MEKNES = "fes-meknes"
    RABAT_SALE_KENITRA = "rabat-sale-kenitra"
    BENI_MELLAL_KHENIFRA = "beni-mellal-khenifra"
    CASABLANCA_SETTAT = "casablanca-settat"
    MARRAKECH_SAFI = "marrakech-safi"
    DRAA_TAFILALET = "draa-tafilalet"
    SOUSS_MASSA = "souss-massa"
    GUELMIM_OUED_NOUN = "guelmim-oued-noun"
    LAAYOUNE_SAKIA_EL_HAMRA = "laayoune-sakia-el-hamra"
    DAKHLA_OUED_ED_DAHAB = "dakhla-oued-ed-dahab"


@dataclass(frozen=True)
class RegionNames:
    fr: str
    ar: str


NAMES: dict[Region, RegionNames] = {
    Region.TANGER_TETOUAN_AL_HOCEIMA: RegionNames("Tanger-Tétouan-Al Hoceïma", "طنجة تطوان الحسيمة"),
    Region.ORIENTAL: RegionNames("L'Oriental", "الشرق"),
    Region.FES_MEKNES: RegionNames("Fès-Meknès", "فاس مكناس"),
    Region.RABAT_SALE_KENITRA: RegionNames("Rabat-Salé-Kénitra", "الرباط سلا القنيطرة"),
    Region.BENI_MELLAL_KHENIFRA: RegionNames("Béni Mellal-Khénifra", "بني ملال خنيفرة"),
    Region.CASABLANCA_SETTAT: RegionNames("Casablanca-Settat", "الدار البيضاء سطات"),
    Region.MARRAKECH_SAFI: RegionNames("Marrakech-Safi", "مراكش آسفي"),
    Region.DRAA_TAFILALET: RegionNames("Drâa-Tafilalet", "درعة تافيلالت"),
    Region.SOUSS_MASSA: RegionNames("Souss-Massa", "سوس ماسة"),
    Region.GUELMIM_OUED_NOUN: RegionNames("Guelmim-Oued Noun", "كلميم واد نون"),
    Region.LAAYOUNE_SAKIA_EL_HAMRA: RegionNames("Laâyoune-Sakia El Hamra", "العيون الساقية الحمراء"),
    Region.DAKHLA_OUED_ED_DAHAB: RegionNames("Dakhla-Oued Ed-Dahab", "الداخلة وادي الذهب"),
}


def _folded(name: str) -> str:
    """Case, accents, apostrophes, hyphens and spaces aside: "Fès - Meknès" and "fes-meknes" agree."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c.isalnum())


_OTHER_SPELLINGS = {Region.ORIENTAL: ("Oriental", "الجهة الشرقية")}


_BY_NAME: dict[str, Region] = {
    _folded(spelling): region
    for region, names in NAMES.items()
    for spelling in (region.value, names.fr, names.ar, *_OTHER_SPELLINGS.get(region, ()))
}


def region_named(name: str) -> Region | None:
    """The region a name written before regions were a closed list means, if it is one of theirs
    (a code, or a French or Arabic name, however spaced or accented); used by migration 0009."""
    return _BY_NAME.get(_folded(name))
