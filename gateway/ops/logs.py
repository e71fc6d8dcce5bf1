"""Log lines for operators: JSON objects, one per line (`GATEWAY_LOG_FORMAT=json`, the default of
`gateway serve`), or plain text.

Every line carries the request it was logged for (gateway.ops.context): its id, institution, unit
and route template. The access log (logger `gateway.access`, one line per request, written by
gateway.ops.observer) adds the method, status, duration and problem type. A line's fields are
ids, templates and numbers: the messages are the gateway's own and never quote a request's input.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from imr_alomrane_gateway_client.contract.common import utc_text
from gateway.ops import context

ACCESS_LOGGER = "gateway.access"
# Set by the access log line (`extra=`), absent from the others.
ACCESS_FIELDS = ("method", "status", "duration_ms")


def request_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request's fields of a line: from the access line itself, else from the request being served."""
    fields = {name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)}
    served = getattr(record, "request", None) or context.current()
    if served is not None:
        fields |= {"request_id": served.request_id, "institution": served.institution, "unit": served.unit,
                   "route": served.route, "problem_type": served.problem}
    return {name: value for name, value in fields.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "institution", "unit", "route", "status",
    "duration_ms", "problem_type", "exception"}`: the request fields only when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_text(datetime.fromtimestamp(record.created, UTC), "milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(), **request_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger message key=value…`, the request fields last."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        fields = " ".join(f"{name}={value}" for name, value in request_fields(record).items())
        return super().formatMessage(record) + (f" {fields}" if fields else "")


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of `gateway serve`: uvicorn's lines, the gateway's and any
    library's warnings, all on stderr in one format. uvicorn's own access log is off (the server
    is configured with `access_log=False`): `gateway.access` replaces it."""
    level = level.upper()
    handler = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": FORMATTERS[log_format]}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "gateway", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {"uvicorn": handler, "uvicorn.error": {"level": level}, "gateway": handler},
    }
