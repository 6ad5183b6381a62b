"""The results browser's bookkeeping: endpoint categories, file names, the run's genome
build, and moving a finished site into place."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from promise.gwas.tophits import BrowserError

if TYPE_CHECKING:
    from promise.gwas.browser import BrowserTrait

#: FinnGen endpoint name prefixes and the category each stands for, in the order the PheWAS
#: pages show them. FinnGen names an endpoint by its ICD-10 chapter, letter(s) then the
#: chapter's number (``I9_`` = chapter IX); the titles are the WHO's ICD-10 chapter titles.
#: ``C3_`` are cancers as the cancer register codes them, ``CD2_`` neoplasms from
#: hospital diagnoses, ``RX_`` drug dispensations.
CATEGORIES: list[tuple[str, str, str]] = [  # prefix, title, short label for plots
    ("AB1_", "Certain infectious and parasitic diseases", "Infectious"),
    ("C3_", "Neoplasms, from the cancer register", "Cancer register"),
    ("CD2_", "Neoplasms, from hospital diagnoses", "Neoplasms"),
    (
        "D3_",
        "Diseases of the blood and blood-forming organs and certain disorders "
        "involving the immune mechanism",
        "Blood and immune",
    ),  # fmt: skip
    ("E4_", "Endocrine, nutritional and metabolic diseases", "Endocrine, metabolic"),
    ("F5_", "Mental and behavioural disorders", "Mental"),
    ("G6_", "Diseases of the nervous system", "Nervous system"),
    ("H7_", "Diseases of the eye and adnexa", "Eye"),
    ("H8_", "Diseases of the ear and mastoid process", "Ear"),
    ("I9_", "Diseases of the circulatory system", "Circulatory"),
    ("J10_", "Diseases of the respiratory system", "Respiratory"),
    ("K11_", "Diseases of the digestive system", "Digestive"),
    ("L12_", "Diseases of the skin and subcutaneous tissue", "Skin"),
    ("M13_", "Diseases of the musculoskeletal system and connective tissue", "Musculoskeletal"),
    ("N14_", "Diseases of the genitourinary system", "Genitourinary"),
    ("O15_", "Pregnancy, childbirth and the puerperium", "Pregnancy"),
    ("P16_", "Certain conditions originating in the perinatal period", "Perinatal"),
    (
        "Q17_",
        "Congenital malformations, deformations and chromosomal abnormalities",
        "Congenital",
    ),  # fmt: skip
    (
        "R18_",
        "Symptoms, signs and abnormal clinical and laboratory findings, "
        "not elsewhere classified",
        "Symptoms, signs",
    ),  # fmt: skip
    ("ST19_", "Injury, poisoning and certain other consequences of external causes", "Injury"),
    ("VWXY20_", "External causes of morbidity and mortality", "External causes"),
    (
        "Z21_",
        "Factors influencing health status and contact with health services",
        "Health services",
    ),  # fmt: skip
    ("RX_", "Drug dispensations", "Drugs"),
]
OTHER_ENDPOINTS = "Other endpoints"
QUANTITATIVE = "Quantitative traits"
_SLUG_MOST = 80  # characters of a page's file name before the extension


def endpoint_category(name: str, kind: str = "binary") -> str:
    """The category of a trait from its FinnGen name prefix (``I9_MI``: diseases of the
    circulatory system); a quantitative trait without one is a quantitative trait, any
    other an other endpoint."""
    for prefix, title, _ in CATEGORIES:
        if name.upper().startswith(prefix):
            return title
    return QUANTITATIVE if kind == "quantitative" else OTHER_ENDPOINTS


def category_order(categories: Iterable[str]) -> list[str]:
    """``categories`` in the order of :data:`CATEGORIES`, then any others alphabetically,
    then other endpoints and quantitative traits."""
    present = set(categories)
    known = [title for _, title, _ in CATEGORIES if title in present]
    last = [c for c in (OTHER_ENDPOINTS, QUANTITATIVE) if c in present]
    rest = sorted(present - set(known) - set(last))
    return known + rest + last


def short_category(title: str, most: int = 30) -> str:
    """The short label of a category for a plot's axis (its title cut to ``most``
    characters when it is not one of :data:`CATEGORIES`)."""
    short = {t: label for _, t, label in CATEGORIES}
    short.update({OTHER_ENDPOINTS: "Other", QUANTITATIVE: "Quantitative"})
    label = short.get(title, title)
    return label if len(label) <= most else label[: most - 1] + "…"


def slugs(names: Iterable[str]) -> dict[str, str]:
    """A file name stem for each name: letters, digits, ``_``, ``.`` and ``-`` only (a
    ``:`` would read as a URL scheme), not starting with a dot, at most 80 characters
    (longer ones end in a hash), and unique even where file names ignore case."""
    taken: set[str] = set()
    result: dict[str, str] = {}
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".") or "_"
        if len(base) > _SLUG_MOST:
            base = base[: _SLUG_MOST - 9] + "-" + hashlib.md5(name.encode()).hexdigest()[:8]
        slug, k = base, 2
        while slug.lower() in taken:
            slug, k = f"{base}-{k}", k + 1
        taken.add(slug.lower())
        result[name] = slug
    return result


def meta_build(out_dir: Path, ssf_files: Sequence[Path]) -> str | None:
    """The genome build in the metadata file beside the first GWAS-SSF file, if any."""
    if not ssf_files:
        return None
    path = ssf_files[0] if ssf_files[0].is_absolute() else out_dir / ssf_files[0]
    meta = path.with_name(path.name + "-meta.yaml")
    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    build = data.get("genome_assembly") if isinstance(data, dict) else None
    return build if build in ("GRCh37", "GRCh38") else None


def swap_into_place(stage: Path, target: Path) -> None:
    """Replace ``target`` (a folder, or nothing) by the finished ``stage`` folder."""
    if target.exists() and not target.is_dir():
        raise BrowserError(f"{target} is a file, not a folder: move it away and run again.")
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    stage.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True, kw_only=True)
class ReadTrait:
    """What the first pass over a trait's file keeps: its hits and a few figures."""

    trait: BrowserTrait
    path: Path
    slug: str
    category: str
    lambda_gc: float
    tested: int
    best_p: float | None
    hits: pl.DataFrame
    best: pl.DataFrame | None  # its best loci when it has no hit, else None


def meta_fields(meta: Path) -> dict[str, Any]:
    """The fields of a GWAS-SSF metadata file the browser uses."""
    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise BrowserError(
            f"{meta} is not a readable metadata file ({type(error).__name__})."
        ) from None
    if not isinstance(data, dict) or not data.get("data_file_name"):
        raise BrowserError(f"{meta} is not a GWAS-SSF metadata file (no data_file_name).")
    return data
