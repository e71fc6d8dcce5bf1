"""The reference documentation: one self-contained HTML file, `openapi/v1.html`, made from the
OpenAPI document and Redoc's standalone bundle (pinned in tools/redoc/package-lock.json, installed
with `npm ci --prefix tools/redoc`), both inlined so that it reads offline. The public listener
serves it.

The page carries the document it was made from and the Redoc version, so that
`gateway contract --check` tells a stale page without the bundle at hand."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "redoc"
BUNDLE = TOOLS / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
LOCK = TOOLS / "package-lock.json"
PAGE = Path("openapi/v1.html")
_EMBEDDED = re.compile(r'<script id="openapi" type="application/json">(.*?)</script>', re.S)
_VERSION = re.compile(r'<meta name="generator" content="Redoc ([^"]+)">')


def redoc_version() -> str:
    return json.loads(LOCK.read_text(encoding="utf-8"))["packages"]["node_modules/redoc"]["version"]


_SCRIPT_END = re.compile(r"</(script)", re.I)


def _inline_script(code: str) -> str:
    """Code safe inside a <script> element: no `</script` can end it early (`<\\/` is `</` in a
    JavaScript string, and the bundle has no such sequence outside one)."""
    return _SCRIPT_END.sub(r"<\\/\1", code)


def page(document: dict, bundle: str) -> str:
    spec = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Redoc {redoc_version()}">
<title>{escape(document["info"]["title"])} {escape(document["info"]["version"])}</title>
<style>body {{ margin: 0; }}</style>
</head>
<body>
<div id="redoc"></div>
<script id="openapi" type="application/json">{spec}</script>
<script>{_inline_script(bundle)}</script>
<script>
Redoc.init(JSON.parse(document.getElementById("openapi").textContent),
           {{expandResponses: "200,201", jsonSampleExpandLevel: 3, hideDownloadButton: false}}, document.getElementById("redoc"));
</script>
</body>
</html>
"""


def write(root: Path, document: dict) -> Path:
    if not BUNDLE.exists():
        raise FileNotFoundError(f"{BUNDLE} is missing: run `npm ci --prefix tools/redoc` first")
    path = root / PAGE
    path.write_text(page(document, BUNDLE.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def is_stale(root: Path, document: dict) -> bool:
    """The page is missing, made by another Redoc than the pinned one, or from another document."""
    path = root / PAGE
    if not path.exists():
        return True
    text = path.read_text(encoding="utf-8")
    embedded, version = _EMBEDDED.search(text), _VERSION.search(text)
    if embedded is None or version is None or version.group(1) != redoc_version():
        return True
    return json.loads(embedded.group(1)) != document
