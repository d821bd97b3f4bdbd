"""The diagnosis family on the pipeline: the contract meta-test on a 160-patient fixture, and the
thresholded differential and weight choice of the nested evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gnn.diagnosis.family import DiagnosisFamily
from tests.gnn.family_contract import check_family


@pytest.mark.slow
def test_diagnosis_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import torch

    torch.set_num_threads(1)
    fam = DiagnosisFamily()
    check_family(fam, tmp_path, monkeypatch)
    doc = json.loads((tmp_path / "results" / "diagnosis.json").read_text())
    primary = doc["models"]["attention+graph"]
    # the thresholded differential and calibration are measured beside the oracle-sized F1
    assert {"dx_precision_all", "dx_recall_all", "dx_f1_all", "brier_all", "ece_all", "f1_all"} <= set(primary)
    assert primary["dx_size_all"]["mean"] >= 1.0
    recipes = doc["notes"]["recipes"]
    assert len(recipes) == 2 and all(r["thresholds"]["attention+graph"] > 0 for r in recipes)
    assert (tmp_path / "diagnosis-reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = json.loads((Path(fam.store(tmp_path / "artifacts").resolve()) / "run.json").read_text())
    assert set(run["data_checksums"]) == {"ddxplus/release_evidences.json", "ddxplus/release_conditions.json",
                                          "patients_tiny.csv"}
    assert run["metrics"]["differential_threshold"] > 0 and run["git_sha"]


def test_thresholded_differential_counts_precision_recall_and_keeps_the_top_one() -> None:
    from gnn.diagnosis.evaluate import choose_threshold, differential_sets, thresholded_differential

    probs = np.array([[0.6, 0.3, 0.1, 0.0], [0.05, 0.05, 0.05, 0.85]])
    refs = [{0, 2}, {3}]
    assert differential_sets(probs, 0.9) == [{0}, {3}]  # nothing above: the most likely one
    m = thresholded_differential(probs, refs, 0.2)  # row 0: {0, 1} vs {0, 2}; row 1: {3} vs {3}
    assert m["dx_precision"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["dx_recall"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["dx_f1"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["dx_size"] == pytest.approx(1.5)
    # 0.05 < t <= 0.1 takes {0, 1, 2} in row 0 (F1 0.8) without adding to row 1: the best mean F1
    t = choose_threshold(probs, refs)
    assert 0.05 < t <= 0.1
    assert thresholded_differential(probs, refs, t)["dx_f1"] == pytest.approx((0.8 + 1.0) / 2)


def test_weights_are_chosen_by_log_loss_on_the_given_scores() -> None:
    from gnn.diagnosis.evaluate import choose_weights

    y = np.array([0, 1, 0, 1])
    logits = np.zeros((4, 2))  # the model knows nothing; the graph knows the answer
    graph = np.where(np.eye(2)[y] == 1, 0.0, -3.0)
    w, c = choose_weights(logits, graph, y)
    assert w == 1.0 and c >= 2.0
    assert choose_weights(np.where(np.eye(2)[y] == 1, 5.0, 0.0), -graph, y)[0] == 0.0  # graph is wrong: off
