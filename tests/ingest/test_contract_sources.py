"""Contracts name each column's register variable and meaning and cite where it is defined;
the names a column was delivered under in other years come from the contracts alone."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from promise.contracts import ContractError, load_contract
from promise.datamodel_doc import contract_section
from promise.ingest.layout import FileContractError, bind_names
from promise.settings import project_root

pytestmark = pytest.mark.unit
CONTRACTS = sorted((project_root() / "data-contracts").glob("*.odcs.yaml"))
REGISTERS = ["npr_inpatient", "npr_outpatient", "lmed", "dors", "cancer", "population", "migration"]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_every_column_has_its_register_name_meaning_and_source(path: Path) -> None:
    contract = load_contract(path)
    for column in contract.columns:
        assert column.business_name and column.description, column.name
        if column.citations:
            assert all(c.url.startswith("https://") and c.type for c in column.citations)
        else:
            assert column.no_source and len(column.no_source.split()) >= 5, column.name
    section = contract_section(path)
    for column in contract.columns:
        assert f"| {column.business_name} |" in section, column.name


def test_register_columns_cite_a_published_list() -> None:
    # the registers' own columns cite Socialstyrelsen's or SCB's documents (or, where none was
    # found, say so): at most the DIAGNOS layout and BEN lack a citation
    uncited = []
    for source in REGISTERS:
        contract = load_contract(project_root() / "data-contracts" / f"{source}.odcs.yaml")
        assert contract.documents, source
        assert all(
            "socialstyrelsen.se" in d.url or "scb.se" in d.url or "doi.org" in d.url
            for d in contract.documents
        ), source
        uncited += [f"{source}.{c.name}" for c in contract.columns if not c.citations]
    assert sorted(uncited) == ["cancer.BEN", "npr_inpatient.DIAGNOS", "npr_outpatient.DIAGNOS"]


def test_a_column_that_neither_cites_nor_says_why_is_refused(tmp_path: Path) -> None:
    text = (project_root() / "data-contracts" / "migration.odcs.yaml").read_text(encoding="utf-8")
    cut = text.index("  - name: Land")
    land = re.sub(r"    authoritativeDefinitions:\n(    [- ] .*\n)+", "", text[cut:])
    path = tmp_path / "migration.odcs.yaml"
    path.write_text(text[:cut] + land, encoding="utf-8")
    with pytest.raises(ContractError, match="'Land' cites no published variable list"):
        load_contract(path)


def _contract(source: str):  # type: ignore[no-untyped-def]
    return load_contract(project_root() / "data-contracts" / f"{source}.odcs.yaml")


def test_aliases_bind_other_years_names() -> None:
    lmed = bind_names(
        ["PersonNr", "ATC", "EDATUM", "FDATUM", "ANTAL", "FDDD", "VNR", "AR"],
        label="lmed/x.csv",
        contract=_contract("lmed"),
    )
    assert lmed.bound[5].name == "forpddd" and lmed.warnings == []
    header = ["PersonNr", "AR", "INDATUM", "UTDATUM", "HDIA", "DIA01", "OP3", "OP1", "OP2",
              "SJUKHUS", "MVO", "PVARD", "ALDER", "KON"]  # fmt: skip
    npr = bind_names(header, label="npr_inpatient/x.txt", contract=_contract("npr_inpatient"))
    assert npr.bound[5].name == "DIA1"
    assert npr.joined == {"OP": (7, 8, 6)}  # OP1, OP2, OP3: position order, not header order
    fields = pl.DataFrame({f"_f{i}": [None] * 2 for i in range(len(header))}).with_columns(
        _f6=pl.Series(["C3", None]), _f7=pl.Series(["A1", None]), _f8=pl.Series([None, None])
    )
    named = fields.select(npr.named_columns([f"_f{i}" for i in range(len(header))]))
    assert named["OP"].to_list() == ["A1 C3", None]  # empty fields skipped; none at all = NULL


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (["PersonNr", "ATC", "EDATUM", "FDATUM", "ANTAL", "forpddd", "FDDD", "VNR", "AR"],
         "more than one column for one contract column"),
        (["PersonNr", "LopNr", "ATC", "EDATUM", "FDATUM", "ANTAL", "forpddd", "VNR", "AR"],
         "a personnummer and a LopNr column"),
    ],
)  # fmt: skip
def test_two_names_for_one_column_are_refused(names: list[str], words: str) -> None:
    with pytest.raises(FileContractError, match=words):
        bind_names(names, label="lmed/x.csv", contract=_contract("lmed"))


def test_no_delivered_name_is_hard_coded_in_the_code() -> None:
    """Alias and LopNr names live in the contracts; the code only reads them."""
    names = set()
    for path in CONTRACTS:
        for column in load_contract(path).columns:
            names.update(column.aliases)
            names.update(column.lopnr_aliases)
    assert {"FDDD", "DIA01", "OP<n>", "LopNr", "P<order>_LopNr_PersonNr"} <= names
    code = "\n".join(p.read_text(encoding="utf-8") for p in (project_root() / "src").rglob("*.py"))
    literals = set(re.findall(r"""["']([^"'\n]+)["']""", code))
    assert names & literals == set()
