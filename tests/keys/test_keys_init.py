"""`gateway keys init`: the production keys, owner-only from their first byte, never overwritten,
and their public parts printed exactly as the gateway then publishes them."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from gateway.config import Settings
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from gateway.security.encryption import MasterKey
from imr_alomrane_gateway_client.signers import load_private_key
from imr_alomrane_gateway_client.signing import CompactJws, keys_from_jwks, public_jwk, thumbprint, verify_receipt
from tests.conftest import institution_client
from tests.factories import case_payload

GATEWAY = "imr-alomrane-gateway"
FILES = ("gateway-signing.key", "gateway-checkpoint.key", "master.key")


@pytest.fixture(autouse=True)
def no_settings_around(monkeypatch, tmp_path):
    """Only the defaults: no GATEWAY_* from the environment, no `.env` from the working directory."""
    for name in [name for name in os.environ if name.startswith("GATEWAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def keys_init(directory: Path, capsys) -> tuple[int, str, str]:
    status = main(["keys", "init", "--dir", str(directory)])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def printed_parts(out: str) -> tuple[dict, str, dict[str, str]]:
    """The JWK line, the verifier key line and the settings lines of keys init's output."""
    lines = [line.strip() for line in out.splitlines()]
    [jwk] = [json.loads(line) for line in lines if line.startswith("{")]
    [vkey] = [line for line in lines if line.startswith(f"{GATEWAY}/ledger+")]
    settings = dict(line.split("=", 1) for line in lines if line.startswith("GATEWAY_"))
    return jwk, vkey, settings


def test_keys_init_writes_three_owner_only_keys_of_the_right_kinds_and_prints_their_public_parts(tmp_path, capsys):
    directory = tmp_path / "etc" / "gateway"  # its parent is missing too
    status, out, err = keys_init(directory, capsys)
    assert (status, err) == (0, "")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(path.name for path in directory.iterdir()) == sorted(FILES)  # no temporary file left behind
    assert {stat.S_IMODE((directory / name).stat().st_mode) for name in FILES} == {0o600}
    signing, checkpoint = load_private_key(directory / FILES[0]), load_private_key(directory / FILES[1])
    assert isinstance(signing, ec.EllipticCurvePrivateKey) and isinstance(signing.curve, ec.SECP256R1)
    assert isinstance(checkpoint, ed25519.Ed25519PrivateKey)
    master = MasterKey.from_text((directory / FILES[2]).read_text())

    jwk, vkey, settings = printed_parts(out)
    public = public_jwk(signing.public_key())
    assert jwk == {**public, "kid": thumbprint(public), "use": "sig", "alg": "ES256", "owner": GATEWAY}
    verifier = NoteVerifier.from_key_string(vkey)
    raw = checkpoint.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verifier.name == f"{GATEWAY}/ledger" and verifier.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw) == raw
    assert settings == {
        "GATEWAY_SIGNING_KEY": str(directory / FILES[0]), "GATEWAY_CHECKPOINT_KEY": str(directory / FILES[1]),
        "GATEWAY_MASTER_KEY_FILE": str(directory / FILES[2]),
    }
    assert master.id in out
    private_parts = [
        *((directory / name).read_text().strip() for name in FILES),
        *(line for name in FILES[:2] for line in (directory / name).read_text().splitlines() if "-----" not in line),
        base64.urlsafe_b64encode(signing.private_numbers().private_value.to_bytes(32, "big")).rstrip(b"=").decode(),  # JWK `d`
        base64.b64encode(master.key).decode(),
    ]
    assert not [part for part in private_parts if part in out]


def test_keys_init_refuses_if_any_key_is_there_and_writes_nothing(tmp_path, capsys):
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    (directory / "master.key").write_text("the old master key: its data keys depend on it\n")
    status, out, err = keys_init(directory, capsys)
    assert status == 1 and out == ""
    [line] = err.splitlines()
    assert str(directory / "master.key") in line and "nothing was written" in line
    assert [path.name for path in directory.iterdir()] == ["master.key"]
    assert (directory / "master.key").read_text().startswith("the old master key")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755  # a directory it did not create is left as it was

    again = tmp_path / "again"
    assert keys_init(again, capsys)[0] == 0
    before = {name: (again / name).read_bytes() for name in FILES}
    status, _, err = keys_init(again, capsys)
    assert status == 1 and all(str(again / name) in err for name in FILES)
    assert {name: (again / name).read_bytes() for name in FILES} == before


def test_the_gateway_runs_on_the_printed_keys_and_publishes_the_printed_kid(tmp_path, capsys, database_url, test_pki, registry_file,
                                                                             engine_sql):
    _, out, _ = keys_init(tmp_path / "keys", capsys)
    jwk, vkey, env = printed_parts(out)
    settings = Settings(
        database_url=database_url, pki_dir=test_pki.dev.directory, registry_file=registry_file, blob_dir=tmp_path / "blobs",
        signing_key=env["GATEWAY_SIGNING_KEY"], checkpoint_key=env["GATEWAY_CHECKPOINT_KEY"],
        master_key_file=env["GATEWAY_MASTER_KEY_FILE"], _env_file=None,
    )
    app = create_app(settings)
    with TestClient(app):
        imr = institution_client(app, test_pki, "imr")
        jwks = imr.get("/.well-known/jwks.json").json()
        assert jwk in jwks["keys"]
        assert [key["note_key"] for key in jwks["keys"] if key.get("purpose") == "ledger-checkpoints"] == [vkey]
        created = imr.post("/v1/cases", json=case_payload())
        assert created.status_code == 201, created.text
        receipt = created.headers["receipt"]
        assert CompactJws.parse(receipt).header["kid"] == jwk["kid"]
        assert verify_receipt(receipt, keys_from_jwks(jwks), GATEWAY)["case"] == created.json()["id"]
        assert imr.get("/v1/ledger/key").json()["note_key"] == vkey
    master_id = MasterKey.from_text(Path(env["GATEWAY_MASTER_KEY_FILE"]).read_text()).id
    assert engine_sql("SELECT master_key_id FROM case_keys").scalars().all() == [master_id]
