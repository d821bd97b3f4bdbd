"""The treats family on the model pipeline: the contract meta-test on the tiny synthetic graph, the recipe carried
from the results file into the deployed fit, and contraindications never predicted nor recommended."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from gnn.pipeline.registry import get_family
from gnn.treats.artifacts import load_run
from gnn.treats.predict import write_predictions
from gnn.treats.recipe import Recipe, recipe_from_seeds
from gnn.treats.recommend import Recommender, recommend
from tests.gnn.family_contract import check_family
from tests.gnn.treats_helpers import write_fake_run


@pytest.mark.slow
def test_treats_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fam = get_family("treats")
    check_family(fam, tmp_path, monkeypatch)
    doc = json.loads((tmp_path / "results" / "treats.json").read_text())
    assert doc["metrics"][:3] == ["auroc_all", "mrr", "hits@10"]  # headline: against every candidate drug
    assert {"ensemble", "paths", "degree prior", "DistMult"} <= set(doc["models"])
    ens = doc["models"]["ensemble"]
    assert 0 <= ens["brier"]["mean"] <= 1 and 0 <= ens["ece"]["mean"] <= 1
    abl = json.loads((tmp_path / "results" / "treats-ablation.json").read_text())
    assert {"ensemble, indication-free text", "ensemble, no text", "degree prior", "DistMult"} <= set(abl["models"])
    assert (tmp_path / "results" / "treats-reliability.png").read_bytes()[:4] == b"\x89PNG"
    recipe = doc["notes"]["recipe"]
    assert recipe["weights"]["paths"] >= 0.5 and abs(sum(recipe["weights"].values()) - 1) < 1e-6


def test_recipe_from_validation_choices_rounds_and_keeps_paths_anchor() -> None:
    seeds = [{"weights": {"gnn": 0.0, "distmult": 0.3, "degree_prior": 0.1, "paths": 0.6}, "beta": 0.0,
              "best_epoch": 0},
             {"weights": {"gnn": 0.0, "distmult": 0.1, "degree_prior": 0.0, "paths": 0.9}, "beta": 0.5,
              "best_epoch": 0}]
    r = recipe_from_seeds(seeds, "noind", "test")
    assert r.weights == [0.0, 0.2, 0.0, 0.8] and r.beta == 0.25 and r.gnn_epochs == 0
    assert Recipe.from_dict(r.to_dict()) == r
    with pytest.raises(Exception, match="summing to 1"):
        Recipe(weights=[0.5, 0.5, 0.5, 0.0])


def test_contraindicated_pairs_are_never_predicted_nor_recommended(tmp_path: Path) -> None:
    ids = ["DB00001", "DB00002", "DB00003", "DB00004"]
    # DB00002 scores best for DOID:1 but is NOT_INDICATED_FOR it
    write_fake_run(tmp_path, ids, ["DOID:1", "DOID:2"], np.array([[1.0, 9.0, 2.0, 0.0], [1.0, 9.0, 2.0, 0.0]]),
                   known=[(3, 0)], contra=[(1, 0)])
    run = load_run(artifacts=tmp_path)
    rec = Recommender(run)
    res = recommend(rec, None, "DOID:1", top=4, with_explanations=False)
    assert [i["drug_id"] for i in res["recommendations"]] == ["DB00004", "DB00003", "DB00001"]
    p9 = pytest.approx(1 / (1 + np.exp(-9)), abs=1e-6)
    assert res["contraindicated"] == [{"drug_id": "DB00002", "name": None, "probability": p9,
                                       "status": "contraindicated", "reason": "NOT_INDICATED_FOR"}]
    # another disease: the same drug is recommended first (the contraindication is per pair)
    assert recommend(rec, None, "DOID:2", top=1, with_explanations=False)["recommendations"][0]["drug_id"] == "DB00002"
    out = write_predictions(run, tmp_path / "p.tsv", progress=False)
    with (tmp_path / "p.tsv").open() as f:
        rows = list(csv.reader(f, delimiter="\t"))
    pairs = {(r[0], r[1]) for r in rows[1:]}
    assert rows[0] == ["drug_id", "disease_id", "score"]
    assert ("DB00002", "DOID:1") not in pairs and ("DB00004", "DOID:1") not in pairs
    assert ("DB00002", "DOID:2") in pairs and len(pairs) == out["rows"] == 8 - 2
    assert out["contraindicated_excluded"] == 1


def test_writeback_leaves_out_contraindicated_pairs(tmp_path: Path) -> None:
    from gnn.treats.writeback import confident_pairs

    write_fake_run(tmp_path, ["DB00001", "DB00002"], ["DOID:1"], np.array([[5.0, 9.0]]), contra=[(1, 0)])
    rows = confident_pairs(load_run(artifacts=tmp_path), threshold=0.5, limit=10)
    assert [(r["drug"], r["disease"]) for r in rows] == [("DB00001", "DOID:1")]


def test_old_run_format_is_refused_with_retrain_message(tmp_path: Path) -> None:
    folder = tmp_path / "treats" / "old-run"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"artifact_format": 2}))
    (tmp_path / "treats" / "latest").write_text("old-run\n")
    with pytest.raises(Exception, match=r"outdated.*run\.json is missing.*medkg train treats"):
        load_run(artifacts=tmp_path)
