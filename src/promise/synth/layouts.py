"""File names and column layouts of the landing folder (docs/interfaces.md section 1)."""

from __future__ import annotations

from promise.synth.malformed import FileSpec

DIA = tuple(f"DIA{i}" for i in range(1, 31))
EKOD = tuple(f"EKOD{i}" for i in range(1, 6))
MORSAK = tuple(f"MORSAK{i}" for i in range(1, 18))
TAIL = ("OP", "SJUKHUS", "MVO", "PVARD", "ALDER", "KON")

POPULATION = FileSpec(
    "population/rtb_population.csv", ("PersonNr", "Kon", "FodelseLand", "FodelseLan", "AterPnr"),
    ";", "latin-1", pnr_col=0,
)  # fmt: skip
MIGRATION = FileSpec(
    "migration/rtb_migration.csv", ("PersonNr", "PostTyp", "Datum", "Land"), ";", "latin-1",
    pnr_col=0, date_col=2, code_col=1, unknown_code="Flytt",
)  # fmt: skip
INPATIENT_DIAGNOS = FileSpec(
    "npr_inpatient/par_sv_diagnos_1987_1996.txt",
    ("PersonNr", "AR", "INDATUM", "UTDATUM", "DIAGNOS", *EKOD, *TAIL), "\t", "latin-1",
    pnr_col=0, date_col=2, code_col=4, code_first_token=True,
)  # fmt: skip
INPATIENT = FileSpec(
    "npr_inpatient/par_sv_1997_2025.txt",
    ("PersonNr", "AR", "INDATUM", "UTDATUM", "HDIA", *DIA, *EKOD, *TAIL), "\t", "latin-1",
    pnr_col=0, date_col=2, code_col=4,
)  # fmt: skip
OUTPATIENT = FileSpec(
    "npr_outpatient/par_ov_2001_2025.txt",
    ("PersonNr", "AR", "INDATUM", "HDIA", *DIA, *TAIL), "\t", "latin-1",
    pnr_col=0, date_col=2, code_col=3,
)  # fmt: skip
LMED_COLUMNS = ("PersonNr", "ATC", "EDATUM", "FDATUM", "ANTAL", "forpddd", "VNR", "AR")
LMED_EARLY = FileSpec(
    "lmed/lmed_2005_2015.csv", LMED_COLUMNS, ";", "utf-8", bom=True,
    pnr_col=0, date_col=2, code_col=1, unknown_code="Q99ZZ99", text_col=6,
)  # fmt: skip
LMED_LATE = FileSpec(
    "lmed/lmed_2016_2025.csv", LMED_COLUMNS, ";", "utf-8",
    pnr_col=0, date_col=2, code_col=1, unknown_code="Q99ZZ99", text_col=6,
)  # fmt: skip
DORS = FileSpec(
    "dors/dors.csv", ("PersonNr", "DODSDAT", "AR", "ICD", "ULORSAK", *MORSAK), ";", "latin-1",
    pnr_col=0, date_col=1, code_col=4,
)  # fmt: skip
CANCER = FileSpec(
    "cancer/cancer.csv", ("PersonNr", "DIADAT", "AR", "ICD7", "ICDO3", "SNOMED3", "BEN", "KON", "ALDER"),
    ";", "latin-1", pnr_col=0, date_col=1, date_style="diadat", code_col=4,
)  # fmt: skip
MULTIGEN = FileSpec(
    "multigen/mgr.csv",
    ("PersonNr", "PersonNrMor", "PersonNrFar", "PersonNrAdoptivMor", "PersonNrAdoptivFar"), ";", "latin-1",
    pnr_col=0,
)  # fmt: skip
BIOBANK = FileSpec(
    "biobank/biobank_samples.csv", ("SampleID", "PersonNr", "SamplingDate", "SampleType"), ",", "utf-8",
    pnr_col=1, date_col=2, date_style="iso", text_col=3,
)  # fmt: skip
OLINK = FileSpec(
    "olink/olink_npx.csv",
    ("SampleID", "OlinkID", "UniProt", "Assay", "Panel", "PlateID", "QC_Warning", "LOD", "NPX"), ";", "utf-8",
    text_col=3,
)  # fmt: skip
NMR = FileSpec(
    "metabolomics/nmr_metabolomics.tsv",
    ("SampleID", "Total_C", "LDL_C", "HDL_C", "ApoB", "Total_TG", "Glucose", "GlycA"), "\t", "utf-8",
    text_col=0,
)  # fmt: skip

REGISTERS = {
    "population": (POPULATION,),
    "migration": (MIGRATION,),
    "npr_inpatient": (INPATIENT_DIAGNOS, INPATIENT),
    "npr_outpatient": (OUTPATIENT,),
    "lmed": (LMED_EARLY, LMED_LATE),
    "dors": (DORS,),
    "cancer": (CANCER,),
    "multigen": (MULTIGEN,),
}
OMICS = {"biobank": (BIOBANK,), "olink": (OLINK,), "metabolomics": (NMR,)}
SOURCES = (*REGISTERS, *OMICS, "genotypes")
