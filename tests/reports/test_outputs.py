"""The report's outputs: CSV shape, the HTML page, and the same figures whether read from an export,
from the database (as the statistics endpoint reads it) or from the entries themselves."""

from __future__ import annotations

import csv
import io
import json
import re
from types import SimpleNamespace

from sqlalchemy import insert

from gateway.api.v1.ledger import processing_statistics as statistics_route
from gateway.cli import main
from gateway.ledger.stats import Scope, exported_entries, statistics
from gateway.ledger.store import row_of
from gateway.reports import charts, html
from gateway.reports import csv as report_csv
from gateway.reports.rows import COLUMNS
from gateway.services.ledger import processing_statistics
from gateway.storage.engine import Database
from gateway.storage.models import LedgerEntry
from tests.reports.ledger import NOW, sample


def export_of(entries) -> list[str]:
    """What `gateway ledger export` writes: a header, then each entry followed by a checkpoint."""
    lines = [json.dumps({"type": "header", "origin": "test/ledger", "note_key": "k", "from": 0, "size": len(entries)})]
    for entry in entries:
        lines.append(json.dumps({"type": "entry", "index": entry.seq - 1, "entry": entry.as_dict()}))
        lines.append(json.dumps({"type": "checkpoint", "size": entry.seq, "note": "test/ledger\n"}))
    return [line + "\n" for line in lines]


def test_csv_has_a_header_and_one_row_per_group_in_the_language_asked():
    report = statistics(sample(), 30, NOW)
    table = list(csv.reader(io.StringIO(report_csv.render(report, "fr"))))
    groups = 1 + len(report.by_unit) + len(report.by_region) + len(report.by_subject) + len(report.by_month)
    assert len(table) == 1 + groups and {len(row) for row in table} == {3 + len(COLUMNS)}
    assert table[0][:4] == ["Regroupement", "Code", "Groupe", "Dossiers ouverts"]
    assert table[1][:7] == ["Ensemble", "overall", "Ensemble", "4", "3", "2", "1"]
    region = next(row for row in table if row[1] == "rabat-sale-kenitra")
    assert region[2] == "Rabat-Salé-Kénitra" and region[COLUMNS.index("days_to_final_reply.median") + 3] == "40.0"
    arabic = list(csv.reader(io.StringIO(report_csv.render(report, "ar"))))
    assert arabic[0][3] == "الملفات المفتوحة" and next(row for row in arabic if row[1] == "rabat-sale-kenitra")[2] == "الرباط سلا القنيطرة"
    assert next(row for row in table if row[1] == "2026-04")[COLUMNS.index("days_to_acknowledgement.median") + 3] == ""  # none yet


def test_the_report_from_an_export_has_the_figures_of_its_entries(tmp_path, capsys):
    entries = sample()
    assert statistics(exported_entries(export_of(entries)), 30, NOW) == statistics(entries, 30, NOW)
    export = tmp_path / "ledger.jsonl"
    export.write_text("".join(export_of(entries)), encoding="utf-8")
    out = tmp_path / "report.csv"
    assert main(["report", "--export", str(export), "--from", "2026-03", "--to", "2026-04", "--at", "2026-06-01",
                 "--format", "csv", "--lang", "ar", "--out", str(out)]) == 0
    expected = statistics(entries, 30, NOW, Scope(from_month="2026-03", to_month="2026-04"))
    assert out.read_text(encoding="utf-8") == report_csv.render(expected, "ar")
    assert "3 case(s), 1 thematic file(s)" in capsys.readouterr().out


def test_the_endpoint_and_the_report_read_the_database_into_the_same_figures(database_url):
    """The route and `gateway report` without --export both call services.ledger.processing_statistics."""
    entries = sample()
    database = Database(database_url)
    try:
        with database.session(write=True) as session:
            session.execute(insert(LedgerEntry), [{**row_of(entry), "leaf_hash": entry.leaf_hash().hex()} for entry in entries])
            session.commit()
        scope = Scope(unit="ao-rabat")
        assert processing_statistics(database, 30, NOW, scope, batch=3) == statistics(entries, 30, NOW, scope)
        served = statistics_route(SimpleNamespace(), SimpleNamespace(default_reply_days=30), database, None, "ao-casa", None, "2026-03", None)
        assert served == statistics(entries, 30, served.at, Scope(unit="ao-casa", from_month="2026-03"))
        assert served.overall.cases_opened == 1 and served.overall.thematic_files == 1
    finally:
        database.dispose()


def test_the_html_page_is_self_contained_and_right_to_left_in_arabic():
    report = statistics(sample(), 30, NOW)
    french, arabic = html.render(report, "fr", "ledger.jsonl"), html.render(report, "ar")
    assert '<html lang="fr" dir="ltr">' in french and '<html lang="ar" dir="rtl">' in arabic
    for page in (french, arabic):
        sources = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert len(sources) == len(charts.CHARTS) and all(source.startswith("data:image/png;base64,") for source in sources)
        assert "http" not in page.replace("http-equiv", "") and "url(" not in page
    assert "Rabat-Salé-Kénitra" in french and "Région non précisée" in french and "Par unité" in french
    assert "الرباط سلا القنيطرة" in arabic and "حسب الوحدة" in arabic and "ao-rabat" in arabic
    assert "le registre de la passerelle" not in french and "ledger.jsonl" in french


def test_a_report_whose_first_month_is_after_its_last_is_refused(tmp_path, capsys):
    export = tmp_path / "ledger.jsonl"
    export.write_text("".join(export_of(sample())), encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["report", "--export", str(export), "--from", "2026-06", "--to", "2026-01", "--out", str(out)]) == 2
    assert "the first month (2026-06) is after the last (2026-01)" in capsys.readouterr().err and not out.exists()
