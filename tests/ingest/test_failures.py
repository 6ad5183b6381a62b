"""An unlucky operator's deliveries (issue 15): each ends in one sentence, exit non-zero, and
the warehouse as it was; files the jobs do not read are named in the summary.

How the unreadable file is made: the tests run as root, which reads a mode-000 file anyway,
so the command runs as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (dropped from
its bounding set before exec): then the file's permissions apply, as for any other user. A
FIFO and a folder under a data file's name are the other two unreadable kinds.
"""

from __future__ import annotations

import gzip
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from promise.cli import main
from promise.errors import ConfigurationError, PromiseError
from promise.ingest import run_ingest
from promise.pseudonym import KEY_ENV

from .failures import published, run_cli
from .handmade import migration_lines, pick_numbers, write_lines

pytestmark = pytest.mark.reliability
DELIVERY = date(2025, 12, 31)


@pytest.fixture(scope="module")
def numbers(reference_dir: Path) -> list[str]:
    return pick_numbers(reference_dir, 12, start=21000)


def _population(path: Path, numbers: list[str], *, encoding: str = "latin-1") -> Path:
    return write_lines(
        path,
        ["PersonNr;Kon;FodelseLand;FodelseLan;AterPnr"]
        + [f"{n};{1 + i % 2};Sverige;01;" for i, n in enumerate(numbers)],
        encoding=encoding,
    )


def _loaded(tmp_path: Path, key_file: Path, numbers: list[str]) -> tuple[Path, Path]:
    """A landing folder with one migration file, already loaded into a warehouse."""
    land, wh = tmp_path / "land", tmp_path / "wh"
    write_lines(land / "migration" / "rtb_migration_1.csv", migration_lines(numbers)[0])
    run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    return land, wh


def _cli(args: list[str], key_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    os.environ[KEY_ENV] = str(key_file)
    try:
        code = main(args)
    finally:
        os.environ.pop(KEY_ENV, None)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_folder_under_a_data_name_is_refused_in_one_sentence(
    tmp_path: Path, key_file: Path, numbers: list[str], kind: str
) -> None:
    land, wh = _loaded(tmp_path, key_file, numbers)
    before = published(wh)
    _population(land / "population" / "rtb_population_1.csv", numbers[:3])
    odd = land / "population" / "rtb_population_2.csv"
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        odd.mkdir()
    what = "a FIFO" if kind == "fifo" else "a folder"
    with pytest.raises(PromiseError, match=f"rtb_population_2.csv is {what}.*nothing was loaded"):
        run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert published(wh) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop CAP_DAC_OVERRIDE")
def test_a_file_this_user_cannot_read_is_refused_in_one_sentence(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    land, wh = _loaded(tmp_path, key_file, numbers)
    before = published(wh)
    locked = _population(land / "population" / "rtb_population_1.csv", numbers[:3])
    locked.chmod(0)
    outcome = run_cli(
        ["ingest", "--landing", str(land), "--warehouse", str(wh)],
        key_file=key_file,
        without_dac_override=True,
    )
    assert outcome.code != 0
    assert outcome.lines == [
        "error: population/rtb_population_1.csv cannot be read (Permission denied); nothing "
        "was loaded: give the user running promise read access to it and run again."
    ]
    assert published(wh) == before


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("delivery_date: 2025-13-45\n", "not a date written YYYY-MM-DD"),
        ("delivery_date: 31/12/2025\n", "not a date written YYYY-MM-DD"),
        ("delivery_date: [2025\n", "cannot be read as YAML"),
    ],
)
def test_a_malformed_delivery_date_is_one_sentence(
    tmp_path: Path,
    key_file: Path,
    numbers: list[str],
    capsys: pytest.CaptureFixture[str],
    written: str,
    says: str,
) -> None:
    land, wh = tmp_path / "land", tmp_path / "wh"
    write_lines(land / "migration" / "rtb_migration_1.csv", migration_lines(numbers)[0])
    (land / "delivery.yml").write_text(written)
    code, printed = _cli(
        ["ingest", "--landing", str(land), "--warehouse", str(wh)], key_file, capsys
    )
    lines = [line for line in printed.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], printed
    assert not (wh / "raw").exists()


def test_a_malformed_delivery_date_option_is_one_sentence(
    tmp_path: Path, key_file: Path, numbers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    land, wh = tmp_path / "land", tmp_path / "wh"
    write_lines(land / "migration" / "rtb_migration_1.csv", migration_lines(numbers)[0])
    args = [
        "ingest",
        "--landing",
        str(land),
        "--warehouse",
        str(wh),
        "--delivery-date",
        "2025-31-12",
    ]
    code, printed = _cli(args, key_file, capsys)
    lines = [line for line in printed.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1 and "YYYY-MM-DD" in lines[0], printed
    assert not (wh / "raw").exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("gzip", "population/rtb_population_1.csv is gzip-compressed data under a .csv name"),
        ("utf-16", "population/rtb_population_1.csv is UTF-16 text; save it as latin-1"),
        ("utf-16-le", "population/rtb_population_1.csv is UTF-16 text; save it as latin-1"),
    ],
)
def test_gzip_or_utf16_under_a_csv_name_says_what_it_is(
    tmp_path: Path, key_file: Path, numbers: list[str], content: str, says: str
) -> None:
    land, wh = _loaded(tmp_path, key_file, numbers)
    before = published(wh)
    path = land / "population" / "rtb_population_1.csv"
    _population(path, numbers[:3], encoding="utf-8")
    text = path.read_bytes()
    if content == "gzip":
        path.write_bytes(gzip.compress(text))
    else:  # "utf-16" writes a byte order mark, "utf-16-le" does not
        path.write_bytes(text.decode("utf-8").encode(content))
    with pytest.raises(PromiseError, match=says.replace(".", r"\.")):
        run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert published(wh) == before


def test_files_no_job_reads_are_named_in_the_summary(
    tmp_path: Path, key_file: Path, numbers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    land, wh = tmp_path / "land", tmp_path / "wh"
    csv = _population(land / "population" / "rtb_population_1.csv", numbers[:3])
    (land / "population" / "rtb_population_1.csv.gz").write_bytes(gzip.compress(csv.read_bytes()))
    (land / "lmed" / "notes.txt").parent.mkdir(parents=True)
    (land / "lmed" / "notes.txt").write_bytes("utf-16 notes".encode("utf-16"))
    (land / "README").write_text("delivered 2025-12-31\n")
    args = [
        "ingest",
        "--landing",
        str(land),
        "--warehouse",
        str(wh),
        "--delivery-date",
        "2025-12-31",
    ]
    code, printed = _cli(args, key_file, capsys)
    assert code == 0, printed
    flat = " ".join(printed.split())
    assert "not read: population/rtb_population_1.csv.gz (gzip-compressed" in flat
    assert "not read: lmed/notes.txt (UTF-16 text" in flat
    assert "not read: README (no ingest job reads this name" in flat


def test_warehouse_files_are_group_readable_at_most(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    _, wh = _loaded(tmp_path, key_file, numbers)
    found = [wh, *wh.rglob("*")]
    assert len(found) > 8
    for path in found:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o007 == 0, f"{path} is {oct(mode)}"
        assert mode == (0o750 if path.is_dir() else 0o640), f"{path} is {oct(mode)}"


def test_owner_only_mode_is_configurable_and_world_modes_are_refused(
    tmp_path: Path, key_file: Path, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMISE_WAREHOUSE_MODE", "0600")
    _, wh = _loaded(tmp_path, key_file, numbers)
    for path in [wh, *wh.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"
    from promise.warehouse import warehouse_modes

    for bad in ("0644", "0660", "0604", "rw-r-----"):
        with pytest.raises(ConfigurationError, match="never writable by the group"):
            warehouse_modes({"PROMISE_WAREHOUSE_MODE": bad})


def _vcf(ids: list[str], *, lines: int = 12) -> str:
    head = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=chr1,length=248956422>",
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *ids]),
    ]
    calls = ["0/0", "0/1", "1/1"]
    body = [
        f"chr1\t{10000 + 100 * k}\t.\tA\tG\t.\tPASS\t.\tGT\t"
        + "\t".join(calls[(k + i) % 3] for i in range(len(ids)))
        for k in range(lines)
    ]
    return "\n".join(head + body) + "\n"


@pytest.mark.integration
def test_a_plain_gzip_vcf_is_read(
    tmp_path: Path, key_file: Path, numbers: list[str], hail_session: Any
) -> None:
    land, wh = tmp_path / "land", tmp_path / "wh"
    (land / "genotypes").mkdir(parents=True)
    (land / "genotypes" / "plain.vcf.gz").write_bytes(gzip.compress(_vcf(numbers[:3]).encode()))
    (result,) = run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert (result.status, result.rows_loaded) == ("loaded", 3)
    mt = hail_session.read_matrix_table(str(wh / "genotypes" / "plain.mt"))
    assert mt.count() == (12, 3)
    # the third variant (k = 2): sample i has calls[(2 + i) % 3] -> 1/1, 0/0, 0/1
    third = mt.filter_rows(mt.locus.position == 10200)
    assert [gt.n_alt_alleles() for gt in third.GT.collect()] == [2, 0, 1]


@pytest.mark.integration
def test_temporary_files_are_private_and_removed_when_hail_fails(
    tmp_path: Path,
    key_file: Path,
    numbers: list[str],
    hail_session: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import promise.ingest.genotypes as genotypes

    land, wh = _loaded(tmp_path, key_file, numbers)
    before = published(wh)
    write_lines(land / "migration" / "rtb_migration_2.csv", migration_lines(numbers[3:])[0])
    text = _vcf(numbers[:3]).replace("chr1\t10500\t", "chr1\tfive hundred\t")
    (land / "genotypes").mkdir()
    (land / "genotypes" / "bad.vcf").write_text(text)
    seen: dict[str, int] = {}
    real = genotypes.write_vcf_header

    def spy(path: Path, *args: Any) -> Path:  # the modes at the moment Hail is given the file
        written = real(path, *args)
        for item in [path.parent, *path.parent.rglob("*")]:
            seen[item.name] = item.stat().st_mode & 0o777
        return written

    monkeypatch.setattr(genotypes, "write_vcf_header", spy)
    with pytest.raises(genotypes.GenotypeFileError, match="Hail could not read genotypes/bad.vcf"):
        run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert seen["header.vcf"] == 0o600
    assert all(mode & 0o077 == 0 for mode in seen.values()), seen
    assert not (wh / ".tmp").exists()
    assert published(wh) == before  # the migration file of the same delivery is not published


@pytest.mark.integration
def test_a_batch_whose_stem_an_earlier_load_holds_is_loaded_under_a_new_name(
    tmp_path: Path, key_file: Path, numbers: list[str], hail_session: Any
) -> None:
    import hmac

    from promise.pseudonym import load_key
    from promise.warehouse import connect

    def pid(pnr: str) -> str:  # computed here: HMAC-SHA256 of the 12 digits, 24 hex characters
        return hmac.new(load_key(key_file), pnr.encode(), "sha256").hexdigest()[:24]

    wh = tmp_path / "wh"
    first, second = tmp_path / "first", tmp_path / "second"
    for land, ids in ((first, numbers[:2]), (second, numbers[2:5])):
        (land / "genotypes").mkdir(parents=True)
        (land / "genotypes" / "chip.vcf").write_text(_vcf(ids))
    run_ingest(landing=first, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    before = published(wh)
    (result,) = run_ingest(landing=second, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    renamed = f"chip-{result.sha256[:8]}"
    assert result.status == "loaded"
    assert any(f"loaded as batch {renamed}" in w for w in result.warnings), result.warnings
    after = published(wh)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing replaced
    old = hail_session.read_matrix_table(str(wh / "genotypes" / "chip.mt"))
    new = hail_session.read_matrix_table(str(wh / "genotypes" / f"{renamed}.mt"))
    assert sorted(old.s.collect()) == sorted(pid(n) for n in numbers[:2])
    assert sorted(new.s.collect()) == sorted(pid(n) for n in numbers[2:5])
    con = connect(wh)
    rows = con.sql(
        "SELECT batch, count(*) FROM raw.genotyped_samples GROUP BY 1 ORDER BY 1"
    ).fetchall()
    con.close()
    assert rows == [("chip", 2), (renamed, 3)]


def test_a_terminated_ingest_removes_its_temporary_folder_and_publishes_nothing(
    tmp_path: Path, key_file: Path, reference_dir: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    land, wh = tmp_path / "land", tmp_path / "wh"
    people = pick_numbers(reference_dir, 300, start=23000)
    for k in range(4):
        rows = [f"{people[(i + k) % 300]};Inv;{1990 + i % 30}0101;Land{i}" for i in range(40_000)]
        write_lines(
            land / "migration" / f"rtb_migration_{k}.csv", ["PersonNr;PostTyp;Datum;Land", *rows]
        )
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from datetime import date; from pathlib import Path\n"
            "from promise.ingest import run_ingest\n"
            "run_ingest(landing=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), "
            "key_file=Path(sys.argv[3]), reference_date=date(2025, 12, 31))",
            str(land),
            str(wh),
            str(key_file),
        ],  # fmt: skip
    )
    deadline = time.monotonic() + 60
    while not list((wh / ".tmp").glob("*/data.parquet")):  # a load is being written
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=60) == 128 + signal.SIGTERM
    assert not (wh / ".tmp").exists()
    assert published(wh) == {}
