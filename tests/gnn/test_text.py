"""Text encoder, node text, graph embeddings/search, complaint classifier, zero-shot and findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gnn.text.encoder import TextEncoder, get_encoder, model_dir
from gnn.text.nodes import node_text, text_hash
from kg.errors import ConfigError, InvalidInput, SourceDataError
from kg.settings import get_settings

DATA = get_settings().medkg_data_dir


@pytest.fixture(scope="session")
def encoder() -> TextEncoder:
    return get_encoder()


# --- encoder -----------------------------------------------------------------------------------------

def test_model_files_come_from_the_installed_package() -> None:
    path = model_dir()
    assert "site-packages" in str(path) and path.name == "model"
    assert (path / "model.safetensors").stat().st_size > 80_000_000


def test_encode_gives_unit_384_float32_vectors_in_input_order(encoder: TextEncoder) -> None:
    texts = ["a much longer sentence about chest pain that radiates to the left arm", "fever", ""]
    v64 = encoder.encode(texts, batch_size=64)
    v1 = encoder.encode(texts, batch_size=1)
    assert v64.shape == (3, 384) and v64.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v64[:2], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v64, v1, atol=1e-4)  # batching/padding and length sorting change nothing
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        encoder.encode("not a list")  # type: ignore[arg-type]


def test_similarity_reflects_meaning(encoder: TextEncoder) -> None:
    mi = encoder.similarity("heart attack", "myocardial infarction")
    femur = encoder.similarity("heart attack", "fracture of the femur")
    assert mi > femur + 0.2
    assert encoder.similarity("high blood pressure", "hypertension") > encoder.similarity(
        "high blood pressure", "skin rash")


# --- node text ---------------------------------------------------------------------------------------

def test_node_text_composes_name_synonyms_and_long_text() -> None:
    drug = node_text("Drug", {"id": "DB00945", "name": "Acetylsalicylic acid", "synonyms": ["Aspirin", "ASA"],
                              "brand_names": ["Adiro", "Aspirin"], "description": "An NSAID used for pain."})
    assert drug == "Acetylsalicylic acid. also called Aspirin, ASA, Adiro. An NSAID used for pain"
    disease = node_text("Disease", {"id": "DOID:5844", "name": "myocardial infarction", "synonyms": ["heart attack"],
                                    "definition": "A coronary artery disease characterized_by myocardial cell death."})
    assert disease == ("myocardial infarction. also called heart attack. "
                       "A coronary artery disease characterized by myocardial cell death")
    assert node_text("Evidence", {"id": "E_91", "name": "E_91", "question_en": "Do you have a fever?"}) == \
        "Do you have a fever?"
    assert node_text("Symptom", {"id": "D005334", "name": "Fever"}) == "Fever"
    assert node_text("Pathology", {"id": "Pneumonia"}) == "Pneumonia"
    assert text_hash("Fever") != text_hash("Fever ") and len(text_hash("Fever")) == 32


# --- Symptom2Disease data, classifier, CLI -----------------------------------------------------------

def _write_csv(path: Path, rows: list[tuple[str, str]], header: str = "index,label,text") -> Path:
    import csv

    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header.split(","))
        for i, (label, text) in enumerate(rows):
            w.writerow([i, label, text])
    return path


def test_load_drops_duplicate_texts_and_rejects_conflicts(tmp_path: Path) -> None:
    from gnn.text.symptom2disease import load

    ds = load(_write_csv(tmp_path / "a.csv", [("A", "I itch."), ("A", "i  itch."), ("B", "I cough.")]))
    assert ds.texts == ["I itch.", "I cough."] and ds.duplicates_dropped == 1
    with pytest.raises(SourceDataError, match=r"line 3: text also labelled 'A', here 'B'"):
        load(_write_csv(tmp_path / "b.csv", [("A", "I itch."), ("B", "I itch.")]))
    with pytest.raises(SourceDataError, match="missing column"):
        load(_write_csv(tmp_path / "c.csv", [("A", "x")], header="index,diagnosis,text"))


def test_real_dataset_has_24_labels_and_no_text_in_both_split_halves() -> None:
    from gnn.text.symptom2disease import dedup_key, load, stratified_split

    ds = load()
    assert len(ds.classes) == 24 and "gastroesophageal reflux disease" in ds.classes
    tr, te = stratified_split(ds.labels, 0.2, seed=1000)
    assert not {dedup_key(ds.texts[i]) for i in tr} & {dedup_key(ds.texts[i]) for i in te}
    assert abs(len(te) / len(ds.texts) - 0.2) < 0.01


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory, encoder: TextEncoder):
    """A classifier trained on a slice of the real data (4 labels), and its held-out part."""
    from gnn.text.classifier import ComplaintClassifier
    from gnn.text.features import encode_complaints
    from gnn.text.symptom2disease import load

    ds = load()
    keep = ["Psoriasis", "Malaria", "Migraine", "urinary tract infection"]
    train, test = [], []
    for label in keep:
        idx = [i for i, y in enumerate(ds.labels) if y == label]
        train += idx[:10]
        test += idx[10:14]
    texts = [ds.texts[i] for i in train + test]
    whole, mean = encode_complaints(texts, encoder)
    n = len(train)
    from gnn.text.family import TextConfig, TextFamily

    clf = ComplaintClassifier.fit(texts[:n], [ds.labels[i] for i in train], whole[:n], mean[:n])
    man = TextFamily().save_run(clf, TextConfig(artifacts=tmp_path_factory.mktemp("artifacts")), {"n_complaints": n})
    return clf, Path(man.folder), texts[n:], [ds.labels[i] for i in test], whole[n:], mean[n:]


def test_classifier_learns_from_a_small_slice_and_round_trips(small_model) -> None:
    from gnn.text.family import TextFamily

    clf, folder, texts, labels, whole, mean = small_model
    pred = clf.predict(texts, whole, mean)
    acc = np.mean([p == y for p, y in zip(pred, labels, strict=True)])
    assert acc >= 0.9, (acc, pred, labels)
    loaded = TextFamily().load(folder)
    assert loaded.meta["model_run"] == folder.name
    np.testing.assert_allclose(loaded.predict_proba(texts, whole, mean), clf.predict_proba(texts, whole, mean),
                               atol=1e-9)
    assert loaded.classes == ["Malaria", "Migraine", "Psoriasis", "urinary tract infection"]


def test_missing_model_says_to_run_train(tmp_path: Path) -> None:
    from gnn.text.family import TextFamily

    with pytest.raises(ConfigError, match="run `medkg train text`"):
        TextFamily().load(None, tmp_path)


def test_classify_file_writes_one_line_per_row_and_warns_on_empty(small_model, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    from gnn.text.classify_file import classify_file
    from gnn.text.family import TextFamily

    clf, folder, *_ = small_model
    src = tmp_path / "in.csv"
    src.write_text('id,text,extra\n1,"I get frequent headaches and my vision is blurred and distorted",x\n'
                   '2,"",y\n3,"It burns when I pee and I need to go all the time",z\n')
    out = tmp_path / "out.jsonl"
    result = classify_file(src, out, TextFamily().load(folder))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert result["rows"] == 3 and result["empty_rows"] == 1 and len(lines) == 3
    assert [x["label"] for x in lines[::2]] == ["Migraine", "urinary tract infection"]
    assert all(set(x) == {"label", "probability"} for x in lines)
    assert all(x["probability"] >= 0.25 for x in lines)  # the most likely of 4 labels
    assert lines[1]["label"] in clf.classes
    assert f"{src}, line 3: empty text" in capsys.readouterr().err


def test_classify_file_without_text_column_names_file_and_columns(small_model, tmp_path: Path) -> None:
    from gnn.text.classify_file import classify_file
    from gnn.text.family import TextFamily

    _, folder, *_ = small_model
    src = tmp_path / "bad.csv"
    src.write_text("complaint,age\nI cough,40\n")
    with pytest.raises(InvalidInput, match=r"bad\.csv: no 'text' column; columns found: \['complaint', 'age'\]"):
        classify_file(src, tmp_path / "o.jsonl", TextFamily().load(folder))


def test_cli_classify_without_model_and_embed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    from api.cli import main

    monkeypatch.setenv("MEDKG_ARTIFACTS", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    try:
        src = tmp_path / "in.csv"
        src.write_text("text\nI cough\n")
        assert main(["text", "classify", "--input", str(src), "--output", str(tmp_path / "o.jsonl")]) == 1
        assert "run `medkg train text`" in capsys.readouterr().err
        assert main(["text", "embed", "heart attack", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["dim"] == 384 and abs(out["norm"] - 1) < 1e-4 and len(out["first"]) == 8
    finally:
        get_settings.cache_clear()


def test_old_spellings_run_the_new_commands_and_say_so_once(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    import gnn.pipeline.cli as pcli
    from api.cli import build_parser, main

    seen = []
    monkeypatch.setattr(pcli, "_train", lambda name: lambda args: seen.append(("train", name)) or 0)
    monkeypatch.setattr(pcli, "_evaluate", lambda name: lambda args: seen.append(("evaluate", name)) or 0)
    monkeypatch.setattr(pcli, "_warned", set())
    assert main(["text", "train"]) == main(["text", "train"]) == main(["text", "evaluate", "--json"]) == 0
    assert seen == [("train", "text"), ("train", "text"), ("evaluate", "text")]
    err = capsys.readouterr().err
    assert err.count("`medkg text train` is now `medkg train text`") == 1
    assert err.count("`medkg text evaluate` is now `medkg evaluate text`") == 1
    pred = build_parser().parse_args(["predict", "text", "--input", "a.csv", "--output", "b.jsonl"])
    assert (pred._family, str(pred.input), str(pred.output)) == ("text", "a.csv", "b.jsonl")


# --- zero-shot and findings --------------------------------------------------------------------------

def test_labels_map_to_disease_ontology() -> None:
    from gnn.text.zeroshot import label_descriptions, map_labels, read_do_terms

    terms = read_do_terms()
    mapped = map_labels(["Typhoid", "Bronchial Asthma", "Jaundice", "Psoriasis"], terms)
    assert mapped["Typhoid"]["id"] == "DOID:13258" and mapped["Typhoid"]["name"] == "typhoid fever"
    assert mapped["Bronchial Asthma"]["name"] == "asthma"
    assert mapped["Jaundice"] is None and mapped["Psoriasis"]["id"] == "DOID:8893"
    desc = label_descriptions(["Chicken pox"], definitions=False)
    assert desc["Chicken pox"] == ["Chicken pox", "chickenpox", "varicella"]


def test_zero_shot_picks_the_disease_a_complaint_describes(encoder: TextEncoder) -> None:
    from gnn.text.zeroshot import ZeroShot, label_descriptions

    zs = ZeroShot(label_descriptions(["Malaria", "Psoriasis", "Migraine", "Varicose Veins"]), encoder)
    complaints = ["I get a severe throbbing headache with nausea and light hurts my eyes",
                  "The veins in my legs are swollen, twisted and visible under the skin"]
    assert zs.predict(encoder.encode(complaints)) == ["Migraine", "Varicose Veins"]


def test_findings_from_a_realistic_complaint(encoder: TextEncoder) -> None:
    from gnn.text.findings import FindingMatcher, ddxplus_candidates, mesh_symptom_candidates

    complaint = ("I've had a high fever for three days and a dry cough. It hurts in my chest when I breathe "
                 "deeply, and I feel short of breath.")
    ddx = FindingMatcher(ddxplus_candidates(), encoder).match(complaint)
    ids = [f.id for f in ddx]
    assert {"E_91", "E_201", "E_66"} <= set(ids)  # fever, cough, shortness of breath
    assert "E_127" not in ids  # excessive tears: not mentioned
    fever = next(f for f in ddx if f.id == "E_91")
    assert "fever" in fever.matched and fever.score >= 0.6
    mesh = {f.text for f in FindingMatcher(mesh_symptom_candidates(), encoder).match(complaint)}
    assert {"Chest Pain", "Fever"} <= mesh


# --- graph: vector indexes, incremental embedding, vector and hybrid search ----------------------------

LABEL = "TxtTestDisease"
FT_INDEX = "txt_test_fulltext"
NODES = [
    {"id": "TEST-TXT-1", "name": "myocardial infarction", "synonyms": ["heart attack", "Myocardial infarct"],
     "definition": "A coronary artery disease characterized_by myocardial cell death."},
    {"id": "TEST-TXT-2", "name": "femur fracture", "synonyms": ["broken thigh bone"]},
    {"id": "TEST-TXT-3", "name": "migraine", "synonyms": ["hemicrania"]},
    {"id": "TEST-TXT-4", "name": "asthma", "synonyms": []},
]


@pytest.fixture
def text_graph(driver) -> Iterator:
    from kg.db import write

    def cleanup() -> None:
        write(driver, f"MATCH (n:{LABEL}) WHERE n.id STARTS WITH 'TEST-TXT-' DETACH DELETE n")
        write(driver, f"DROP INDEX {LABEL.lower()}_text IF EXISTS")
        write(driver, f"DROP INDEX {FT_INDEX} IF EXISTS")

    cleanup()
    write(driver, f"UNWIND $rows AS r CREATE (n:{LABEL}) SET n = r", rows=NODES)
    yield driver
    cleanup()


@pytest.mark.neo4j
def test_embed_incrementally_and_search(text_graph, encoder: TextEncoder) -> None:
    from gnn.text.graph import create_fulltext_index, create_vector_indexes, embed_nodes, hybrid_search, vector_search
    from kg.db import read, write

    driver = text_graph
    assert create_vector_indexes(driver, [LABEL]) == ["txttestdisease_text"]
    idx = read(driver, "SHOW VECTOR INDEXES YIELD name, state, options WHERE name = 'txttestdisease_text' "
                       "RETURN state, options")
    assert idx[0]["state"] == "ONLINE"
    assert idx[0]["options"]["indexConfig"]["vector.dimensions"] == 384

    assert embed_nodes(driver, LABEL, encoder) == {"label": LABEL, "total": 4, "embedded": 4, "unchanged": 0,
                                                   "skipped": 0}
    assert embed_nodes(driver, LABEL, encoder)["embedded"] == 0  # nothing changed: nothing re-embedded
    write(driver, f"MATCH (n:{LABEL} {{id: 'TEST-TXT-3'}}) SET n.synonyms = ['hemicrania', 'sick headache']")
    counts = embed_nodes(driver, LABEL, encoder)
    assert (counts["embedded"], counts["unchanged"]) == (1, 3)
    assert embed_nodes(driver, LABEL, encoder, only_missing=False)["embedded"] == 4

    stored = read(driver, f"MATCH (n:{LABEL} {{id: 'TEST-TXT-2'}}) RETURN n.text_embedding AS v, n.text_hash AS h")
    vec = np.asarray(stored[0]["v"], dtype=np.float32)
    assert vec.shape == (384,) and abs(np.linalg.norm(vec) - 1) < 1e-4
    assert stored[0]["h"] == text_hash(node_text(LABEL, NODES[1]))

    hits = vector_search(driver, LABEL, encoder.encode(["trouble breathing and wheezing"])[0], k=2)
    assert hits[0]["id"] == "TEST-TXT-4" and len(hits) == 2
    assert 0.5 < hits[0]["score"] <= 1 and abs(hits[0]["cosine"] - (2 * hits[0]["score"] - 1)) < 1e-6
    with pytest.raises(InvalidInput, match="dimensions"):
        vector_search(driver, LABEL, [0.1, 0.2], k=2)

    assert create_fulltext_index(driver, [LABEL], name=FT_INDEX) == FT_INDEX
    top = hybrid_search(driver, "heart attack", [LABEL], k=3, encoder=encoder, fulltext_index=FT_INDEX)
    assert top[0]["id"] == "TEST-TXT-1" and top[0]["exact"] and top[0]["fulltext"] == 1.0
    assert top[0]["score"] > top[1]["score"] + 0.5
    typo = hybrid_search(driver, "migrane", [LABEL], k=2, encoder=encoder, fulltext_index=FT_INDEX)
    assert typo[0]["id"] == "TEST-TXT-3" and typo[0]["fulltext"] > 0 and not typo[0]["exact"]
    broken = hybrid_search(driver, "broke my thigh", [LABEL], k=2, encoder=encoder, fulltext_index="no_such_index")
    assert broken[0]["id"] == "TEST-TXT-2" and broken[0]["fulltext"] == 0.0
    with pytest.raises(InvalidInput, match="label"):
        embed_nodes(driver, "Disease) DETACH DELETE (m", encoder)
