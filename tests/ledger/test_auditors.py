"""What auditors get from the ledger: search with cursors, and processing times from entries alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from imr_alomrane_gateway_client.ledger.entry import Entry, timestamp
from gateway.ledger.stats import percentile, statistics
from tests.factories import SHORT_LIFE, case_payload, message


def test_search_by_case_institution_kind_and_time_with_cursors(imr, omrane, client_for):
    start = datetime.now(UTC)
    first = imr.post("/v1/cases", json=case_payload()).json()["id"]
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE:
        clients[sender].post(f"/v1/cases/{first}/messages", json=message(kind, **extra))
    other = imr.post("/v1/cases", json=case_payload(respondent_id="ac-casa", subject="title_deeds")).json()["id"]
    auditor = client_for("auditor")

    seen, cursor = [], None
    while True:
        page = auditor.get("/v1/ledger/search", params={"case": first, "limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += page.json()["items"]
        cursor = page.json().get("next_cursor")
        if cursor is None:
            break
        assert page.headers["link"].endswith('rel="next"')
    assert [e["entry"]["detail"] for e in seen] == ["delivery_delays"] + [kind for _, kind, _ in SHORT_LIFE]

    by_kind = auditor.get("/v1/ledger/search", params={"kind": "case_opened"}).json()["items"]
    assert [e["entry"]["case"] for e in by_kind] == [first, other]
    by_institution = auditor.get("/v1/ledger/search", params={"institution": "ac-casa"}).json()["items"]
    assert [e["entry"]["case"] for e in by_institution] == [other]
    window = {"since": start.isoformat(), "until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    assert len(auditor.get("/v1/ledger/search", params=window).json()["items"]) == 7
    before = auditor.get("/v1/ledger/search", params={"until": start.isoformat()}).json()["items"]
    assert [e["entry"]["kind"] for e in before] == ["registry_changed"]  # the registry the gateway started with
    # an institution searches only what it sent or received
    assert {e["entry"]["case"] for e in client_for("al-omrane").get("/v1/ledger/search").json()["items"]} == {first}
    assert auditor.get("/v1/ledger/search", params={"cursor": "bogus"}).status_code == 400


def entry(seq, at, kind, detail, case, recipient="al-omrane"):
    return Entry(v=1, seq=seq, at=timestamp(at), kind=kind, detail=detail, sender="imr" if kind == "case_opened" else recipient,
                 recipient=recipient, case=case, resource="/", payload_digest="d", signature_digest="s")


def test_statistics_from_version_1_entries_alone_match_a_hand_count():
    """A ledger written before units: head offices for units, the reply period for deadlines
    (tests/reports count a version-2 ledger with transfers, reminders and thematic files)."""
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    day = timedelta(days=1)
    entries = [
        entry(1, t0, "case_opened", "delivery_delays", "a"),
        entry(2, t0 + 2 * day, "message_sent", "acknowledgement", "a"),
        entry(3, t0 + 10 * day, "message_sent", "final_reply", "a"),
        entry(4, t0 + 12 * day, "message_sent", "closure", "a"),
        entry(5, t0 + day, "case_opened", "title_deeds", "b"),
        entry(6, t0 + 5 * day, "message_sent", "acknowledgement", "b"),
        entry(7, t0 + 41 * day, "message_sent", "final_reply", "b"),  # answered after 40 days: late at 30
        entry(8, t0 + 40 * day, "case_opened", "title_deeds", "c", recipient="ac-casa"),  # April, never acknowledged
    ]
    report = statistics(entries, reply_days=30, now=t0 + 80 * day)
    overall = report.overall
    assert (overall.cases_opened, overall.cases_acknowledged, overall.cases_answered, overall.cases_closed) == (3, 2, 2, 1)
    assert (overall.days_to_acknowledgement.median, overall.days_to_acknowledgement.p90) == (2, 4)
    assert (overall.days_to_final_reply.median, overall.days_to_final_reply.p90) == (10, 40)
    assert overall.answered_late == 1  # b
    assert overall.overdue == 1  # c: still owes a reply 40 days after opening; b's reply came late but came
    assert set(report.by_unit) == {"al-omrane", "ac-casa"} and report.by_unit["ac-casa"].cases_opened == 1
    assert set(report.by_region) == {"unspecified"}
    assert report.by_subject["title_deeds"].cases_opened == 2
    assert report.by_month["2026-03"].cases_opened == 2 and report.by_month["2026-04"].cases_opened == 1
    assert percentile([5, 1, 3], 0.9) == 5 and percentile([], 0.5) is None


def test_the_statistics_endpoint_is_for_auditors_and_reads_the_ledger(imr, omrane, client_for):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"))
    auditor = client_for("auditor")
    report = auditor.get("/v1/ledger/statistics").json()
    assert report["overall"]["cases_opened"] == 1 and report["overall"]["cases_acknowledged"] == 1 and report["reply_days"] == 30
    assert report["by_subject"]["delivery_delays"]["days_to_acknowledgement"]["median"] >= 0
    this_month = datetime.now(UTC).strftime("%Y-%m")
    scoped = auditor.get("/v1/ledger/statistics", params={"from": this_month, "to": this_month, "region": "oriental"}).json()
    assert scoped["overall"]["cases_opened"] == 0 and (scoped["from_month"], scoped["region"]) == (this_month, "oriental")
    assert auditor.get("/v1/ledger/statistics", params={"from": "2026-13"}).status_code == 422
    assert auditor.get("/v1/ledger/statistics", params={"region": "atlantis"}).status_code == 422
    assert imr.get("/v1/ledger/statistics").status_code == 403
    reversed_months = auditor.get("/v1/ledger/statistics", params={"from": "2026-06", "to": "2026-01"})
    assert reversed_months.status_code == 422 and reversed_months.json()["errors"][0]["parameter"] == "from"
