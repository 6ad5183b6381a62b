"""Genome-wide association with Hail: session, import, QC, PCA, regression, results, report."""
