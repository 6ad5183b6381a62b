"""Trait groups as the fast engine's association takes them (:class:`GroupInput`).

A group is traits of one kind with the same non-missing samples: its samples (columns of
the genotype matrix, a .bed or a :class:`.dosagesource.DosageSource`), its traits' values
and its covariate matrix (intercept first, principal components among the columns).
:func:`group_inputs` builds them from the trait groups of
:func:`promise.gwas.association.trait_groups`; both the .bed path
(:mod:`.fastengine`) and the dosage path use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from promise.gwas.association import TraitGroup

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, kw_only=True)
class GroupInput:
    """One group: ``cols`` (sample columns of the genotypes), ``y`` (samples x traits) and
    the covariates (samples x columns, intercept first)."""

    kind: Literal["binary", "quantitative"]
    traits: list[str]
    cols: Array
    y: Array
    covariates: Array
    #: chromosome label (.bim) -> samples x traits LOCO predictions; None: no LOCO
    offsets: Mapping[str, Array] | None = None
    #: (first, second, kinship): related pairs as positions in ``cols``; with ``offsets``
    relatives: tuple[Array, Array, Array] | None = None


def independent_columns(covariates: Array) -> Array:
    """The covariate matrix without columns that are constant (but the first, the
    intercept) or a combination of the columns before them."""
    kept: list[int] = []
    for j in range(covariates.shape[1]):
        trial = covariates[:, [*kept, j]]
        if np.linalg.matrix_rank(trial, tol=1e-8 * max(1.0, float(np.abs(trial).max()))) > len(
            kept
        ):
            kept.append(j)
    reduced: Array = covariates[:, kept]
    return reduced


def group_inputs(
    groups: Sequence[TraitGroup],
    aligned: pl.DataFrame,
    cols: Array,
    covariates: Sequence[str],
) -> list[GroupInput]:
    """Each group's samples, trait values and covariates (intercept first): ``aligned``
    one row per analysed sample (:func:`promise.gwas.association.aligned`), ``cols`` their
    columns in the genotypes."""
    inputs = []
    for group in groups:
        mask = aligned[group.traits[0]].is_not_null().to_numpy()
        rows = aligned.filter(pl.Series(mask))
        x = rows.select(pl.col(c).cast(pl.Float64) for c in covariates).to_numpy()
        inputs.append(
            GroupInput(
                kind="binary" if group.kind == "binary" else "quantitative",
                traits=list(group.traits),
                cols=cols[mask],
                y=rows.select(pl.col(t).cast(pl.Float64) for t in group.traits).to_numpy(),
                covariates=np.column_stack([np.ones(len(rows)), x.reshape(len(rows), -1)]),
            )
        )
    return inputs
