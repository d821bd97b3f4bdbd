"""The images family: contract, train/predict CLI (new grammar and old aliases), output format, input errors,
embeddings, seeds, de-duplicated split, prevalence re-weighting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from gnn.images.data import as_images, load_parts, make_split
from gnn.images.metrics import binary_metrics, prior_weights, report
from tests.gnn.family_contract import check_family


@pytest.fixture(scope="module")
def parts() -> dict:
    return load_parts()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run: 1 epoch on ~300 training images, trained through the old spelling (an alias)."""
    out = tmp_path_factory.mktemp("images-artifacts")
    assert main(["images", "train", "--epochs", "1", "--limit", "300", "--seed", "3", "--artifacts", str(out),
                 "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def sample(parts) -> np.ndarray:
    x, y = parts["val"]
    return x[np.r_[np.flatnonzero(y == 0)[:6], np.flatnonzero(y == 1)[:7]]]


def _predict(artifacts: Path, npz: Path, tsv: Path, *extra: str) -> int:
    return main(["predict", "images", "--input", str(npz), "--output", str(tsv), "--artifacts", str(artifacts),
                 *extra])


def test_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gnn.images.evaluate import METRICS, NEW, PLOT
    from gnn.pipeline.registry import get_family

    check_family(get_family("images"), tmp_path, monkeypatch)
    doc = json.loads((tmp_path / "results" / "images.json").read_text())
    assert doc["metrics"] == METRICS and set(doc["models"]) == {NEW, "CNN (previous recipe)",
                                                                "pixel logistic regression"}
    assert doc["notes"]["split_sizes"]["test"] == {"n": 75, "normal": 19, "pneumonia": 56}  # limit 300: val / 4
    assert (tmp_path / "results" / PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_records_provenance_and_the_old_spelling_prints_the_new_one_once(artifacts: Path, capsys) -> None:
    from gnn.pipeline.registry import get_family

    man = get_family("images").store(artifacts).manifest()
    assert man.seed == 3 and man.config["epochs"] == 1 and man.artifact_format == 2
    assert man.data_checksums["medmnist/pneumoniamnist.npz"] and man.git_sha and man.torch
    assert man.metrics["threshold"] == 0.5 and man.metrics["normal_share"] == pytest.approx(0.37)
    spec = json.loads((Path(man.folder) / "model.json").read_text())
    assert spec["calibration"]["normal_share"] == pytest.approx(0.37) and spec["train"]["hflip"] is False
    import torch

    state = torch.load(Path(man.folder) / "model.pt", weights_only=True)
    assert state["head.weight"].shape == (1, 128)


def test_predict_writes_header_one_row_per_image_in_order(artifacts: Path, sample: np.ndarray,
                                                          tmp_path: Path, capsys) -> None:
    from gnn.images.encoder import load_encoder

    npz, tsv = tmp_path / "in.npz", tmp_path / "out.tsv"
    np.savez(npz, test_images=sample)
    assert _predict(artifacts, npz, tsv) == 0
    lines = tsv.read_text().splitlines()
    assert lines[0] == "index\tprobability"
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(len(sample)))
    probs = np.array([float(r[1]) for r in rows])
    np.testing.assert_allclose(probs, load_encoder(None, str(artifacts)).predict_proba(sample), rtol=1e-6)
    assert probs.std() > 0

    # reversed input gives reversed rows; the old spelling writes the same file and says what the new one is
    np.savez(npz, test_images=sample[::-1])
    capsys.readouterr()
    assert main(["images", "predict", "--input", str(npz), "--output", str(tsv), "--artifacts", str(artifacts)]) == 0
    assert main(["images", "predict", "--input", str(npz), "--output", str(tsv), "--artifacts", str(artifacts)]) == 0
    assert capsys.readouterr().err.count("`medkg images predict` is now `medkg predict images`") == 1
    rev = np.array([float(line.split("\t")[1]) for line in tsv.read_text().splitlines()[1:]])
    np.testing.assert_allclose(rev, probs[::-1], rtol=1e-5)


def test_predict_accepts_channel_axis_and_float_pixels(artifacts: Path, sample: np.ndarray, tmp_path: Path) -> None:
    npz, tsv_a, tsv_b = tmp_path / "f.npz", tmp_path / "a.tsv", tmp_path / "b.tsv"
    np.savez(npz, test_images=sample)
    assert _predict(artifacts, npz, tsv_a) == 0
    np.savez(npz, test_images=(sample[..., None] / 255.0).astype(np.float32))
    assert _predict(artifacts, npz, tsv_b) == 0
    assert tsv_a.read_text() == tsv_b.read_text()


@pytest.mark.parametrize(("arrays", "message"), [
    ({"images": np.zeros((2, 28, 28), np.uint8)}, "no key 'test_images' in the npz; keys found: ['images']"),
    ({"test_images": np.zeros((2, 20, 28), np.uint8)}, "['test_images']: expected images of shape N×28×28"),
    ({"test_images": np.full((2, 28, 28), np.nan)}, "image 0 has a non-finite pixel"),
    ({"test_images": np.full((2, 28, 28), 300.0)}, "range [300, 300]"),
])
def test_predict_bad_input_names_key_and_shape(artifacts: Path, tmp_path: Path, capsys, arrays, message) -> None:
    npz = tmp_path / "bad.npz"
    np.savez(npz, **arrays)
    code = _predict(artifacts, npz, tmp_path / "o.tsv")
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and str(npz) in err
    assert not (tmp_path / "o.tsv").exists()


def test_predict_unwritable_output_is_a_clear_error(artifacts: Path, sample: np.ndarray, tmp_path: Path,
                                                    capsys) -> None:
    npz = tmp_path / "in.npz"
    np.savez(npz, test_images=sample)
    out = tmp_path / "missing-dir" / "o.tsv"
    assert _predict(artifacts, npz, out) == 1
    assert f"{out}: cannot write the predictions" in capsys.readouterr().err


def test_wrong_shape_error_reports_the_shape() -> None:
    from kg.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"got shape \(3, 28, 28, 3\)"):
        as_images(np.zeros((3, 28, 28, 3)), "x.npz['test_images']")


def test_predict_without_model_says_to_train(tmp_path: Path, sample: np.ndarray, capsys) -> None:
    npz = tmp_path / "in.npz"
    np.savez(npz, test_images=sample)
    assert _predict(tmp_path / "none", npz, tmp_path / "o.tsv") == 1
    assert "run `medkg train images`" in capsys.readouterr().err


def test_embedding_is_128d_unit_length_and_prior_shift_moves_probabilities(artifacts: Path,
                                                                          sample: np.ndarray) -> None:
    from gnn.images.encoder import ImageEncoder
    from gnn.pipeline.registry import get_family

    enc = get_family("images").load(None, artifacts)
    z = enc.embed(sample)
    assert z.shape == (len(sample), 128) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(z[0], z[-1])
    np.testing.assert_allclose(enc.embed(sample[:3]), z[:3], atol=1e-5)  # batch-independent
    # more normal images expected -> lower pneumonia probabilities, by exactly the prior odds ratio
    p37 = enc.predict_proba(sample)
    p60 = ImageEncoder(get_family("images").store(artifacts).manifest(), normal_share=0.6).predict_proba(sample)
    odds = (p60 / (1 - p60)) / (p37 / (1 - p37))
    np.testing.assert_allclose(odds, (0.4 / 0.6) / (0.63 / 0.37), rtol=1e-6)


def test_same_seed_same_model_other_seed_differs(parts) -> None:
    from gnn.images.train import TrainConfig, forward_all, train_model

    split = make_split(parts, limit=150)
    a = train_model(split, TrainConfig(epochs=1, seed=5), progress=False)
    b = train_model(split, TrainConfig(epochs=1, seed=5), progress=False)
    c = train_model(split, TrainConfig(epochs=1, seed=6), progress=False)
    la = forward_all(a.model, split.x_test, a.mean, a.std)[1]
    np.testing.assert_array_equal(la, forward_all(b.model, split.x_test, b.mean, b.std)[1])
    assert (a.platt_a, a.platt_b) == (b.platt_a, b.platt_b)
    assert not np.allclose(la, forward_all(c.model, split.x_test, c.mean, c.std)[1])


def test_split_dedups_keeps_val_apart_and_is_fixed(parts) -> None:
    from gnn.images.data import pixel_hashes

    s = make_split(parts)
    assert s.dedup == {"source_train": 3882, "source_val": 524, "duplicates_within_val": 0,
                       "duplicates_within_train": 17, "train_images_also_in_val": 8}
    sizes = s.sizes()
    assert sizes["test"] == {"n": 524, "normal": 135, "pneumonia": 389}  # the source's val part, whole
    assert sizes["train"]["n"] + sizes["cal"]["n"] == 3882 - 17 - 8
    assert sizes["cal"]["normal"] == round((388 - (388 - sizes["train"]["normal"] - sizes["cal"]["normal"])) * 0.2)
    hashes = {k: set(pixel_hashes(getattr(s, f"x_{k}"))) for k in ("train", "cal", "test")}
    assert not hashes["train"] & hashes["test"] and not hashes["cal"] & hashes["test"]
    assert not hashes["train"] & hashes["cal"]
    assert sum(len(h) for h in hashes.values()) == 3882 - 17 - 8 + 524  # no duplicate left anywhere
    np.testing.assert_array_equal(make_split(parts).x_cal, s.x_cal)


def test_prevalence_weights_and_reweighted_metrics() -> None:
    y = np.array([0, 1, 1, 1])  # 25 % normal
    w = prior_weights(y, 0.5)
    assert w[y == 0].sum() / w.sum() == pytest.approx(0.5)
    prob = np.array([0.9, 0.8, 0.7, 0.6])  # the normal image is called pneumonia, the rest right
    plain = binary_metrics(prob, y, 0.5)
    assert plain["accuracy"] == pytest.approx(0.75) and plain["specificity"] == 0.0 and plain["auroc"] == 0.0
    both = report(prob, y, 0.5, 0.5)
    assert both["accuracy_prev"] == pytest.approx(0.5)  # half the weight is on the one error
    assert both["brier"] == pytest.approx((0.81 + 0.04 + 0.09 + 0.16) / 4)
    assert both["brier_prev"] == pytest.approx(0.5 * 0.81 + 0.5 * (0.04 + 0.09 + 0.16) / 3)
    with pytest.raises(ValueError, match="both classes"):
        prior_weights(np.array([1, 1]), 0.37)


@pytest.mark.neo4j
def test_attach_images_is_all_or_nothing_and_similar_stays_within_a_model_run(driver) -> None:
    from neo4j.exceptions import ConstraintError

    from gnn.images.graph import attach_images, ensure_image_schema, image_rows, similar_images
    from kg.db import read, write
    from kg.errors import NotFound

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3, 128))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    src = [{"format": "array", "width": 28, "height": 28}] * 3
    pid = "P-00000000test1mg"
    write(driver, "MERGE (:Patient {id: $id})", id=pid)
    try:
        ensure_image_schema(driver)
        with pytest.raises(NotFound, match="no patient with id 'P-missing'"):
            attach_images(driver, "P-missing", image_rows(vecs, np.array([0.1, 0.6, 0.9]), threshold=0.5,
                                                         normal_share=0.37, model_run="run-a", sources=src))
        rows = image_rows(vecs, np.array([0.1, 0.6, 0.9]), threshold=0.5, normal_share=0.37, model_run="run-a",
                          sources=src)
        rows[2]["id"] = rows[0]["id"]  # the third write breaks the id constraint: nothing may remain
        with pytest.raises(ConstraintError):
            attach_images(driver, pid, rows)
        assert read(driver, "MATCH (:Patient {id: $id})-[:HAS_IMAGE]->(i) RETURN count(i) AS n", id=pid)[0]["n"] == 0
        a = attach_images(driver, pid, image_rows(vecs, np.array([0.1, 0.6, 0.9]), threshold=0.5, normal_share=0.37,
                                                  model_run="run-a", sources=src))
        assert [r["shows"] for r in a] == [False, True, True] and a[1]["finding_id"] == "DOID:552"
        b = attach_images(driver, pid, image_rows(vecs[:1], np.array([0.2]), threshold=0.5, normal_share=0.37,
                                                  model_run="run-b", sources=src))
        hits = similar_images(driver, a[0]["image_id"], k=5)
        assert {h["image_id"] for h in hits} == {a[1]["image_id"], a[2]["image_id"]}  # not run-b's twin
        assert b[0]["image_id"] not in {h["image_id"] for h in hits}
    finally:
        write(driver, "MATCH (p:Patient {id: $id}) OPTIONAL MATCH (p)-[:HAS_IMAGE]->(i) DETACH DELETE p, i", id=pid)


@pytest.mark.neo4j
def test_ingest_folder_and_npz_for_a_patient(driver, artifacts: Path, parts, tmp_path: Path, capsys) -> None:
    from PIL import Image

    from kg.db import read, write

    run = get_run_folder(artifacts)
    x = parts["val"][0]
    folder = tmp_path / "xrays"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(x[i]).resize((64, 80)).save(folder / f"{i}.png")
    (folder / "2.jpg").write_bytes(b"\xff\xd8\xff" + b"broken")
    pid = "P-00000000ingest01"
    write(driver, "MERGE (:Patient {id: $id})", id=pid)
    try:
        assert main(["images", "ingest", "--patient", pid, "--folder", str(folder), "--run", run]) == 1
        assert f"{folder / '2.jpg'}: body: corrupt JPEG file" in capsys.readouterr().err
        count = "MATCH (:Patient {id: $id})-[:HAS_IMAGE]->(i:Image) RETURN count(i) AS n"
        assert read(driver, count, id=pid)[0]["n"] == 0  # the bad file stopped everything before any write
        (folder / "2.jpg").unlink()
        assert main(["images", "ingest", "--patient", pid, "--folder", str(folder), "--run", run, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert [i["source"] for i in out["images"]] == ["0.png", "1.png"]
        npz = tmp_path / "x.npz"
        np.savez(npz, test_images=x[2:5])
        assert main(["images", "ingest", "--patient", pid, "--npz", str(npz), "--run", run]) == 0
        assert read(driver, count, id=pid)[0]["n"] == 5
    finally:
        write(driver, "MATCH (p:Patient {id: $id}) OPTIONAL MATCH (p)-[:HAS_IMAGE]->(i) DETACH DELETE p, i", id=pid)


def get_run_folder(artifacts: Path) -> str:
    from gnn.pipeline.registry import get_family

    return get_family("images").store(artifacts).manifest().folder
