"""Endpoints: checks on a FinnGen-format endpoint file before dbt evaluates it, and the
listing of a built warehouse's endpoints and quantitative traits (``promise endpoints``).

dbt would stop on the first pattern its regex engine (RE2) rejects, with a message about SQL.
:func:`check_endpoint_file` reads the file first and names the endpoint, column and pattern
instead. :func:`list_endpoints` and :func:`list_traits` answer "what can I run a GWAS of?":
each endpoint with its long name, cases and controls overall and among the genotyped
samples, and how far Sweden's registers evaluate it; each omics trait with its unit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from promise.errors import ConfigurationError, PromiseError

if TYPE_CHECKING:
    import duckdb

PATTERN_COLUMNS = (
    "OUTPAT_ICD", "HD_ICD_10", "HD_ICD_9", "HD_ICD_8", "HD_ICD_10_EXCL", "HD_ICD_9_EXCL",
    "HD_ICD_8_EXCL", "COD_ICD_10", "COD_ICD_9", "COD_ICD_8", "COD_ICD_10_EXCL", "COD_ICD_9_EXCL",
    "COD_ICD_8_EXCL", "OPER_NOM", "KELA_ATC", "CANC_TOPO", "CANC_TOPO_EXCL", "CANC_MORPH",
    "CANC_MORPH_EXCL",
)  # fmt: skip
_BRACKET_PIPE = re.compile(r"(\[[^\]|]*)\|")
_NOT_RE2 = re.compile(r"\(\?[=!<]|\\[1-9]")


def alternatives(pattern: str) -> list[str]:
    """The '|' alternatives of a FinnGen pattern as the dbt model splits them."""
    cleaned = pattern.replace("\xa0", "").replace(" ", "").upper()
    while _BRACKET_PIPE.search(cleaned):
        cleaned = _BRACKET_PIPE.sub(r"\1", cleaned)
    return [a for a in cleaned.split("|") if a and a != "$!$"]


def check_endpoint_file(path: Path) -> int:
    """Number of endpoints in ``path``; raises if it is not a usable FinnGen-format TSV."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if "NAME" not in (reader.fieldnames or []):
            raise ConfigurationError(
                f"{path} has no NAME column; give a tab-separated FinnGen endpoint file."
            )
        count = 0
        for row in reader:
            name = (row.get("NAME") or "").strip()
            if not name or name.startswith("#"):
                continue
            count += 1
            for column in PATTERN_COLUMNS:
                for alternative in alternatives(row.get(column) or ""):
                    _check(alternative, name=name, column=column, path=path)
    return count


def _check(alternative: str, *, name: str, column: str, path: Path) -> None:
    if "&" in alternative or alternative.startswith("%") or alternative == "ANY":
        return  # reported as not applicable by the build, never run as a regex
    problem = "uses a construct RE2 lacks" if _NOT_RE2.search(alternative) else None
    if problem is None:
        try:
            re.compile(f"^(?:{alternative})")
        except re.error as exc:
            problem = str(exc)
    if problem:
        raise ConfigurationError(
            f"endpoint {name} in {path}: {column} pattern {alternative!r} is not a valid regular "
            f"expression ({problem}); correct it or remove the endpoint."
        )


class NoWarehouseError(PromiseError):
    """The warehouse has no built marts to list endpoints from."""


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint of ``marts.endpoint_definition`` with its counts."""

    name: str
    long_name: str
    evaluation: str
    cases: int
    controls: int
    genotyped_cases: int
    genotyped_controls: int


@dataclass(frozen=True)
class TraitRow:
    """One quantitative trait (a DOUBLE column of ``marts.gwas_phenotype``)."""

    name: str
    platform: str
    unit: str
    measured: int
    genotyped: int


#: the fixed columns of marts.gwas_phenotype (every other column is an endpoint or a trait)
PHENOTYPE_BASE = ("person_id", "sample_id", "batch", "sex", "is_female", "age", "birth_year")

_ENDPOINTS_SQL = """
with overall as (
    select endpoint,
           count(*) filter (where is_case) as cases,
           count(*) filter (where is_control) as controls
    from marts.endpoint_status group by endpoint
),
genotyped as (
    -- one row per genotyped sample: the mart's endpoint columns, 1 case / 0 control
    select name, count(*) filter (where value = 1) as cases,
           count(*) filter (where value = 0) as controls
    from (unpivot (select {columns} from marts.gwas_phenotype)
          on {columns} into name name value value)
    group by name
)
select d.name, coalesce(d.longname, ''), d.evaluation,
       coalesce(o.cases, 0), coalesce(o.controls, 0),
       coalesce(g.cases, 0), coalesce(g.controls, 0)
from marts.endpoint_definition as d
left join overall as o on o.endpoint = d.name
left join genotyped as g on g.name = d.name
order by coalesce(g.cases, 0) desc, coalesce(o.cases, 0) desc, d.name
"""


def _columns(con: duckdb.DuckDBPyConnection, types: tuple[str, ...]) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'gwas_phenotype' and data_type in ? order by ordinal_position",
        [list(types)],
    ).fetchall()
    # dict.fromkeys: the attached file's schema and its views both answer as 'marts'
    return [c for c in dict.fromkeys(r[0] for r in rows) if c not in PHENOTYPE_BASE]


def _quoted(names: list[str]) -> str:
    return ", ".join('"' + n.replace('"', '""') + '"' for n in names)


def list_endpoints(con: duckdb.DuckDBPyConnection) -> list[EndpointRow]:
    """Every endpoint with cases and controls overall (``marts.endpoint_status``) and
    among the genotyped samples (``marts.gwas_phenotype``); most genotyped cases first."""
    columns = _columns(con, ("INTEGER",))
    if not columns:
        sql = _ENDPOINTS_SQL.split("genotyped as (")[0].rstrip().rstrip(",")
        sql += """
select d.name, coalesce(d.longname, ''), d.evaluation, coalesce(o.cases, 0),
       coalesce(o.controls, 0), 0, 0
from marts.endpoint_definition as d left join overall as o on o.endpoint = d.name
order by coalesce(o.cases, 0) desc, d.name"""
    else:
        sql = _ENDPOINTS_SQL.format(columns=_quoted(columns))
    return [EndpointRow(*row) for row in con.execute(sql).fetchall()]


def list_traits(con: duckdb.DuckDBPyConnection) -> list[TraitRow]:
    """Every quantitative trait usable with ``--trait``: platform, unit, persons measured
    and genotyped samples with a value."""
    columns = _columns(con, ("DOUBLE",))
    if not columns:
        return []
    counts = con.execute(
        f"select {', '.join(f'count({c})' for c in _quoted(columns).split(', '))} "
        "from marts.gwas_phenotype"
    ).fetchone()
    measured = {
        name: (platform, unit, n)
        for name, platform, unit, n in con.execute(
            "select analyte_name, any_value(platform), coalesce(any_value(unit), ''), "
            "count(distinct person_id) from marts.omics_measurement group by analyte_name"
        ).fetchall()
    }
    rows = []
    for name, genotyped in zip(columns, counts or [], strict=True):
        platform, unit, n = measured.get(name, ("", "", 0))
        rows.append(TraitRow(name, platform, unit, int(n), int(genotyped)))
    return rows


def open_marts(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a built warehouse, or one sentence saying to build it."""
    from promise.warehouse import connect

    if not (Path(warehouse) / "promise.duckdb").is_file():
        raise NoWarehouseError(
            f"No built warehouse at {warehouse} (promise.duckdb is missing): give --warehouse "
            "or run `promise build` first."
        )
    con = connect(Path(warehouse))
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' "
        "and table_name in ('endpoint_definition', 'endpoint_status', 'gwas_phenotype')"
    ).fetchone()
    if not found or found[0] < 3:
        con.close()
        raise NoWarehouseError(
            f"The warehouse at {warehouse} lacks the endpoint marts: run `promise build` first."
        )
    return con
