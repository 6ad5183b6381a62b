"""Data contracts: what each landing source must contain (Open Data Contract Standard v3 YAML).

A contract in ``data-contracts/<source>.odcs.yaml`` describes one landing source. Each
property is one delivered column: ``name`` is the column as delivered (matched
case-insensitively), ``physicalName`` the raw-layer column it becomes, ``logicalType`` and
``physicalType`` its type, ``required`` whether a value must be present, ``classification``
its privacy class. Checks a value must pass come from ``logicalTypeOptions`` (``pattern``,
``format``, ``minimum``, ``maximum``) and from a property-level ``quality`` rule with metric
``invalidValues`` and ``arguments.validValues``. Promise-specific meaning lives in
``customProperties`` (``role``, ``presence``, ``partialDate``, ``sixDigitDates``, ``valueMap``, ``trueValues``,
``unit``, ``splitTokens``, ``birthDateColumn``) and, at schema level, ``derivedColumns``,
``reshape``, ``rowChecks`` and ``eventDate``.

Every column says where its meaning comes from: ``businessName`` is the register's own name
for the variable, ``authoritativeDefinitions`` cite the published variable list that defines
it, and a column no published list could be found for says so in ``customProperties``
``noAuthoritativeSource`` (never an invented citation). Names a column was delivered under in
other years are declared as ``aliases`` (``<n>`` stands for a position: several delivered
columns ``OP1``, ``OP2``, ... fill one raw column, joined by blanks), and the personnummer
column lists in ``lopnrAliases`` the names of an order's running number (``LopNr``;
``<order>`` stands for the order's number), which a linkage file turns into a personnummer.

A source keyed by one person may name others: a column with ``role: relative`` (a parent in
the Multi-Generation Register) holds another person's personnummer, which ingestion replaces
by that person's pseudonym (``physicalName``) and, with ``birthDateColumn``, birth date.
``rowChecks`` reject rows whose columns contradict each other (``rejectWhen``, a SQL
condition on the raw columns, e.g. a parent born after the child), each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promise.errors import ConfigurationError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LOGICAL_TYPES = ("string", "integer", "number", "date", "boolean")
PHYSICAL_TYPES = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "number": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
}


class ContractError(ConfigurationError):
    """A contract file is malformed."""


@dataclass(frozen=True, kw_only=True)
class Citation:
    """A published document that defines a column (ODCS ``authoritativeDefinitions``)."""

    url: str
    type: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Column:
    """One delivered column and the raw column it becomes."""

    name: str
    raw: str
    logical_type: str
    physical_type: str
    required: bool = False
    optional_presence: bool = False
    role: str | None = None
    classification: str = "public"
    pattern: str | None = None
    valid_values: tuple[str, ...] | None = None
    value_map: dict[str, str] | None = None
    true_values: tuple[str, ...] | None = None
    date_format: str | None = None
    partial_date: bool = False
    six_digit_dates: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    split_tokens: bool = False
    split_into: dict[str, Any] | None = None
    description: str = ""
    business_name: str | None = None
    citations: tuple[Citation, ...] = ()
    no_source: str | None = None
    aliases: tuple[str, ...] = ()
    lopnr_aliases: tuple[str, ...] = ()

    birth_date_column: str | None = None

    @property
    def is_personnummer(self) -> bool:
        """True for the column holding the personal identity number."""
        return self.role == "personnummer"

    @property
    def is_relative(self) -> bool:
        """True for a column holding another person's personnummer (a parent's, say)."""
        return self.role == "relative"


@dataclass(frozen=True, kw_only=True)
class RowCheck:
    """A condition across the raw columns of a row that rejects it with ``reason``."""

    reason: str
    column: str
    reject_when: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Derived:
    """A raw column computed from other raw columns by a SQL expression."""

    name: str
    physical_type: str
    sql: str


@dataclass(frozen=True, kw_only=True)
class Reshape:
    """Wide -> long: every non-id column becomes one (name, value, unit) row."""

    id_columns: tuple[str, ...]
    name_column: str
    value_column: str
    unit_column: str


@dataclass(frozen=True, kw_only=True)
class Contract:
    """A parsed data contract for one landing source."""

    id: str
    source: str
    version: str
    columns: tuple[Column, ...]
    derived: tuple[Derived, ...] = ()
    reshape: Reshape | None = None
    quality: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    purpose: str = ""
    event_date: str | None = None
    documents: tuple[Citation, ...] = ()
    row_checks: tuple[RowCheck, ...] = ()

    def column(self, name: str) -> Column:
        """The column delivered as ``name`` (case-insensitive)."""
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        raise KeyError(name)

    @property
    def personnummer(self) -> Column | None:
        """The personnummer column, if this source has one."""
        return next((c for c in self.columns if c.is_personnummer), None)

    @property
    def relatives(self) -> tuple[Column, ...]:
        """The columns holding other people's personnummer."""
        return tuple(c for c in self.columns if c.is_relative)


def load_contract(path: Path) -> Contract:
    """Read and check one ``*.odcs.yaml`` file."""
    try:
        doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"contract {path} cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "DataContract":
        raise ContractError(f"{path} is not an ODCS data contract (kind: DataContract).")
    if not str(doc.get("apiVersion", "")).startswith("v3"):
        raise ContractError(f"{path} must declare an ODCS v3 apiVersion.")
    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractError(f"{path} must describe exactly one schema object (one landing source).")
    obj = schema[0]
    custom = _custom(obj)
    columns = tuple(_column(p, path) for p in obj.get("properties") or [])
    if not columns:
        raise ContractError(f"{path} has no properties.")
    return Contract(
        id=str(doc.get("id")),
        source=str(obj["name"]),
        version=str(doc.get("version")),
        columns=columns,
        derived=tuple(
            Derived(name=d["name"], physical_type=d["physicalType"], sql=d["sql"])
            for d in custom.get("derivedColumns") or []
        ),
        reshape=_reshape(custom.get("reshape")),
        quality=tuple(obj.get("quality") or []),
        purpose=str((doc.get("description") or {}).get("purpose", "")),
        event_date=custom.get("eventDate"),
        documents=_citations(obj, path),
        row_checks=_row_checks(custom.get("rowChecks"), path),
    )


def _custom(node: dict[str, Any]) -> dict[str, Any]:
    return {p["property"]: p.get("value") for p in node.get("customProperties") or []}


def _column(prop: dict[str, Any], path: Path) -> Column:
    name = prop.get("name")
    logical = prop.get("logicalType")
    if not name or logical not in LOGICAL_TYPES:
        raise ContractError(
            f"{path}: property {name!r} needs a name and a logicalType in {LOGICAL_TYPES}."
        )
    options = prop.get("logicalTypeOptions") or {}
    custom = _custom(prop)
    return Column(
        name=str(name),
        raw=str(prop.get("physicalName") or name),
        logical_type=str(logical),
        physical_type=str(prop.get("physicalType") or PHYSICAL_TYPES[str(logical)]),
        required=bool(prop.get("required", False)),
        optional_presence=custom.get("presence") == "optional",
        role=custom.get("role"),
        classification=str(prop.get("classification", "public")),
        pattern=options.get("pattern"),
        valid_values=_valid_values(prop),
        value_map={str(k): str(v) for k, v in (custom.get("valueMap") or {}).items()} or None,
        true_values=tuple(str(v) for v in custom["trueValues"]) if "trueValues" in custom else None,
        date_format=options.get("format"),
        partial_date=bool(custom.get("partialDate", False)),
        six_digit_dates=bool(custom.get("sixDigitDates", False)),
        minimum=_float(options.get("minimum")),
        maximum=_float(options.get("maximum")),
        unit=custom.get("unit"),
        split_tokens=bool(custom.get("splitTokens", False)),
        split_into=custom.get("splitInto"),
        description=" ".join(str(prop.get("description", "")).split()),
        business_name=prop.get("businessName"),
        citations=_cited(prop, path),
        no_source=custom.get("noAuthoritativeSource"),
        aliases=_names(custom.get("aliases"), path, name),
        lopnr_aliases=_names(custom.get("lopnrAliases"), path, name),
        birth_date_column=custom.get("birthDateColumn"),
    )


def _citations(node: dict[str, Any], path: Path) -> tuple[Citation, ...]:
    out = []
    for item in node.get("authoritativeDefinitions") or []:
        if not isinstance(item, dict) or not item.get("url") or not item.get("type"):
            raise ContractError(
                f"{path}: an authoritativeDefinitions entry needs a url and a type."
            )
        out.append(
            Citation(
                url=str(item["url"]),
                type=str(item["type"]),
                description=" ".join(str(item.get("description", "")).split()),
            )
        )
    return tuple(out)


def _cited(prop: dict[str, Any], path: Path) -> tuple[Citation, ...]:
    """A column's citations; a column must cite its source or say that none was found."""
    citations = _citations(prop, path)
    custom = _custom(prop)
    if not citations and not str(custom.get("noAuthoritativeSource") or "").strip():
        raise ContractError(
            f"{path}: property {prop.get('name')!r} cites no published variable list "
            "(authoritativeDefinitions) and does not say why (customProperties "
            "noAuthoritativeSource); say where its meaning comes from."
        )
    return citations


def _names(value: Any, path: Path, column: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ContractError(f"{path}: aliases of {column!r} must be a list of names.")
    return tuple(v.strip() for v in value)


def _valid_values(prop: dict[str, Any]) -> tuple[str, ...] | None:
    for rule in prop.get("quality") or []:
        if rule.get("metric") == "invalidValues":
            values = (rule.get("arguments") or {}).get("validValues")
            if values is not None:
                return tuple(str(v) for v in values)
    return None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _reshape(value: Any) -> Reshape | None:
    if not value:
        return None
    return Reshape(
        id_columns=tuple(value["idColumns"]),
        name_column=value["nameColumn"],
        value_column=value["valueColumn"],
        unit_column=value["unitColumn"],
    )


def _row_checks(value: Any, path: Path) -> tuple[RowCheck, ...]:
    checks = []
    for item in value or []:
        missing = {"reason", "column", "rejectWhen", "detail"} - set(item or {})
        if missing:
            raise ContractError(f"{path}: a rowChecks entry lacks {', '.join(sorted(missing))}.")
        checks.append(
            RowCheck(
                reason=str(item["reason"]),
                column=str(item["column"]),
                reject_when=str(item["rejectWhen"]),
                detail=str(item["detail"]),
            )
        )
    return tuple(checks)
