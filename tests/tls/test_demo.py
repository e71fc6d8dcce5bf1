"""`gateway demo` is part of the suite: it must pass, on its own gateway and against a running one."""

from __future__ import annotations

import pytest

from gateway.cli import main

pytestmark = pytest.mark.tls


def test_the_demo_runs_its_own_gateway_and_passes(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("→ closed") == 3 and "OK: 3 cases closed; 5 documents attached and downloaded intact" in out
    assert "تأخر تسليم شقة" in out and "Titre foncier non délivré" in out
    assert "thematic file Titres fonciers non délivrés" in out and "commitment (due " in out and "→ committed" in out
    assert "1 thematic file reviewed: 2 cases linked, its commitment fulfilled" in out


def test_the_demo_drives_a_running_gateway(tls_gateway, test_pki, capsys):
    assert main(["demo", "--url", tls_gateway.url, "--pki", str(test_pki.dev.directory)]) == 0
    assert "OK: 3 cases closed" in capsys.readouterr().out


def test_the_demo_fails_loudly(capsys, tmp_path):
    assert main(["demo", "--url", "https://127.0.0.1:9", "--pki", str(tmp_path)]) == 1
    assert "DEMO FAILED" in capsys.readouterr().err
