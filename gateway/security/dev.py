"""The development set-up `gateway serve` makes on a fresh checkout: a PKI and a matching registry.

Production brings its own certificates and registry file; this exists so that one command gives
a working, realistic gateway (mutual TLS included) with nothing prepared by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from collections.abc import Mapping

from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import Role
from gateway.security import pki
from imr_alomrane_gateway_client.signers import load_private_key
from gateway.security.keys import gateway_key, key_file
from gateway.security.registry import CertificateRef, RegisteredInstitution, RegisteredKey, RegisteredUnit, Registry
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from imr_alomrane_gateway_client.signers import ES256
from imr_alomrane_gateway_client.signing import public_jwk, thumbprint

if TYPE_CHECKING:
    from gateway.config import Settings

DEV_PROFILES: dict[str, tuple[Role, str, str]] = {
    "imr": (Role.MEDIATOR, "Institution du Médiateur du Royaume", "مؤسسة وسيط المملكة"),
    "al-omrane": (Role.RESPONDENT, "Groupe Al Omrane", "مجموعة العمران"),
    "auditor": (Role.AUDITOR, "Commission d'audit des échanges", "لجنة تدقيق المبادلات"),
}


# Regional units: (id, French name, Arabic name, regions served); their certificates are issued
# with the institutions' (gateway.security.pki.DEV_INSTITUTIONS).
DEV_UNITS: dict[str, tuple[tuple[str, str, str, tuple[Region, ...]], ...]] = {
    "imr": (
        ("imr-casablanca-settat", "Délégation régionale du Médiateur – Casablanca-Settat", "المندوبية الجهوية لوسيط المملكة – الدار البيضاء سطات",
         (Region.CASABLANCA_SETTAT,)),
    ),
    "al-omrane": (
        ("al-omrane-casablanca-settat", "Al Omrane Casablanca-Settat", "العمران الدار البيضاء سطات", (Region.CASABLANCA_SETTAT,)),
        ("al-omrane-rabat-sale-kenitra", "Al Omrane Rabat-Salé-Kénitra", "العمران الرباط سلا القنيطرة", (Region.RABAT_SALE_KENITRA,)),
        ("al-omrane-marrakech-safi", "Al Omrane Marrakech-Safi", "العمران مراكش آسفي", (Region.MARRAKECH_SAFI, Region.SOUSS_MASSA)),
    ),
}


def signing_key_entry(path: Path) -> RegisteredKey:
    """The registry entry of a signing key; its kid is the RFC 7638 thumbprint."""
    public = public_jwk(load_private_key(path).public_key())
    return RegisteredKey(kid=thumbprint(public), jwk=public)


def _credentials(files: pki.ClientFiles) -> dict:
    fingerprint = pki.certificate_fingerprint(pki.load_certificate(files.cert))
    return {"certificates": [CertificateRef(sha256=fingerprint)], "signing_keys": [signing_key_entry(files.signing_key)]}


def registry_entry(institution_id: str, role: Role, name_fr: str, name_ar: str, files: pki.ClientFiles,
                   units: Mapping[str, pki.ClientFiles] | None = None) -> RegisteredInstitution:
    """An institution's entry; its regional units (DEV_UNITS) are listed when their files are given."""
    regional = [
        RegisteredUnit(id=unit_id, name_fr=unit_fr, name_ar=unit_ar, regions=list(regions), **_credentials(units[unit_id]))
        for unit_id, unit_fr, unit_ar, regions in DEV_UNITS.get(institution_id, ()) if units and unit_id in units
    ]
    return RegisteredInstitution(id=institution_id, name_fr=name_fr, name_ar=name_ar, role=role, units=regional, **_credentials(files))


def dev_registry(clients: Mapping[str, pki.ClientFiles]) -> list[RegisteredInstitution]:
    """The development institutions, each with its regional units."""
    return [registry_entry(name, *profile, clients[name], clients) for name, profile in DEV_PROFILES.items()]


def ensure_dev_setup(pki_dir: Path, registry_file: Path) -> tuple[pki.DevPki, bool]:
    """Create what is missing (PKI files, registry file); return the PKI and whether the registry was written."""
    dev = pki.init_dev_pki(pki_dir)
    if registry_file.exists():
        return dev, False
    Registry(institutions=dev_registry(dev.clients)).write(registry_file)
    return dev, True


def register_certificate(registry_file: Path, institution_id: str, files: pki.ClientFiles) -> bool:
    """Add a (re-)issued certificate, and its signing key if new, to an institution already in the
    registry file, keeping the ones it had (a rollover: remove the old ones once they are unused).
    Returns False if the file does not list the institution. In force once applied (`gateway registry apply`)."""
    registry = Registry.load(registry_file)
    fingerprint = CertificateRef(sha256=pki.certificate_fingerprint(pki.load_certificate(files.cert)))
    key = signing_key_entry(files.signing_key)
    updated, found = [], False
    for institution in registry.institutions:
        if institution.id == institution_id:
            found = True
            known_kids = {existing.kid for existing in institution.signing_keys}
            institution = institution.model_copy(update={
                "certificates": [*institution.certificates, *([fingerprint] if fingerprint not in institution.certificates else [])],
                "signing_keys": [*institution.signing_keys, *([key] if key.kid not in known_kids else [])],
            })
        updated.append(institution)
    if found:
        Registry(institutions=updated).write(registry_file)
    return found


def trust_roots(settings: Settings) -> dict[str, Any]:
    """What a client of this gateway pins (the SDK's `receipt_keys=` and `checkpoint_key=`), read
    from the gateway's own key files as its operators would publish them: for the demo, the
    benchmarks and the tests, whose clients run beside the gateway."""
    _, receipts = gateway_key(key_file(settings.signing_key_path, ES256), settings.gateway_id)
    checkpoint = NoteVerifier(settings.origin, load_private_key(settings.checkpoint_key_path).public_key())
    return {"receipt_keys": {"keys": [receipts.published()]}, "checkpoint_key": checkpoint.key_string}
