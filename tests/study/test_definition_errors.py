"""Bad study definitions: each mistake is refused with one sentence naming its YAML line.

File-only mistakes are checked without a warehouse; those that need one (unknown endpoint,
ATC pattern or column, index date after the end of data) run on the hand-built warehouse.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from study_handmade import write_handmade_warehouse

from promise.cli import main
from promise.settings import project_root
from promise.study import StudyDefinitionError, build, load_definition
from promise.study.fitting import StudyWarning, fit

pytestmark = pytest.mark.reliability

GOOD = """\
population:
  age: [40, 80]
  lookback_years: 2
  exclude: [I9_MI]
index:
  date: 2010-01-01
exposures:
  t2d: {endpoint: E4_DM2}
covariates:
  age: {person: age}
  statin: {drug: C10AA, window_days: [-365, 0]}
  ldl: {omics: LDL_C}
outcomes:
  mi: {endpoint: I9_MI}
followup:
  max_years: 10
model:
  terms: [age]
"""


def _write(tmp_path: Path, text: str, name: str = "s") -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return path


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def _error(path: Path, **kwargs: Path) -> str:
    with pytest.raises(StudyDefinitionError) as caught:
        if "warehouse" in kwargs:
            build(str(path), warehouse=kwargs["warehouse"])
        else:
            load_definition(path)
    return str(caught.value)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_handmade_warehouse(tmp_path_factory.mktemp("bad") / "warehouse")


def test_the_example_study_and_the_good_one_load(tmp_path: Path) -> None:
    example = load_definition(project_root() / "studies" / "mi_by_t2d.yml")
    assert [o.name for o in example.outcomes] == ["mi", "death"]
    assert [v.name for v in example.exposures] == ["t2d"]
    assert load_definition(_write(tmp_path, GOOD)).population.lookback_years == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        (
            "  statin: {drug: C10AA, window_days: [-365, 0]}",
            "  statin: {drug: C10AA, window_days: [0, -365]}",
            11,
            "negative length",
        ),  # fmt: skip
        (
            "  statin: {drug: C10AA, window_days: [-365, 0]}",
            "  statin: {drug: C10AA, window_days: [-365, 30]}",
            11,
            "after the index",
        ),  # fmt: skip
        ("  max_years: 10", "  max_years: -1", 16, "negative"),
        ("  age: [40, 80]", "  age: [80, 40]", 2, "negative"),
        ("  lookback_years: 2", "  lookbak_years: 2", 3, "'lookbak_years' is not a key"),
        ("  date: 2010-01-01", "  date: 2010-13-01", 6, "YYYY-MM-DD"),
        (
            "  statin: {drug: C10AA, window_days: [-365, 0]}",
            "  statin: {drug: 'C10 AA'}",
            11,
            "ATC pattern",
        ),
        ("  terms: [age]", "  terms: [age, bmi]", 18, "'bmi' is not an exposure or covariate"),
        ("  ldl: {omics: LDL_C}", "  mi: {omics: LDL_C}", 14, "'mi' is already defined on line 12"),
        ("  ldl: {omics: LDL_C}", "  person_id: {omics: LDL_C}", 12, "every study dataset has"),
        ("  exclude: [I9_MI]", "  exclude: [I9_MI]\n  sex: both", 5, "population sex"),
        ("  mi: {endpoint: I9_MI}", "  mi: {endpoint: I9_MI, drug: C10}", 14, "exactly one"),
        ("  max_years: 10", "  max_years: 10\n  max_years: 5", 17, "appears twice"),
        ("  date: 2010-01-01", "\tdate: 2010-01-01", 6, "not valid YAML"),
        (
            "  max_years: 10",
            "  max_years: 10\n  censor_at_first: E4_DM2",
            17,
            "followup censor_at_first must be a list",
        ),
        (
            "  max_years: 10",
            "  max_years: 10\n  censor_at_first:\n    - {endpoint: E4_DM2, window_days: [0, 0]}",
            18,
            "'window_days' is not a key of a followup censor_at_first item",
        ),
    ],
)
def test_each_mistake_is_one_sentence_naming_its_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    message = _error(_write(tmp_path, _replace(old, new)))
    assert f"line {line}:" in message and words in message
    assert message.count("\n") == 0 and message.endswith((".", ")"))


def test_several_mistakes_are_all_named_with_their_lines(tmp_path: Path) -> None:
    text = _replace("  max_years: 10", "  max_years: -1").replace(
        "  age: [40, 80]", "  age: [80, 40]"
    )
    message = _error(_write(tmp_path, text))
    assert "has 2 mistakes" in message
    assert re.search(r"line 2: .*negative", message) and re.search(r"line 16: .*negative", message)


def test_missing_sections_and_bad_file_names_are_refused(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "population:\n  age: [40, 80]\n"))
    assert "'index:' section is missing" in message and "'outcomes:' section is missing" in message
    assert "must be lower case" in _error(_write(tmp_path, GOOD, name="Bad-Name"))
    assert "does not exist" in _error(tmp_path / "nowhere.yml")


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        (
            "  t2d: {endpoint: E4_DM2}",
            "  t2d: {endpoint: E4_DM3}",
            8,
            "endpoint 'E4_DM3' is not in the warehouse's endpoint definitions (marts.endpoint_definition) (did you mean E4_DM2?)",
        ),  # fmt: skip
        ("  t2d: {endpoint: E4_DM2}", "  t2d: {endpoint: X_NOT_HERE}", 8, "not_applicable"),
        (
            "  statin: {drug: C10AA, window_days: [-365, 0]}",
            "  statin: {drug: N06AB}",
            11,
            "ATC pattern 'N06AB*' matches no dispensing",
        ),  # fmt: skip
        ("  age: {person: age}", "  age: {person: bmi}", 10, "person column 'bmi' does not exist"),
        ("  ldl: {omics: LDL_C}", "  ldl: {omics: HDL_C}", 12, "omics 'HDL_C' matches no analyte"),
        ("  date: 2010-01-01", "  date: 2021-01-01", 6, "not before the end of data (2020-12-31"),
        (
            "  exclude: [I9_MI]",
            "  exclude: [{codes: [I99]}]",
            4,
            "code prefix 'I99' matches no diagnosis",
        ),
        (
            "  max_years: 10",
            "  max_years: 10\n  censor_at_first: [E4_DM3]",
            17,
            "endpoint 'E4_DM3' is not in",
        ),
    ],
)
def test_mistakes_against_the_warehouse_name_their_line(
    tmp_path: Path, warehouse: Path, old: str, new: str, line: int, words: str
) -> None:
    message = _error(_write(tmp_path, _replace(old, new)), warehouse=warehouse)
    assert f"line {line}: {words}" in message or (f"line {line}:" in message and words in message)
    assert message.count("\n") == 0
    assert not (warehouse / "study" / "s").exists(), "a refused definition must write nothing"


def test_too_few_events_per_term_warns_naming_the_model_line(
    tmp_path: Path, warehouse: Path
) -> None:
    path = _write(tmp_path, GOOD)
    build(str(path), warehouse=warehouse)
    with pytest.warns(
        StudyWarning, match=r"s\.yml line 18: 3 events of 'mi' for 1 terms, fewer than 10 per term"
    ):
        fit(str(path), warehouse=warehouse, model="poisson")


def test_fit_refuses_a_definition_changed_since_the_build(tmp_path: Path, warehouse: Path) -> None:
    path = _write(tmp_path, GOOD)
    build(str(path), warehouse=warehouse)
    path.write_text(GOOD.replace("max_years: 10", "max_years: 5"))
    with pytest.raises(StudyDefinitionError, match="has changed since study 's' was built"):
        fit(str(path), warehouse=warehouse)


def test_cli_prints_one_sentence_and_exits_non_zero(
    tmp_path: Path, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, _replace("  t2d: {endpoint: E4_DM2}", "  t2d: {endpoint: E4_DM3}"))
    code = main(["study", "build", "s", "--studies", str(tmp_path), "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert code != 0
    assert "line 8: endpoint 'E4_DM3'" in err and "Traceback" not in err
    assert (
        main(["study", "fit", "nowhere", "--studies", str(tmp_path), "--warehouse", str(warehouse)])
        != 0
    )
    assert "there is no study definition" in capsys.readouterr().err
    _write(tmp_path, GOOD, name="never_built")
    assert (
        main(
            [
                "study",
                "fit",
                "never_built",
                "--studies",
                str(tmp_path),
                "--warehouse",
                str(warehouse),
            ]
        )
        != 0
    )
    assert "study 'never_built' has not been built" in capsys.readouterr().err


def test_a_second_writer_and_a_warehouse_without_marts_are_refused(
    tmp_path: Path, warehouse: Path
) -> None:
    from promise.study.checks import MartsMissingError
    from promise.study.storage import StudyWriteError, study_lock

    path = _write(tmp_path, GOOD)
    with (
        study_lock(warehouse, "s"),
        pytest.raises(StudyWriteError, match="another `promise study` is writing study 's'"),
    ):
        build(str(path), warehouse=warehouse)
    with pytest.raises(MartsMissingError, match="has no built marts"):
        build(str(path), warehouse=tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
