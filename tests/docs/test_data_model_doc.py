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
        "multigen",
    ):
        assert f"### `{source}`" in text
    for mart in (
        "person",
        "observation_period",
        "diagnosis",
        "drug_dispensing",
        "cancer",
        "omics_measurement",
        "family_relation",
        "endpoint_definition",
        "endpoint_event",
        "endpoint_status",
        "gwas_phenotype",
    ):
        assert f"### `marts.{mart}`" in text


def test_every_mart_and_column_has_a_description() -> None:
    # the descriptions become DuckDB comments (persist_docs) and docs/data-model.md
    import yaml

    marts = yaml.safe_load(
        (project_root() / "models" / "marts" / "_marts__models.yml").read_text(encoding="utf-8")
    )
    missing = [
        f"{m['name']}.{c['name']}"
        for m in marts["models"]
        for c in m.get("columns", [])
        if not str(c.get("description", "")).strip()
    ] + [m["name"] for m in marts["models"] if not str(m.get("description", "")).strip()]
    assert missing == []


def _section(text: str, mart: str) -> str:
    """The grain paragraph of one mart's section."""
    return text[text.index(f"### `marts.{mart}`") :].split("\n\n")[1]


def test_readme_links_the_data_model_and_the_rate_traps_are_documented() -> None:
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    assert "(docs/data-model.md)" in readme
    text = render()
    assert "starts at birth" in _section(text, "observation_period")
    for mart in ("diagnosis", "drug_dispensing", "endpoint_status"):
        assert "prevalent cases pile up" in _section(text, mart), mart
