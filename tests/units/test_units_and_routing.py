"""Units: who is calling, who takes part, and where a new case goes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from imr_alomrane_gateway_client.regions import NAMES, Region, region_named
from gateway.security.registry import Registry
from tests.factories import case_payload

CASA = "al-omrane-casablanca-settat"
RABAT = "al-omrane-rabat-sale-kenitra"
MARRAKECH = "al-omrane-marrakech-safi"
IMR_CASA = "imr-casablanca-settat"


def _open(imr, region: str, **overrides):
    payload = case_payload(project={"name": "Al Amal – الأمل", "city": "Ville", "region": region}, **overrides)
    return imr.post("/v1/cases", json=payload)


def test_me_names_the_institution_and_the_unit_of_the_certificate(client_for):
    head = client_for("al-omrane").get("/v1/me").json()
    assert head["id"] == "al-omrane" and head["unit"] == {
        "id": "al-omrane", "institution_id": "al-omrane", "name_fr": "Groupe Al Omrane", "name_ar": "مجموعة العمران",
        "head_office": True, "regions": [],
    }
    regional = client_for(CASA).get("/v1/me").json()
    assert (regional["id"], regional["role"]) == ("al-omrane", "respondent")
    assert regional["unit"] == {"id": CASA, "institution_id": "al-omrane", "name_fr": "Al Omrane Casablanca-Settat",
                                "name_ar": "العمران الدار البيضاء سطات", "head_office": False, "regions": ["casablanca-settat"]}


def test_units_lists_the_units_of_the_parties_you_deal_with(client_for):
    seen_by_imr = {unit["id"] for unit in client_for(IMR_CASA).get("/v1/units").json()}
    assert seen_by_imr == {"imr", IMR_CASA, "al-omrane", CASA, RABAT, MARRAKECH, "ac-casa"}  # not the auditor
    seen_by_omrane = {unit["id"] for unit in client_for(RABAT).get("/v1/units").json()}
    assert seen_by_omrane == {"al-omrane", CASA, RABAT, MARRAKECH, "imr", IMR_CASA}  # not another respondent
    assert {unit["id"] for unit in client_for("auditor").get("/v1/units").json()} >= seen_by_imr | {"auditor"}


@pytest.mark.parametrize(("region", "respondent_unit", "mediator_unit"), [
    ("casablanca-settat", CASA, IMR_CASA),
    ("rabat-sale-kenitra", RABAT, "imr"),
    ("souss-massa", MARRAKECH, "imr"),  # one unit may serve several regions
    ("draa-tafilalet", "al-omrane", "imr"),  # no unit serves it: the head offices
])
def test_a_case_is_routed_by_its_project_region(imr, region, respondent_unit, mediator_unit):
    case = _open(imr, region).json()
    assert (case["respondent_unit"], case["mediator_unit"], case["region"]) == (respondent_unit, mediator_unit, region)
    assert case["project"]["region"] == region


def test_units_named_when_opening_override_the_routing(imr):
    case = _open(imr, "casablanca-settat", respondent_unit=MARRAKECH, mediator_unit="imr").json()
    assert (case["respondent_unit"], case["mediator_unit"]) == (MARRAKECH, "imr")


@pytest.mark.parametrize(("field", "value"), [
    ("respondent_unit", "al-omrane-nowhere"), ("respondent_unit", IMR_CASA), ("respondent_unit", "imr"),
    ("mediator_unit", CASA), ("mediator_unit", "ac-casa"),
])
def test_a_unit_of_another_institution_or_none_is_refused(imr, field, value):
    response = _open(imr, "casablanca-settat", **{field: value})
    assert response.status_code == 422 and response.json()["type"].endswith("/unknown-unit")
    assert response.json()["errors"][0]["pointer"] == f"#/{field}"


def test_a_regional_delegation_opens_cases_for_itself(client_for):
    delegation = client_for(IMR_CASA)
    case = _open(delegation, "rabat-sale-kenitra").json()
    assert (case["mediator_unit"], case["respondent_unit"]) == (IMR_CASA, RABAT)
    refused = _open(delegation, "rabat-sale-kenitra", mediator_unit="imr")
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#/mediator_unit"


def test_a_region_outside_the_closed_list_is_refused(imr):
    response = _open(imr, "Casablanca-Settat")
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "#/project/region"


def test_region_names_written_before_the_list_are_recognised_in_french_arabic_or_as_codes():
    for region, names in NAMES.items():
        for spelling in (region.value, names.fr, names.ar, names.fr.upper(), names.fr.replace("-", " - ")):
            assert region_named(spelling) is region, spelling
    assert region_named("الدار البيضاء - سطات") is Region.CASABLANCA_SETTAT
    assert region_named("Oriental") is Region.ORIENTAL
    assert region_named("Paris") is None and region_named("") is None
    assert len(Region) == 12


def _registry(**unit_overrides) -> dict:
    certificate = {"sha256": "a" * 64}
    unit = {"id": "ao-casa", "name_fr": "AO Casa", "name_ar": "ع", "regions": ["casablanca-settat"],
            "certificates": [{"sha256": "b" * 64}], **unit_overrides}
    return {"institutions": [{"id": "ao", "name_fr": "AO", "name_ar": "ع", "role": "respondent", "certificates": [certificate],
                              "units": [unit]}]}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"id": "ao"}, "ids must be unique"),
    ({"certificates": [{"sha256": "a" * 64}]}, "one unit only"),
    ({"regions": []}, "at least 1 item"),
    ({"regions": ["atlantis"]}, "Input should be"),
])
def test_the_registry_refuses_ambiguous_units(overrides, message):
    with pytest.raises(ValidationError, match=message):
        Registry.model_validate(_registry(**overrides))


def test_the_registry_refuses_two_units_serving_one_region():
    registry = _registry()
    registry["institutions"][0]["units"].append({"id": "ao-casa-2", "name_fr": "x", "name_ar": "ع", "regions": ["casablanca-settat"],
                                                 "certificates": [{"sha256": "c" * 64}]})
    with pytest.raises(ValidationError, match="casablanca-settat by several"):
        Registry.model_validate(registry)
