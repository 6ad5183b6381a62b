"""Sample and variant quality control, with the count each filter removed.

Functions take a MatrixTable first and return a new one plus :class:`QcStep` records, so
the report can say exactly how many samples and variants each named threshold removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from promise.gwas.options import QcThresholds

K = TypeVar("K")


@dataclass(frozen=True, kw_only=True)
class QcStep:
    """One filter: what it acts on, its rule, how many it removed and how many remain."""

    target: str  # "samples" or "variants"
    name: str
    rule: str
    removed: int
    remaining: int


def sample_qc(
    hl: Any, mt: Any, *, thresholds: QcThresholds, female_field: str | None
) -> tuple[Any, list[QcStep]]:
    """Remove samples by call rate, heterozygosity outliers and sex mismatch.

    Heterozygosity rate is ``n_het / n_called``; outliers lie more than ``het_sd`` standard
    deviations from the mean of the samples that passed the call-rate filter. The sex check
    compares ``hl.impute_sex`` on chrX (F < ``sex_female_f`` female, F > ``sex_male_f``
    male) with the register sex in column field ``female_field`` (1 female, 0 male); it runs
    only where both exist, i.e. when the data has chrX variants and a register sex.
    """
    steps: list[QcStep] = []
    n0 = mt.count_cols()
    mt = hl.sample_qc(mt, name="sqc")
    rows = mt.cols().select("sqc").collect()
    het = {
        r.s: (r.sqc.n_het / r.sqc.n_called if r.sqc.n_called else None)
        for r in rows
        if r.sqc.call_rate is not None and r.sqc.call_rate >= thresholds.min_sample_call_rate
    }
    keep_call = set(het)
    steps.append(
        QcStep(
            target="samples",
            name="call rate",
            rule=f"call rate >= {thresholds.min_sample_call_rate}",
            removed=n0 - len(keep_call),
            remaining=len(keep_call),
        )
    )
    keep_het = within_sd(het, thresholds.het_sd)
    steps.append(
        QcStep(
            target="samples",
            name="heterozygosity",
            rule=f"het rate within {thresholds.het_sd} SD of the mean",
            removed=len(keep_call) - len(keep_het),
            remaining=len(keep_het),
        )
    )
    keep = keep_het
    mt = mt.filter_cols(hl.literal(keep).contains(mt.s)).drop("sqc")
    mt, sex_step = _sex_check(hl, mt, thresholds=thresholds, female_field=female_field, n=len(keep))
    steps.append(sex_step)
    return mt, steps


def within_sd(values: Mapping[K, float | None], n_sd: float) -> set[K]:
    """The keys whose value lies within ``n_sd`` sample standard deviations of the mean
    (all defined ones when fewer than three are)."""
    defined = {k: v for k, v in values.items() if v is not None}
    if len(defined) < 3:
        return set(defined)
    mean = sum(defined.values()) / len(defined)
    sd = (sum((v - mean) ** 2 for v in defined.values()) / (len(defined) - 1)) ** 0.5
    return {k for k, v in defined.items() if abs(v - mean) <= n_sd * sd}


def _sex_check(
    hl: Any, mt: Any, *, thresholds: QcThresholds, female_field: str | None, n: int
) -> tuple[Any, QcStep]:
    rule = f"chrX F < {thresholds.sex_female_f} female, > {thresholds.sex_male_f} male"
    x_contigs = hl.literal({"chrX", "X"})
    x_rows = mt.filter_rows(x_contigs.contains(mt.locus.contig))
    has_x = female_field is not None and x_rows.count_rows() > 0
    if not has_x:
        why = "no register sex" if female_field is None else "no chrX variants"
        return mt, QcStep(
            target="samples", name="sex check", rule=f"not run ({why})", removed=0, remaining=n
        )
    imputed = hl.impute_sex(
        x_rows.GT,
        female_threshold=thresholds.sex_female_f,
        male_threshold=thresholds.sex_male_f,
    )
    register = mt.pheno[female_field]
    called = imputed[mt.s].is_female
    mismatch = hl.is_defined(called) & hl.is_defined(register) & (called != (register == 1))
    mt = mt.filter_cols(~mismatch)
    kept = mt.count_cols()
    return mt, QcStep(
        target="samples", name="sex check", rule=rule, removed=n - kept, remaining=kept
    )


def variant_qc(
    hl: Any, mt: Any, *, thresholds: QcThresholds, binary_traits: Sequence[str], tmp: str
) -> tuple[Any, list[QcStep]]:
    """Remove variants by call rate, MAF, MAC and Hardy-Weinberg p.

    For binary traits the Hardy-Weinberg test uses controls only (samples that are not a
    case of any of ``binary_traits``), so a true association does not fail the filter.
    The per-variant flags are computed in one pass and written to ``tmp`` (a Hail Table
    path), so filtering does not recompute the statistics.
    """
    original = mt
    mt = hl.variant_qc(mt, name="vqc")
    hwe_p = mt.vqc.p_value_hwe
    control_expr = None
    if binary_traits:
        control_expr = hl.all(*[hl.or_else(mt.pheno[t] == 0, True) for t in binary_traits])
        hwe_p = hl.agg.filter(control_expr, hl.agg.hardy_weinberg_test(mt.GT)).p_value
    ac = mt.vqc.AC[1]
    mac = hl.min(ac, mt.vqc.AN - ac)
    maf = hl.min(mt.vqc.AF[1], 1 - mt.vqc.AF[1])
    mt = mt.annotate_rows(
        _call=mt.vqc.call_rate >= thresholds.min_variant_call_rate,
        _maf=maf >= thresholds.min_maf,
        _mac=mac >= thresholds.min_mac,
        _hwe=hl.or_else(hwe_p, 1.0) >= thresholds.min_hwe_p,
    )
    rules: Sequence[tuple[str, str, str]] = (
        ("_call", "call rate", f"call rate >= {thresholds.min_variant_call_rate}"),
        ("_maf", "MAF", f"MAF >= {thresholds.min_maf}"),
        ("_mac", "MAC", f"MAC >= {thresholds.min_mac}"),
        (
            "_hwe",
            "Hardy-Weinberg",
            f"HWE p >= {thresholds.min_hwe_p}"
            + (" in controls" if control_expr is not None else ""),
        ),
    )
    flags = mt.rows().select(*[r[0] for r in rules]).checkpoint(tmp, overwrite=True)
    counts = flags.aggregate(
        hl.struct(
            n=hl.agg.count(),
            **{
                f: hl.agg.count_where(hl.all(*[flags[g] for g, _, _ in rules[: i + 1]]))
                for i, (f, _, _) in enumerate(rules)
            },
        )
    )
    steps: list[QcStep] = []
    before = counts.n
    for field, name, rule in rules:
        after = counts[field]
        steps.append(
            QcStep(target="variants", name=name, rule=rule, removed=before - after, remaining=after)
        )
        before = after
    passed = flags.filter(hl.all(*[flags[f] for f, _, _ in rules]))
    return original.semi_join_rows(passed), steps
