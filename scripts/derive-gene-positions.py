"""Derive src/promise/gwas/data/genes/GRCh3{7,8}.tsv.gz from the GeneLocator wheel on PyPI.

GeneLocator 1.1.2 (MIT, https://pypi.org/project/GeneLocator/) ships GENCODE release 32's
genes as pickled lookup objects: genelocator/data/genes-grch38-gencode32-codinglike.pickle.gz
(from gencode.v32.basic.annotation.gtf) and genes-grch37-gencode32-codinglike.pickle.gz
(from gencode.v32lift37.annotation.gtf), keeping genes of the "coding-like" types
(protein_coding, IG_*_gene, TR_*_gene). This writes each gene's chromosome, start, end
(GTF coordinates: 1-based, inclusive), and symbol as a small TSV.

Run once, by hand, outside the project's environment (unpickling needs the genelocator
and intervaltree packages, which promise does not depend on):

    python3 -m venv /tmp/genes && /tmp/genes/bin/pip install intervaltree
    pip download --no-deps -d /tmp/genes GeneLocator==1.1.2
    (cd /tmp/genes && unzip -o -q GeneLocator-1.1.2-py2.py3-none-any.whl)
    PYTHONPATH=/tmp/genes /tmp/genes/bin/python scripts/derive-gene-positions.py
"""

import gzip
import pickle
from pathlib import Path

import genelocator

DATA = Path(genelocator.__file__).parent / "data"
OUT = Path(__file__).resolve().parents[1] / "src" / "promise" / "gwas" / "data" / "genes"
ORDER = [str(i) for i in range(1, 23)] + ["X", "Y", "M"]

for build, number in (("GRCh37", 37), ("GRCh38", 38)):
    with gzip.open(DATA / f"genes-grch{number}-gencode32-codinglike.pickle.gz", "rb") as f:
        locator = pickle.load(f)
    rows = sorted(
        (ORDER.index(chrom), start, end, symbol, chrom)
        for chrom, start, end, symbol in locator._gene_info.values()
        if chrom in ORDER
    )
    OUT.mkdir(parents=True, exist_ok=True)
    text = "chromosome\tstart\tend\tsymbol\n" + "".join(
        f"{chrom}\t{start}\t{end}\t{symbol}\n" for _, start, end, symbol, chrom in rows
    )
    (OUT / f"{build}.tsv.gz").write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    print(build, len(rows), "genes")
