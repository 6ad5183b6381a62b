"""KING-robust kinship, the register check and the unrelated subset on cases worked by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from promise.errors import PromiseError
from promise.gwas.kinship import MISSING, degree, king_robust, write_kinship
from promise.gwas.relatedness import pedigree_mismatches, relatedness_counts, unrelated_subset

pytestmark = pytest.mark.unit
M = MISSING


def test_king_robust_counts_worked_by_hand() -> None:
    """Samples i, j over ten variants (alternate-allele counts, M missing):

        i: 1 1 1 0 2 0 2 1 M 1
        j: 1 1 0 2 2 0 0 1 1 M
        k: i again, with variant 2 missing

    i, j: both called at variants 0-7 (nsnp 8); both heterozygous at 0, 1, 7 (hethet 3);
    opposite homozygotes at 3 and 6 (ibs0 2); heterozygotes over those 8 variants: i 4
    (0, 1, 2, 7), j 3. Kinship = (2 (3 - 2*2) - |4 - 3|) / (4 * 3) = -3/12 = -0.25.
    i, k: 8 variants both called (0, 1, 3-7, 9); i has 4 heterozygotes there (0, 1, 7, 9), k too,
    all shared, no IBS0: (2*4 - 0) / (4*4) = 0.5 (a duplicate).
    j, k: both called at 0, 1, 3-7 (nsnp 7); hethet 3 (0, 1, 7); ibs0 2 (3, 6); het j 3, k 3:
    (2 (3 - 4) - 0) / 12 = -1/6.
    """
    i = [1, 1, 1, 0, 2, 0, 2, 1, M, 1]
    j = [1, 1, 0, 2, 2, 0, 0, 1, 1, M]
    k = [1, 1, M, 0, 2, 0, 2, 1, M, 1]
    codes = np.array([i, j, k], dtype=np.uint8).T  # variants x samples
    table = king_robust(codes, ["i", "j", "k"], min_kinship=-1.0).sort("id1", "id2")
    rows = {(r["id1"], r["id2"]): r for r in table.iter_rows(named=True)}
    assert rows[("i", "j")]["nsnp"] == 8
    assert rows[("i", "j")]["hethet"] == pytest.approx(3 / 8)
    assert rows[("i", "j")]["ibs0"] == pytest.approx(2 / 8)
    assert rows[("i", "j")]["kinship"] == pytest.approx(-0.25)
    assert rows[("i", "k")]["kinship"] == pytest.approx(0.5)
    assert rows[("i", "k")]["nsnp"] == 8 and rows[("i", "k")]["relationship"] == "duplicate"
    assert rows[("j", "k")]["kinship"] == pytest.approx(-1 / 6)
    assert rows[("j", "k")]["nsnp"] == 7
    # the default filter keeps only the duplicate
    kept = king_robust(codes, ["i", "j", "k"])
    assert kept.select("id1", "id2").rows() == [("i", "k")]


def test_panels_and_chunks_give_the_same_table() -> None:
    rng = np.random.default_rng(4)
    founders = rng.binomial(2, 0.3, size=(400, 60))
    kids = founders[:, ::2] // 2 + founders[:, 1::2] // 2 + rng.binomial(1, 0.3, (400, 30))
    codes = np.hstack([founders, np.minimum(kids, 2)]).astype(np.uint8)
    codes[rng.random(codes.shape) < 0.02] = M
    names = [f"s{x}" for x in range(codes.shape[1])]
    whole = king_robust(codes, names, min_kinship=0.0)
    split = king_robust(codes, names, min_kinship=0.0, chunk=37, block=7, max_bytes=3000)
    assert whole.height > 0 and whole.equals(split)


@pytest.mark.parametrize(
    ("kinship", "expected"),
    [(0.5, 0), (0.36, 0), (0.35, 1), (0.25, 1), (0.18, 1), (0.17, 2), (0.09, 2), (0.088, 3),
     (0.045, 3), (0.044, None), (-0.2, None)],
)  # fmt: skip
def test_degree_boundaries_are_kings(kinship: float, expected: int | None) -> None:
    # KING's cut points 2^-1.5 = 0.3536, 2^-2.5 = 0.1768, 2^-3.5 = 0.0884, 2^-4.5 = 0.0442
    assert degree(kinship) == expected


@pytest.mark.parametrize(
    ("codes", "samples", "words"),
    [
        (np.zeros((5, 3), np.uint8), ["a", "b"], "variants x samples"),
        (np.zeros((5, 2), np.uint8), ["a", "a"], "distinct sample ids"),
        (np.full((5, 2), 7, np.uint8), ["a", "b"], "must be 0, 1, 2"),
    ],
)
def test_bad_genotypes_are_refused_in_one_sentence(
    codes: np.ndarray, samples: list[str], words: str
) -> None:
    with pytest.raises(PromiseError, match=words):
        king_robust(codes, samples)


def _kinship(rows: list[tuple[str, str, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["id1", "id2", "kinship", "relationship"], orient="row"
    ).with_columns(pl.col("kinship").cast(pl.Float64))


def test_register_check_on_a_drawn_pedigree() -> None:
    """s1-s2 registered parent-offspring and so genetically: fine. s1-s3 registered full
    siblings, genetically second degree: a finding. s4-s5 registered maternal half siblings,
    not in the kinship table (unrelated): a finding. s2-s6 adoptive: not checked. s3-s6
    genetically parent-offspring, not registered: a finding. s4-s6 third degree, not
    registered: not a finding (cousins are not in family_relation). s1-x: x not genotyped.
    s5-s2 registered as siblings of unknown kind, genetically unrelated: not checked."""
    kinship = _kinship([
        ("s2", "s1", 0.25, "parent_offspring"), ("s1", "s3", 0.13, "second_degree"),
        ("s6", "s3", 0.25, "parent_offspring"), ("s4", "s6", 0.06, "third_degree"),
    ])  # fmt: skip
    relations = pl.DataFrame(
        [("s1", "s2", "parent_offspring"), ("s3", "s1", "full_siblings"),
         ("s4", "s5", "maternal_half_siblings"), ("s6", "s2", "adoptive_parent_offspring"),
         ("s1", "x", "parent_offspring"), ("s2", "s5", "maternal_siblings")],
        schema=["person_id_1", "person_id_2", "relation"], orient="row",
    )  # fmt: skip
    found = pedigree_mismatches(kinship, relations, [f"s{k}" for k in range(1, 7)])
    assert found.select("id1", "id2", "registered", "genetic").rows() == [
        ("s1", "s3", "full_siblings", "second_degree"),
        ("s3", "s6", None, "parent_offspring"),
        ("s4", "s5", "maternal_half_siblings", "unrelated"),
    ]
    assert found["finding"][1] == "genetically parent_offspring but not linked by the register"


def test_unrelated_subset_drops_the_most_connected_first() -> None:
    """A trio (m-c, f-c) loses the child; a chain a-b-c-d loses c then b (ties: the later
    sample), keeping a and d; a pair below the cutoff stays; the order of samples is kept."""
    kinship = _kinship([
        ("m", "c", 0.25, None), ("f", "c", 0.25, None),
        ("a", "b", 0.25, None), ("b", "cc", 0.25, None), ("cc", "d", 0.25, None),
        ("u", "v", 0.05, None),
    ])  # fmt: skip
    samples = ["m", "f", "c", "a", "b", "cc", "d", "u", "v", "w"]
    assert unrelated_subset(kinship, samples, 0.0884) == ["m", "f", "a", "d", "u", "v", "w"]
    assert unrelated_subset(kinship, samples, 0.0442) == ["m", "f", "a", "d", "u", "w"]


def test_counts_for_the_report_hide_small_cells() -> None:
    pairs = [(f"a{k}", f"b{k}", 0.25, "parent_offspring", 1) for k in range(12)]
    pairs += [(f"c{k}", f"d{k}", 0.12, "second_degree", 2) for k in range(2)]
    kinship = pl.DataFrame(
        pairs, schema=["id1", "id2", "kinship", "relationship", "degree"], orient="row"
    )
    mismatches = pl.DataFrame(
        [("a0", "b0", 0.25), ("e", "f", None)], schema=["id1", "id2", "kinship"], orient="row"
    )
    counts = relatedness_counts(kinship, mismatches, threshold=5)
    first = counts.row(1, named=True)
    assert first["degree"] == "first" and first["findings"] is None  # 1 finding: suppressed
    assert first["consistent_or_unchecked"] is None  # else 12 - 11 would give it away
    second = counts.row(2, named=True)
    assert second["consistent_or_unchecked"] is None and second["all"] is None  # 2 pairs
    assert counts.row(4, named=True)["degree"] == "total"
    assert counts["registered_but_unrelated"][0] is None  # one pair


def test_kinship_tsv_is_tab_separated_with_na(tmp_path: pytest.TempPathFactory) -> None:
    table = king_robust(np.array([[1, 1], [0, 0], [2, 2]], np.uint8), ["a", "b"], min_kinship=0.0)
    path = write_kinship(table, tmp_path / "out" / "kinship.tsv")  # type: ignore[operator]
    lines = path.read_text().splitlines()
    assert lines[0] == "id1\tid2\tnsnp\thethet\tibs0\tkinship\tdegree\trelationship"
    assert lines[1].startswith("a\tb\t3\t") and lines[1].endswith("\t0.5\t0\tduplicate")
