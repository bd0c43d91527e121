"""The acceptance workbook: 10,000 rows with some bad ones, imported, reported and re-imported.

The same generator as the import benchmark; the benchmark times it, this test checks what it did.
"""

from __future__ import annotations

import pytest

from benchmarks.people_import import make_workbook
from wangge.core.models import AuditEvent, User
from wangge.people.ledger import ledger_import
from wangge.people.models import Resident

pytestmark = [pytest.mark.usefixtures("demo_db"), pytest.mark.slow]

ROWS = 10_000
BAD_EVERY = 997  # a wrong check digit on every 997th row


def test_a_10000_row_workbook_imports_reports_bad_rows_and_reimports_unchanged(
    users: dict[str, User],
) -> None:
    data, bad = make_workbook(ROWS, BAD_EVERY)
    residents_before = Resident.objects.count()

    first = ledger_import(actor=users["community"], file=data, dry_run=False, skip_invalid=True)

    assert bad == ROWS // BAD_EVERY
    assert (first.rows, first.new, first.bad) == (ROWS, ROWS - bad, bad)
    assert Resident.objects.count() == residents_before + ROWS - bad
    # Spreadsheet row numbers: two header rows, so data row i sits on row i + 3.
    expected_rows = [i + 3 for i in range(ROWS) if i % BAD_EVERY == BAD_EVERY - 1]
    assert [e.row for e in first.errors] == expected_rows
    assert all(e.column == "身份证号" for e in first.errors)
    assert all("校验位" in e.reason or "check digit" in e.reason for e in first.errors)
    assert all("*" in e.value for e in first.errors)  # reported masked

    audit_before = AuditEvent.objects.count()
    again = ledger_import(actor=users["community"], file=data, dry_run=False, skip_invalid=True)

    assert (again.new, again.updated, again.unchanged, again.bad) == (0, 0, ROWS - bad, bad)
    assert Resident.objects.count() == residents_before + ROWS - bad
    assert AuditEvent.objects.count() == audit_before
