"""`gateway simulate`: IMR's and Al Omrane's sides, each alone as an institution's team would run it,
here against each other on one live gateway (mutual TLS, every receipt verified by the SDK)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.cli import main
from imr_alomrane_gateway_client.vocabulary import Role
from gateway.server import background_gateway
from gateway.simulator import material
from gateway.simulator.actor import Actor, Options, Summary
from gateway.simulator.scenarios import SCENARIOS, step
from gateway.simulator.sdk import GatewayClient
from tests.conftest import CHECKOUT_PYTHONPATH, UNLIMITED

pytestmark = pytest.mark.tls

# The messages each scenario leaves on its case, both sides playing it.
TIMELINES = {
    "quick-resolution": ["acknowledgement", "final_reply", "closure"],
    "information-loop": ["acknowledgement", "information_request", "information_response", "interim_reply", "final_reply", "closure"],
    "follow-up": ["acknowledgement", "final_reply", "follow_up", "final_reply", "closure"],
    "transfer": ["acknowledgement", "final_reply", "closure"],
    "documents": ["acknowledgement", "final_reply", "closure"],
    "out-of-order": ["acknowledgement", "final_reply", "closure"],
}
# Bounded (60 s at most, though a run takes a few), and as fast as the machine goes.
QUICK = {"duration": 60, "rate": 6000, "actions_per_second": 0, "poll_interval": 0.1, "counterpart": "al-omrane"}


@pytest.fixture
def gateway_url(settings):
    """A live gateway; without rate limits, as the simulators here poll ten times a second."""
    unlimited = settings.model_copy(update=UNLIMITED)
    with background_gateway(unlimited, create_app(unlimited)) as url:
        yield url


@dataclass
class Played:
    imr: Summary
    omrane: Summary
    lines: list[str]
    cases: dict  # reference → the case as IMR reads it at the end, with its timeline

    def scenario_of(self, reference: str) -> str:
        return reference.split("/")[-1]


def play(url: str, test_pki, count: int, imr_scenarios: list[str], omrane_scenarios: list[str]) -> Played:
    """Al Omrane's side first (it starts after its inbox's backlog), then IMR's, each with its own client."""
    watching, lines, omrane = threading.Event(), [], []

    def omrane_says(line: str) -> None:
        lines.append(line)
        watching.set()  # its first line comes once it is past the backlog

    directory = test_pki.dev.directory
    with (GatewayClient.from_pki_dir(url, "al-omrane", directory, **test_pki.trust) as respondent,
          GatewayClient.from_pki_dir(url, "imr", directory, **test_pki.trust) as mediator):
        omrane_side = Actor(respondent, Options(Role.RESPONDENT, omrane_scenarios, 3, count, **QUICK), omrane_says)
        side = threading.Thread(target=lambda: omrane.append(omrane_side.run()))
        side.start()
        assert watching.wait(10)
        imr_side = Actor(mediator, Options(Role.MEDIATOR, imr_scenarios, 3, count, **QUICK), lines.append)
        imr = imr_side.run()
        side.join(60)
        opened = [case for case in mediator.cases_page(limit=100).items if case.reference.startswith(f"SIM/{imr_side.run_tag}/")]
        return Played(imr, omrane[0], lines, {case.reference: mediator.get_case(case.id) for case in opened})


def timeline(case) -> list[str]:
    return [message.kind.value for message in case.messages]


def test_both_sides_play_every_scenario_to_its_end(gateway_url, test_pki):
    count = len(SCENARIOS)
    played = play(gateway_url, test_pki, count, list(SCENARIOS), list(SCENARIOS))
    imr, omrane = played.imr, played.omrane
    assert imr.ok and omrane.ok, imr.failures + omrane.failures
    assert (imr.cases, imr.closed, omrane.cases, omrane.closed) == (count,) * 4
    assert omrane.expected_refusals == 1 and any("refused as expected: 409 transition-refused" in line for line in played.lines)
    assert (imr.documents_sent, omrane.documents_received) == (4, 4)  # information-loop's 2, documents' 2
    assert (omrane.documents_sent, imr.documents_received) == (1, 1)
    assert imr.deliveries > 0 and omrane.deliveries > 0
    assert sorted(map(played.scenario_of, played.cases)) == sorted(SCENARIOS)
    for reference, case in played.cases.items():
        assert (case.status, timeline(case)) == ("closed", TIMELINES[played.scenario_of(reference)]), reference
    transferred = next(case for reference, case in played.cases.items() if played.scenario_of(reference) == "transfer")
    assert transferred.respondent_unit == "al-omrane"  # a regional company's case, handed to the head office
    assert not any(name in line for line in played.lines for names in material.NAMES.values() for name in names)


def test_a_side_answers_what_its_scenario_did_not_plan(gateway_url, test_pki):
    """IMR's side plays quick-resolution, Al Omrane's asks for information all the same: IMR answers it."""
    played = play(gateway_url, test_pki, 1, ["quick-resolution"], ["information-loop"])
    assert played.imr.ok and played.omrane.ok and played.imr.closed == 1
    [case] = played.cases.values()
    assert timeline(case) == TIMELINES["information-loop"]
    assert played.imr.actions["information_response"] == 1 and played.imr.documents_sent == 1


def test_a_refused_action_is_reported_and_fails_the_run(gateway_url, test_pki, capsys, tmp_path):
    """With the credentials and the gateway's keys given one by one, as outside the development set-up."""
    imr = test_pki.dev.clients["imr"]
    (tmp_path / "keys.json").write_text(json.dumps(test_pki.trust["receipt_keys"]))
    (tmp_path / "checkpoint.vkey").write_text(test_pki.trust["checkpoint_key"] + "\n")
    credentials = ["--ca", str(test_pki.dev.ca_cert), "--cert", str(imr.cert), "--key", str(imr.key), "--signing-key", str(imr.signing_key),
                   "--receipt-keys", str(tmp_path / "keys.json"), "--checkpoint-key", str(tmp_path / "checkpoint.vkey")]
    arguments = ["simulate", "--as", "imr", "--url", gateway_url, *credentials, "--count", "1", "--seed", "1",
                 "--counterpart", "al-omrane-typo", "--poll-interval", "0.1"]
    assert main(arguments) == 1
    out = capsys.readouterr().out
    assert "case opened" in out and "REFUSED 422 unknown-respondent" in out and "request id" in out
    assert "refused or failed otherwise: 1" in out and "FAILED: SIM/" in out


def test_ctrl_c_stops_cleanly_with_the_summary(gateway_url, test_pki):
    """No Al Omrane plays: IMR's side opens cases and waits on them until interrupted."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    env["PYTHONPATH"] = CHECKOUT_PYTHONPATH
    command = [sys.executable, "-m", "gateway.cli", "simulate", "--as", "imr", "--url", gateway_url, "--pki-dir",
               str(test_pki.dev.directory), "--trust-on-first-use", "--rate", "600", "--poll-interval", "0.1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]  # the banner, then the first case opened
        assert "case opened" in lines[1], lines
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, out
    assert "stopped by Ctrl-C" in out and "unfinished" in out and "Traceback" not in out


def test_the_wrong_credentials_for_the_side_are_a_usage_error(gateway_url, test_pki, capsys):
    assert main(["simulate", "--as", "al-omrane", "--url", gateway_url, "--pki-dir", str(test_pki.dev.directory), "--unit", "imr",
                 "--trust-on-first-use"]) == 2
    assert "not the respondent this side plays" in capsys.readouterr().err


def test_the_same_seed_plans_the_same_cases(capsys):
    def plan(seed: int) -> list[material.PlannedCase]:
        return list(itertools.islice(material.planned_cases(seed, list(SCENARIOS)), 20))

    assert plan(11) == plan(11) and plan(11) != plan(12)
    assert [planned.scenario for planned in plan(11)[:len(SCENARIOS)]] == list(SCENARIOS)
    assert len({planned.complaint for planned in plan(11)}) > 3  # subjects and regions vary
    assert main(["simulate", "--as", "imr", "--dry-run", "--seed", "11", "--count", "5"]) == 0
    first = capsys.readouterr().out
    assert main(["simulate", "--as", "imr", "--dry-run", "--seed", "11", "--count", "5"]) == 0
    assert capsys.readouterr().out == first and first.count("\n") == 6


def test_scenario_steps_stay_within_the_lifecycle():
    with pytest.raises(ValueError, match="cannot be sent from"):
        step("final_reply", when={"open"})
    assert step("final_reply", when={"open"}, expect="transition-refused").expect == "transition-refused"


def test_the_readme_describes_every_scenario():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| scenario | IMR's side | Al Omrane's side |")[1].split("\n\n")[0]
    assert [row.split("`")[1] for row in table.splitlines()[2:]] == list(SCENARIOS)
