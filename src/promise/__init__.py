"""promise: a population-omics cohort analytics warehouse for Swedish registers and omics."""

__version__ = "0.1.0"
