"""Treats model: leak-free split, tiny training run, predict TSV, recommendations with patient safety."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn.data import reverse_type
from gnn.treats.artifacts import load_run
from gnn.treats.metrics import rank_metrics
from gnn.treats.predict import write_predictions
from gnn.treats.recommend import Recommender, recommend
from gnn.treats.split import TREATS, candidate_diseases, candidate_drugs, pair_keys, split_treats
from gnn.treats.train import GraphInputs
from tests.gnn.treats_helpers import synthetic_graph, write_fake_run


def _pairs(ei: torch.Tensor | np.ndarray) -> set[tuple[int, int]]:
    return set(map(tuple, np.asarray(ei).T.tolist()))


def test_held_out_edges_absent_from_message_passing_both_directions() -> None:
    g = synthetic_graph()
    # a PALLIATES edge on a pair that ends up held out must go too
    split0 = split_treats(g, seed=3)
    d, x = split0.test[:, 0]
    g.edges[("Drug", "PALLIATES", "Disease")] = np.hstack([g.edges[("Drug", "PALLIATES", "Disease")], [[d], [x]]])
    split = split_treats(g, seed=3)
    assert split.sizes()["test"] == split0.sizes()["test"] > 0
    inputs = GraphInputs(g, split, feature_dim=4)
    edges, deg_drug, _ = inputs.with_treats(split.train)
    held = _pairs(split.val) | _pairs(split.test)
    fwd, rev = _pairs(edges[TREATS]), _pairs(edges[reverse_type(TREATS)].flip(0))
    assert fwd == _pairs(split.train) == rev
    assert not held & fwd and not held & rev
    pall = ("Drug", "PALLIATES", "Disease")
    assert (int(d), int(x)) not in _pairs(edges[pall]) | _pairs(edges[reverse_type(pall)].flip(0))
    # the big relations become drug features, not message-passing edges
    assert ("Drug", "INTERACTS_WITH", "Drug") not in edges and inputs.x["Drug"].shape == (len(g.nodes["Drug"]), 10)
    assert deg_drug.sum().item() == split.train.shape[1]


def test_rank_metrics_count_ties_and_filter_known() -> None:
    cand = np.arange(5)
    known = np.array([[0, 1], [0, 0]])  # drugs 0 and 1 treat disease 0
    held = np.array([[1], [0]])
    scores = np.array([[9.0, 5.0, 7.0, 5.0, 1.0]])  # drug 0 filtered; drug 2 above; drug 3 tied
    m = rank_metrics(held, lambda ds: scores, cand, known)
    assert m["mean_rank"] == 2.5 and m["hits@1"] == 0.0 and m["hits@3"] == 1.0
    assert m["auroc_full"] == pytest.approx(1 - 1.5 / 3)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deployed fit (every known edge, default recipe) of the tiny synthetic graph, through the family."""
    from gnn.pipeline.registry import get_family

    work = tmp_path_factory.mktemp("treats")
    fam = get_family("treats")
    man = fam.train(fam.tiny_config(work / "artifacts", work), progress=False)
    return Path(man.folder)


def test_run_records_provenance_recipe_and_calibration(tiny_run: Path) -> None:
    man = json.loads((tiny_run / "run.json").read_text())
    assert man["family"] == "treats" and man["build_id"] == "synthetic" and man["seed"] == 0 and "git_sha" in man
    assert man["artifact_format"] == 3 and set(man["data_checksums"]) >= {"treats_edges", "not_indicated_for"}
    cal = man["config"]["calibration"]
    assert cal["a"] > 0 and cal["folds"] == 10 and "validation edges unused" in cal["fitted_on"]
    assert man["config"]["recipe"]["weights"]["paths"] >= 0.5
    assert man["metrics"]["known_treats"] == synthetic_graph().edges[TREATS].shape[1]  # every known edge
    run = load_run(tiny_run)
    assert run.contra.shape[1] > 0  # NOT_INDICATED_FOR pairs kept with the run


def test_predict_tsv_has_every_unknown_candidate_pair(tiny_run: Path, tmp_path: Path) -> None:
    run = load_run(tiny_run)
    out = write_predictions(run, tmp_path / "pred.tsv", progress=False)
    g = synthetic_graph()
    with (tmp_path / "pred.tsv").open() as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["drug_id", "disease_id", "score"]
    body = rows[1:]
    n_cand = len(candidate_drugs(g)) * len(candidate_diseases(g))
    n_known = g.edges[TREATS].shape[1]  # every synthetic TREATS drug is a DB drug
    n_contra = g.edges[("Drug", "NOT_INDICATED_FOR", "Disease")].shape[1]
    assert len(body) == out["rows"] == n_cand - n_known - n_contra
    known = {(g.nodes["Drug"][d], g.nodes["Disease"][x]) for d, x in g.edges[TREATS].T.tolist()}
    assert not known & {(r[0], r[1]) for r in body}
    assert all(r[0].startswith("DB") for r in body) and all(0.0 <= float(r[2]) <= 1.0 for r in body)
    assert len({(r[0], r[1]) for r in body}) == len(body)


def test_recommender_puts_known_first_then_best_score(tmp_path: Path) -> None:
    scores = np.array([[0.1, 3.0, 2.0, -1.0]])
    write_fake_run(tmp_path, ["DB00001", "DB00002", "DB00003", "DB00004"], ["DOID:1"], scores, known=[(3, 0)])
    rec = Recommender(load_run(artifacts=tmp_path))
    top = rec.top("DOID:1", 3)
    assert [r.drug_id for r in top] == ["DB00004", "DB00002", "DB00003"]
    assert [r.known for r in top] == [True, False, False]
    assert top[1].probability == pytest.approx(1 / (1 + np.exp(-3.0)))
    res = recommend(rec, None, "DOID:1", top=2, with_explanations=False)
    assert [i["status"] for i in res["recommendations"]] == ["known", "predicted"]


def _components(gnn_scores: np.ndarray, dm_scores: np.ndarray, deg_drug: np.ndarray):
    """One-hot GNN and DistMult whose matrices are exactly the given disease × drug scores, and a prior."""
    from gnn.treats.baselines import DegreePrior, DistMultModel
    from gnn.treats.scorer import EmbeddingScorer

    n_dis, n_drug = gnn_scores.shape
    gnn = EmbeddingScorer(drug=np.eye(n_drug), disease=gnn_scores, deg_drug=np.zeros(n_drug),
                          deg_dis=np.zeros(n_dis), rel=np.ones(n_drug), deg_w=np.zeros(2), bias=0.0)
    dm = DistMultModel(drug=np.eye(n_drug), disease=dm_scores, rel=np.ones(n_drug), seconds=0.0)
    return gnn, dm, DegreePrior(deg_drug.astype(float), np.zeros(n_dis))


def test_weight_selection_maximises_top_objective_under_auroc_floor() -> None:
    from gnn.treats.ensemble import _select

    top_low_auc = {"mrr": 0.5, "hits@10": 0.9, "auroc_full": 0.90}
    feasible_a = {"mrr": 0.2, "hits@10": 0.4, "auroc_full": 0.99}
    feasible_b = {"mrr": 0.3, "hits@10": 0.5, "auroc_full": 0.96}
    assert _select([top_low_auc, feasible_a, feasible_b]) == 2  # best MRR + Hits@10 above the floor
    # nothing above the floor: fall back to MRR + AUROC(all)
    assert _select([top_low_auc, {"mrr": 0.1, "hits@10": 0.2, "auroc_full": 0.94}]) == 0
    assert _select([{"mrr": 0.0, "hits@10": 0.9, "auroc_full": 0.5},
                    {"mrr": 0.1, "hits@10": 0.2, "auroc_full": 0.94}]) == 1


def test_ensemble_weights_follow_validation_and_pairs_match_matrix() -> None:
    from gnn.treats.ensemble import fit_ensemble

    rng = np.random.default_rng(0)
    n_dis, n_drug = 4, 30
    val = np.array([[3, 7, 11, 20], [0, 1, 2, 3]])  # drug, disease
    dm_scores = rng.normal(size=(n_dis, n_drug))
    dm_scores[val[1], val[0]] = 10.0  # DistMult ranks every validation drug first
    gnn_scores = rng.normal(size=(n_dis, n_drug))
    gnn_scores[val[1], val[0]] = -10.0  # the GNN ranks them last
    gnn, dm, prior = _components(gnn_scores, dm_scores, np.zeros(n_drug))
    cand = np.arange(n_drug)
    neg = np.array([[0, 1, 2, 4], [0, 1, 2, 3]])
    ens, info = fit_ensemble(gnn, dm, prior, val, neg, cand, known=val, step=0.25)  # no path scorer
    assert info["weights"]["paths"] == 0.0
    assert info["better_than_gnn"] and info["weights"]["gnn"] == 0.0 and info["weights"]["distmult"] > 0
    assert info["val_objective"] == pytest.approx(2.0)  # MRR 1 + Hits@10 1
    assert info["val_auroc_full"] == pytest.approx(1.0)
    m = ens.matrix(np.array([0, 2]), cand)
    assert m.shape == (2, n_drug) and m[0].argmax() == 3 and m[1].argmax() == 11
    assert np.allclose(ens.pairs(np.array([3, 5, 11]), np.array([0, 0, 2])), [m[0, 3], m[0, 5], m[1, 11]])


def test_run_with_ensemble_scorer_drives_predict_and_recommend(tmp_path: Path) -> None:
    from gnn.treats.artifacts import ENSEMBLE
    from gnn.treats.ensemble import EnsembleScorer

    ids = ["DB00001", "DB00002", "DB00003", "DB00004"]
    folder = write_fake_run(tmp_path, ids, ["DOID:1"], np.array([[3.0, 2.0, 1.0, 0.0]]), known=[(0, 0)])
    gnn, dm, prior = _components(np.array([[3.0, 2.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 5.0]]),
                                 np.zeros(4))
    EnsembleScorer(gnn, dm, prior, np.array([0.2, 0.8, 0.0, 0.0]), 0.0, np.arange(4)).save(folder / ENSEMBLE)
    man = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**man, "config": {**man["config"], "scorer": "ensemble"}}))
    run = load_run(artifacts=tmp_path)
    assert isinstance(run.scorer, EnsembleScorer)
    rec = Recommender(run)
    ranked = rec.top("DOID:1", 4)
    assert [r.drug_id for r in ranked] == ["DB00001", "DB00004", "DB00003", "DB00002"]
    drivers = rec.drivers("DOID:1", ["DB00004", "DB00002"])
    # shares w·z: GNN 0.2·z([3,2,1,0])[3] = -0.2683, DistMult 0.8·z([0,0,1,5])[3] = 1.3582; they sum to the score
    assert drivers["DB00004"]["components"] == pytest.approx({"gnn": -0.2683, "distmult": 1.3582}, abs=1e-4)
    assert "metapaths" not in drivers["DB00004"]  # no path regression in this run
    score = {r.drug_id: r.score for r in ranked}
    for did in ("DB00004", "DB00002"):
        assert sum(drivers[did]["components"].values()) == pytest.approx(score[did], abs=1e-3)
    write_predictions(run, tmp_path / "p.tsv", progress=False)
    rows = [r.split("\t") for r in (tmp_path / "p.tsv").read_text().splitlines()]
    assert rows[0] == ["drug_id", "disease_id", "score"] and [r[0] for r in rows[1:]] == ids[1:]
    probs = {r[0]: float(r[2]) for r in rows[1:]}
    assert probs["DB00004"] > probs["DB00003"] > probs["DB00002"]
    (folder / ENSEMBLE).unlink()
    with pytest.raises(Exception, match=r"ensemble\.npz is missing"):
        load_run(artifacts=tmp_path)


def test_pair_keys_unique() -> None:
    g = synthetic_graph()
    keys = pair_keys(g.edges[TREATS], len(g.nodes["Disease"]))
    assert len(np.unique(keys)) == g.edges[TREATS].shape[1]


# ---- against the real graph in the test Neo4j ----

@pytest.fixture
def patient_on_major_interactor(built_graph: object, driver) -> tuple[str, str, str]:
    """A TEST- patient currently taking a medication that contains drug A; drug B has a Major interaction with A.
    Yields (patient id, A, B); deletes what it created."""
    from kg.db import read, write

    row = read(driver, "MATCH (a:Drug)-[r:INTERACTS_WITH {severity: 'Major'}]-(b:Drug) "
                       "WHERE a.id STARTS WITH 'DB' AND b.id STARTS WITH 'DB' RETURN a.id AS a, b.id AS b LIMIT 1")[0]
    pid = "TEST-treats-patient"
    write(driver, "MATCH (a:Drug {id: $a}) MERGE (p:Patient {id: $p}) MERGE (m:Medication {id: 'TEST-treats-med'}) "
                  "SET m.name = 'test medication' MERGE (p)-[:TAKES {current: true}]->(m) MERGE (m)-[:CONTAINS]->(a)",
          a=row["a"], p=pid)
    yield pid, row["a"], row["b"]
    write(driver, "MATCH (n) WHERE n.id IN [$p, 'TEST-treats-med'] DETACH DELETE n", p=pid)


def test_recommend_for_patient_excludes_or_flags_major_interaction(patient_on_major_interactor, driver,
                                                                   tmp_path: Path) -> None:
    pid, taken, risky = patient_on_major_interactor
    safe = "DB00945" if "DB00945" not in (taken, risky) else "DB00316"
    write_fake_run(tmp_path, [risky, safe], ["DOID:9352"], np.array([[5.0, 1.0]]))
    rec = Recommender(load_run(artifacts=tmp_path))
    excl = recommend(rec, driver, "DOID:9352", patient_id=pid, top=2, safety="exclude", with_explanations=False)
    assert [i["drug_id"] for i in excl["recommendations"]] == [safe]
    assert excl["excluded"][0]["drug_id"] == risky
    reasons = excl["excluded"][0]["reasons"]
    assert {"reason": "major_interaction"}.items() <= reasons[0].items() and reasons[0]["with_drug"] == taken
    flag = recommend(rec, driver, "DOID:9352", patient_id=pid, top=2, safety="flag", with_explanations=True)
    first = flag["recommendations"][0]
    assert first["drug_id"] == risky and first["safety"][0]["reason"] == "major_interaction"
    assert flag["excluded"] == []


def test_pipeline_cli_parses_treats_verbs_and_keeps_recommend() -> None:
    from api.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "treats", "--epochs", "2", "--seed", "7", "--no-writeback"])
    assert (args.epochs, args.seed, args.writeback, args._family) == (2, 7, False, "treats")
    assert parser.parse_args(["predict", "treats", "--output", "x.tsv"]).output == "x.tsv"
    ev = parser.parse_args(["evaluate", "treats", "--seeds", "101", "102", "--variants", "noind,none"])
    assert ev.seeds == [101, 102] and ev.variants == "noind,none"
    assert parser.parse_args(["recommend", "--disease", "DOID:9352"]).func.__name__ == "cmd_recommend"
