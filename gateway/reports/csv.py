"""The report as CSV: a header row, then one row per group (overall first), every figure a column."""

from __future__ import annotations

import csv
import io

from imr_alomrane_gateway_client.contract.ledger import ProcessingStatisticsOut
from gateway.reports.labels import Lang, label
from gateway.reports.rows import COLUMNS, SECTIONS, rows


def render(statistics: ProcessingStatisticsOut, lang: Lang) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([label(key, lang) for key in ("column.grouping", "column.group", "column.name", *COLUMNS)])
    for section in SECTIONS:
        for key, name, shown in rows(statistics, section, lang):
            writer.writerow([label(f"grouping.{section}", lang), key, name, *shown])
    return out.getvalue()
