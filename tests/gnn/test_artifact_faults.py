"""Artefact faults: disk/permission errors while saving leave the previous model in use and name the path;
a corrupt or partial artefact gives a clear error (HTTP 503 for the API's models) while the graph serves."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn import artifacts_io
from gnn.artifacts_io import ArtefactBatch, ArtefactWriteError, write_json, write_text
from kg.errors import ConfigError


def _no_temp_files(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")] == []


def _fail_replace(monkeypatch: pytest.MonkeyPatch, code: int = errno.ENOSPC) -> None:
    def replace(src: object, dst: object) -> None:
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(artifacts_io.os, "replace", replace)


def _fail_fsync_on_nth(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The n-th data fsync (1-based) fails with ENOSPC, as a full disk reports on flush."""
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            return real(fd)
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(artifacts_io.os, "fsync", fsync)


# ----- the helper itself ------------------------------------------------------------------------------------
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "m" / "config.json"
    write_json(target, {"v": 1})
    write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 2}
    _no_temp_files(target.parent)


def test_parent_is_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "artifacts"
    blocker.write_text("not a directory")
    with pytest.raises(ArtefactWriteError) as err:
        write_text(blocker / "images" / "model.pt", "x")
    assert str(blocker / "images" / "model.pt") in str(err.value)
    assert "errno" in str(err.value) and blocker.read_text() == "not a directory"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_failed_replace_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    target = tmp_path / "meta.json"
    write_json(target, {"v": 1})
    _fail_replace(monkeypatch, code)
    with pytest.raises(ArtefactWriteError) as err:
        write_json(target, {"v": 2})
    assert str(target) in str(err.value) and os.strerror(code) in str(err.value) and err.value.errno == code
    assert json.loads(target.read_text()) == {"v": 1}
    _no_temp_files(tmp_path)


def test_batch_failure_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "model.pt", tmp_path / "config.json"
    with ArtefactBatch() as out:
        out.text(a, "weights-1")
        out.json(b, {"v": 1})
    _fail_fsync_on_nth(monkeypatch, 2)  # the first file is staged fine, the second hits a full disk
    with pytest.raises(ArtefactWriteError) as err, ArtefactBatch() as out:
        out.text(a, "weights-2")
        out.json(b, {"v": 2})
    assert str(b) in str(err.value) and "No space left" in str(err.value)
    assert a.read_text() == "weights-1" and json.loads(b.read_text()) == {"v": 1}
    _no_temp_files(tmp_path)


def test_batch_discards_on_caller_error(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError), ArtefactBatch() as out:
        out.json(target, {"v": 1})
        raise RuntimeError("training crashed after the first file")
    assert not target.exists()
    _no_temp_files(tmp_path)


# ----- each model type's save ------------------------------------------------------------------------------
def _image_model(offset: float = 0.0):
    from gnn.images.model import ModelConfig, PneumoniaCNN

    torch.manual_seed(0)
    model = PneumoniaCNN(ModelConfig(widths=(4, 4, 4), embedding_dim=8))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(offset)
    return model


def _image_spec(model) -> dict:
    return {"model": model.config.to_dict(), "normalisation": {"mean": 0.5, "std": 0.25},
            "calibration": {"a": 1.0, "b": 0.0, "normal_share": 0.37}, "threshold": 0.5, "tta": False}


def _save_image_run(root: Path, model, seed: int = 0) -> Path:
    from gnn.images.encoder import save_run
    from gnn.images.family import ImagesFamily
    from gnn.pipeline.store import RunManifest

    store = ImagesFamily().store(root)
    man = RunManifest(family="images", model_run=store.new_run_name(seed), artifact_format=0, seed=seed, config={})
    return save_run(store, man, model, _image_spec(model))


def _state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("fault", ["replace", "fsync"])
def test_image_model_save_fault_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    from gnn.images.family import ImagesFamily

    first = _image_model()
    folder = _save_image_run(tmp_path, first, seed=1)
    good = _state(first)
    if fault == "replace":
        _fail_replace(monkeypatch)
    else:
        _fail_fsync_on_nth(monkeypatch, 2)  # weights staged, model.json hits a full disk
    with pytest.raises(ArtefactWriteError) as err:
        _save_image_run(tmp_path, _image_model(1.0), seed=2)
    assert str(tmp_path / "images") in str(err.value)
    monkeypatch.undo()
    fam = ImagesFamily()
    assert fam.store(tmp_path).latest_name() == folder.name
    assert _same(fam.load(None, tmp_path).model.state_dict(), good)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == sorted([folder.name, "latest"])


def test_diagnosis_model_save_fault_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gnn.diagnosis.family import DiagnosisConfig, DiagnosisFamily
    from gnn.diagnosis.knowledge import default_knowledge
    from gnn.diagnosis.model import ModelConfig, build_model
    from gnn.diagnosis.service import Diagnoser
    from gnn.diagnosis.vocab import Vocab

    kb = default_knowledge()
    vocab = Vocab.from_knowledge(kb)
    fam, cfg = DiagnosisFamily(), DiagnosisConfig(artifacts=tmp_path)
    torch.manual_seed(0)
    first = Diagnoser(build_model(vocab, len(kb.pathologies), ModelConfig()), vocab, kb, ModelConfig(),
                      metrics={"run": 1})
    kept = fam.save_run(first, cfg)
    good = _state(first.model)
    torch.manual_seed(1)
    second = Diagnoser(build_model(vocab, len(kb.pathologies), ModelConfig()), vocab, kb, ModelConfig(),
                       metrics={"run": 2})
    _fail_fsync_on_nth(monkeypatch, 3)  # weights and vocabulary staged, config.json fails
    with pytest.raises(ArtefactWriteError) as err:
        fam.save_run(second, DiagnosisConfig(artifacts=tmp_path, seed=1))
    assert "config.json" in str(err.value)
    monkeypatch.undo()
    loaded = fam.load(None, tmp_path, kb=kb)
    assert _same(loaded.model.state_dict(), good) and loaded.metrics["run"] == 1
    assert fam.store(tmp_path).runs() == [Path(kept.folder).name]  # no half-written second run
    _no_temp_files(tmp_path / "diagnosis")


def _classifier(scale: float):
    from gnn.text.classifier import ComplaintClassifier

    rng = np.random.default_rng(0)
    return ComplaintClassifier(["flu", "migraine"], {"fever": 0, "headache": 1}, np.ones(2),
                               rng.normal(size=(2, 2 + 768)) * scale, np.zeros(2), {"run": scale})


def test_text_classifier_save_fault_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gnn.text.family import TextConfig, TextFamily

    fam = TextFamily()
    first = _classifier(1.0)
    kept = fam.save_run(first, TextConfig(artifacts=tmp_path), {"n": 1})
    _fail_replace(monkeypatch)
    with pytest.raises(ArtefactWriteError) as err:
        fam.save_run(_classifier(5.0), TextConfig(artifacts=tmp_path, seed=1), {"n": 2})
    assert "model.npz" in str(err.value)
    monkeypatch.undo()
    loaded = fam.load(None, tmp_path)
    assert np.array_equal(loaded.coef, first.coef) and loaded.meta["run"] == 1.0
    assert fam.store(tmp_path).runs() == [Path(kept.folder).name]
    _no_temp_files(tmp_path / "text")


# ----- corrupt or partial artefacts at load time ------------------------------------------------------------
def test_image_model_partial_artefact_is_a_clear_error(tmp_path: Path) -> None:
    from gnn.images.family import ImagesFamily

    folder = _save_image_run(tmp_path, _image_model())
    (folder / "model.pt").unlink()
    with pytest.raises(ConfigError, match=r"corrupt images model weights .*model\.pt.*medkg train images"):
        ImagesFamily().load(None, tmp_path)


@pytest.mark.parametrize("victim", ["model.pt", "model.json"])
def test_image_model_corrupt_artefact_is_a_clear_error(tmp_path: Path, victim: str) -> None:
    from gnn.images.family import ImagesFamily

    folder = _save_image_run(tmp_path, _image_model())
    data = (folder / victim).read_bytes()
    (folder / victim).write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=str(folder / victim).replace(".", r"\.")):
        ImagesFamily().load(None, tmp_path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.neo4j
def test_api_starts_with_corrupt_models_and_graph_keeps_serving(built_graph: object, settings, api_keys,
                                                                tmp_path: Path) -> None:
    """A truncated complaint classifier and treats run: start-up succeeds, their routes answer 503 naming the
    artefact, the graph routes answer 200; a partial classifier (meta.json missing) answers 503 too."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gnn.text.family import TextConfig, TextFamily

    artefacts = tmp_path / "artifacts"
    clf_dir = Path(TextFamily().save_run(_classifier(1.0), TextConfig(artifacts=artefacts), {"n": 1}).folder)
    _truncate(clf_dir / "model.npz")
    run = artefacts / "treats" / "treats-run-1"
    run.mkdir(parents=True)
    for name in ("config.json", "index.json"):
        write_json(run / name, {})
    for name in ("scorer.npz", "candidates.npz"):
        artifacts_io.save_npz(run / name, drugs=np.arange(50), diseases=np.arange(50), known=np.arange(50))
        _truncate(run / name)
    write_text(artefacts / "treats" / "latest.txt", "treats-run-1\n")

    unlimited = settings.model_copy(update={"medkg_artifacts": artefacts, "medkg_rate_limit": 1e6,
                                            "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(unlimited), headers={"X-API-Key": api_keys["admin"]}) as client:
        classify = client.post("/text/classify", json={"text": "I have a fever and a cough"})
        assert classify.status_code == 503, classify.text
        assert "complaint classifier unavailable" in classify.text and str(clf_dir) in classify.text
        rec = client.get("/recommendations", params={"disease": "DOID:9352"})
        assert rec.status_code == 503, rec.text
        assert "model unavailable" in rec.text
        assert client.get("/drugs/search", params={"q": "aspirin"}).status_code == 200
        check = client.post("/interactions/check", json={"drugs": ["warfarin", "aspirin"]})
        assert check.status_code == 200, check.text
        cypher = client.post("/cypher", json={"query": "MATCH (d:Drug {id: 'DB00945'}) RETURN d.name AS n"})
        assert cypher.json()["rows"] == [{"n": "Acetylsalicylic acid"}]
        assert client.get("/health").status_code == 200
        (clf_dir / "meta.json").unlink()
        partial = client.post("/text/classify", json={"text": "I have a fever and a cough"})
        assert partial.status_code == 503 and "is incomplete (model.npz or meta.json missing)" in partial.text
