"""The report's accounts held as columns read as the list of rows they stand for: by position (negative
too), by slice, by positions taken in another order, and whole."""

from __future__ import annotations

from reports.queries import ColumnRows


def test_column_rows_read_as_the_rows_they_hold() -> None:
    rows = [{"account_id": i, "name": f"号{i}", "status": s} for i, s in enumerate("azdza")]
    held = ColumnRows({k: [r[k] for r in rows] for k in ("account_id", "name", "status")})
    assert len(held) == 5 and list(held) == rows
    assert held[0] == rows[0] and held[-1] == rows[-1]
    assert list(held[1:4]) == rows[1:4] and list(held[::-2]) == rows[::-2]
    taken = held.take([4, 1, 2])
    assert list(taken) == [rows[4], rows[1], rows[2]] and taken[-1] == rows[2] and len(taken) == 3
    assert list(taken.take([2, 0])) == [rows[2], rows[4]]
    assert list(taken[1:]) == [rows[1], rows[2]]
    assert list(held.take([])) == [] and not held.take([])
    row = held[0]
    row["name"] = "改"
    assert held[0]["name"] == "号0"  # each read is a row of its own
