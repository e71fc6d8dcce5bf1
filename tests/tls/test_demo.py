"""`gateway demo` is part of the suite: it must pass, on its own gateway and against a running one."""

from __future__ import annotations

import pytest

from gateway.app import create_app
from gateway.cli import main
from gateway.server import background_gateway

pytestmark = pytest.mark.tls


def test_the_demo_runs_its_own_gateway_and_passes(capsys, tmp_path):
    report = tmp_path / "report.html"
    assert main(["demo", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert out.count("→ closed") == 3 and "OK: 3 cases closed; 5 documents attached and downloaded intact" in out
    assert "تأخر تسليم شقة" in out and "Titre foncier non délivré" in out
    assert "routed by region casablanca-settat to al-omrane-casablanca-settat and imr-casablanca-settat" in out
    assert "al-omrane takes the case over from al-omrane-rabat-sale-kenitra" in out
    assert "al-omrane-marrakech-safi reminded at" in out and "s after the deadline" in out
    assert f"report: {report} (4 cases, 1 reminder(s)" in out and report.read_text().startswith("<!DOCTYPE html>")
    assert "thematic file Titres fonciers non délivrés" in out and "commitment (due " in out and "→ committed" in out
    assert "1 thematic file reviewed: 2 cases linked, its commitment fulfilled" in out


@pytest.fixture
def quick_reminders_gateway(settings):
    """A running gateway that looks for missed deadlines twice a second (the demo waits for one)."""
    quick = settings.model_copy(update={"reminder_interval_seconds": 0.5})
    with background_gateway(quick, create_app(quick)) as url:
        yield url


def test_the_demo_drives_a_running_gateway(quick_reminders_gateway, test_pki, capsys, tmp_path):
    arguments = ["demo", "--url", quick_reminders_gateway, "--pki", str(test_pki.dev.directory), "--report", str(tmp_path / "r.html")]
    assert main(arguments) == 0
    assert "OK: 3 cases closed" in capsys.readouterr().out


def test_the_demo_fails_loudly(capsys, tmp_path):
    assert main(["demo", "--url", "https://127.0.0.1:9", "--pki", str(tmp_path)]) == 1
    assert "DEMO FAILED" in capsys.readouterr().err
