"""The model pipeline's parts: artefact store, results files and generated tables, calibration, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gnn.pipeline import calibration, registry, results
from gnn.pipeline.store import LATEST, MANIFEST, ArtefactStore, RunManifest
from kg.errors import ConfigError
from tests.gnn.family_contract import check_family
from tests.gnn.toy_family import ToyFamily


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(registry.FAMILIES, "toy", "tests.gnn.toy_family:ToyFamily")
    registry.get_family.cache_clear()
    yield
    registry.get_family.cache_clear()


def _manifest(store: ArtefactStore, seed: int = 3) -> RunManifest:
    return RunManifest(family="toy", model_run=store.new_run_name(seed), artifact_format=0, seed=seed, config={})


def test_store_writes_run_and_latest_atomically(tmp_path: Path) -> None:
    store = ArtefactStore("toy", 2, tmp_path)
    man = _manifest(store)
    folder = store.save(man, lambda out, f: out.text(f / "a.txt", "x"))
    assert (folder / "a.txt").read_text() == "x"
    assert (store.root / LATEST).read_text().strip() == folder.name
    loaded = store.manifest()
    assert loaded.artifact_format == 2 and loaded.seed == 3 and loaded.python
    assert store.runs() == [folder.name]


def test_store_failure_leaves_previous_run_and_no_staging(tmp_path: Path) -> None:
    store = ArtefactStore("toy", 1, tmp_path)
    first = store.save(_manifest(store, 1), lambda out, f: out.text(f / "a.txt", "old"))

    def boom(out, f):
        out.text(f / "a.txt", "new")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        store.save(_manifest(store, 2), boom)
    assert store.latest_name() == first.name
    assert set(os.listdir(store.root)) == {first.name, LATEST}
    assert (first / "a.txt").read_text() == "old"


def test_store_refuses_missing_outdated_and_corrupt_runs(tmp_path: Path) -> None:
    store = ArtefactStore("toy", 2, tmp_path)
    with pytest.raises(ConfigError, match="medkg train toy"):
        store.manifest()
    folder = store.save(_manifest(store), lambda out, f: None)
    data = json.loads((folder / MANIFEST).read_text())
    data["artifact_format"] = 1
    (folder / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="'artifact_format' is 1, this code reads 2"):
        store.manifest()
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt toy run manifest"):
        store.manifest()


def test_aggregate_mean_and_sample_sd() -> None:
    agg = results.aggregate({"m": [{"a": 1.0}, {"a": 2.0}, {"a": 3.0}]})
    assert agg["m"]["a"]["mean"] == pytest.approx(2.0)
    assert agg["m"]["a"]["sd"] == pytest.approx(1.0)


def test_tables_generated_from_results_and_stale_detected(tmp_path: Path) -> None:
    res = tmp_path / "results"
    doc = results.results_document("demo", "toy", title="Demo", split="By row.", seeds=[1, 2], primary="m",
                                   metrics=["auroc"], per_seed={"m": [{"auroc": 0.9}, {"auroc": 0.8}],
                                                                "base": [{"auroc": 0.5}, {"auroc": 0.5}]},
                                   command="medkg evaluate toy")
    results.write_results(doc, res)
    (tmp_path / "docs").mkdir()
    md = tmp_path / "README.md"
    md.write_text("x <!-- value:demo:m:auroc -->?<!-- /value --> y\n<!-- results:demo -->\nold\n<!-- /results -->\n")
    assert results.regenerate(tmp_path, check=True, results_dir=res) == [md]
    results.regenerate(tmp_path, results_dir=res)
    text = md.read_text()
    assert "x <!-- value:demo:m:auroc -->0.850 ± 0.071<!-- /value --> y" in text
    assert "| **m** | 0.850 ± 0.071 |" in text and "| base | 0.500 |" in text
    assert results.regenerate(tmp_path, check=True, results_dir=res) == []


def test_calibration_measures() -> None:
    y = np.array([0, 0, 1, 1])
    assert calibration.brier(np.array([0.0, 0.0, 1.0, 1.0]), y) == 0.0
    assert calibration.brier(np.array([0.5] * 4), y) == pytest.approx(0.25)
    assert calibration.ece(np.array([0.9, 0.9, 0.9, 0.9]), y) == pytest.approx(0.4)
    multi = np.array([[0.8, 0.2], [0.6, 0.4]])
    assert calibration.brier(multi, np.array([0, 1])) == pytest.approx(((0.2**2 + 0.2**2) + (0.6**2 + 0.6**2)) / 2)
    rng = np.random.default_rng(0)
    s = rng.normal(size=4000)
    yy = (rng.random(4000) < 1 / (1 + np.exp(-2 * s))).astype(int)
    a, b = calibration.fit_platt(s, yy)
    assert a == pytest.approx(2.0, abs=0.25) and b == pytest.approx(0.0, abs=0.15)
    assert calibration.ece(calibration.apply_platt(s, a, b), yy) < 0.03


def test_reliability_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    out = calibration.reliability_plot({"m": (p, y)}, tmp_path / "r.png", "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_toy_family_passes_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_family(ToyFamily(), tmp_path, monkeypatch)


def test_cli_grammar_reads_the_registry(toy_registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main

    monkeypatch.setenv("MEDKG_RESULTS_DIR", str(tmp_path / "res"))
    art = str(tmp_path / "art")
    assert main(["train", "toy", "--seed", "4", "--artifacts", art, "--json"]) == 0
    man = json.loads(capsys.readouterr().out)
    assert man["seed"] == 4 and man["family"] == "toy"
    assert main(["evaluate", "toy", "--seeds", "1", "2", "--artifacts", art, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["seeds"] == [1, 2] and (tmp_path / "res" / "toy.json").is_file()
    assert main(["predict", "toy", "--artifacts", art, "--output", str(tmp_path / "p.json"), "--json"]) == 0
    assert len(json.loads((tmp_path / "p.json").read_text())) == 10


def test_every_registered_family_loads_light() -> None:
    for fam in registry.families():
        assert fam.name and fam.summary and fam.artifact_format >= 1
