"""Every GWAS threshold as a named option with a documented default.

The defaults follow common practice for array genotypes (UK Biobank, FinnGen, the PLINK 2
tutorials): they are the values a reviewer expects to see stated in a methods section, and
every one is recorded in the ``-meta.yaml`` written beside the summary statistics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FirthMode = Literal["auto", "always", "never"]
Engine = Literal["auto", "hail", "fast", "numpy", "spark"]
Test = Literal["score", "wald"]
TraitKind = Literal["auto", "binary", "quantitative"]
Related = Literal["keep", "drop"]


@dataclass(frozen=True, kw_only=True)
class QcThresholds:
    """Sample and variant QC thresholds.

    Attributes
    ----------
    min_sample_call_rate:
        Samples with a smaller fraction of called genotypes are removed (0.97).
    het_sd:
        Samples whose heterozygosity rate (het calls / called) lies more than this many
        standard deviations from the cohort mean are removed (3.0).
    sex_female_f, sex_male_f:
        Inbreeding-coefficient thresholds on chrX of ``hl.impute_sex``: F below the first is
        called female, above the second male; samples whose called sex differs from the
        register sex are removed (0.2 and 0.8, Hail's and PLINK's defaults).
    min_variant_call_rate:
        Variants called in a smaller fraction of samples are removed (0.95).
    min_maf:
        Variants with minor-allele frequency below this are removed (0.01).
    min_mac:
        Variants with minor-allele count below this are removed (5).
    min_hwe_p:
        Variants whose Hardy-Weinberg exact-test p-value is below this are removed (1e-6);
        computed in controls for binary traits, so true associations are not filtered.
    """

    min_sample_call_rate: float = 0.97
    het_sd: float = 3.0
    sex_female_f: float = 0.2
    sex_male_f: float = 0.8
    min_variant_call_rate: float = 0.95
    min_maf: float = 0.01
    min_mac: int = 5
    min_hwe_p: float = 1e-6


@dataclass(frozen=True, kw_only=True)
class PcaSettings:
    """Population-structure settings.

    Attributes
    ----------
    pcs:
        Number of principal components used as covariates (10; 0 uses none).
    ld_r2:
        LD-pruning r^2 threshold (0.2).
    ld_window_bp:
        LD-pruning window in base pairs (500,000).
    min_maf:
        Only variants at least this common enter the PCA (0.01).
    """

    pcs: int = 10
    ld_r2: float = 0.2
    ld_window_bp: int = 500_000
    min_maf: float = 0.01


@dataclass(frozen=True, kw_only=True)
class AssociationSettings:
    """Regression settings.

    Attributes
    ----------
    kind:
        ``auto`` detects binary traits (values 0/1, 1/2 or true/false), else quantitative.
    test:
        Binary traits in the fast engine: ``score`` (the default) tests every variant with
        the score test against a null model fitted once per trait, and refits with Firth
        where the score p is below ``firth_p`` (regenie's ``--firth --pThresh``); ``wald``
        fits a plain logistic model per variant (as older runs and Hail's default did).
        The Hail engine always runs Wald, with Firth as ``firth`` says.
    firth:
        Fast engine, score test: ``auto`` refits with Firth where the score p is below
        ``firth_p``, ``always`` every variant, ``never`` none. Hail engine: ``auto`` uses
        Firth's penalised likelihood for variants with minor-allele count below ``firth_mac``, and for every variant when the case fraction is below
        ``firth_case_fraction``, wherever the Wald test gives p < ``firth_p`` or fails;
        ``always`` fits every variant with Firth, ``never`` none.
    firth_mac:
        Minor-allele count below which a variant is tested with Firth (400, about MAF 1%
        in 20,000 samples: where the Wald test's type-I error drifts for rare variants).
    firth_p:
        ``auto`` (0.05): fast engine, a variant is refitted with Firth when its score p is
        below this or its score test is undefined, as regenie's ``--firth --pThresh``; Hail
        engine, a rare variant when its Wald p is below this or its Wald fit failed. Firth
        corrects the tail where score and Wald tests mislead for rare variants and
        unbalanced traits, and costs a Newton fit per variant.
    firth_case_fraction:
        Case fraction below which all variants are tested with Firth (0.05).
    min_cases:
        A binary trait with fewer cases (or controls) than this is refused (50).
    block_size:
        Rows per block in Hail's regressions (16; larger uses more memory per task).
    tolerance:
        Convergence tolerance of the logistic Newton iterations (1e-8; Hail's default 1e-6
        leaves betas near zero a few 1e-7 from the optimum that PLINK 2 and R reach).
    max_iterations:
        Newton iterations before a logistic fit is declared not converged (50).
    """

    kind: TraitKind = "auto"
    test: Test = "score"
    firth: FirthMode = "auto"
    firth_mac: int = 400
    firth_p: float = 0.05
    firth_case_fraction: float = 0.05
    min_cases: int = 50
    block_size: int = 16
    tolerance: float = 1e-8
    max_iterations: int = 50


@dataclass(frozen=True, kw_only=True)
class GwasOptions:
    """All settings of one GWAS run.

    ``skip_qc`` runs without sample and variant QC. ``engine`` is ``hail`` (every input,
    local or on a Spark cluster), ``fast`` (``numpy`` is the same: in process, without a
    JVM, on PLINK file sets and the warehouse; :mod:`promise.gwas.engines.interface`) or
    ``auto`` (the default: ``fast`` where it reads the input and no Spark master is given,
    else ``hail``).

    Relatives (fast engine): KING-robust kinship is computed on the LD-pruned common
    variants after QC and written to ``kinship.tsv``; ``related`` ``drop`` removes samples
    until no pair's kinship exceeds ``king_cutoff`` (PLINK 2's ``--king-cutoff``; 0.0884,
    the boundary of second-degree relatives, removes those and closer), ``keep`` (the
    default) tests everyone. ``loco``: the whole-genome regression (regenie's step 1) on
    the same LD-pruned variants, its leave-one-chromosome-out predictions subtracted
    (quantitative traits) or an offset (binary) in the tests; None (the default) decides
    by mode, see :func:`promise.gwas.loco.loco_default`.
    """

    qc: QcThresholds = field(default_factory=QcThresholds)
    pca: PcaSettings = field(default_factory=PcaSettings)
    association: AssociationSettings = field(default_factory=AssociationSettings)
    skip_qc: bool = False
    engine: Engine = "auto"
    top_loci: int = 20
    significance: float = 5e-8
    related: Related = "keep"
    king_cutoff: float = 0.0884
    loco: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """The options as plain data, for the metadata file and the report."""
        return asdict(self)
