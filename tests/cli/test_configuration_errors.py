"""A set-up the gateway cannot run with: whichever command meets it, one line on stderr naming the
setting by its environment variable and what to provision (not the development command), exit
status 2, no traceback. The set-up is a production one: TLS files given, so nothing is generated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.security.dev import ensure_dev_setup
from tests.conftest import CHECKOUT_PYTHONPATH

GATEWAY = [sys.executable, "-m", "gateway.cli"]
ROOT = Path(__file__).resolve().parents[2]
SECRET_LOOKING = "c2VjcmV0LW1hc3Rlci1rZXk"  # base64 of 17 bytes: not a master key, and never to be echoed


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("production")
    ensure_dev_setup(root / "pki", root / "registry.json")
    (root / "not-json.json").write_text("{institutions: none")
    # A real key's PEM armour around a body that is no key ("not a key", base64).
    armour = (root / "pki" / "gateway-checkpoint.key").read_text().splitlines()
    (root / "corrupt.key").write_text(f"{armour[0]}\nbm90IGEga2V5\n{armour[-1]}\n")
    return root


def production_env(root: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "GATEWAY_PKI_DIR": str(root / "pki"), "GATEWAY_REGISTRY_FILE": str(root / "registry.json"),
        "GATEWAY_TLS_CERT": str(root / "pki" / "server.pem"), "GATEWAY_TLS_KEY": str(root / "pki" / "server.key"),
        "GATEWAY_DATABASE_URL": f"sqlite:///{root / 'gateway.db'}", "GATEWAY_BLOB_DIR": str(root / "blobs"),
        # Off: the cases run side by side, and would otherwise race for the one operations (and public) port.
        "GATEWAY_OPS_PORT": "0", "GATEWAY_PUBLIC_PORT": "0",
    }
    return env | {name: value.format(root=root) for name, value in overrides.items()}


CASES = {
    "master key file missing": (["serve"], {"GATEWAY_MASTER_KEY_FILE": "{root}/nowhere/master.key"}, "GATEWAY_MASTER_KEY_FILE"),
    "master key not a key": (["serve"], {"GATEWAY_MASTER_KEY": SECRET_LOOKING}, "GATEWAY_MASTER_KEY"),
    "registry missing": (["serve"], {"GATEWAY_REGISTRY_FILE": "{root}/nowhere.json"}, "GATEWAY_REGISTRY_FILE"),
    "registry not JSON": (["serve"], {"GATEWAY_REGISTRY_FILE": "{root}/not-json.json"}, "GATEWAY_REGISTRY_FILE"),
    "signing key missing": (["serve"], {"GATEWAY_SIGNING_KEY": "{root}/nowhere.key"}, "GATEWAY_SIGNING_KEY"),
    "signing key of the wrong kind": (["serve"], {"GATEWAY_SIGNING_KEY": "{root}/pki/gateway-checkpoint.key"}, "GATEWAY_SIGNING_KEY"),
    # Unreadable keys: the tests run as root, who reads a mode-000 file, so a directory stands in for one.
    "signing key unreadable": (["serve"], {"GATEWAY_SIGNING_KEY": "{root}/pki"}, "GATEWAY_SIGNING_KEY"),
    "checkpoint key missing": (["serve"], {"GATEWAY_CHECKPOINT_KEY": "{root}/nowhere.key"}, "GATEWAY_CHECKPOINT_KEY"),
    "checkpoint key corrupt": (["serve"], {"GATEWAY_CHECKPOINT_KEY": "{root}/corrupt.key"}, "GATEWAY_CHECKPOINT_KEY"),
    "master key file unreadable": (["serve"], {"GATEWAY_MASTER_KEY_FILE": "{root}/pki"}, "GATEWAY_MASTER_KEY_FILE"),
    "server key not the certificate's": (["serve"], {"GATEWAY_TLS_KEY": "{root}/pki/imr.key"}, "GATEWAY_TLS_CERT / GATEWAY_TLS_KEY"),
    "client CA missing": (["serve"], {"GATEWAY_CLIENT_CA": "{root}/nowhere.pem"}, "GATEWAY_CLIENT_CA"),
    "proxy mode without proxies": (["serve"], {"GATEWAY_TRUST_PROXY_CLIENT_CERT": "true"}, "GATEWAY_TRUST_PROXY_CLIENT_CERT"),
    "a proxy that is no address": (["serve"], {"GATEWAY_TRUSTED_PROXIES": "proxy.internal"}, "GATEWAY_TRUSTED_PROXIES"),
    "an operations address not of this machine": (["serve"], {"GATEWAY_OPS_HOST": "192.0.2.1", "GATEWAY_OPS_PORT": "9180"}, "GATEWAY_OPS_HOST / GATEWAY_OPS_PORT"),
    "ledger key without its key": (["ledger", "key"], {"GATEWAY_CHECKPOINT_KEY": "{root}/nowhere.key"}, "GATEWAY_CHECKPOINT_KEY"),
    "rotation without the master key": (["master-key", "rotate"], {"GATEWAY_MASTER_KEY_FILE": "{root}/nowhere.key"}, "GATEWAY_MASTER_KEY_FILE"),
    "any command, invalid settings": (["blobs", "collect", "--dry-run"], {"GATEWAY_PORT": "https"}, "GATEWAY_PORT"),
    "a database URL that does not parse": (["serve"], {"GATEWAY_DATABASE_URL": "postgres ql://gateway:" + SECRET_LOOKING + "@db"}, "GATEWAY_DATABASE_URL"),
    "a database driver not installed": (["migrate"], {"GATEWAY_DATABASE_URL": "oracle+nodriver://gateway:" + SECRET_LOOKING + "@db/x"}, "GATEWAY_DATABASE_URL"),
    "no database at that address": (["serve"], {"GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway:" + SECRET_LOOKING + "@127.0.0.1:9/x?connect_timeout=2"}, "GATEWAY_DATABASE_URL"),
}


# With both gateway keys in the SoftHSM2 token (tests/conftest.py), these settings changed. Only a
# fresh process shows a PIN refused: PKCS#11 logs a process in once (tests/keys/test_pkcs11.py has the rest).
HSM_CASES = {
    "a PIN the token refuses": (["serve"], {"pkcs11_pin": SECRET_LOOKING}, "GATEWAY_PKCS11_PIN"),
}


@pytest.fixture(scope="module")
def outcomes(provisioned, softhsm) -> dict[str, subprocess.CompletedProcess]:
    """Every case's command, run side by side, each a process of its own forked from one that
    imported the gateway once (tests/cli/forked.py): a fresh interpreter each spent a second or so
    on its imports."""
    environments = {case: production_env(provisioned, **overrides) for case, (_, overrides, _) in CASES.items()}
    environments |= {case: production_env(provisioned) | softhsm.env(**overrides) for case, (_, overrides, _) in HSM_CASES.items()}
    cases = CASES | HSM_CASES
    commands = [{"argv": command, "env": environments[case], "cwd": str(provisioned)} for case, (command, _, _) in cases.items()]
    runner = subprocess.run([sys.executable, "-m", "tests.cli.forked"], input=json.dumps(commands), capture_output=True, text=True,
                            cwd=ROOT, env=production_env(provisioned), timeout=120, check=True)
    return {case: subprocess.CompletedProcess([*GATEWAY, *cases[case][0]], **outcome)
            for case, outcome in zip(cases, json.loads(runner.stdout), strict=True)}


@pytest.mark.parametrize("case", CASES | HSM_CASES)
def test_a_configuration_error_is_one_line_naming_the_setting_and_exit_2(provisioned, outcomes, case):
    result, setting = outcomes[case], (CASES | HSM_CASES)[case][2]
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"gateway: configuration error: {setting}: "), line
    assert "pki init" not in line and ("provision" in line or "set a valid value" in line), line
    assert SECRET_LOOKING not in line
    assert not (provisioned / "gateway.db").exists()  # found before the database was touched
