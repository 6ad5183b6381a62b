"""README and docs/privacy.md describe what exists (issue 15).

Before: the README named a macro `suppress_small_counts` that did not exist. Now every macro,
module and test the two documents name is looked up.
"""

from __future__ import annotations

import importlib
import re

import pytest

from promise.settings import project_root

pytestmark = pytest.mark.unit

ROOT = project_root()
DOCS = [ROOT / "README.md", ROOT / "docs" / "privacy.md"]


def macros() -> set[str]:
    found = set()
    for path in (ROOT / "macros").glob("*.sql"):
        found |= set(re.findall(r"{%-?\s*macro\s+(\w+)", path.read_text()))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_macros_exist(doc: object) -> None:
    text = doc.read_text()  # type: ignore[attr-defined]
    named = set(re.findall(r"macro\s+`(\w+)`|`(\w+)`\s+macro", text))
    names = {a or b for a, b in named}
    assert names, "the document names no macro"
    assert names <= macros(), names - macros()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_modules_exist(doc: object) -> None:
    text = doc.read_text()  # type: ignore[attr-defined]
    for module in {
        m for m in re.findall(r"`(promise(?:\.\w+)+)`", text) if not m.startswith("promise.duckdb")
    }:
        parts = module.split(".")
        for cut in range(len(parts), 0, -1):  # a module, or an attribute of one
            try:
                target: object = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attribute in parts[cut:]:
                assert hasattr(target, attribute), module
                target = getattr(target, attribute)
            break
        else:
            raise AssertionError(f"{module} does not exist")


def test_the_threat_table_names_tests_that_exist() -> None:
    text = (ROOT / "docs" / "privacy.md").read_text()
    table = text.split("## Threats and what stops them", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 10
    for row in rows:
        current = None
        for match in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", row):
            file, name, short = match.groups()
            if file:
                current = ROOT / file
                assert current.is_file(), file
            assert current is not None, row
            test = name or short
            if test:
                assert f"def {test}(" in current.read_text(), (current, test)
