"""Synthetic Swedish cohort in the landing formats, with planted truth (``truth.json``)."""

from promise.synth.cohort import SynthError, write_cohort

__all__ = ["SynthError", "write_cohort"]
