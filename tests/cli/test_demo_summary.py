"""The demo's closing summary off a terminal: nothing cut off, planted variants by rank."""

from __future__ import annotations

from pathlib import Path

import pytest

from promise.commands.demo import output_console, print_summary
from promise.demo import DemoSummary, PlantedHit

pytestmark = pytest.mark.unit


def test_summary_keeps_long_paths_and_sorts_planted_variants_by_rank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / ("a-rather-long-folder-name-" * 4) / "demo"
    summary = DemoSummary(root=root, key_file=root / "keys" / "pseudonym.key", key_created=True,
                          warehouse=root / "warehouse", rows_in=541_288, rows_loaded=539_333,
                          rows_quarantined=1_955)  # fmt: skip
    summary.reports["GWAS"] = root / "results" / "report.html"
    summary.planted = [
        PlantedHit("LDL_C", "chr19:44908684:T:C", 0.3, 2.58e-33, 1),
        PlantedHit("LDL_C", "chr2:21040000:G:A", 0.2, 2.47e-22, 3),
        PlantedHit("LDL_C", "chr19:11089000:C:T", -0.22, 2.47e-29, 2),
    ]
    print_summary(output_console(), summary)  # capsys: stdout is not a terminal
    out = capsys.readouterr().out
    assert f"report (GWAS): {root / 'results' / 'report.html'}\n" in out  # whole, one line
    assert f"created a pseudonym key of the demo's own: {summary.key_file}" in out
    assert "541,288 rows in, 539,333 loaded, 1,955 quarantined" in out
    rows = [line for line in out.splitlines() if "LDL_C" in line and "chr" in line]
    assert [r.split("│")[5].strip() for r in rows] == ["1", "2", "3"]
    assert "…" not in out
