"""Study datasets for epidemiology: a short definition in, a person-level dataset out.

``studies/<name>.yml`` (schema: docs/studies.md) names a population, an index date,
exposures and covariates as of it, and time-to-event outcomes. :func:`build` writes the
dataset and its attrition table under ``WAREHOUSE/study/<name>/`` (``study.<name>`` to
readers); :func:`fit` fits a Cox or Poisson model to it.
"""

from __future__ import annotations

from promise.study.dataset import StudyBuild, build
from promise.study.definition import StudyDefinition
from promise.study.fitting import StudyFit, StudyWarning, fit
from promise.study.schema import load_definition
from promise.study.source import StudyDefinitionError

__all__ = [
    "StudyBuild",
    "StudyDefinition",
    "StudyDefinitionError",
    "StudyFit",
    "StudyWarning",
    "build",
    "fit",
    "load_definition",
]
