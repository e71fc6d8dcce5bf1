"""The report's charts as PNG bytes (matplotlib's Agg renderer, no display, no font download).

A chart carries no words: its ticks are months, unit ids and numbers, and its title and legend are
written in the page, in HTML. Matplotlib neither shapes Arabic letters nor lays text right to left,
so Arabic is left to the browser rather than bring in a reshaping library for chart labels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from imr_alomrane_gateway_client.contract.ledger import ProcessingStatisticsOut
from gateway.reports.rows import groups, value

COLOURS = ("#1f5f8b", "#e08a1e", "#4d9a5b")  # a series' colour, also its legend swatch in the page


@dataclass(frozen=True)
class Chart:
    title: str  # label key
    grouping: str
    series: tuple[str, ...]  # figure paths (their label keys too)


CHARTS = (
    Chart("chart.opened_closed", "month", ("cases_opened", "cases_closed")),
    Chart("chart.median_days", "unit", ("days_to_acknowledgement.median", "days_to_final_reply.median", "days_to_closure.median")),
    Chart("chart.late", "unit", ("overdue", "overdue_commitments", "reminders")),
)


def render(chart: Chart, statistics: ProcessingStatisticsOut) -> bytes:
    """Grouped bars, one group per month or unit, one bar per series (a missing median draws none)."""
    by_group = groups(statistics, chart.grouping)
    figure = Figure(figsize=(7.5, 3.2), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(chart.series)
    for number, (path, colour) in enumerate(zip(chart.series, COLOURS)):
        heights = [value(figures, path) or 0 for figures in by_group.values()]
        positions = [group + (number - (len(chart.series) - 1) / 2) * width for group in range(len(by_group))]
        axes.bar(positions, heights, width, color=colour)
    axes.set_xticks(range(len(by_group)), list(by_group), rotation=30 if len(by_group) > 6 else 0)
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.grid(True, color="#dddddd")
    axes.set_axisbelow(True)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
