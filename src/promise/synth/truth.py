"""``truth.json``: what was planted, in the layout of docs/interfaces.md section 2."""

from __future__ import annotations

from typing import Any

import numpy as np

from promise.synth.chunk import Genotyped
from promise.synth.endpoints import Tally
from promise.synth.genetics import causal_variants, heritability, trait_columns
from promise.synth.identities import SOURCE_COORD, SOURCE_GENERATED, SOURCE_PIN
from promise.synth.model import codes, model
from promise.synth.population import expected_share_b

SOURCES = (
    "Birth cohorts: SCB live births per year by decade (Befolkningsutveckling), weighted by "
    "Gompertz survival to 1969. Foreign-born shares by birth decade and emigration rates: SCB "
    "population and migration statistics. Mortality: Gompertz fitted by eye to SCB life tables "
    "2010-2019. Incidence: type 2 diabetes after the Swedish National Diabetes Register "
    "(Andersson et al. 2021, ~4-6/1000 PY at 60-79) inflated x3.5; myocardial infarction after "
    "SWEDEHEART/Socialstyrelsen statistics inflated x1.5; breast cancer after the Swedish Cancer "
    "Register inflated x1.5 (inflated so that a 20,000-person cohort gives hundreds of cases). "
    "Endpoint definitions: FinnGen R4 (FIMM and THL). Identities: Skatteverket test personnummer "
    "and samordningsnummer. All parameters: src/promise/synth/model.yaml."
)

NOTES = {
    "E4_DM2": (
        "first E11* code (any position, inpatient or outpatient NPR) in the window among persons "
        "resident, alive and with no earlier E4_DM2-qualifying record; every onset is written on its "
        "day (A10B dispensings and E11 causes of death only follow it; onsets before 1997 also get an "
        "ICD-10 E11 inpatient record in 1997-2000). Rates are the baseline hazards, exact on average "
        "over the cohort's genotypes and ancestries (logistic liability centred per person)."
    ),
    "I9_MI": (
        "first I21/I22 inpatient record or cause of death in the window among persons resident, alive "
        "and with no earlier qualifying record; rates apply to persons without type 2 diabetes, and "
        "are multiplied by hazard_ratio_after_E4_DM2 from the diabetes onset day (the first E4_DM2 record in "
        "the window). Fatal infarctions fall on the day of death, so follow-up includes the day of death."
    ),
    "C3_BREAST": (
        "first C50 tumour in the cancer register in the window among women resident, alive and with no "
        "earlier breast cancer (the process runs from 1969; men have no breast cancer here)."
    ),
}


def incidence() -> dict[str, Any]:
    """Planted hazards per 1000 person-years by sex and age band, with their window."""
    spec = model()
    labels = spec["age_band_labels"]
    out: dict[str, Any] = {}
    for name in ("E4_DM2", "I9_MI", "C3_BREAST"):
        rates = spec["incidence"][name]
        entry: dict[str, Any] = {
            "per_1000_py": {
                sex: dict(zip(labels, rates[sex], strict=True)) for sex in ("male", "female")
            },
            "window": list(spec["incidence_window"]),
            "process_start": rates["process_start"],
            "note": NOTES[name],
        }
        if "hazard_ratio_after_E4_DM2" in rates:
            entry["hazard_ratio_after_E4_DM2"] = rates["hazard_ratio_after_E4_DM2"]
        out[name] = entry
    return out


def hazard_ratios() -> list[dict[str, Any]]:
    """Planted hazard ratios: of a first myocardial infarction after type 2 diabetes, and of
    death from other causes after each planted disease (``model.yaml``)."""
    spec = model()
    found = [{
        "outcome": "I9_MI", "after": "E4_DM2",
        "hazard_ratio": spec["incidence"]["I9_MI"]["hazard_ratio_after_E4_DM2"],
        "applies_to": "the hazard of a first myocardial infarction, from the day of diabetes onset on",
        "note": (
            "Diabetes is a time-varying exposure; the baseline is incidence.I9_MI by sex and age "
            "band. A study recovers the ratio when its exposure is current diabetes and the age "
            "scale is respected: studies/mi_by_t2d_at60.yml indexes everyone at age 60 (follow-up "
            "stays in the 60-69 band, where the baseline is constant by sex) and censors the "
            "unexposed at diabetes onset. With the exposure fixed at the index and no censoring, "
            "persons who develop diabetes during follow-up dilute the ratio towards 1."
        ),
    }]  # fmt: skip
    for disease, ratio in spec["death_hazard_ratio_after"].items():
        found.append({
            "outcome": "DEATH", "after": disease, "hazard_ratio": ratio,
            "applies_to": "the hazard of death from other causes (the Gompertz background), from the onset day on; ratios of several diseases multiply",
            "note": (
                "Deaths caused by the planted diseases come on top: 15% of infarctions are fatal "
                "on the day (so their hazard is also raised after diabetes), and C3_BREAST.fatal "
                "of breast cancers kill years later. The I9_MI ratio applies to survivors."
            ),
        })  # fmt: skip
    return found


def drug_initiation() -> dict[str, Any]:
    """Planted treatment after diagnosis: who starts, which ATC codes, and when."""
    spec = model()
    drugs = codes()["drugs"]
    found: dict[str, Any] = {}
    for name, series in spec["drug_initiation"].items():
        delay, interval = int(series["delay_days"]), int(series["interval_days"])
        found[name] = {
            "after": list(series["after"]),
            "atc": sorted({d["atc"] for d in drugs[series["drugs"]]}),
            "share": series["share"],
            "first_dispensing_days_after_onset": [delay, delay + interval // 4 - 1],
            "interval_days": interval,
            "note": (
                "Among persons with an onset of any of `after` (the earliest counts) who are still "
                "followed on the day treatment would start; the first dispensing is not before "
                f"{spec['register_start']['lmed']} (LMED) nor before immigration, and 30% of 2005 "
                "dispensings are dated at the month's end."
            ),
        }
    return found


def gwas() -> dict[str, Any]:
    """Causal variants and effects of the planted traits."""
    share = expected_share_b()
    gen = model()["genetics"]

    def causal(trait: str, key: str) -> list[dict[str, Any]]:
        return [
            {"variant_id": c.variant_id, "effect_allele": c.alt, key: c.effect,
             "effect_allele_frequency": {"A": c.freq[0], "B": c.freq[1]}}
            for c in (causal_variants()[i] for i in trait_columns(trait))
        ]  # fmt: skip

    ldl = {"trait": "LDL_C", "platform": "nmr", "unit": gen["LDL_C"]["unit"], "heritability": round(heritability("LDL_C", share), 4),
           "ancestry_B_shift": gen["LDL_C"]["ancestry_B_shift"], "causal": causal("LDL_C", "beta")}  # fmt: skip
    pcsk9 = {"trait": "PCSK9", "platform": "olink", "unit": "NPX", "olink_id": gen["PCSK9"]["olink_id"],
             "cis_gene_position": gen["PCSK9"]["cis_gene_position"], "heritability": round(heritability("PCSK9", share), 4),
             "ancestry_B_shift": gen["PCSK9"]["ancestry_B_shift"], "causal": causal("PCSK9", "beta")}  # fmt: skip
    binary = {"endpoint": "E4_DM2", "model": "logit P(case) = logit F + c(F) + sum(log_or * alt count) + ancestry_B_log_or * [ancestry B]",
              "ancestry_B_log_or": gen["E4_DM2"]["ancestry_B_log_or"], "causal": causal("E4_DM2", "log_or")}  # fmt: skip
    return {"quantitative": [ldl, pcsk9], "binary": [binary]}


def assemble(
    *, seed: int, persons: int, variants: int, identities: dict[int, int], files: dict[str, Any],
    genotyped: Genotyped, tally: Tally, relatedness: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The whole ``truth.json`` document."""
    spec = model()
    batch = np.array(genotyped.batch, dtype=np.int64)
    anc = np.array(genotyped.ancestry, dtype=np.int64)
    return {
        "seed": seed,
        "persons": persons,
        "variants": variants,
        "delivery_date": spec["delivery_date"],
        "data_end": spec["data_end"],
        "identities": {
            "allPins": identities[SOURCE_PIN],
            "allCoords": identities[SOURCE_COORD],
            "generated": identities[SOURCE_GENERATED],
            "generated_note": (
                "Skatteverket's test numbers are used by birth year as far as they go; the rest are "
                "generated valid numbers (Luhn digit from promise.pnr) born in the same range, whose "
                "serials never repeat a test number; generated coordination numbers have day + 60. A number "
                "is generated exactly when it is in neither allPins.json nor allCoords.json."
            ),
        },
        "files": files,
        "genotypes": {
            "samples": int(batch.size),
            "batches": {"batch1": int((batch == 1).sum()), "batch2": int((batch == 2).sum())},
            "build": "GRCh38",
            "ancestries": {"A": int((anc == 0).sum()), "B": int((anc == 1).sum())},
            "fst": spec["ancestry"]["fst"],
            "missing_call_rate": spec["ancestry"]["missing_call_rate"],
            "sample_ids": {
                "batch1": "personnummer (mixed written forms)",
                "batch2": "biobank SampleID",
            },
        },
        "relatedness": relatedness or {},
        "gwas": gwas(),
        "incidence": incidence(),
        "hazard_ratios": hazard_ratios(),
        "drug_initiation": drug_initiation(),
        "endpoint_cases": dict(tally.totals),
        "sources": SOURCES,
    }
