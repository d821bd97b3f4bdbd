"""Identity resolution on the real source files (no Neo4j): drugs, products, diseases, symptoms, report."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import SourceDataError
from kg.resolve import (
    DiseaseOntology,
    DiseaseResolver,
    DrugResolver,
    ResolutionReport,
    SymptomResolver,
    parse_product,
)
from kg.resolve.normalise import normalise, strip_salts, strip_semantic_tag, token_key, uninvert
from kg.settings import get_settings

DATA = get_settings().medkg_data_dir


@pytest.fixture(scope="session")
def drugs() -> DrugResolver:
    return DrugResolver.from_data_dir(DATA)  # its build time and lookup latency: bench/bench_resolve.py


@pytest.fixture(scope="session")
def diseases() -> DiseaseResolver:
    return DiseaseResolver.from_data_dir(DATA)


@pytest.fixture(scope="session")
def symptoms() -> SymptomResolver:
    return SymptomResolver.from_data_dir(DATA)


# --- normalisation ---------------------------------------------------------------------------------

def test_normalise_folds_case_accents_punctuation_and_british_spelling() -> None:
    assert normalise("  Guillain-Barré   Syndrome ") == "guillain barre syndrome"
    assert normalise("Ferrous Sulphate") == normalise("ferrous sulfate") == "ferrous sulfate"
    assert normalise("Aluminium hydroxide") == "aluminum hydroxide"
    assert normalise("Dyspnoea") == "dyspnea"
    assert normalise("Oedema") == "edema"
    assert normalise("Anaemia") == "anemia"
    assert normalise("Paracetamol") == "acetaminophen"


def test_salts_are_stripped_only_when_something_meaningful_remains() -> None:
    assert strip_salts("Oxycodone Hydrochloride") == "oxycodone"
    assert strip_salts("Clavulanate") == strip_salts("Clavulanic acid") == "clavulanic"
    assert strip_salts("Calcium citrate") is None
    assert strip_salts("Sodium chloride") is None


def test_semantic_tags_inverted_headings_and_word_order() -> None:
    assert strip_semantic_tag("Acute viral pharyngitis (disorder)") == "Acute viral pharyngitis"
    assert strip_semantic_tag("Sprain (morphologic abnormality)") == "Sprain"
    assert uninvert("Pain, Chest") == "Chest Pain"
    assert token_key("Diabetes mellitus type 2") == token_key("type 2 diabetes mellitus")


# --- drugs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "drug_id", "method"), [
    ("aspirin", "DB00945", "alias"),
    ("warfarin", "DB00682", "exact"),
    ("simvastatin", "DB00641", "exact"),
    ("clarithromycin", "DB01211", "exact"),
    ("digoxin", "DB00390", "exact"),
    ("amiodarone", "DB01118", "exact"),
    ("Coumadin", "DB00682", "alias"),  # a brand name listed in aliases.json
    ("DB00945", "DB00945", "id"),
    ("drugbank:db00682", "DB00682", "id"),
    ("WARFARIN SODIUM", "DB00682", "alias"),
    ("Meperidine", "DB00454", "normalised"),  # US name of pethidine
    ("Clindamycin (topical)", "DB01190", "normalised"),
    ("Phenazopyridine hydrochloride", "DB01438", "salt-stripped"),
    ("Clobetasol", "DB01013", "salt-stripped"),  # DrugBank only has the propionate salt
    ("warfarn", "DB00682", "fuzzy"),
])
def test_drug_names_resolve(drugs: DrugResolver, name: str, drug_id: str, method: str) -> None:
    found = drugs.resolve(name)
    assert found is not None, name
    assert (found.id, found.method) == (drug_id, method)


def test_unknown_drug_is_none_with_suggestions(drugs: DrugResolver) -> None:
    assert drugs.resolve("Zanubrutinib") is None  # approved 2019, not in this DrugBank
    assert drugs.resolve("Calcium citrate") is None  # never reduced to a bare ion
    suggestions = drugs.suggest("Zanubrutinib", k=3)
    assert len(suggestions) == 3
    assert suggestions[0].score >= suggestions[-1].score


def test_typos_are_suggested_first(drugs: DrugResolver) -> None:
    assert drugs.suggest("asprin")[0].id == "DB00945"
    assert drugs.suggest("asprin")[0].name == "Acetylsalicylic acid"
    assert drugs.suggest("warfarn")[0].id == "DB00682"
    assert drugs.suggest("simvastatn")[0].id == "DB00641"


def test_fuzzy_never_accepts_real_words_or_affixed_names(drugs: DrugResolver) -> None:
    assert drugs.resolve("insulin") is None  # not "Inulin"
    assert drugs.resolve("Armodafinil") is None  # the R-enantiomer is not Modafinil
    assert drugs.resolve("Oxygen") is None  # not "Oxygent"
    assert drugs.resolve("Choline salicylate") is None  # salicylate is the active part, not a salt


def test_shared_alias_goes_to_the_drug_whose_own_name_it_is(drugs: DrugResolver) -> None:
    # "Chlorpromazine" is also listed among Clozapine's (DB00363) aliases.
    found = drugs.match("Chlorpromazine")
    assert found.resolution is not None and found.resolution.id == "DB00477"


def test_ambiguous_alias_is_reported_not_guessed(drugs: DrugResolver) -> None:
    found = drugs.match("Isosorbide")  # dinitrate DB00883 and mononitrate DB01020 both list it
    assert found.resolution is None
    assert found.ambiguous == ("DB00883", "DB01020")


def test_lookups_resolve_and_suggest_the_right_drugs(drugs: DrugResolver) -> None:
    """The names bench/bench_resolve.py times (latency is measured there, against difflib, not asserted here)."""
    got = {name: (r.id, r.method) if (r := drugs.resolve(name)) else None
           for name in ["aspirin", "warfarn", "Zanubrutinib", "Oxycodone Hydrochloride", "qwertyuiopasdf"]}
    assert got == {"aspirin": ("DB00945", "alias"), "warfarn": ("DB00682", "fuzzy"), "Zanubrutinib": None,
                   "Oxycodone Hydrochloride": ("DB00497", "alias"), "qwertyuiopasdf": None}
    assert drugs.suggest("warfarn")[0].id == "DB00682"  # the typo's best suggestion is the drug itself
    assert drugs.suggest("Zanubrutinib")[0].score < 80  # newer than this DrugBank: only weak suggestions


# --- products (Synthea RxNorm descriptions) --------------------------------------------------------

def test_parse_product_strips_strengths_forms_and_brand() -> None:
    product = parse_product(
        "Abuse-Deterrent 12 HR Oxycodone Hydrochloride 10 MG Extended Release Oral Tablet [Oxycontin]")
    assert product.ingredients == ("Oxycodone Hydrochloride",)
    assert product.brand == "Oxycontin"
    combo = parse_product("Amlodipine 5 MG / Hydrochlorothiazide 12.5 MG / Olmesartan medoxomil 20 MG Oral Tablet")
    assert combo.ingredients == ("Amlodipine", "Hydrochlorothiazide", "Olmesartan medoxomil")
    assert parse_product("1 ML medroxyPROGESTERone acetate 150 MG/ML Injection").ingredients == (
        "medroxyPROGESTERone acetate",)
    assert parse_product("Clindamycin 300mg").ingredients == ("Clindamycin",)


@pytest.mark.parametrize(("description", "ids"), [
    ("Aspirin 81 MG Oral Tablet", ["DB00945"]),
    ("Simvastatin 10 MG Oral Tablet", ["DB00641"]),
    ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", ["DB00331"]),
    ("Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", ["DB00316", "DB00497"]),
    ("Amlodipine 5 MG / Hydrochlorothiazide 12.5 MG / Olmesartan medoxomil 20 MG Oral Tablet",
     ["DB00381", "DB00999", "DB00275"]),
    ("0.4 ML Enoxaparin sodium 100 MG/ML Prefilled Syringe", ["DB01225"]),
    ("insulin isophane  human 70 UNT/ML / insulin  regular  human 30 UNT/ML Injectable Suspension [Humulin]",
     ["DB08914", "DB00030"]),
    ("Mirena 52 MG Intrauterine System", ["DB00367"]),
])
def test_products_resolve_per_ingredient(drugs: DrugResolver, description: str, ids: list[str]) -> None:
    found = drugs.resolve_product(description)
    assert [r.id if r else None for r in found] == ids


def test_unresolved_ingredient_is_kept_as_none(drugs: DrugResolver) -> None:
    assert [r.id if r else None for r in drugs.resolve_product("Mestranol / Norethynodrel")] == ["DB01357", None]


def test_brand_in_brackets_is_the_fallback(drugs: DrugResolver) -> None:
    found = drugs.resolve_product("Zyxwv 10 MG Oral Tablet [Coumadin]")
    assert len(found) == 1 and found[0] is not None
    assert (found[0].id, found[0].method) == ("DB00682", "brand")


# --- diseases --------------------------------------------------------------------------------------

def test_obo_parse_gives_terms_with_hierarchy(diseases: DiseaseResolver) -> None:
    terms = diseases.ontology.terms
    assert len(terms) == 8948
    t2d = terms["DOID:9352"]
    assert t2d.name == "type 2 diabetes mellitus"
    assert "DOID:9351" in t2d.parents
    assert "MESH:D003924" in t2d.xrefs
    assert not t2d.obsolete
    assert sum(t.obsolete for t in terms.values()) == 2374
    assert "DOID:4" in diseases.ontology.ancestors("DOID:9352")  # disease, the root
    assert ("DOID:9352", "DOID:9351") in diseases.ontology.is_a_edges()


def test_obo_errors_name_file_line_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.obo"
    bad.write_text("[Term]\nid: DOID:1\nname: x\n\n[Term]\nid: NOTADOID\n")
    with pytest.raises(SourceDataError, match=r"bad\.obo:6: field 'id' value 'NOTADOID'"):
        DiseaseOntology.from_obo(bad)
    with pytest.raises(SourceDataError, match="not found"):
        DrugResolver.from_data_dir(tmp_path)


@pytest.mark.parametrize(("query", "doid", "method"), [
    ("DOID:9352", "DOID:9352", "id"),
    ("MESH:D003920", "DOID:9351", "xref"),
    ("MSH:D011014", "DOID:552", "xref"),
    ("UMLS_CUI:C0020538", "DOID:10763", "xref"),
    ("ICD10CM:K40", "DOID:0060320", "xref"),
    ("Hypertension", "DOID:10763", "exact"),
    ("Acute viral pharyngitis (disorder)", "DOID:2275", "broader"),
    ("Diabetes mellitus type 2 (disorder)", "DOID:9352", "normalised"),
    ("Pneumonia (disorder)", "DOID:552", "exact"),
])
def test_disease_lookups(diseases: DiseaseResolver, query: str, doid: str, method: str) -> None:
    found = diseases.resolve(query)
    assert found is not None, query
    assert (found.id, found.method) == (doid, method)


def test_icd10_codes(diseases: DiseaseResolver) -> None:
    atrial = diseases.match_icd10("I48.91")  # only I48 is in DO: found through the parent code
    assert atrial.resolution is not None
    assert (atrial.resolution.id, atrial.resolution.method) == ("DOID:0060224", "xref-prefix")
    # DO 2015 has no ICD-10 xref for J18: the DDXPlus pathology resolves through its name instead.
    assert diseases.match_icd10("J18").resolution is None
    pneumonia = diseases.match_pathology("Pneumonia", "j17, j18")
    assert pneumonia.resolution is not None and pneumonia.resolution.id == "DOID:552"
    sle = diseases.match_pathology("SLE", "M34")
    assert sle.resolution is not None and sle.resolution.id == "DOID:9074"


# --- symptoms --------------------------------------------------------------------------------------

def test_symptom_lookups(symptoms: SymptomResolver) -> None:
    assert len(symptoms) == 438
    assert symptoms.resolve("D000006").id == "D000006"  # type: ignore[union-attr]
    assert symptoms.resolve("chest pain").id == "D002637"  # type: ignore[union-attr]
    assert symptoms.resolve("pain chest").id == "D002637"  # type: ignore[union-attr]  (Columbia word order)
    assert symptoms.resolve("Dyspnoea").id == "D004417"  # type: ignore[union-attr]
    assert symptoms.resolve("Fever (finding)").id == "D005334"  # type: ignore[union-attr]
    assert symptoms.resolve("D999999") is None


def test_umls_symptoms_map_through_side_effect_names(symptoms: SymptomResolver) -> None:
    assert symptoms.side_effect("C0013404") == "C0013404"  # dyspnoea is a Hetionet side effect
    assert symptoms.resolve("sneeze") is None
    found = symptoms.match_umls("C0037383", "sneeze")  # Hetionet names C0037383 "Sneezing"
    assert found.resolution is not None
    assert (found.resolution.id, found.resolution.method) == ("D012912", "xref")


# --- report ----------------------------------------------------------------------------------------

def test_report_counts_methods_ambiguity_and_unresolved(drugs: DrugResolver) -> None:
    report = ResolutionReport()
    for name in ["aspirin", "warfarin", "Isosorbide", "Zanubrutinib", "warfarn"]:
        report.add("test", name, drugs.match(name), drugs.suggest)
    data = report.to_dict()["test"]
    assert (data["total"], data["resolved"]) == (5, 3)
    assert data["by_method"] == {"exact": 1, "alias": 1, "fuzzy": 1}
    assert data["ambiguous"] == {"Isosorbide": ["DB00883", "DB01020"]}
    assert list(data["unresolved"]) == ["Zanubrutinib"]
    assert len(data["unresolved"]["Zanubrutinib"]) == 3
    summary = report.summary()
    assert "test" in summary and "60.0%" in summary
