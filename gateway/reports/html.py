"""The report as one self-contained HTML page: charts embedded as PNG data URIs, no external
resource, French left to right or Arabic right to left (the browser shapes and lays out the Arabic)."""

from __future__ import annotations

import base64
from html import escape

from imr_alomrane_gateway_client.contract.ledger import ProcessingStatisticsOut
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.reports import charts
from gateway.reports.labels import Lang, group_name, label
from gateway.reports.rows import COLUMNS, SECTIONS, rows

STYLE = """
body { font-family: "DejaVu Sans", "Noto Sans Arabic", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.scope p { margin: 0.2em 0; } .method { max-width: 60em; color: #555; }
figure { margin: 1.2em 0; } figcaption { font-weight: bold; margin-bottom: 0.3em; }
.legend { font-weight: normal; margin-inline-start: 1em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-inline: 0.8em 0.3em; vertical-align: middle; }
.wide { overflow-x: auto; } table { border-collapse: collapse; font-size: 0.75em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: start; vertical-align: top; }
td.number { text-align: end; font-variant-numeric: tabular-nums; }
thead th { background: #f1f4f7; } tbody th { white-space: nowrap; }
"""


def render(statistics: ProcessingStatisticsOut, lang: Lang, source: str | None = None) -> str:
    """`source`: the export file read, or None for the gateway's database."""
    title = escape(label("title", lang))
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">',
        f'<head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>',
        f"<body><h1>{title}</h1>",
        _scope(statistics, lang, source),
        *(_figure(chart, statistics, lang) for chart in charts.CHARTS),
        *(_table(statistics, section, lang) for section in SECTIONS),
        "</body></html>",
    ]) + "\n"


def _scope(statistics: ProcessingStatisticsOut, lang: Lang, source: str | None) -> str:
    lines = [
        label("period", lang, first=statistics.from_month or label("period.start", lang), last=statistics.to_month or label("period.end", lang)),
        label("at", lang, at=_isolated(timestamp(statistics.at)[:16].replace("T", " "))),
        label("source", lang, source=_isolated(source) if source else label("source.database", lang)),
        label("reply_days", lang, days=statistics.reply_days),
    ]
    if statistics.unit:
        lines.append(label("scope.unit", lang, unit=_isolated(statistics.unit)))
    if statistics.region:
        lines.append(label("scope.region", lang, region=group_name("region", statistics.region, lang)))
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return f'<div class="scope">{paragraphs}<p class="method">{escape(label("method", lang))}</p></div>'


def _isolated(text: str) -> str:
    """Left to right inside a right-to-left sentence (a date, a file name, a unit id), as Unicode bidi isolates."""
    return f"\u2066{text}\u2069"


def _figure(chart: charts.Chart, statistics: ProcessingStatisticsOut, lang: Lang) -> str:
    png = base64.b64encode(charts.render(chart, statistics)).decode()
    legend = "".join(
        f'<span class="swatch" style="background:{colour}"></span>{escape(label(path, lang))}'
        for path, colour in zip(chart.series, charts.COLOURS)
    )
    caption = escape(label(chart.title, lang))
    return (f'<figure><figcaption>{caption}<span class="legend">{legend}</span></figcaption>'
            f'<img src="data:image/png;base64,{png}" alt="{caption}" width="750" height="320"></figure>')


def _table(statistics: ProcessingStatisticsOut, section: str, lang: Lang) -> str:
    header = "".join(f"<th>{escape(label(key, lang))}</th>" for key in ("column.name", *COLUMNS))
    body = "".join(
        f"<tr><th>{escape(name)}</th>" + "".join(f'<td class="number">{cell}</td>' for cell in shown) + "</tr>"
        for _, name, shown in rows(statistics, section, lang)
    ) or f'<tr><td colspan="{len(COLUMNS) + 1}">{escape(label("none", lang))}</td></tr>'
    return f'<h2>{escape(label(f"heading.{section}", lang))}</h2><div class="wide"><table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>'
