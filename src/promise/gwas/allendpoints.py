"""``promise gwas --all-endpoints``: which endpoints of the warehouse a PheWAS run tests.

FinnGen's rule: every endpoint the warehouse evaluates (``marts.endpoint_definition``
evaluation ``evaluated``: every part of its definition could be applied to Swedish
registers) with at least ``min_cases`` cases and as many controls among the genotyped
samples that have every covariate. The rest are skipped, each with a line saying why;
endpoints named with ``--endpoint`` are tested whatever their evaluation, and refused in
one sentence by the preflight check when they have too few cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from promise.gwas.cohort import BASE_COLUMNS, COVARIATES, read_mart


@dataclass(frozen=True, kw_only=True)
class EndpointChoice:
    """The endpoints to test and those left out, with their counts."""

    chosen: list[str]
    skipped: list[tuple[str, int, int]] = field(default_factory=list)  # name, cases, controls
    not_evaluated: int = 0  # endpoints whose definition Sweden's registers cannot fully apply

    def lines(self, min_cases: int) -> list[str]:
        """What the console says of the left-out endpoints: a line per endpoint with a
        case, one line for all those without any."""
        said = [
            f"skipped {name}: {cases:,} cases and {controls:,} controls among the genotyped "
            f"samples, fewer than --min-cases {min_cases}"
            for name, cases, controls in self.skipped
            if cases > 0
        ]
        none = sum(1 for _, cases, _ in self.skipped if cases == 0)
        if none:
            said.append(f"skipped {none:,} evaluated endpoints without a case among the genotyped")
        if self.not_evaluated:
            said.append(
                f"skipped {self.not_evaluated:,} endpoints the warehouse cannot fully evaluate "
                "(`promise endpoints` says why)"
            )
        return said


def evaluated_endpoints(warehouse: Path) -> set[str] | None:
    """Names of the endpoints evaluated in full; None for a warehouse without the mart."""
    import duckdb

    from promise.warehouse import connect

    con = connect(Path(warehouse))
    try:
        rows = con.execute(
            "select name from marts.endpoint_definition where evaluation = 'evaluated'"
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return {r[0] for r in rows}


def choose_endpoints(
    mart: pl.DataFrame, evaluated: set[str] | None, *, min_cases: int, named: Sequence[str] = ()
) -> EndpointChoice:
    """The evaluated endpoint columns of ``mart`` with enough cases and controls among the
    rows that have every covariate (plus ``named`` ones, kept as given)."""
    columns = [c for c, t in mart.schema.items() if c not in BASE_COLUMNS and t.is_integer()]
    candidates = [c for c in columns if evaluated is None or c in evaluated]
    usable = mart.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in COVARIATES))
    if candidates:
        row = usable.select(
            *((pl.col(c) == 1).sum().alias(f"{c}\x00cases") for c in candidates),
            *((pl.col(c) == 0).sum().alias(f"{c}\x00controls") for c in candidates),
        ).row(0, named=True)
    chosen: list[str] = []
    skipped: list[tuple[str, int, int]] = []
    for name in candidates:
        cases, controls = int(row[f"{name}\x00cases"]), int(row[f"{name}\x00controls"])
        if name in named:
            continue
        if min(cases, controls) >= min_cases:
            chosen.append(name)
        else:
            skipped.append((name, cases, controls))
    return EndpointChoice(
        chosen=[*named, *chosen],
        skipped=skipped,
        not_evaluated=len(columns) - len(candidates),
    )


def all_endpoints(warehouse: Path, *, min_cases: int, named: Sequence[str] = ()) -> EndpointChoice:
    """:func:`choose_endpoints` on the warehouse's ``marts.gwas_phenotype``."""
    return choose_endpoints(
        read_mart(warehouse), evaluated_endpoints(warehouse), min_cases=min_cases, named=named
    )
