"""Metapath/text features and their cross-fitted regression: exact path values, no held-out edge in any
feature, cross-fitting rows, save/load, and outdated artefacts refused with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gnn.pipeline.store import MANIFEST
from gnn.treats.artifacts import ENSEMBLE, PATHS, load_run
from gnn.treats.baselines import DegreePrior
from gnn.treats.metrics import rank_metrics
from gnn.treats.pathmodel import PathScorer, crossfit_rows, fit_path_scorer
from gnn.treats.paths import FEATURES, PathGraph
from gnn.treats.split import TREATS, candidate_diseases, candidate_drugs, split_treats
from kg.errors import ConfigError
from kg.export import ExportedGraph
from tests.gnn.treats_helpers import synthetic_graph, write_fake_run

F = list(FEATURES)


def _tiny() -> ExportedGraph:
    """3 drugs, 2 diseases: drug 0 RESEMBLES drug 1, drug 1 TREATS disease 0, drug 2 PALLIATES disease 1."""
    return ExportedGraph(
        nodes={"Drug": ["DB00000", "DB00001", "DB00002"], "Disease": ["DOID:0", "DOID:1"]},
        edges={TREATS: np.array([[1], [0]]), ("Drug", "RESEMBLES", "Drug"): np.array([[0], [1]]),
               ("Drug", "PALLIATES", "Disease"): np.array([[2], [1]])},
        features={"Drug": np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32),
                  "Disease": np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)})


def test_path_features_have_exact_values() -> None:
    g = _tiny()
    pg = PathGraph.build(g)
    f = pg.features(g.edges[TREATS], np.array([0, 1]), np.arange(3))
    assert f.shape == (len(FEATURES), 2, 3)
    # Drug-RESEMBLES-Drug-TREATS-Disease, each matrix damped by degree^-0.5 (all degrees 1 here): 1 for (0, 0)
    assert f[F.index("rdt")][:, 0].tolist() == [1.0, 0.0] and f[F.index("rdt")].sum() == 1.0
    assert np.allclose(f[F.index("text")], [[1.0, 0.6, 0.0], [0.0, 0.8, 1.0]])  # cosine, disease length ignored
    assert f[F.index("pal")][1].tolist() == [0.0, 0.0, 1.0]
    assert np.allclose(f[F.index("deg_drug")], np.log1p([[0, 1, 0], [0, 1, 0]]))
    assert np.allclose(f[F.index("deg_dis")], np.log1p([[1, 1, 1], [0, 0, 0]]))
    # with the TREATS edge hidden no path reaches disease 0
    hidden = pg.features(np.zeros((2, 0), dtype=np.int64), np.array([0]), np.arange(3))
    assert hidden[F.index("rdt")].sum() == 0 and hidden[F.index("text_dd")].sum() == 0


def test_features_use_only_visible_treats_and_kept_pair_edges() -> None:
    g = synthetic_graph()
    split = split_treats(g, seed=1)
    cand = candidate_drugs(g)
    dis = np.unique(split.val[1])
    a = PathGraph.build(g, split.keep).features(split.train, dis, cand)
    # the graph's own TREATS edges (val and test included) never enter: drop them and nothing changes
    g2 = ExportedGraph(nodes=g.nodes, edges={**g.edges, TREATS: split.train}, build_id="x")
    assert np.array_equal(a, PathGraph.build(g2, split.keep).features(split.train, dis, cand))
    # a PALLIATES edge on a held-out pair is dropped by the split's keep-mask
    d, x = split.val[:, 0]
    pall = ("Drug", "PALLIATES", "Disease")
    g.edges[pall] = np.hstack([g.edges[pall], [[d], [x]]])
    split = split_treats(g, seed=1)
    assert PathGraph.build(g, split.keep).mats["PAL"][d, x] == 0
    assert PathGraph.build(g).mats["PAL"][d, x] == 1


def test_crossfit_rows_hide_each_positive_and_never_label_training_edges_negative() -> None:
    g = synthetic_graph()
    split = split_treats(g, seed=0)
    cand, cand_dis = candidate_drugs(g), candidate_diseases(g)
    pg = PathGraph.build(g, split.keep)
    x, y = crossfit_rows(pg, split.train, cand, cand_dis, len(g.nodes["Disease"]), seed=0, n_neg=5, n_neg_dis=2)
    assert y.sum() == split.train.shape[1] and x.shape[1] == len(FEATURES)
    # a positive is hidden from its own features: its TREATS degree is at most its training degree - 1
    deg = np.bincount(split.train[0], minlength=len(g.nodes["Drug"]))
    pos_deg = np.expm1(x[y == 1, F.index("deg_drug")]).round()
    assert pos_deg.max() <= deg.max() - 1 and len(y) > 5 * y.sum()


def test_path_scorer_ranks_validation_above_degree_prior_and_round_trips(tmp_path: Path) -> None:
    g = synthetic_graph()  # TREATS follows shared genes: Drug-BINDS-Gene-ASSOCIATES-Disease carries it
    split = split_treats(g, seed=0)
    cand, cand_dis, known = candidate_drugs(g), candidate_diseases(g), g.edges[TREATS]
    ps, info = fit_path_scorer(PathGraph.build(g, split.keep), split.train, cand, cand_dis, len(g.nodes["Disease"]),
                               seed=0)
    assert info["positives"] == split.train.shape[1] and info["coef"]["bga"] > 0
    held = np.hstack([split.val, split.test])
    mrr = rank_metrics(held, lambda ds: ps.matrix(ds, cand), cand, known)["mrr"]
    prior = DegreePrior.fit(g, split.train)
    mrr_prior = rank_metrics(held, lambda ds: prior.matrix(ds, cand), cand, known)["mrr"]
    assert mrr > mrr_prior + 0.1
    m = ps.matrix(np.array([0, 3]), cand)
    assert np.allclose(ps.pairs(cand[[5, 2]], np.array([3, 0])), [m[1, 5], m[0, 2]])
    terms = ps.terms(3, cand[[5, 2, 7]])  # each feature's logit term: they add up to the score
    assert terms.shape == (len(F), 3)
    assert np.allclose(terms.sum(0) + ps.intercept, m[1, [5, 2, 7]], atol=1e-5)
    loaded = PathScorer.load(ps.save(tmp_path / "p.npz"))
    assert np.allclose(loaded.matrix(np.array([0, 3]), cand), m, atol=1e-3)  # text stored as float16
    z = dict(np.load(tmp_path / "p.npz"))
    np.savez(tmp_path / "old.npz", **{**z, "feature_names": np.array(F[:-1])})
    with pytest.raises(ConfigError, match=r"old\.npz: field 'feature_names'.*outdated"):
        PathScorer.load(tmp_path / "old.npz")


def test_outdated_runs_are_refused_with_the_reason(tmp_path: Path) -> None:
    from gnn.treats.ensemble import EnsembleScorer
    from tests.gnn.test_treats import _components

    folder = write_fake_run(tmp_path, ["DB00001", "DB00002"], ["DOID:1"], np.array([[1.0, 0.0]]))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert load_run(artifacts=tmp_path).model_run == "fake-run"
    (folder / MANIFEST).write_text(json.dumps({**manifest, "artifact_format": 2}))
    with pytest.raises(ConfigError, match=r"outdated: run\.json field 'artifact_format' is 2, this code reads 3"):
        load_run(artifacts=tmp_path)
    # an ensemble.npz written by the 3-component code
    (folder / MANIFEST).write_text(json.dumps({**manifest, "config": {**manifest["config"], "scorer": "ensemble"}}))
    gnn, dm, prior = _components(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.zeros(2))
    np.savez(folder / ENSEMBLE, dm_drug=dm.drug, dm_disease=dm.disease, dm_rel=dm.rel, deg_drug=prior.deg_drug,
             deg_dis=prior.deg_dis, weights=np.array([0.5, 0.5, 0.0]), beta=np.array([0.0]),
             cand_drugs=np.arange(2))
    with pytest.raises(ConfigError, match=r"field 'components'.*retrain"):
        load_run(artifacts=tmp_path)
    # weight on paths but paths.npz missing
    EnsembleScorer(gnn, dm, prior, np.array([0.5, 0.5, 0.0, 0.0]), 0.0, np.arange(2)).save(folder / ENSEMBLE)
    assert load_run(artifacts=tmp_path).scorer.paths is None
    z = dict(np.load(folder / ENSEMBLE))
    np.savez(folder / ENSEMBLE, **{**z, "weights": np.array([0.5, 0.0, 0.0, 0.5])})
    with pytest.raises(ConfigError, match=f"{PATHS} is missing"):
        load_run(artifacts=tmp_path)
    # weight on the GNN but the run has no GNN scorer
    np.savez(folder / ENSEMBLE, **{**z, "weights": np.array([0.5, 0.5, 0.0, 0.0])})
    (folder / "scorer.npz").unlink()
    with pytest.raises(ConfigError, match=r"weight on 'gnn' but the run has no scorer\.npz"):
        load_run(artifacts=tmp_path)


def test_api_service_answers_unavailable_naming_an_outdated_run(tmp_path: Path) -> None:
    from api.services.recommend import RecommenderUnavailable, RecommendService
    from kg.settings import get_settings

    folder = write_fake_run(tmp_path, ["DB00001"], ["DOID:1"], np.array([[1.0]]))
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "artifact_format": 1}))
    service = RecommendService(get_settings(), None, artifacts=tmp_path)
    assert service.load() is False
    with pytest.raises(RecommenderUnavailable, match=r"outdated.*retrain with `medkg train treats`"):
        _ = service.recommender
