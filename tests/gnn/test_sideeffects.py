"""The side-effect family: the pipeline contract on a tiny fixture, the predictions it makes (planted
structure is found, recorded pairs are never predicted, no-basis drugs get none) and the predict TSV."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest

from gnn.pipeline.registry import get_family
from gnn.sideeffects.data import from_fixture, synthetic_fixture
from gnn.sideeffects.model import jaccard, top_k
from kg.errors import ConfigError
from tests.gnn.family_contract import check_family


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sidefx")
    fam = get_family("side-effects")
    cfg = fam.tiny_config(tmp / "art", tmp)
    man = fam.train(cfg, progress=False)
    return fam, fam.load(None, tmp / "art"), man, tmp


def test_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_family(get_family("side-effects"), tmp_path, monkeypatch)


def test_jaccard_and_top_k() -> None:
    from scipy import sparse

    a = sparse.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    b = sparse.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 1, 0]], dtype=np.float32))
    s = jaccard(a, b)
    assert np.allclose(s, [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    w = top_k(np.array([[0.1, 0.9, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32), 2).toarray()
    assert np.allclose(w, [[0.0, 0.9, 0.5], [0.0, 0.0, 0.0]])


def test_fixture_inputs(tmp_path: Path) -> None:
    data = from_fixture(synthetic_fixture(tmp_path / "f.json"))
    assert data.n_drugs == 60 and data.n_se == 40
    assert data.modalities["structure"].shape == (60, 2048)
    # every fifth drug has no InChI, the others get a Morgan fingerprint from RDKit
    assert data.modalities["structure"][1].nnz > 5 and data.modalities["structure"][0].nnz == 0
    assert "A01" in data.feature_names["atc"]  # ATC hierarchy prefixes
    assert not data.has_input()[-3:].any() and data.has_input()[:-3].all()


def test_predictions_follow_planted_groups(trained) -> None:
    _, model, man, _ = trained
    assert man.metrics["cold_val_auroc"] > 0.6
    # drug 50 (group 2, never profiled) should rank its group's side effects (s % 4 == 2) first
    out = model.predicted_side_effects("DB90050", limit=5)
    assert out["basis"] == "inputs" and out["model_run"] == man.model_run
    top = [int(i["side_effect_id"][1:]) - 1000000 for i in out["items"]]
    assert sum(s % 4 == 2 or s < 4 for s in top) >= 4, top
    assert all(i["status"] == "predicted" and 0 <= i["probability"] <= 1 for i in out["items"])
    assert out["items"][0]["why"]["similar_drugs_causing_it"]
    # a profiled drug: its recorded side effects are never among the predictions
    recorded = {model.side_effects[c] for c in model.labels[model.pos["DB90002"]].indices}
    out = model.predicted_side_effects("DB90002", limit=100)
    assert out["basis"] == "profile" and recorded and not recorded & {i["side_effect_id"] for i in out["items"]}
    # the last drugs have no input at all
    none = model.predicted_side_effects("DB90059")
    assert none["basis"] == "none" and none["items"] == [] and "no basis" in none["message"]


def test_predict_tsv(trained) -> None:
    fam, _, man, tmp = trained
    ids = tmp / "ids.txt"
    ids.write_text("drug_id\nDB90050\nDB90059\n")
    out = tmp / "p.tsv"
    summary = fam.predict(argparse.Namespace(run=man.folder, output=str(out), drugs=["DB90001"], input=str(ids),
                                             top=3, min_probability=0.0, artifacts=None))
    rows = list(csv.reader(out.open(), delimiter="\t"))
    assert rows[0] == ["drug_id", "side_effect_id", "probability"]
    assert {r[0] for r in rows[1:]} == {"DB90001", "DB90050"} and len(rows) == 1 + 6
    assert summary["no_basis"] == ["DB90059"] and summary["rows"] == 6
    probs = [float(r[2]) for r in rows[1:4]]
    assert probs == sorted(probs, reverse=True)
    # default: every drug without a profile that has inputs (12 unprofiled, 3 of them without inputs)
    fam.predict(argparse.Namespace(run=man.folder, output=str(out), drugs=None, input=None, top=2,
                                   min_probability=0.0, artifacts=None))
    assert {r[0] for r in list(csv.reader(out.open(), delimiter="\t"))[1:]} == {f"DB900{i}" for i in range(48, 57)}
    with pytest.raises(ConfigError, match=r"unknown drug id.*DB00000"):
        fam.predict(argparse.Namespace(run=man.folder, output=str(out), drugs=["DB00000"], input=None, top=2,
                                       min_probability=0.0, artifacts=None))


def test_metrics_equal_sklearn() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    from gnn.sideeffects.metrics import auroc, average_precision

    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.1).astype(np.int8)
    s = np.round(rng.random(300) + y * 0.3, 1)  # ties on purpose
    order = np.argsort(-s, kind="stable")
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert average_precision(y[order], s[order]) == pytest.approx(average_precision_score(y, s))


def test_module_level_prediction_function(trained) -> None:
    from gnn.sideeffects.predictor import predicted_side_effects

    _, _, man, tmp = trained
    out = predicted_side_effects("DB90050", limit=3, artifacts=tmp / "art")
    assert out["model_run"] == man.model_run and len(out["items"]) == 3
    assert {i["status"] for i in out["items"]} == {"predicted"}
    assert predicted_side_effects("DB00000", artifacts=tmp / "art")["basis"] == "none"


def test_modality_mean_stands_in_popularity_for_a_missing_similarity() -> None:
    from gnn.sideeffects.model import Neighbourhood, modality_mean, neighbourhood

    pop = np.array([0.5, 0.1, 0.0])
    from scipy import sparse

    y_ref = sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1]], dtype=np.float32))
    sim = np.array([[0.5, 0.25]], dtype=np.float32)
    h = neighbourhood(sim, y_ref, 2, np.array([True]), power=2.0)
    # weights 0.25 and 0.0625: shares 0.0625/0.3125 = 0.2 for the columns drug 1 causes, 0.8 for drug 0's
    assert np.allclose(h.share, [[0.2, 0.8, 0.2]])
    missing = Neighbourhood(h.weights, np.zeros_like(h.share), np.zeros(1, dtype=np.float32), np.zeros(1))
    z = modality_mean({"a": h, "b": missing, "combined": h}, pop)
    assert np.allclose(z, [[(0.2 + 0.5) / 2 + 5e-4, (0.8 + 0.1) / 2 + 1e-4, 0.1]])


def test_cold_start_compares_the_attention_gnn(tmp_path: Path) -> None:
    """One cold-start seed on the fixture: the GNN is fitted, early-stopped on validation and reported beside
    the similarity models; the primary row is the validation winner, and every row finds the planted groups."""
    from gnn.sideeffects.evaluate import GNN_ROW, PRIMARY, VARIANT_ROWS, cold_start

    data = from_fixture(synthetic_fixture(tmp_path / "f.json"))
    res = cold_start(data, 0, (5,), neg_rate=0.5)
    gnn = res.notes["gnn"]
    assert {GNN_ROW, PRIMARY, *VARIANT_ROWS.values(), "popularity"} <= set(res.rows)
    assert gnn["curve"] and gnn["epoch"] in {c["epoch"] for c in gnn["curve"]}
    assert gnn["val_auprc"] == max(c["val_auprc"] for c in gnn["curve"])
    assert res.rows[GNN_ROW]["auroc"] > 0.6 and res.rows[PRIMARY]["auroc"] > 0.6
    best_sim = max(t["val_auprc"] for t in res.notes["k_tried"])
    won = res.notes["chosen"]["kind"] == "attention GNN"
    assert won == (gnn["val_auprc"] > best_sim)
    assert res.rows[PRIMARY] is (res.rows[GNN_ROW] if won else res.rows[VARIANT_ROWS[res.notes["chosen"]["kind"]]])
