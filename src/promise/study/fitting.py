"""``promise study fit``: a model of one outcome on a built study's dataset, written as a
result table (``study.<name>__cox`` or ``__poisson``) beside incidence rates
(``study.<name>__rates``).

The Cox model is cause-specific: the competing event (death from other causes, status 2)
is censored, and its count is reported beside the events. Rows with a missing term (an
omics value without an earlier sample) are left out and counted (``n_missing``). Fewer
events than ``events_per_term`` (default 10) per term gives a :class:`StudyWarning` naming
the YAML line, because such estimates are unstable.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from promise.study.dataset import definition_digest, definition_path
from promise.study.definition import StudyDefinition
from promise.study.models import Coefficients, ModelFitError, cox, garwood, poisson
from promise.study.schema import load_definition
from promise.study.source import StudyDefinitionError
from promise.study.storage import read_meta, read_table, replace_table, require_built, study_lock

MODELS = ("cox", "poisson")


class StudyWarning(UserWarning):
    """A model ran but its result deserves caution (too few events per term)."""


@dataclass(frozen=True)
class StudyFit:
    """One fit: its result table and the outcome's incidence rates."""

    name: str
    model: str
    outcome: str
    results: pl.DataFrame
    rates: pl.DataFrame
    path: Path


def fit(name: str, *, warehouse: Path, model: str = "cox", outcome: str | None = None, studies_dir: Path | None = None) -> StudyFit:  # fmt: skip
    """Fit ``model`` (cox or poisson) for ``outcome`` (default: the definition's) on study ``name``."""
    if model not in MODELS:
        raise ModelFitError(f"unknown model '{model}'; use one of {', '.join(MODELS)}.")
    warehouse = Path(warehouse)
    definition = _unchanged_definition(warehouse, definition_path(name, studies_dir))
    with study_lock(warehouse, definition.name):
        return _fit_locked(definition, warehouse, model, outcome)


def _fit_locked(definition: StudyDefinition, warehouse: Path, model: str, outcome: str | None) -> StudyFit:  # fmt: skip
    name = definition.name
    chosen = _outcome(definition, outcome)
    terms = _terms(definition)
    data = read_table(warehouse, definition.name, "dataset")
    assert data is not None
    _check_types(definition, data, terms)
    complete = data.drop_nulls(list(terms))
    time = complete[f"{chosen}_years"].to_numpy().astype(np.float64)
    status = complete[f"{chosen}_status"].to_numpy()
    event = (status == 1).astype(np.float64)
    X = complete.select(terms).cast(pl.Float64).to_numpy()
    _check_events(definition, terms, int(event.sum()), chosen)
    _check_variation(definition, X, terms)
    coefficients = (cox if model == "cox" else poisson)(time, event, X, terms)
    counts = {
        "n_persons": complete.height, "n_events": int(event.sum()),
        "n_competing": int((status == 2).sum()), "n_missing": data.height - complete.height,
        "person_years": float(time.sum()),
    }  # fmt: skip
    results = result_table(definition, model, chosen, coefficients, counts)
    rates = rate_table(definition, complete, chosen)
    path = replace_table(warehouse, name, model, _merged(warehouse, name, model, results, chosen))
    replace_table(warehouse, name, "rates", _merged(warehouse, name, "rates", rates, chosen))
    return StudyFit(name=name, model=model, outcome=chosen, results=results, rates=rates, path=path)


def _unchanged_definition(warehouse: Path, path: Path) -> StudyDefinition:
    name = path.stem
    require_built(warehouse, name)
    built = read_meta(warehouse, name)["definition_sha256"]
    if definition_digest(path) != built:
        raise StudyDefinitionError(f"{path} has changed since study '{name}' was built; run `promise study build {name}` again before fitting.")  # fmt: skip
    return load_definition(path)


def _outcome(definition: StudyDefinition, outcome: str | None) -> str:
    chosen = outcome or definition.model.outcome or definition.outcomes[0].name
    names = [o.name for o in definition.outcomes]
    if chosen not in names:
        raise StudyDefinitionError(f"outcome '{chosen}' is not an outcome of {definition.path} ({', '.join(names)}).")  # fmt: skip
    return chosen


def _terms(definition: StudyDefinition) -> tuple[str, ...]:
    terms = definition.model.terms or tuple(v.name for v in definition.variables)
    if not terms:
        raise StudyDefinitionError(f"{definition.path} line {definition.model.line}: the model has no terms; add exposures or covariates.")  # fmt: skip
    return terms


def _line(definition: StudyDefinition, term: str) -> int:
    return next((v.line for v in definition.variables if v.name == term), definition.model.line)


def _check_types(definition: StudyDefinition, data: pl.DataFrame, terms: tuple[str, ...]) -> None:
    for term in terms:
        dtype = data.schema[term]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise StudyDefinitionError(f"{definition.path} line {_line(definition, term)}: model term '{term}' is {dtype}, not a number; a model needs numeric terms (drop it from model terms).")  # fmt: skip


def _check_events(
    definition: StudyDefinition, terms: tuple[str, ...], events: int, outcome: str
) -> None:
    line = definition.model.lines.get("terms", definition.model.line)
    if events == 0:
        raise ModelFitError(f"{definition.path} line {line}: outcome '{outcome}' has no events in the study population; nothing to model.")  # fmt: skip
    need = definition.model.events_per_term * len(terms)
    if events < need:
        warnings.warn(StudyWarning(f"{definition.path} line {line}: {events} events of '{outcome}' for {len(terms)} terms, fewer than {definition.model.events_per_term} per term ({need}); estimates may be unstable, so use fewer terms or a larger population."), stacklevel=3)  # fmt: skip


def _check_variation(definition: StudyDefinition, X: np.ndarray, terms: tuple[str, ...]) -> None:
    for j, term in enumerate(terms):
        if X.shape[0] == 0 or np.ptp(X[:, j]) == 0:
            raise ModelFitError(f"{definition.path} line {_line(definition, term)}: term '{term}' has the same value for everyone in the study population; drop it from the model.")  # fmt: skip


def result_table(definition: StudyDefinition, model: str, outcome: str, c: Coefficients, counts: dict[str, float | int]) -> pl.DataFrame:  # fmt: skip
    """One row per term: estimate, model-based and robust SE, ratio with robust 95% CI."""
    low, high = c.ci()
    exposures = {v.name for v in definition.exposures}
    roles = ["intercept" if t == "intercept" else "exposure" if t in exposures else "covariate" for t in c.terms]  # fmt: skip
    n = len(c.terms)
    return pl.DataFrame(
        {
            "study": [definition.name] * n, "outcome": [outcome] * n, "model": [model] * n,
            "term": list(c.terms), "role": roles, "coef": c.coef, "se_model": c.se_model,
            "se_robust": c.se_robust, "ratio": c.ratio(), "ci_lower": low, "ci_upper": high,
            "p_value": c.p_value(),
            **{k: [v] * n for k, v in counts.items()},
            "fitted_at": [dt.datetime.now(dt.UTC).isoformat(timespec="seconds")] * n,
        }
    )  # fmt: skip


def rate_table(definition: StudyDefinition, data: pl.DataFrame, outcome: str) -> pl.DataFrame:
    """Events, person-years and rate per 1,000 person-years with exact (Garwood) 95% CIs:
    overall and by each exposure that takes the values 0 and 1 only."""
    groups: list[tuple[str, str, pl.DataFrame]] = [("all", "", data)]
    for exposure in definition.exposures:
        values = set(data[exposure.name].drop_nulls().unique().to_list())
        if values <= {0, 1}:
            groups += [
                (exposure.name, str(v), data.filter(pl.col(exposure.name) == v)) for v in (0, 1)
            ]
    rows = []
    for group, level, part in groups:
        events = int((part[f"{outcome}_status"] == 1).sum())
        years = float(part[f"{outcome}_years"].sum())
        low, high = garwood(events, years) if years > 0 else (float("nan"), float("nan"))
        rows.append({
            "study": definition.name, "outcome": outcome, "group": group, "level": level,
            "persons": part.height, "events": events, "person_years": years,
            "rate_per_1000": 1000 * events / years if years > 0 else float("nan"),
            "ci_lower_per_1000": 1000 * low, "ci_upper_per_1000": 1000 * high,
        })  # fmt: skip
    return pl.DataFrame(rows)


def _merged(
    warehouse: Path, name: str, table: str, new: pl.DataFrame, outcome: str
) -> pl.DataFrame:
    """The stored table with this outcome's rows replaced by ``new``."""
    old = read_table(warehouse, name, table)
    if old is None or old.columns != new.columns:
        return new
    return pl.concat([old.filter(pl.col("outcome") != outcome), new], how="vertical_relaxed")
