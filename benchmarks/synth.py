"""Time and peak memory of ``promise synth`` at 10^4, 10^5 and 10^6 persons.

Each configuration runs in a fresh Python process (so peak RSS is its own) and reports
wall time and peak resident memory. Targets (issue 3): 10^6 persons, registers only, in
under 10 minutes with peak memory under 4 GiB on the project machine (2 cores, 24 GiB);
genotypes at 10^4 genotyped persons x 10^5 variants.

Usage: ``.venv/bin/python benchmarks/synth.py [--only NAME ...] [--work DIR] [--markdown FILE]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REGISTERS = ["population", "migration", "npr_inpatient", "npr_outpatient", "lmed", "dors", "cancer"]
CONFIGS = {
    "1e4_all": {"persons": 10_000, "variants": 10_000, "genotyped": None, "sources": None},
    "1e5_all_genotypes_1e4x1e5": {
        "persons": 100_000,
        "variants": 100_000,
        "genotyped": 10_000,
        "sources": None,
    },
    "1e6_registers": {"persons": 1_000_000, "variants": 0, "genotyped": None, "sources": REGISTERS},
}
TARGET_SECONDS = 600.0
TARGET_MIB = 4096.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
from promise.synth import write_cohort
cfg = json.loads(sys.argv[1])
start = time.perf_counter()
truth = write_cohort(Path(cfg["out"]), persons=cfg["persons"], variants=cfg["variants"], seed=1,
                     genotyped=cfg["genotyped"], sources=cfg["sources"])
seconds = time.perf_counter() - start
rows = sum(v["rows"] for v in truth["files"].values())
print(json.dumps({"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": rows, "genotyped": truth["genotypes"]["samples"]}))
"""


def run(name: str, work: Path) -> dict[str, float]:
    """Run one configuration in a child process and return its figures."""
    cfg = dict(CONFIGS[name], out=str(work / name))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg)], check=True, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(work / name, ignore_errors=True)
    return figures


def write_section(path: Path, lines: list[str]) -> None:
    """Replace (or append) the synth section between its markers in a Markdown file."""
    begin, end = "<!-- synth:begin -->", "<!-- synth:end -->"
    section = "\n".join([begin, *lines, end])
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n## Synthetic cohort (promise synth)\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    parser.add_argument("--work", type=Path, default=Path("benchmarks") / ".work")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    header = "| configuration | persons | variants | genotyped | rows written | seconds | peak MiB | s / 10 min | MiB / 4 GiB |"
    lines = [header, "|" + " --- |" * 9]
    print(header, flush=True)
    for name in args.only:
        cfg = CONFIGS[name]
        started = time.perf_counter()
        f = run(name, args.work)
        line = (
            f"| {name} | {cfg['persons']:,} | {cfg['variants']:,} | {int(f['genotyped']):,} | {int(f['rows']):,} "
            f"| {f['seconds']:.1f} | {f['peak_mib']:.0f} | {f['seconds'] / TARGET_SECONDS:.2f} | {f['peak_mib'] / TARGET_MIB:.2f} |"
        )
        lines.append(line)
        print(line, f"(wall incl. start-up {time.perf_counter() - started:.1f} s)", flush=True)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.processor() or platform.machine()}"
    print(f"machine/date: {stamp}")
    if args.markdown:
        note = f"`python benchmarks/synth.py`, {stamp}; target: 10^6 persons in < 600 s and < 4096 MiB."
        write_section(args.markdown, [note, "", *lines])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
