"""The SDK installs on its own: `pip install ./clients/python` in a clean virtual environment
brings its declared dependencies only (none of the server's), and the client imports and works
there without anything of the gateway's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"
SERVER_ONLY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "filetype", "gateway")

CHECK = """
import importlib.util, json, sys
from imr_alomrane_gateway_client import GatewayClient, TrustRoots
from imr_alomrane_gateway_client.contract.cases import CaseCreate
from imr_alomrane_gateway_client.ledger import merkle
leaf = merkle.leaf_hash(b"entry")
merkle.verify_inclusion(leaf, 0, 1, [], leaf)
TrustRoots("gateway", trust_on_first_use=True)
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules}),
                  "installable": [m for m in sys.argv[1:] if importlib.util.find_spec(m)]}))
"""


def test_no_module_of_the_sdk_imports_anything_of_the_server():
    """Fast, in this venv (which has the server's packages): every module of the SDK loaded, none of theirs."""
    every_module = "import pkgutil, importlib, imr_alomrane_gateway_client as sdk\n" \
        "for m in pkgutil.walk_packages(sdk.__path__, 'imr_alomrane_gateway_client.'): importlib.import_module(m.name)\n"
    shown = subprocess.run([sys.executable, "-c", every_module + CHECK, *SERVER_ONLY], check=True, timeout=120, capture_output=True,
                           text=True, cwd=CLIENT, env={"PYTHONPATH": str(CLIENT / "src")})
    assert not set(SERVER_ONLY) & set(json.loads(shown.stdout)["loaded"])


@pytest.mark.slow  # about 40 s: pip resolves and fetches the dependencies from the package index
def test_pip_installs_the_sdk_alone_in_a_clean_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(CLIENT)],
                               timeout=600, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    shown = subprocess.run([str(python), "-c", CHECK, *SERVER_ONLY], check=True, timeout=120, capture_output=True, text=True,
                           cwd=tmp_path, env={"PATH": str(venv / "bin")})  # no PYTHONPATH: only what was installed
    report = json.loads(shown.stdout)
    assert report["installable"] == [] and not set(SERVER_ONLY) & set(report["loaded"])
    assert {"httpx", "pydantic", "cryptography", "jose"} <= set(report["loaded"])
