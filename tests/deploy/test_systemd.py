"""deploy/systemd/gateway.service, checked by systemd's own tools (no systemd runs as PID 1 here):
`systemd-analyze verify` (every key known and well formed, the commands executable) and
`systemd-analyze security --offline` (its exposure score, from the sandboxing it asks for)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "gateway.service"
INSTALLED_GATEWAY = "/opt/imr-gateway/.venv/bin/gateway"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
EXPOSURE_THRESHOLD = 25  # tenths: systemd rates this unit 1.7 ("OK"); an unsandboxed service 9.6

pytestmark = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (scripts/system-packages installs Debian's systemd)")


def analyze(unit_text: str, directory: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The unit, its ExecStart the gateway installed here instead (verify wants an executable)."""
    unit = directory / "imr-gateway.service"
    unit.write_text(unit_text.replace(INSTALLED_GATEWAY, str(Path(sys.executable).with_name("gateway"))))
    return subprocess.run([SYSTEMD_ANALYZE, *arguments, str(unit)], capture_output=True, text=True, timeout=60)


def test_systemd_accepts_every_line_of_the_unit(tmp_path):
    text = UNIT.read_text()
    assert INSTALLED_GATEWAY in text
    result = analyze(text, tmp_path, "verify")
    assert (result.returncode, result.stderr) == (0, "")
    broken = analyze(text.replace("ProtectSystem=strict", "ProtectSystem=strictly"), tmp_path, "verify")
    assert "protect system value" in broken.stderr  # verify says so (and exits 0: hence the empty stderr above)


def test_the_unit_is_sandboxed_and_reloads_on_sighup(tmp_path):
    text = UNIT.read_text()
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/imr-gateway", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in text.splitlines(), line
    assert re.search(r"^User=(?!root)\S+$", text, re.MULTILINE) and re.search(r"^EnvironmentFile=/\S+$", text, re.MULTILINE)
    result = analyze(text, tmp_path, "security", "--offline=true", f"--threshold={EXPOSURE_THRESHOLD}")
    assert result.returncode == 0, result.stdout[-300:]
    assert analyze(text.replace("ProtectSystem=strict", "ProtectSystem=no").replace("NoNewPrivileges=yes", "")
                   .replace("CapabilityBoundingSet=\n", "").replace("SystemCallFilter=@system-service\n", ""),
                   tmp_path, "security", "--offline=true", f"--threshold={EXPOSURE_THRESHOLD}").returncode != 0
