"""A database with nothing in it yet, on each engine: what replicas find on their first start."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PostgresTemplate
from tests.faults.conftest import start_gateways  # noqa: F401  (the fixture, for tests/deploy too)

_names = itertools.count()


@pytest.fixture
def empty_database_url(template, tmp_path: Path) -> Iterator[str]:
    if not isinstance(template, PostgresTemplate):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"gw_empty_{os.getpid()}_{next(_names)}"
    with template.admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = template.server.set(database=name).render_as_string(hide_password=False)
    yield url
    template.drop(url)
