"""The image encoder: train/predict CLI, output format, input errors, embeddings, seeds, graph helper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from gnn.images.data import as_images, load_pool, stratified_split, subsample
from gnn.images.metrics import apply_platt, best_threshold, fit_platt


@pytest.fixture(scope="module")
def pool() -> tuple[np.ndarray, np.ndarray]:
    return load_pool()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model: 1 epoch on a ~240-image stratified slice, trained through the CLI."""
    out = tmp_path_factory.mktemp("images-model")
    assert main(["images", "train", "--epochs", "1", "--limit", "240", "--seed", "3", "--model-dir", str(out),
                 "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def sample(pool) -> np.ndarray:
    x, y = pool
    idx = np.r_[np.flatnonzero(y == 0)[:6], np.flatnonzero(y == 1)[:7]]
    return x[idx]


def test_train_writes_weights_config_and_metrics(model_dir: Path) -> None:
    import torch

    state = torch.load(model_dir / "model.pt", weights_only=True)
    assert state["head.weight"].shape == (1, 128)
    config = json.loads((model_dir / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["seed"] == 3
    assert 0.0 <= config["threshold"] <= 1.0
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics["cnn"]["test"]) >= {"auroc", "accuracy", "balanced_accuracy"}
    assert 0.5 < metrics["logreg"]["test"]["auroc"] <= 1.0


def test_predict_writes_header_one_row_per_image_in_order(model_dir: Path, sample: np.ndarray,
                                                          tmp_path: Path) -> None:
    from gnn.images.encoder import ImageEncoder

    npz, tsv = tmp_path / "in.npz", tmp_path / "out.tsv"
    np.savez(npz, test_images=sample)
    assert main(["images", "predict", "--input", str(npz), "--output", str(tsv), "--model-dir", str(model_dir)]) == 0
    lines = tsv.read_text().splitlines()
    assert lines[0] == "index\tprobability"
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(len(sample)))
    probs = np.array([float(r[1]) for r in rows])
    assert ((probs >= 0) & (probs <= 1)).all()
    np.testing.assert_allclose(probs, ImageEncoder(model_dir).predict_proba(sample), rtol=1e-6)

    # reversed input gives reversed rows: rows follow input order
    np.savez(npz, test_images=sample[::-1])
    assert main(["images", "predict", "--input", str(npz), "--output", str(tsv), "--model-dir", str(model_dir)]) == 0
    rev = np.array([float(line.split("\t")[1]) for line in tsv.read_text().splitlines()[1:]])
    np.testing.assert_allclose(rev, probs[::-1], rtol=1e-5)


def test_predict_accepts_channel_axis_and_float_pixels(model_dir: Path, sample: np.ndarray, tmp_path: Path) -> None:
    npz, tsv_a, tsv_b = tmp_path / "f.npz", tmp_path / "a.tsv", tmp_path / "b.tsv"
    np.savez(npz, test_images=sample)
    main(["images", "predict", "--input", str(npz), "--output", str(tsv_a), "--model-dir", str(model_dir)])
    np.savez(npz, test_images=(sample[..., None] / 255.0).astype(np.float32))
    assert main(["images", "predict", "--input", str(npz), "--output", str(tsv_b), "--model-dir", str(model_dir)]) == 0
    assert tsv_a.read_text() == tsv_b.read_text()


@pytest.mark.parametrize(("arrays", "message"), [
    ({"images": np.zeros((2, 28, 28), np.uint8)}, "no key 'test_images' in the npz; keys found: ['images']"),
    ({"test_images": np.zeros((2, 20, 28), np.uint8)}, "['test_images']: expected images of shape N×28×28"),
    ({"test_images": np.full((2, 28, 28), np.nan)}, "image 0 has a non-finite pixel"),
    ({"test_images": np.full((2, 28, 28), 300.0)}, "range [300, 300]"),
])
def test_predict_bad_input_names_key_and_shape(model_dir: Path, tmp_path: Path, capsys, arrays, message) -> None:
    npz = tmp_path / "bad.npz"
    np.savez(npz, **arrays)
    code = main(["images", "predict", "--input", str(npz), "--output", str(tmp_path / "o.tsv"),
                 "--model-dir", str(model_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and str(npz) in err
    assert not (tmp_path / "o.tsv").exists()


def test_predict_unwritable_output_is_a_clear_error(model_dir: Path, sample: np.ndarray, tmp_path: Path,
                                                    capsys) -> None:
    npz = tmp_path / "in.npz"
    np.savez(npz, test_images=sample)
    out = tmp_path / "missing-dir" / "o.tsv"
    assert main(["images", "predict", "--input", str(npz), "--output", str(out), "--model-dir", str(model_dir)]) == 1
    assert f"{out}: cannot write the predictions" in capsys.readouterr().err


def test_wrong_shape_error_reports_the_shape() -> None:
    from kg.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"got shape \(3, 28, 28, 3\)"):
        as_images(np.zeros((3, 28, 28, 3)), "x.npz['test_images']")


def test_predict_without_model_says_to_train(tmp_path: Path, sample: np.ndarray, capsys) -> None:
    npz = tmp_path / "in.npz"
    np.savez(npz, test_images=sample)
    code = main(["images", "predict", "--input", str(npz), "--output", str(tmp_path / "o.tsv"),
                 "--model-dir", str(tmp_path / "none")])
    assert code == 1
    assert "run `medkg images train`" in capsys.readouterr().err


def test_embedding_is_128d_unit_length(model_dir: Path, sample: np.ndarray) -> None:
    from gnn.images.encoder import embed

    z = embed(sample, model_dir=model_dir)
    assert z.shape == (len(sample), 128) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(z[0], z[-1])  # different images, different embeddings
    np.testing.assert_allclose(embed(sample[:3], model_dir=model_dir), z[:3], atol=1e-5)  # batch-independent


def test_same_seed_same_model_other_seed_differs(pool) -> None:
    from gnn.images.train import TrainConfig, forward_all, train_model

    split = stratified_split(*subsample(*pool, 120, seed=1), seed=1)
    a = train_model(split, TrainConfig(epochs=1, seed=5), progress=False)
    b = train_model(split, TrainConfig(epochs=1, seed=5), progress=False)
    c = train_model(split, TrainConfig(epochs=1, seed=6), progress=False)
    la = forward_all(a.model, split.x_test, a.mean, a.std)[1]
    np.testing.assert_array_equal(la, forward_all(b.model, split.x_test, b.mean, b.std)[1])
    assert a.threshold == b.threshold
    assert not np.allclose(la, forward_all(c.model, split.x_test, c.mean, c.std)[1])


def test_split_is_stratified_disjoint_and_fixed(pool) -> None:
    x, y = pool
    assert len(y) == 4406 and int((y == 0).sum()) == 523
    s = stratified_split(x, y)
    sizes = s.sizes()
    assert sum(v["n"] for v in sizes.values()) == 4406
    assert sizes["test"] == {"n": 882, "normal": 105, "pneumonia": 777}
    assert sizes["cal"]["normal"] == 78
    again = stratified_split(x, y)
    np.testing.assert_array_equal(s.x_test, again.x_test)


def test_platt_recovers_slope_and_threshold_maximises_accuracy() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(2 * z - 1)))).astype(int)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)
    assert apply_platt(np.array([0.5]), a, b)[0] == pytest.approx(0.5, abs=0.03)
    assert best_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == pytest.approx(0.5)
    assert best_threshold(np.array([0.1, 0.3, 0.35, 0.9]), np.array([0, 0, 1, 1])) == pytest.approx(0.325)


@pytest.mark.neo4j
def test_attach_image_and_similar_images(driver) -> None:
    from gnn.images.graph import attach_image, create_vector_index, similar_images
    from kg.db import read, write

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3, 128))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    write(driver, "MERGE (:Patient {id: 'TEST-IMG-P1'})")
    try:
        create_vector_index(driver, 128)
        for i, v in enumerate(vecs):
            attach_image(driver, "TEST-IMG-P1", f"TEST-IMG-{i}", v.tolist(), 0.2 + 0.3 * i, "test-run")
        write(driver, "CALL db.awaitIndexes(60)")
        rows = read(driver, "MATCH (:Patient {id:'TEST-IMG-P1'})-[:HAS_IMAGE]->(i:Image)-[s:SHOWS]->"
                            "(:Finding {id:'pneumonia'}) RETURN i.id AS id, s.probability AS p ORDER BY id")
        assert [(r["id"], round(r["p"], 2)) for r in rows] == [("TEST-IMG-0", 0.2), ("TEST-IMG-1", 0.5),
                                                               ("TEST-IMG-2", 0.8)]
        hits = [h for h in similar_images(driver, vecs[1].tolist(), k=10) if h["image_id"].startswith("TEST-IMG-")]
        assert hits[0]["image_id"] == "TEST-IMG-1" and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
        assert hits[0]["patient_id"] == "TEST-IMG-P1" and hits[0]["probability"] == pytest.approx(0.5)
    finally:
        write(driver, "MATCH (n) WHERE (n:Patient OR n:Image) AND n.id STARTS WITH 'TEST-IMG-' DETACH DELETE n")
