"""The source adapters on tiny files written by the tests (no Neo4j): what each row becomes, and rejects."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from kg.adapters import ddinter, hetionet, hsdn, mesh, pharmacotherapydb
from kg.adapters.synthea import pseudonymise
from kg.build import collect
from kg.records import GraphBatch
from kg.schema import get_schema


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _tsv(*rows: str) -> str:
    return "".join(r.replace("|T|", "\t") + "\n" for r in rows)


def _batch(root: Path, **kw) -> GraphBatch:
    return GraphBatch(get_schema(), root, **kw)


def _rejects(batch: GraphBatch) -> list[tuple[str, int | None, str]]:
    return [(r.file, r.line, r.reason) for r in batch.rejects]


DRUGBANK = _tsv("drugbank_id|T|name|T|type|T|groups|T|atc_codes|T|categories|T|inchikey|T|inchi|T|description",
                "DB00945|T|Acetylsalicylic acid|T|small molecule|T|approved|vet_approved|T|N02BA01|T||T|"
                "InChIKey=BSYNRYMUTXBXSQ-UHFFFAOYSA-N|T||T|An NSAID.",
                "DB00682|T|Warfarin|T|small molecule|T|approved|T|B01AA03|T||T||T||T|")
ALIASES = json.dumps({"DB00945": ["Acetylsalicylic acid", "Aspirin", "Adiro"], "DB00682": ["Warfarin", "Coumadin"]})


def _drug_files(root: Path) -> None:
    _write(root, "drugbank/drugbank.tsv", DRUGBANK)
    _write(root, "drugbank/aliases.json", ALIASES)


# --- Hetionet ------------------------------------------------------------------------------------------
def _hetionet(root: Path) -> None:
    _write(root, hetionet.NODES, _tsv(
        "id|T|name|T|kind",
        "Compound::DB00945|T|Acetylsalicylic acid|T|Compound",
        "Disease::DOID:9352|T|type 2 diabetes mellitus|T|Disease",
        "Side Effect::C0018681|T|Headache|T|Side Effect",
        "Gene::3|T|A2MP1|T|Gene",
        "Gene::5|T|A2M|T|Gene",
        "Gene::1|T|A1BG|T|Gene",
        "Planet::X|T|Mars|T|Planet"))
    _write(root, hetionet.MEDICAL, _tsv(
        "source|T|metaedge|T|target",
        "Compound::DB00945|T|CtD|T|Disease::DOID:9352",
        "Compound::DB00945|T|CcSE|T|Side Effect::C0018681",
        "Compound::DB00945|T|CbG|T|Gene::1",
        "Compound::DB00945|T|XxY|T|Gene::1"))
    _write(root, hetionet.SAMPLE, _tsv(
        "source|T|metaedge|T|target",
        "Compound::DB00945|T|CtD|T|Disease::DOID:9999",  # CtD comes from the medical file: skipped here
        "Gene::5|T|GiG|T|Gene::3"))
    _write(root, hetionet.CBG, _tsv(
        "drugbank_id|T|entrez_gene_id|T|sources|T|pubmed_ids|T|actions|T|affinity_nM|T|license|T|urls",
        "DB00945|T|1|T|DrugBank (target)|ChEMBL|T|123|456|T|inhibitor|T|12.5|T|CC BY-SA 3.0|T|"))
    _write(root, hetionet.DAG, _tsv("doid_id|T|doid_name|T|entrez_gene_id|T|gene_symbol|T|sources|T|license"))


def test_hetionet_nodes_edges_licenses_and_edge_properties(tmp_path: Path) -> None:
    _hetionet(tmp_path)
    b = _batch(tmp_path)
    hetionet.load(b)
    b.drop_dangling()
    assert set(b.nodes) == {("Drug", "DB00945"), ("Disease", "DOID:9352"), ("SideEffect", "C0018681"),
                            ("Gene", "3"), ("Gene", "5"), ("Gene", "1")}
    assert b.nodes[("Drug", "DB00945")]["curie"] == "drugbank:DB00945"
    assert b.node_prov[("SideEffect", "C0018681")].licenses == {"CC BY-NC-SA 4.0"}  # SIDER
    assert b.node_prov[("Disease", "DOID:9352")].licenses == {"CC BY 3.0"}
    assert b.counts()["relationships"] == {"TREATS": 1, "CAUSES": 1, "BINDS": 1, "INTERACTS": 1}
    [binds] = [k for k in b.edges if k[0] == "BINDS"]
    props = b.edges[binds]
    assert props == {"metaedge": "CbG", "evidence_sources": ["DrugBank (target)", "ChEMBL"],
                     "pubmed_ids": ["123", "456"], "actions": ["inhibitor"], "affinity_nM": 12.5}
    assert b.edge_prov[binds].licenses == {"CC BY-SA 3.0"}  # the row's own license wins over the metaedge's
    [causes] = [k for k in b.edges if k[0] == "CAUSES"]
    assert b.edge_prov[causes].licenses == {"CC BY-NC-SA 4.0"}
    # INTERACTS is undirected: stored once, smaller id first
    assert ("INTERACTS", ("Gene", "3"), ("Gene", "5"), "", "") in b.edges
    assert _rejects(b) == [
        (hetionet.NODES, 8, "unknown node kind or id 'Planet::X' (kind 'Planet')"),
        (hetionet.MEDICAL, 5, "unknown metaedge 'XxY'"),
    ]


def test_hetionet_bad_disease_id_is_rejected_with_line(tmp_path: Path) -> None:
    _hetionet(tmp_path)
    path = tmp_path / hetionet.NODES
    path.write_text(path.read_text() + "Disease::DOID_9\tbad\tDisease\n")
    b = _batch(tmp_path)
    hetionet.load_nodes(b, path)
    assert (hetionet.NODES, 9, r"Disease: id 'DOID_9' does not match ^DOID:\d+$") in _rejects(b)


# --- PharmacotherapyDB, HSDN, MeSH ------------------------------------------------------------------------
def test_pharmacotherapydb_categories_and_unknown_category(tmp_path: Path) -> None:
    _write(tmp_path, pharmacotherapydb.FILE, _tsv(
        "doid_id|T|drugbank_id|T|disease|T|drug|T|category|T|n_curators|T|n_resources",
        "DOID:9352|T|DB00945|T|t2d|T|aspirin|T|DM|T|2|T|1",
        "DOID:9352|T|DB00682|T|t2d|T|warfarin|T|SYM|T|1|T|",
        "DOID:9352|T|DB00001|T|t2d|T|lepirudin|T|NOT|T|1|T|1",
        "DOID:9352|T|DB00002|T|t2d|T|cetuximab|T|MAYBE|T|1|T|1"))
    b = _batch(tmp_path)
    pharmacotherapydb.load(b)
    assert sorted(k[0] for k in b.edges) == ["NOT_INDICATED_FOR", "PALLIATES", "TREATS"]
    treats = b.edges[("TREATS", ("Drug", "DB00945"), ("Disease", "DOID:9352"), "", "")]
    assert treats["n_curators"] == 2 and treats["category"] == "DM"
    assert "n_resources" not in b.edges[("PALLIATES", ("Drug", "DB00682"), ("Disease", "DOID:9352"), "", "")]
    assert _rejects(b) == [(pharmacotherapydb.FILE, 5, "unknown category 'MAYBE' (want DM, SYM or NOT)")]


def test_hsdn_weights_and_non_numeric_reject(tmp_path: Path) -> None:
    _write(tmp_path, hsdn.FILE, _tsv(
        "symptom_name|T|disease_name|T|cooccurs|T|tfidf_score|T|disease_id|T|symptom_id|T|doid_code|T|doid_name",
        "Fever|T|Flu|T|12|T|3.5|T|D1|T|D005334|T|DOID:8469|T|influenza",
        "Cough|T|Flu|T|many|T|1.0|T|D1|T|D003371|T|DOID:8469|T|influenza"))
    b = _batch(tmp_path)
    hsdn.load(b)
    [(key, props)] = b.edges.items()
    assert key == ("PRESENTS", ("Disease", "DOID:8469"), ("Symptom", "D005334"), "hsdn", "")
    assert props["weight"] == 3.5 and props["cooccurs"] == 12 and props["source"] == "hsdn"
    assert props["license"] == "CC BY 4.0"
    assert _rejects(b) == [(hsdn.FILE, 3, "non-numeric tfidf_score '1.0' or cooccurs 'many'")]


def test_mesh_symptoms_and_is_a_from_tree_numbers(tmp_path: Path) -> None:
    _write(tmp_path, mesh.SYMPTOMS, _tsv("mesh_id|T|mesh_name|T|in_hsdn", "D010146|T|Pain|T|1",
                                         "D002637|T|Chest Pain|T|1"))
    _write(tmp_path, mesh.TREES, _tsv("mesh_id|T|mesh_name|T|mesh_tree_number", "D010146|T|Pain|T|C23.888.592.612",
                                      "D002637|T|Chest Pain|T|C23.888.592.612.233",
                                      "D000001|T|Calcimycin|T|D03.438"))
    b = _batch(tmp_path)
    mesh.load(b)
    assert b.nodes[("Symptom", "D002637")] == {"name": "Chest Pain", "curie": "MESH:D002637",
                                               "tree_numbers": ["C23.888.592.612.233"], "id": "D002637"}
    assert list(b.edges) == [("IS_A", ("Symptom", "D002637"), ("Symptom", "D010146"), "", "")]


# --- drug-drug interactions ------------------------------------------------------------------------------
def test_ddi86_direction_and_mechanism_sentence(tmp_path: Path) -> None:
    _drug_files(tmp_path)
    _write(tmp_path, "drugbank-ddi-86/id2rel.txt",
           "Interaction type,Description,Subject,DDI type\n"
           "6,#Drug1 may increase the anticoagulant activities of #Drug2.,1,DDI type 6\n")
    _write(tmp_path, "drugbank-ddi-86/ddi.tsv", _tsv("drug1|T|drug2|T|Label", "DB00682|T|DB00945|T|6",
                                                     "DB00682|T|DB99999|T|6", "DB00682|T|DB00945|T|99"))
    b = collect(tmp_path, ["drugbank", "drugbank-ddi-86"], progress=False)
    # read with #Drug1 := drug2 (aspirin) and #Drug2 := drug1 (warfarin)
    props = b.edges[("INTERACTS_WITH", ("Drug", "DB00945"), ("Drug", "DB00682"), "drugbank-ddi-86", "6")]
    assert props["mechanism"] == "Acetylsalicylic acid may increase the anticoagulant activities of Warfarin."
    assert props["ddi_type"] == 6
    # an id newer than the vocabulary is kept, named by its id
    assert b.nodes[("Drug", "DB99999")]["name_known"] is False
    assert b.edges[("INTERACTS_WITH", ("Drug", "DB99999"), ("Drug", "DB00682"), "drugbank-ddi-86", "6")][
        "mechanism"] == "DB99999 may increase the anticoagulant activities of Warfarin."
    assert _rejects(b) == [("drugbank-ddi-86/ddi.tsv", 4, "unknown interaction type Label='99'")]


def _ddinter(root: Path, rows: dict[str, list[str]]) -> None:
    for g in ddinter.GROUPS:
        _write(root, f"ddinter/ddinter_downloads_code_{g}.csv",
               "DDInterID_A,Drug_A,DDInterID_B,Drug_B,Level\n" + "".join(r + "\n" for r in rows.get(g, [])))


def test_ddinter_severity_pairs_and_unresolved_drugs(tmp_path: Path) -> None:
    _drug_files(tmp_path)
    _ddinter(tmp_path, {
        "A": ["DDInter1,Warfarin,DDInter2,Aspirin,Moderate", "DDInter1,Warfarin,DDInter9,Zzyxofloxin,Minor",
              "DDInter1,Warfarin,DDInter2,Aspirin,Severe"],
        "B": ["DDInter2,Aspirin,DDInter1,Warfarin,Major", "DDInter2,Aspirin,DDInter3,Adiro,Minor"],
    })
    b = _batch(tmp_path)
    _drug_nodes(b)
    ddinter.load(b)
    # one relationship per unordered pair; the highest severity of every file wins
    pair = b.edges[("INTERACTS_WITH", ("Drug", "DB00682"), ("Drug", "DB00945"), "ddinter", "")]
    assert pair["severity"] == "Major" and pair["severity_values"] == ["Major", "Moderate"]
    assert pair["atc_groups"] == ["A", "B"] and pair["ddinter_ids"] == ["DDInter1", "DDInter2"]
    # a name that does not resolve is kept as its own Drug node and reported
    assert b.nodes[("Drug", "DDInter9")] == {"name": "Zzyxofloxin", "curie": "ddinter:DDInter9", "resolved": False,
                                             "id": "DDInter9"}
    report = b.resolution["ddinter"]
    assert report["unresolved"] == ["Zzyxofloxin"] and report["total"] == 4 and report["rate"] == 0.75
    assert _rejects(b) == [
        ("ddinter/ddinter_downloads_code_A.csv", 4, "field Level has unknown value 'Severe'"),
        ("ddinter/ddinter_downloads_code_B.csv", 3, "both drugs ('Aspirin', 'Adiro') resolve to DB00945"),
    ]


def _drug_nodes(b: GraphBatch) -> None:
    for drug_id, name in (("DB00945", "Acetylsalicylic acid"), ("DB00682", "Warfarin")):
        b.add_node("Drug", drug_id, {"name": name}, "drugbank")


# --- Synthea: de-identified on load -----------------------------------------------------------------------
OBO = """format-version: 1.2

[Term]
id: DOID:9352
name: type 2 diabetes mellitus
synonym: "diabetes mellitus type 2" EXACT []
xref: SNOMEDCT_2010_1_31:44054006
"""


def test_synthea_patients_are_pseudonymous_with_age_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDKG_PSEUDONYM_KEY", "k" * 32)
    _drug_files(tmp_path)
    _write(tmp_path, "ontologies/disease-ontology/HumanDO.obo", OBO)
    pid = "b9c610cd-28a6-4636-ccb6-c7a0d2a4cb85"
    _write(tmp_path, "synthea-sample/patients.csv",
           "Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,"
           "GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,FIPS,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE,"
           "INCOME\n"
           f"{pid},1970-06-15,,999-1,S1,X1,Mr.,Jon,Doe,,,M,white,nonhispanic,M,Boston,1 Main St,Boston,MA,,,02110,"
           "42.1,-71.0,100,10,50000\n"
           "bad,notadate,,,,,,A,B,,,,white,nonhispanic,F,,,,,,,,,,,,\n")
    _write(tmp_path, "synthea-sample/encounters.csv",
           "Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST,"
           f"TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION\ne1,2020-06-14T00:00:00Z,,{pid},,,,,1,x,,,,,\n")
    _write(tmp_path, "synthea-sample/conditions.csv",
           "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
           f"2001-01-01,,{pid},e1,44054006,Diabetes mellitus type 2 (disorder)\n"
           f"2005-01-01,2005-02-01,{pid},e1,44054006,Diabetes mellitus type 2 (disorder)\n")
    _write(tmp_path, "synthea-sample/medications.csv",
           "START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,PAYER_COVERAGE,DISPENSES,TOTALCOST,"
           f"REASONCODE,REASONDESCRIPTION\n2010-01-01,2011-01-01,{pid},,e1,855332,Warfarin Sodium 5 MG Oral Tablet,"
           ",,,,,\n")
    _write(tmp_path, "synthea-sample/allergies.csv",
           "START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY,REACTION1,DESCRIPTION1,SEVERITY1,"
           "REACTION2,DESCRIPTION2,SEVERITY2\n")
    b = collect(tmp_path, ["drugbank", "disease-ontology", "synthea"], progress=False)
    [(key, patient)] = [(k, v) for k, v in b.nodes.items() if k[0] == "Patient"]
    assert key[1] == pseudonymise(pid, b"k" * 32) and pid[:8] not in key[1]
    # born 1970-06-15, data set's latest encounter 2020-06-14: 49 years old
    assert patient == {"age_band": "40-49", "sex": "M", "race": "white", "ethnicity": "nonhispanic",
                       "deceased": False, "origin": "synthea", "id": key[1]}
    cond = b.edges[("HAS_CONDITION", key, ("Condition", "44054006"), "", "")]
    assert cond == {"first_year": 2001, "active": True, "episodes": 2}
    assert ("MAPS_TO", ("Condition", "44054006"), ("Disease", "DOID:9352"), "", "") in b.edges
    assert b.edges[("CONTAINS", ("Medication", "855332"), ("Drug", "DB00682"), "", "")]["method"] in {
        "exact", "salt-stripped", "normalised"}
    assert _rejects(b) == [("synthea-sample/patients.csv", 3, "field BIRTHDATE has invalid date 'notadate'")]


# --- provenance and the license filter --------------------------------------------------------------------
def test_commercial_only_excludes_and_counts(tmp_path: Path) -> None:
    b = _batch(tmp_path, commercial_only=True)
    assert b.add_node("Drug", "DB00945", {"name": "Aspirin"}, "drugbank") is False
    assert b.add_node("Disease", "DOID:9352", {"name": "t2d"}, "disease-ontology") is True
    assert b.add_edge("TREATS", ("Drug", "DB00945"), ("Disease", "DOID:9352"), {}, "pharmacotherapydb") is True
    assert b.drop_dangling() == 1  # the drug was left out, so its edge has no start node
    assert dict(b.excluded) == {"node:Drug:drugbank": 1}
    assert b.node_prov[("Disease", "DOID:9352")].as_props() == {
        "sources": ["disease-ontology"], "source_versions": ["disease-ontology:2015-05-14"],
        "licenses": ["CC BY 3.0"]}
