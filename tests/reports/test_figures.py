"""The report's figures, counted by hand on tests/reports/ledger.py: the same computation the
statistics endpoint returns."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.ledger.stats import Scope, statistics
from tests.reports.ledger import NOW, Ledger, sample


def test_overall_figures_match_a_hand_count():
    overall = statistics(sample(), reply_days=30, now=NOW).overall
    assert (overall.cases_opened, overall.cases_acknowledged, overall.cases_answered, overall.cases_closed) == (4, 3, 2, 1)
    # acknowledged after 2 (old), 2 (a) and 4 (b) days; answered after 10 (a) and 40 (b); closed after 45 (b)
    assert (overall.days_to_acknowledgement.median, overall.days_to_acknowledgement.p90) == (2, 4)
    assert (overall.days_to_final_reply.median, overall.days_to_final_reply.p90) == (10, 40)
    assert (overall.days_to_closure.median, overall.days_to_closure.p90) == (45, 45)
    assert overall.overdue == 2  # old (its 30-day period) and a (the follow-up's deadline); b is closed, c not yet due
    assert overall.answered_late == 1  # b
    assert (overall.reminders, overall.escalations) == (3, 1)
    assert (overall.thematic_files, overall.open_commitments, overall.overdue_commitments) == (2, 2, 1)


def test_groups_follow_transfers_regions_subjects_and_months_of_opening():
    report = statistics(sample(), reply_days=30, now=NOW)
    rabat, casa = report.by_unit["ao-rabat"], report.by_unit["ao-casa"]
    assert set(report.by_unit) == {"al-omrane", "ao-casa", "ao-rabat"}  # the version-1 case stays with the head office
    assert (rabat.cases_opened, rabat.reminders, rabat.escalations, rabat.thematic_files) == (2, 2, 1, 1)  # a after its transfer; u
    assert (casa.cases_opened, casa.reminders, casa.open_commitments, casa.overdue_commitments) == (1, 1, 2, 1)  # c; t
    assert {key: figures.cases_opened for key, figures in report.by_region.items()} == {
        "casablanca-settat": 2, "rabat-sale-kenitra": 1, "unspecified": 1,
    }
    assert report.by_subject["title_deeds"].cases_opened == 3 and report.by_subject["delivery_delays"].thematic_files == 1
    assert {key: (f.cases_opened, f.thematic_files) for key, f in report.by_month.items()} == {
        "2026-01": (1, 0), "2026-03": (2, 1), "2026-04": (1, 0), "2026-05": (0, 1),
    }


def test_deadlines_come_from_the_entries_or_the_reply_period_and_are_judged_at_now():
    before_the_follow_up_deadline = statistics(sample(), reply_days=30, now=datetime(2026, 4, 20, tzinfo=UTC)).overall
    assert before_the_follow_up_deadline.overdue == 1  # only old: a's new deadline (04-30) is ahead
    assert before_the_follow_up_deadline.overdue_commitments == 0  # the first commitment is due on 05-01
    assert statistics(sample(), reply_days=200, now=NOW).overall.overdue == 1  # old's period now runs to 07-29


def test_the_scope_selects_by_month_of_opening_unit_and_region():
    march_april = statistics(sample(), 30, NOW, Scope(from_month="2026-03", to_month="2026-04"))
    assert (march_april.overall.cases_opened, march_april.overall.thematic_files) == (3, 1)
    assert set(march_april.by_month) == {"2026-03", "2026-04"} and march_april.from_month == "2026-03"
    rabat = statistics(sample(), 30, NOW, Scope(unit="ao-rabat"))
    assert set(rabat.by_unit) == {"ao-rabat"} and rabat.overall.cases_opened == 2 and rabat.overall.thematic_files == 1
    casablanca = statistics(sample(), 30, NOW, Scope(region="casablanca-settat"))
    assert casablanca.overall.cases_opened == 2 and casablanca.overall.open_commitments == 2 and casablanca.region == "casablanca-settat"


def test_a_thematic_file_belongs_to_the_side_that_is_not_a_mediator():
    ledger = Ledger()
    ledger.v2("thematic_file_opened", "f", "03-01", "title_deeds", sender=("al-omrane", "ao-fes"), recipient=("imr", "imr"))
    assert set(statistics(ledger.entries, 30, NOW).by_unit) == {"imr"}  # no case says who mediates: the recipient
    ledger.v2("case_opened", "x", "03-02", "title_deeds", recipient=("al-omrane", "ao-fes"))
    assert set(statistics(ledger.entries, 30, NOW).by_unit) == {"ao-fes"}  # imr opened a case: it mediates


def test_a_commitment_stays_open_until_a_fulfilment_refers_to_it():
    ledger = Ledger()
    ledger.v2("thematic_file_opened", "f", "03-01", "title_deeds")
    ledger.v2("thematic_message_sent", "f", "03-02", "commitment", due="04-01", resource="/c/1")
    ledger.v2("thematic_message_sent", "f", "03-03", "progress_report", refers="/c/1", resource="/c/2")
    ledger.v2("thematic_message_sent", "f", "03-04", "commitment_fulfilled", refers="/c/other", resource="/c/3")
    assert statistics(ledger.entries, 30, NOW).overall.overdue_commitments == 1
    ledger.v2("thematic_message_sent", "f", "03-05", "commitment_fulfilled", refers="/c/1", resource="/c/4")
    assert statistics(ledger.entries, 30, NOW).overall.open_commitments == 0


def test_reminders_count_only_for_cases_and_files_in_the_data():
    ledger = Ledger()
    ledger.v2("reminder_sent", "unknown", "03-01", "due")
    assert statistics(ledger.entries, 30, NOW).overall.reminders == 0
