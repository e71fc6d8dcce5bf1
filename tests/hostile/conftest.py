"""The hostile-input catalogue's one assertion: a refusal is a problem document with the documented
status and type, it leaves no traceback (nor any ERROR line) in the log, only the INFO line naming
its type, and it wrote nothing.

"Nothing written" is every table's row count, taken when the test says its arrangement is done
(`refusals.arranged()`), or when the fixture is first used. `request_nonces` is left out: a
refused signed request's `jti` is spent on purpose, so that it cannot be replayed later."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from gateway.storage.models import Base

SPENT_ON_PURPOSE = {"request_nonces"}
COUNTED = [table for table in Base.metadata.sorted_tables if table.name not in SPENT_ON_PURPOSE]


@dataclass
class Refusals:
    caplog: pytest.LogCaptureFixture
    engine_sql: object
    before: dict[str, int] = field(default_factory=dict)

    def footprint(self) -> dict[str, int]:
        counts = select(*(select(func.count()).select_from(table).scalar_subquery().label(table.name) for table in COUNTED))
        return dict(self.engine_sql(counts).mappings().one())

    def arranged(self) -> None:
        """What the test set up so far is the baseline; the log starts again from here."""
        self.before = self.footprint()
        self.caplog.clear()

    def check(self, response, status: int, slug: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json"), response.headers
        assert response.json()["type"] == f"/problems/{slug}", response.text
        noisy = [r for r in self.caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert not noisy, self.caplog.text
        assert any(r.name.startswith("gateway.") and r.levelno == logging.INFO and "refused" in r.getMessage() and slug in r.getMessage()
                   for r in self.caplog.records), self.caplog.text
        assert self.footprint() == self.before, "a refused request wrote something"


@pytest.fixture
def refusals(caplog, engine_sql, app) -> Refusals:
    caplog.set_level(logging.INFO, logger="gateway")
    found = Refusals(caplog, engine_sql)
    found.arranged()
    return found
