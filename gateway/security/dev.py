"""The development set-up `gateway serve` makes on a fresh checkout: a PKI and a matching registry.

Production brings its own certificates and registry file; this exists so that one command gives
a working, realistic gateway (mutual TLS included) with nothing prepared by hand.
"""

from __future__ import annotations

from pathlib import Path

from gateway.domain.vocabulary import Role
from gateway.security import pki
from gateway.security.registry import CertificateRef, RegisteredInstitution, RegisteredKey, Registry
from gateway.security.signing import public_jwk, thumbprint

DEV_PROFILES: dict[str, tuple[Role, str, str]] = {
    "imr": (Role.MEDIATOR, "Institution du Médiateur du Royaume", "مؤسسة وسيط المملكة"),
    "al-omrane": (Role.RESPONDENT, "Groupe Al Omrane", "مجموعة العمران"),
    "auditor": (Role.AUDITOR, "Commission d'audit des échanges", "لجنة تدقيق المبادلات"),
}


def signing_key_entry(path: Path) -> RegisteredKey:
    """The registry entry of a signing key; its kid is the RFC 7638 thumbprint."""
    public = public_jwk(pki.load_private_key(path).public_key())
    return RegisteredKey(kid=thumbprint(public), jwk=public)


def registry_entry(institution_id: str, role: Role, name_fr: str, name_ar: str, files: pki.ClientFiles) -> RegisteredInstitution:
    fingerprint = pki.certificate_fingerprint(pki.load_certificate(files.cert))
    return RegisteredInstitution(
        id=institution_id, name_fr=name_fr, name_ar=name_ar, role=role,
        certificates=[CertificateRef(sha256=fingerprint)], signing_keys=[signing_key_entry(files.signing_key)],
    )


def ensure_dev_setup(pki_dir: Path, registry_file: Path) -> tuple[pki.DevPki, bool]:
    """Create what is missing (PKI files, registry file); return the PKI and whether the registry was written."""
    dev = pki.init_dev_pki(pki_dir)
    if registry_file.exists():
        return dev, False
    entries = [
        registry_entry(name, role, name_fr, name_ar, dev.clients[name])
        for name, (role, name_fr, name_ar) in DEV_PROFILES.items()
    ]
    Registry(institutions=entries).write(registry_file)
    return dev, True


def register_certificate(registry_file: Path, institution_id: str, files: pki.ClientFiles) -> bool:
    """Add a (re-)issued certificate, and its signing key if new, to an institution already in the
    registry file, keeping the ones it had (a rollover: remove the old ones once they are unused).
    Returns False if the file does not list the institution. Takes effect at the gateway's restart."""
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
