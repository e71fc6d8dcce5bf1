"""Reminders exactly once with three gateway processes sweeping the same PostgreSQL database at
once (each every 0.1 s), and cron's `gateway reminders run` racing them."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import case_payload
from tests.faults.conftest import GATEWAY, gateway_env, institution_http, requires_postgres
from tests.faults.invariants import check, describe

pytestmark = [requires_postgres, pytest.mark.tls]

CASES = 12
CASABLANCA = {"name": "Résidence Al Wifaq", "city": "Berrechid", "region": "casablanca-settat"}


def test_three_processes_and_cron_send_each_reminder_exactly_once(start_gateways, settings, test_pki, engine_sql, database_url):
    gateways = start_gateways(3, GATEWAY_REMINDER_INTERVAL_SECONDS="0.1")
    with institution_http(gateways[0].url, test_pki, "imr") as imr:
        cases = [imr.post("/v1/cases", json=case_payload(project=CASABLANCA)).json()["id"] for _ in range(CASES)]
    now = datetime.now(UTC)
    escalated = cases[: CASES // 2]  # missed long enough ago to be escalated too
    for case_id in cases:
        engine_sql("UPDATE cases SET deadline = :at WHERE id = :id", id=case_id,
                   at=now - timedelta(days=settings.escalation_days + 1 if case_id in escalated else 1))
    with ThreadPoolExecutor(3) as pool:  # cron, three times at once, while the processes sweep
        runs = list(pool.map(lambda _: subprocess.run([*GATEWAY, "reminders", "run"], env=gateway_env(settings),
                                                       capture_output=True, text=True, timeout=120), range(3)))
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    expected = CASES + len(escalated)
    give_up = time.monotonic() + 30
    while engine_sql("SELECT count(*) FROM reminders").scalar() < expected and time.monotonic() < give_up:
        time.sleep(0.1)
    time.sleep(1)  # a few more sweeps by every process: nothing more may be sent
    sent = Counter(engine_sql("SELECT case_id, step FROM reminders").all())
    entries = Counter(engine_sql("SELECT case_id, detail FROM ledger_entries WHERE kind = 'reminder_sent'").all())
    events = engine_sql("SELECT count(*) FROM inbox_events WHERE kind = 'reminder'").scalar()
    assert sent == entries == Counter({**{(c, "due"): 1 for c in cases}, **{(c, "escalated"): 1 for c in escalated}})
    assert events == expected
    assert all(not gateway.logged_errors() for gateway in gateways)
    _, broken = check(database_url)
    assert not broken, describe(broken)
