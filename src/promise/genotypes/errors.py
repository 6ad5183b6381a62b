"""The one error of genotype reading, shared by ingestion, both GWAS engines and the readers."""

from __future__ import annotations

from promise.errors import PromiseError


class GenotypeFileError(PromiseError):
    """A genotype file is missing, malformed, or does not fit the build or its companion files.

    Messages never quote a sample id (it may be a personnummer): they name the file, the
    line or variant number and what is wrong with it."""
