"""Planted genetic effects: causal genotypes for everyone, the E4_DM2 liability, trait values.

Everyone in the cohort carries genotypes at the causal variants (only the genotyped
subset is written out). Type 2 diabetes follows a logistic liability: a person's
probability of onset during follow-up is ``expit(logit F + c(F) + eta)``, where ``F`` is the
cumulative incidence from the baseline hazards, ``eta`` the genetic and ancestry score and
``c(F)`` a centring that keeps the cohort average at ``F``. So the planted log odds ratios
hold exactly conditional on follow-up, and the baseline hazards hold on average.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

import numpy as np

from promise.synth.model import model

TRAITS = ("E4_DM2", "LDL_C", "PCSK9")


@dataclass(frozen=True)
class Causal:
    """One causal variant of one trait."""

    trait: str
    chrom: int
    pos: int
    ref: str
    alt: str
    freq: tuple[float, float]  # effect-allele frequency in ancestries A and B
    effect: float  # log OR (binary) or beta (quantitative), per effect (alt) allele

    @property
    def variant_id(self) -> str:
        """``chrom:pos:ref:alt`` as Hail writes it for GRCh38."""
        return f"chr{self.chrom}:{self.pos}:{self.ref}:{self.alt}"


@cache
def causal_variants() -> tuple[Causal, ...]:
    """All causal variants, in a fixed order (columns of the causal genotype matrix)."""
    out: list[Causal] = []
    for trait in TRAITS:
        for v in model()["genetics"][trait]["causal"]:
            effect = v["log_or"] if "log_or" in v else v["beta"]
            out.append(
                Causal(
                    trait,
                    int(v["chrom"]),
                    int(v["pos"]),
                    v["ref"],
                    v["alt"],
                    tuple(v["freq"]),
                    float(effect),
                )  # type: ignore[arg-type]
            )
    return tuple(out)


def trait_columns(trait: str) -> list[int]:
    """Column indices of a trait's causal variants."""
    return [i for i, c in enumerate(causal_variants()) if c.trait == trait]


def draw_causal(ancestry: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Genotypes (effect-allele counts, int8) at every causal variant: shape (n, variants)."""
    freqs = np.array([c.freq for c in causal_variants()])  # (v, 2)
    p = freqs[:, ancestry].T  # (n, v)
    return rng.binomial(2, p).astype(np.int8)


def dm2_eta(genotypes: np.ndarray, ancestry: np.ndarray) -> np.ndarray:
    """Genetic plus ancestry log-odds score for type 2 diabetes."""
    cols = trait_columns("E4_DM2")
    effects = np.array([causal_variants()[i].effect for i in cols])
    shift = float(model()["genetics"]["E4_DM2"]["ancestry_B_log_or"])
    return np.asarray(genotypes[:, cols].astype(np.float64) @ effects + shift * ancestry)


def _eta_distribution(share_b: float) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of ``eta`` in the cohort (ancestry mixture)."""
    cols = trait_columns("E4_DM2")
    shift = float(model()["genetics"]["E4_DM2"]["ancestry_B_log_or"])
    values: list[float] = []
    probs: list[float] = []
    for anc, w in ((0, 1.0 - share_b), (1, share_b)):
        for combo in product((0, 1, 2), repeat=len(cols)):
            prob, eta = w, shift * anc
            for g, i in zip(combo, cols, strict=True):
                f = causal_variants()[i].freq[anc]
                prob *= (1 - f) ** 2 if g == 0 else (2 * f * (1 - f) if g == 1 else f * f)
                eta += g * causal_variants()[i].effect
            values.append(eta)
            probs.append(prob)
    return np.array(values), np.array(probs)


@cache
def centring_table(share_b: float) -> tuple[np.ndarray, np.ndarray]:
    """``c`` on a grid of ``logit F`` so that the cohort mean of ``expit(x + c + eta)`` is ``expit(x)``."""
    eta, prob = _eta_distribution(share_b)
    x = np.linspace(-20.0, 8.0, 561)
    c = np.full_like(x, -float(prob @ eta))
    target = 1.0 / (1.0 + np.exp(-x))
    for _ in range(60):
        s = 1.0 / (1.0 + np.exp(-(x[:, None] + c[:, None] + eta[None, :])))
        f = s @ prob - target
        slope = (s * (1.0 - s)) @ prob
        c = c - f / np.maximum(slope, 1e-300)
    return x, c


def case_probability(cum_incidence: np.ndarray, eta: np.ndarray, share_b: float) -> np.ndarray:
    """Probability of onset during follow-up given baseline cumulative incidence ``F``."""
    grid, c = centring_table(round(share_b, 6))
    with np.errstate(divide="ignore"):
        x = np.log(cum_incidence) - np.log1p(-cum_incidence)
    xc = np.clip(x, grid[0], grid[-1])
    z = xc + np.interp(xc, grid, c) + eta
    return np.where(cum_incidence > 0, 1.0 / (1.0 + np.exp(-z)), 0.0)


def quantitative(
    trait: str,
    genotypes: np.ndarray,
    ancestry: np.ndarray,
    sex: np.ndarray,
    age: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    """Trait value: sex mean + age + ancestry shift + sum(beta * g) + sd * noise."""
    spec: dict[str, Any] = model()["genetics"][trait]
    cols = trait_columns(trait)
    betas = np.array([causal_variants()[i].effect for i in cols])
    means = np.array([spec["mean"]["male"], spec["mean"]["female"]])
    value = means[sex] + float(spec["ancestry_B_shift"]) * ancestry
    value = value + float(spec.get("age_slope_per_decade", 0.0)) * (age - 50.0) / 10.0
    return np.asarray(
        value + genotypes[:, cols].astype(np.float64) @ betas + float(spec["sd"]) * noise
    )


def heritability(trait: str, share_b: float) -> float:
    """Share of the trait's within-ancestry variance explained by its causal variants."""
    genetic = 0.0
    for i in trait_columns(trait):
        f = (1 - share_b) * causal_variants()[i].freq[0] + share_b * causal_variants()[i].freq[1]
        genetic += 2 * f * (1 - f) * causal_variants()[i].effect ** 2
    sd = float(model()["genetics"][trait]["sd"])
    return genetic / (genetic + sd * sd)
