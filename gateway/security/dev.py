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
