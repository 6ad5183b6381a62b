"""A synthetic cohort with families, its two genotype batches gathered into one PLINK 1 set.

The genotype files are read here independently of promise (VCF text, .bed bit pairs), the
sample ids turned into the warehouse's pseudonyms (HMAC-SHA256 of the normalised number with
the test key, through the standard library): VCF ids are personnummer, PLINK IIDs biobank
sample ids linked to a personnummer by the biobank manifest. So the set looks like the one
the GWAS pipeline exports for kinship (common variants, ``person_id`` sample ids).
"""

from __future__ import annotations

import csv
import gzip
import hmac
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from promise.pnr import parse
from promise.synth import write_cohort

DELIVERY = date(2025, 12, 31)
BED_CODE = np.array([1, 3, 2, 0], dtype=np.uint8)  # missing, 0, 1, 2 copies of A1 (= alt)


def write_family_cohort(out: Path, *, seed: int = 23) -> dict[str, Any]:
    """4,000 persons, 1,500 genotyped (about 300 of them in families), 8,000 variants."""
    return write_cohort(out, persons=4000, variants=8000, seed=seed, genotyped=1500)


def pseudonym(key: bytes, number: str) -> str:
    """The warehouse's person_id of a normalised personnummer."""
    return hmac.new(key, number.encode(), "sha256").hexdigest()[:24]


def _vcf(path: Path) -> tuple[list[str], list[tuple[str, ...]], np.ndarray]:
    samples: list[str] = []
    variants: list[tuple[str, ...]] = []
    rows = []
    code = {b"0/0": 0, b"0/1": 1, b"1/1": 2, b"./.": -1}
    with gzip.open(path, "rb") as handle:
        for line in handle:
            if line.startswith(b"##"):
                continue
            parts = line.rstrip(b"\n").split(b"\t")
            if line.startswith(b"#CHROM"):
                samples = [p.decode() for p in parts[9:]]
                continue
            chrom, pos, vid, ref, alt = (p.decode() for p in parts[:5])
            variants.append((chrom.removeprefix("chr"), vid, pos, alt, ref))
            rows.append(np.array([code[p] for p in parts[9:]], dtype=np.int8))
    return samples, variants, np.vstack(rows)


def _bed(prefix: Path) -> tuple[list[str], np.ndarray]:
    iids = [line.split()[1] for line in Path(f"{prefix}.fam").read_text().splitlines()]
    m = len(Path(f"{prefix}.bim").read_text().splitlines())
    raw = np.frombuffer(Path(f"{prefix}.bed").read_bytes()[3:], dtype=np.uint8)
    per = (len(iids) + 3) // 4
    bits = np.stack([(raw.reshape(m, per) >> s) & 3 for s in (0, 2, 4, 6)], axis=2)
    counts = np.array([2, -1, 1, 0], dtype=np.int8)[bits.reshape(m, per * 4)[:, : len(iids)]]
    return iids, counts


def merged_bfile(landing: Path, prefix: Path, key: bytes) -> list[str]:
    """Write ``prefix``.bed/.bim/.fam with both batches' samples (IID = person_id); returns
    the sample ids in file order."""
    biobank = landing / "biobank" / "biobank_samples.csv"
    with biobank.open(encoding="utf-8", errors="replace") as handle:  # planted bad bytes
        owner = {}
        for row in csv.DictReader(handle):
            try:  # planted defects (bad check digits, ragged rows) are no sample of anyone's
                owner[row["SampleID"]] = parse(row["PersonNr"], reference_date=DELIVERY).normalized
            except (ValueError, TypeError):
                continue
    vcf_ids, variants, vcf = _vcf(landing / "genotypes" / "batch1.vcf.bgz")
    iids, bed = _bed(landing / "genotypes" / "batch2")
    numbers = [parse(s, reference_date=DELIVERY).normalized for s in vcf_ids]
    numbers += [owner[i] for i in iids]
    ids = [pseudonym(key, n) for n in numbers]
    g = np.hstack([vcf, bed])
    n = g.shape[1]
    padded = np.zeros((g.shape[0], (n + 3) // 4 * 4), dtype=np.uint8)
    padded[:, :n] = BED_CODE[g.astype(np.int64) + 1]
    q = padded.reshape(g.shape[0], -1, 4)
    packed = q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + packed.astype(np.uint8).tobytes())
    Path(f"{prefix}.bim").write_text(
        "".join("\t".join((c, v, "0", p, a, r)) + "\n" for c, v, p, a, r in variants)
    )
    Path(f"{prefix}.fam").write_text("".join(f"{i} {i} 0 0 0 -9\n" for i in ids))
    return ids
