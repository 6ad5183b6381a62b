"""docs/data-model.md is the rendering of the contracts and the marts' properties, not prose
that can drift: regenerate it with `python -m promise.datamodel_doc > docs/data-model.md`."""

from __future__ import annotations

import pytest

from promise.datamodel_doc import render
from promise.settings import project_root

pytestmark = pytest.mark.unit


def test_committed_data_model_matches_contracts_and_marts() -> None:
    committed = (project_root() / "docs" / "data-model.md").read_text()
    assert committed == render(), "run: python -m promise.datamodel_doc > docs/data-model.md"


def test_every_landing_source_and_mart_is_documented() -> None:
    text = render()
    for source in (
        "population",
        "migration",
        "npr_inpatient",
        "npr_outpatient",
        "lmed",
        "dors",
        "cancer",
        "biobank",
        "olink",
        "metabolomics",
    ):
        assert f"### `{source}`" in text
    for mart in (
        "person",
        "observation_period",
        "diagnosis",
        "drug_dispensing",
        "cancer",
        "omics_measurement",
        "endpoint_definition",
        "endpoint_event",
        "endpoint_status",
        "gwas_phenotype",
    ):
        assert f"### `marts.{mart}`" in text
