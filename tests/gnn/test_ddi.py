"""The ddi family: the family contract on a tiny fixture, the predict TSV contract, features without leakage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from gnn.ddi.family import DdiFamily
from gnn.ddi.features import build_profile, drug_matrix, example_features
from gnn.ddi.model import NetSpec, export, make_net, np_logits
from gnn.ddi.predict_tsv import HEADER, predict_file
from gnn.ddi.tasks import (
    adjust_logits,
    choose_tau,
    drug_split,
    log_prior,
    major_threshold,
    pair_split,
    train_type,
)
from kg.errors import ConfigError
from tests.gnn.family_contract import check_family


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DdiFamily, Path, Path]:
    fam = DdiFamily()
    tmp = tmp_path_factory.mktemp("ddi")
    man = fam.train(fam.tiny_config(tmp / "art", tmp), progress=False)
    return fam, Path(man.folder), tmp


def test_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_family(DdiFamily(), tmp_path, monkeypatch)


def test_predict_tsv_rows_in_order_with_notes(tiny_run) -> None:
    fam, folder, tmp = tiny_run
    rt = fam.load(folder)
    inp, out = tmp / "in.tsv", tmp / "out.tsv"
    inp.write_text("drug1\tdrug2\nDB90002\tDB90001\nDB00000\tDB90001\nDB90003\tDB90004\nDB90005\tDB90005\n")
    summary = predict_file(rt, inp, out)
    assert summary == {**summary, "rows": 4, "predicted": 2, "unknown": 2, "model_run": folder.name}
    lines = [ln.split("\t") for ln in out.read_text().splitlines()]
    assert tuple(lines[0]) == HEADER
    assert [ln[:2] for ln in lines[1:]] == [["DB90002", "DB90001"], ["DB00000", "DB90001"], ["DB90003", "DB90004"],
                                            ["DB90005", "DB90005"]]
    ok = lines[1]
    assert 1 <= int(ok[2]) <= 86 and 0 < float(ok[3]) <= 1 and ok[4] in ("Major", "Moderate", "Minor")
    assert 0 < float(ok[5]) <= 1 and ok[6] == "predicted"
    assert lines[2][2:6] == ["", "", "", ""] and "unknown id: drug1 'DB00000'" in lines[2][6]
    assert lines[4][2] == "" and "same drug" in lines[4][6]
    # the same pair scored alone gives the same answer (batching does not change a row)
    inp.write_text("drug1\tdrug2\nDB90002\tDB90001\n")
    predict_file(rt, inp, out)
    assert out.read_text().splitlines()[1].split("\t") == ok


def test_predict_tsv_errors_name_the_line(tiny_run, tmp_path: Path) -> None:
    fam, folder, _ = tiny_run
    rt = fam.load(folder)
    bad = tmp_path / "bad.tsv"
    bad.write_text("drug1\tdrug2\nDB90001\tDB90002\nDB90003\n")
    with pytest.raises(ConfigError, match=r"bad\.tsv:3: malformed line 'DB90003'"):
        predict_file(rt, bad, tmp_path / "o.tsv")
    bad.write_text("a\tb\nDB90001\tDB90002\n")
    with pytest.raises(ConfigError, match=r"bad\.tsv:1: expected a header"):
        predict_file(rt, bad, tmp_path / "o.tsv")
    args = argparse.Namespace(run=str(folder), input=str(tmp_path / "missing.tsv"), output=str(tmp_path / "o.tsv"),
                              artifacts=None)
    with pytest.raises(ConfigError, match="no input file"):
        fam.predict(args)


def test_training_features_leave_out_the_pairs_own_row() -> None:
    """A training example's features equal those of a profile built without that example."""
    a, b = np.array([0, 0, 1, 2]), np.array([1, 2, 2, 3])
    col_a, col_b, cnt = b, 4 + a, np.array([0, 1, 0, 1])
    full = build_profile(4, a, b, col_a, col_b, 8, cnt, cnt, 2, 3, 0)
    graph = np.zeros((4, 1), np.float32)
    got = example_features(full, graph, a[:1], full.corr_a[:1], full.cnt_a[:1])
    counts = full.counts[0] - np.array([1, 0])
    assert got[0, 3:5] == pytest.approx(np.log1p(counts))  # counts without the pair's own row
    assert got[0, 5] == pytest.approx(np.log1p(full.degree[0] - 1))
    # and prediction-time features keep everything
    assert drug_matrix(full, graph)[0, 5] == pytest.approx(np.log1p(full.degree[0]))


def test_splits_are_disjoint_and_drug_split_holds_drugs_out() -> None:
    tr, va, te = pair_split(1000, 0)
    assert len(set(tr) | set(va) | set(te)) == 1000 and len(te) == 100
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, 3000), rng.integers(0, 100, 3000)
    tr, va, te = drug_split(a, b, 0)
    train_drugs = set(a[tr]) | set(b[tr])
    for i in te:
        assert (a[i] in train_drugs) != (b[i] in train_drugs)  # exactly one drug is new
    assert not (set(a[te]) | set(b[te])) - train_drugs & (set(a[va]) | set(b[va])) - train_drugs


def test_major_threshold_reaches_the_asked_recall() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.6])
    is_major = np.array([True, True, True, True, False, False])
    thr = major_threshold(p, is_major, 0.75)
    assert thr == pytest.approx(0.7)
    assert (p[is_major] >= thr).mean() >= 0.75


def test_logit_adjustment_moves_the_argmax_to_the_rare_class_as_tau_grows() -> None:
    prior = log_prior(np.array([0] * 90 + [1] * 10), classes=2)  # class 1 is rare
    z = np.array([[3.0, 1.5]], np.float32)
    margins = [float(np.diff(adjust_logits(z, prior, tau))[0, 0]) for tau in (0.0, 0.5, 1.0, 1.5)]
    assert margins == sorted(margins) and margins[0] == pytest.approx(-1.5)
    assert [int(adjust_logits(z, prior, tau).argmax()) for tau in (0.0, 0.5, 1.0)] == [0, 0, 1]


def test_choose_tau_takes_the_best_validation_accuracy_plus_macro_f1() -> None:
    prior = np.log(np.array([0.9, 0.1], np.float32))
    # 10 rare-class examples just below the decision boundary, 20 common ones a little further, 70 far away
    z = np.array([[1.0, 0.5]] * 10 + [[1.0, 0.0]] * 20 + [[5.0, 0.0]] * 70, np.float32)
    y = np.array([1] * 10 + [0] * 90)
    tau, grid = choose_tau(z, y, prior, taus=(-0.25, 0.0, 0.25, 0.5))
    assert tau == 0.25
    assert [g["accuracy"] for g in grid] == pytest.approx([0.9, 0.9, 1.0, 0.8])
    assert grid[2]["macro_f1"] == pytest.approx(1.0) and grid[1]["macro_f1"] < 0.5
    # a tau that gains some macro-F1 but costs more accuracy is not taken
    z2 = np.array([[1.0, 0.5]] * 10 + [[1.0, 0.48]] * 40 + [[5.0, 0.0]] * 50, np.float32)
    tau2, grid2 = choose_tau(z2, y, prior, taus=(0.0, 0.25))
    assert grid2[1]["macro_f1"] > grid2[0]["macro_f1"] and grid2[1]["accuracy"] == pytest.approx(0.6)
    assert tau2 == 0.0


@pytest.mark.parametrize("bilinear", [False, True])
def test_per_drug_embeddings_fold_into_the_served_tables(bilinear: bool) -> None:
    """With learned per-drug embeddings (and the multiplicative pair term) the numpy path, row lookups in
    per-drug tables, equals the torch forward pass."""
    import torch

    spec = NetSpec(d_in=5, d_pair=0, out=4, h1=8, h2=6, n_drugs=7, bilinear=bilinear)
    net = make_net(spec)
    torch.manual_seed(1)
    with torch.no_grad():
        net.ea.weight.normal_()
        net.eb.weight.normal_()
    net.eval()
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    a, b = np.array([0, 3, 6]), np.array([1, 3, 2])
    with torch.no_grad():
        want = net(torch.from_numpy(x[a]), torch.from_numpy(x[b]), None, torch.from_numpy(a),
                   torch.from_numpy(b)).numpy()
    got = np_logits(export(net, spec, x), a, b)
    assert got == pytest.approx(want, abs=1e-5)
    assert not np.allclose(got, np_logits(export(net, spec, x), b, a))  # the roles differ


def test_held_out_labels_do_not_reach_their_predictions(tmp_path: Path) -> None:
    """Shuffling the test pairs' labels leaves the type model's test predictions unchanged: neither the
    profile, the per-drug embeddings, the logit adjustment nor the temperature sees a held-out pair's row."""
    from gnn.ddi.data import read_pairs
    from gnn.ddi.features import graph_block
    from gnn.ddi.fixture import write_fixture

    fam = DdiFamily()
    cfg = fam.tiny_config(tmp_path / "art", tmp_path)
    assert cfg.type_embedding and cfg.logit_adjust
    pt = read_pairs(cfg.data_dir)
    _, facts = write_fixture(tmp_path)
    graph = graph_block(pt.drugs, json.loads(facts.read_text())["tokens"], 4, 0)
    tr, va, te = pair_split(len(pt.y), 0)
    shuffled = pt.y.copy()
    shuffled[te] = (pt.y[te] + 1 + np.arange(len(te))) % 86  # every held-out label changed
    runs = [train_type(pt.d1, pt.d2, y, graph, tr, va, cfg, 0) for y in (pt.y, shuffled)]
    p0, p1 = (m.proba(pt.d1[te], pt.d2[te]) for m in runs)
    assert p0 == pytest.approx(p1, abs=1e-6)
    # the same check on the labels the model is tuned on does change them (the test can fail)
    tuned = pt.y.copy()
    tuned[tr] = (pt.y[tr] + 1) % 86
    assert not np.allclose(train_type(pt.d1, pt.d2, tuned, graph, tr, va, cfg, 0).proba(pt.d1[te], pt.d2[te]), p0)
