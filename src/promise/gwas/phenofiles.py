"""Phenotype and covariate files a researcher brings, read into one sample-keyed frame.

Accepted layouts (whitespace- or tab-separated, one header line):

- PLINK 2 / regenie style ``FID IID col ...``: the sample id is ``IID``;
- a ``Sample`` (or ``IID``, ``s``) column anywhere; else the first column is the id
  (``IND_ID`` in EPACTS files);
- a PLINK ``.fam`` file (no header): gives ``PHENO`` (column 6) and ``is_female``
  (column 5 == 2; unknown sex 0 is missing).

Missing values are ``NA``, ``NaN``, ``.`` and empty fields; ``missing_codes`` (``0``, ``-9``)
add codes that mean missing in *phenotype* columns only, because a covariate such as
``is_female`` legitimately takes the value 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from promise.errors import PromiseError

MISSING_STRINGS = frozenset({"", "na", "nan", ".", "none", "null"})
ID_COLUMNS = ("sample", "iid", "s")
FAM_COLUMNS = ("FID", "IID", "PAT", "MAT", "SEX", "PHENO")


class PhenotypeFileError(PromiseError):
    """A phenotype or covariate file cannot be read or lacks a requested column."""


def read_sample_table(path: Path) -> pd.DataFrame:
    """Read one phenotype/covariate file as strings, indexed by sample id (``s``)."""
    if not path.is_file():
        raise PhenotypeFileError(f"The file {path} does not exist: check the path.")
    if path.suffix == ".fam":
        return _fam_table(path)
    frame = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False)
    return _index_by_sample(frame, path)


def _fam_table(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", header=None, names=list(FAM_COLUMNS), dtype=str)
    sex = frame["SEX"].map({"1": "0", "2": "1"}).fillna("NA")
    out = pd.DataFrame({"PHENO": frame["PHENO"].to_numpy(), "is_female": sex.to_numpy()})
    out.index = pd.Index(frame["IID"].to_numpy(), name="s")
    return out


def _index_by_sample(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).lstrip("#"))
    lower = {c.lower(): c for c in frame.columns}
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), frame.columns[0])
    out = frame.drop(columns=[c for c in (id_col, lower.get("fid")) if c is not None])
    out.index = pd.Index(frame[id_col].to_numpy(), name="s")
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise PhenotypeFileError(
            f"Sample {dup!r} appears twice in {path}: keep one row per sample."
        )
    return out


def fid_iid_aliases(path: Path) -> dict[str, str]:
    """``FID_IID`` -> ``IID`` for a ``FID IID`` file: BGEN files written by PLINK 2 use it."""
    if path.suffix == ".fam":
        frame = pd.read_csv(path, sep=r"\s+", header=None, usecols=[0, 1], dtype=str)
    else:
        frame = pd.read_csv(path, sep=r"\s+", dtype=str)
        frame = frame.rename(columns=lambda c: str(c).lstrip("#").upper())
        if not {"FID", "IID"} <= set(frame.columns):
            return {}
        frame = frame[["FID", "IID"]]
    fid, iid = frame.iloc[:, 0], frame.iloc[:, 1]
    return dict(zip(fid + "_" + iid, iid, strict=True))


def read_id_list(path: Path) -> list[str]:
    """Sample ids from a ``FID IID`` (no header) or one-id-per-line file; IID is the id."""
    if not path.is_file():
        raise PhenotypeFileError(f"The sample list {path} does not exist: check the path.")
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0].upper() not in ("FID", "#FID", "IID", "#IID"):
            ids.append(fields[1] if len(fields) > 1 else fields[0])
    return ids


def merge_tables(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Outer-join several sample tables; a column in two files is taken from the first."""
    merged: pd.DataFrame | None = None
    for table in tables:
        if merged is None:
            merged = table
            continue
        new = [c for c in table.columns if c not in merged.columns]
        merged = merged.join(table[new], how="outer")
    return merged if merged is not None else pd.DataFrame(index=pd.Index([], name="s"))


def pick_columns(table: pd.DataFrame, names: Sequence[str] | None, *, what: str) -> list[str]:
    """The requested columns (all when ``names`` is None), with a clear error for a typo."""
    if not names:
        return list(table.columns)
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise PhenotypeFileError(
            f"{what} column {missing[0]!r} is not in the file; available: "
            + ", ".join(map(str, table.columns))
            + "."
        )
    return list(names)


def numeric_column(values: pd.Series, *, missing_codes: Sequence[float] = ()) -> pd.Series:
    """Strings to floats: booleans become 1/0, missing markers and ``missing_codes`` NaN."""
    text = values.astype(str).str.strip()
    lowered = text.str.lower()
    mapped = lowered.map({"true": "1", "false": "0"}).fillna(text)
    mapped = mapped.where(~lowered.isin(MISSING_STRINGS), other=None)
    numbers = pd.to_numeric(mapped, errors="coerce")
    bad = mapped.notna() & numbers.isna()
    if bad.any():
        raise PhenotypeFileError(
            f"Column {values.name!r} has the non-numeric value {text[bad].iloc[0]!r}: "
            "use NA for missing values."
        )
    if missing_codes:
        # Codes apply to what the file says (a literal 0), not to false mapped to 0.
        literal = pd.to_numeric(text.where(~lowered.isin(MISSING_STRINGS)), errors="coerce")
        numbers = numbers.where(~literal.isin(list(missing_codes)))
    return numbers.astype(float)


def covariate_columns(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Numeric covariates as floats; text covariates one-hot encoded (first level dropped)."""
    parts: list[pd.DataFrame] = []
    for name in names:
        column = table[name]
        lowered = column.astype(str).str.strip().str.lower()
        numbers = pd.to_numeric(column.where(~lowered.isin(MISSING_STRINGS)), errors="coerce")
        text = column.where(~lowered.isin(MISSING_STRINGS)).dropna()
        if numbers.notna().sum() == len(text):
            parts.append(numbers.astype(float).to_frame(name))
        else:
            parts.append(_one_hot(column.where(~lowered.isin(MISSING_STRINGS)), name))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=table.index)


def _one_hot(column: pd.Series, name: str) -> pd.DataFrame:
    levels = sorted(column.dropna().unique())
    frame = pd.DataFrame(index=column.index)
    for level in levels[1:]:
        frame[f"{name}_{level}"] = np.where(column.isna(), np.nan, (column == level).astype(float))
    return frame


def binary_coding(values: pd.Series) -> dict[float, float] | None:
    """How to recode a trait to 0/1 if it is binary (0/1 or PLINK's 1/2), else ``None``."""
    seen = set(values.dropna().unique())
    if not seen or len(seen) > 2:
        return None
    if seen <= {0.0, 1.0}:
        return {0.0: 0.0, 1.0: 1.0}
    if seen <= {1.0, 2.0}:
        return {1.0: 0.0, 2.0: 1.0}
    return None
