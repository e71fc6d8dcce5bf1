"""The figures as rows, one per group, in the column order both the HTML tables and the CSV use."""

from __future__ import annotations

from collections.abc import Iterator

from imr_alomrane_gateway_client.contract.ledger import ProcessingFigures, ProcessingStatisticsOut
from gateway.ledger.stats import GROUPINGS
from gateway.reports.labels import Lang, group_name, label

# A figure's path in ProcessingFigures ("days_to_closure.median"), which is also its label's key.
COLUMNS = (
    "cases_opened", "cases_acknowledged", "cases_answered", "cases_closed",
    "days_to_acknowledgement.median", "days_to_acknowledgement.p90", "days_to_final_reply.median", "days_to_final_reply.p90",
    "days_to_closure.median", "days_to_closure.p90",
    "overdue", "answered_late", "reminders", "escalations", "thematic_files", "open_commitments", "overdue_commitments",
)
SECTIONS = ("overall", *GROUPINGS)


def value(figures: ProcessingFigures, path: str) -> int | float | None:
    found = figures
    for name in path.split("."):
        found = getattr(found, name)
    return found


def shown(number: int | float | None) -> str:
    """Counts as they are, days to one decimal (rounded here only: the figures keep every digit)."""
    if number is None:
        return ""
    return f"{number:.1f}" if isinstance(number, float) else str(number)


def groups(statistics: ProcessingStatisticsOut, section: str) -> dict[str, ProcessingFigures]:
    return {"overall": statistics.overall} if section == "overall" else getattr(statistics, f"by_{section}")


def rows(statistics: ProcessingStatisticsOut, section: str, lang: Lang) -> Iterator[tuple[str, str, list[str]]]:
    """(group code, group name, figures shown) for each group of a section."""
    for key, figures in groups(statistics, section).items():
        name = label("grouping.overall", lang) if section == "overall" else group_name(section, key, lang)
        yield key, name, [shown(value(figures, path)) for path in COLUMNS]
