"""Disclosure control over many generated tables, run through `promise export`, checked by
independent means.

Each generated table is laid out as an export sees a query's result (one row per cell, the
dimensions as text columns, the count as an integer column) and passed through the export's
protection (`promise.privacy.release.release`, which `promise export` applies); a sample also
goes through the command itself (`promise export "<SQL>" --out FILE`), read back from the
CSV it wrote. For every table: no released count lies between 1 and threshold - 1, and no
suppressed cell is determined by what is released. Determinacy is checked here with an SVD
null-space test written independently of promise.privacy.disclosure (which uses rank
comparisons), and on a sample of tables with linear programming (scipy): the smallest and
largest value each suppressed cell can take under the released totals and non-negativity
must differ.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from independent import determined, lp_range

from promise.cli import main
from promise.privacy.disclosure import protect
from promise.privacy.release import Layout, release

N_TABLES = 10_000
N_LP = 200
N_CLI = 40


def random_table(rng: np.random.Generator) -> np.ndarray:
    """A 1-, 2- or 3-way table of counts mixing zeros, small and large cells."""
    ndim = rng.choice([1, 2, 2, 2, 3])
    shape = tuple(int(s) for s in rng.integers(2, 6 if ndim < 3 else 4, size=ndim))
    kind = rng.random(shape)
    small = rng.integers(1, 10, size=shape)
    large = rng.integers(10, 200, size=shape)
    return np.where(kind < 0.15, 0, np.where(kind < 0.5, small, large))


@pytest.mark.unit
def test_hand_example_two_way() -> None:
    # counts [[12, 3, 20], [7, 8, 30]]: 3 is primary; its row and column each need a second
    # suppressed cell: 7 (smallest in column 0? no: column 1 holds 3 and 8 -> 8) and row 0's
    # smallest other cell 12 -> then column 0 holds 12 alone -> 7 too.
    table = protect([[12, 3, 20], [7, 8, 30]])
    assert np.isnan(table.released[0, 1]) and np.isnan(table.released[1, 1])
    assert np.isnan(table.released[0, 0]) and np.isnan(table.released[1, 0])
    assert table.released[2, 3] == 80  # grand total released
    assert determined(table.counts, table.suppressed) == []


@pytest.mark.unit
def test_round_to_five() -> None:
    table = protect([12, 30, 2, 40], round_to=5)
    released = table.released[~np.isnan(table.released)]
    assert set((released % 5).tolist()) == {0.0}
    assert np.isnan(table.released[2])


def as_rows(interior: np.ndarray) -> pl.DataFrame:
    """The table as a query returns it: dimension columns d0.. with text levels, count n.

    Rows are shuffled, so the export must find each cell by its labels, not its position."""
    cells = list(itertools.product(*(range(k) for k in interior.shape)))
    order = np.random.default_rng(interior.size).permutation(len(cells))
    data: dict[str, list[object]] = {f"d{a}": [] for a in range(interior.ndim)}
    data["n"] = []
    for k in order:
        cell = cells[k]
        for a, level in enumerate(cell):
            data[f"d{a}"].append(f"level {level}")
        data["n"].append(int(interior[cell]))
    return pl.DataFrame(data)


def exported_grid(
    rows: list[dict[str, object]], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Released counts and suppressed flags of an export, back on the grid (NaN = hidden)."""
    values = np.full(shape, np.nan)
    hidden = np.zeros(shape, dtype=bool)
    for row in rows:
        cell = tuple(int(str(row[f"d{a}"]).split()[-1]) for a in range(len(shape)))
        hidden[cell] = str(row["n_suppressed"]).lower() == "true"
        if not hidden[cell]:
            values[cell] = float(row["n"])  # type: ignore[arg-type]
    return values, hidden


def check_export(
    i: int, interior: np.ndarray, values: np.ndarray, hidden: np.ndarray, threshold: int
) -> None:
    """No released count is small, every small count is hidden, nothing hidden is determined.

    Margins: the export releases interior cells only; a reader may know any total that the
    protection left releasable, so those count as known (the totals it hid do not)."""
    shown = values[~hidden]
    assert not ((shown >= 1) & (shown <= threshold - 1)).any(), (i, interior)
    assert (hidden >= ((interior > 0) & (interior < threshold))).all(), (i, interior)
    full = protect(interior, threshold=threshold)  # which totals stay unknown
    mask = full.suppressed.copy()
    mask[tuple(slice(0, n) for n in interior.shape)] = hidden
    assert determined(full.counts, mask) == [], (i, interior, hidden)


@pytest.mark.unit
def test_many_generated_tables_through_the_export_protection() -> None:
    rng = np.random.default_rng(20251122)
    lp_checked = 0
    for i in range(N_TABLES):
        threshold = int(rng.integers(3, 11))
        round_to = 5 if i % 4 == 0 else 1
        interior = random_table(rng)
        layout = Layout(dimensions=[f"d{a}" for a in range(interior.ndim)], counts=["n"])
        out = release(as_rows(interior), layout, threshold=threshold, round_to=round_to)
        values, hidden = exported_grid(out.frame.to_dicts(), interior.shape)
        check_export(i, interior, values, hidden, threshold)
        if round_to > 1:
            assert set((values[~hidden] % round_to).tolist()) <= {0.0}, i
        if lp_checked < N_LP and hidden.any():
            lp_checked += 1
            full = protect(interior, threshold=threshold)
            mask = full.suppressed.copy()
            mask[tuple(slice(0, n) for n in interior.shape)] = hidden
            for cell in map(tuple, np.argwhere(hidden)):
                assert lp_range(full.counts, mask, cell) > 0.5, (i, cell)
    assert lp_checked == N_LP


def sql_of(frame: pl.DataFrame) -> str:
    """The rows as a VALUES query, as an analyst could type it."""
    rows = ", ".join(
        "(" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in row) + ")"
        for row in frame.iter_rows()
    )
    return f"SELECT * FROM (VALUES {rows}) AS t({', '.join(frame.columns)})"


@pytest.mark.integration
def test_generated_tables_through_promise_export(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "promise.yml").write_text(
        "disclosure: {threshold: 3, round_to: 1, allow_sql: true}\n"
    )
    rng = np.random.default_rng(7)
    for i in range(N_CLI):
        threshold = int(rng.integers(3, 11))
        interior = random_table(rng)
        out = tmp_path / f"table{i}.csv"
        query = sql_of(as_rows(interior))
        rc = main(["export", query, "--out", str(out), "--warehouse", str(warehouse),
                   "--threshold", str(threshold)])  # fmt: skip
        assert rc == 0, i
        with out.open(newline="") as handle:
            values, hidden = exported_grid(list(csv.DictReader(handle)), interior.shape)
        check_export(i, interior, values, hidden, threshold)
    assert len((warehouse / "exports" / "audit.jsonl").read_text().splitlines()) == N_CLI
