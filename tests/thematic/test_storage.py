"""Receipts, inbox events and documents are about a case or a thematic file, never both nor
neither: the database itself refuses it, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from gateway import samples
from tests.thematic.arrange import open_case, open_file


@pytest.mark.parametrize("table", ["receipts", "inbox_events", "documents"])
def test_a_row_names_exactly_one_of_a_case_and_a_thematic_file(imr, engine_sql, table):
    file, case = open_file(imr)["id"], open_case(imr)
    imr.post(f"/v1/cases/{case}/documents", content=samples.png(), headers={"Content-Disposition": 'attachment; filename="a.png"'})
    assert engine_sql(f"SELECT count(*) FROM {table} WHERE case_id IS NOT NULL").scalar() > 0
    with pytest.raises(IntegrityError):
        engine_sql(f"UPDATE {table} SET thematic_file_id = :file WHERE case_id IS NOT NULL", file=file)
    with pytest.raises(IntegrityError):
        engine_sql(f"UPDATE {table} SET case_id = NULL WHERE case_id IS NOT NULL")
