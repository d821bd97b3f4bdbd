"""The checks every registered model family passes (PyKEEN-style meta-tests): tiny fit, save, load, predict,
refusal of an outdated artifact format, and the results file that `evaluate` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnn.pipeline.family import ModelFamily
from gnn.pipeline.store import MANIFEST
from kg.errors import ConfigError


def check_family(fam: ModelFamily, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art, work, res = tmp / "artifacts", tmp / "work", tmp / "results"
    work.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("MEDKG_RESULTS_DIR", str(res))
    cfg = fam.tiny_config(art, work)
    if cfg is None:
        pytest.skip(f"{fam.name} has no tiny fixture config")
    man = fam.train(cfg, progress=False)
    folder = Path(man.folder)
    on_disk = json.loads((folder / MANIFEST).read_text())
    assert on_disk["family"] == fam.name and on_disk["artifact_format"] == fam.artifact_format
    assert on_disk["seed"] == cfg.seed and on_disk["torch"] and on_disk["python"]
    assert on_disk["metrics"], "a run records its metrics"
    assert fam.store(art).latest_name() == folder.name
    assert fam.load(None, art) is not None
    args = fam.tiny_predict_args(folder, work)
    if args is not None:
        out = fam.predict(args)
        assert out
    # an outdated run is refused with a message that says what to do
    on_disk["artifact_format"] = fam.artifact_format - 1
    (folder / MANIFEST).write_text(json.dumps(on_disk))
    with pytest.raises(ConfigError, match=f"outdated.*medkg train {fam.name}"):
        fam.load(folder, art)
    docs = fam.evaluate(cfg, [0], progress=False)
    for doc in docs if isinstance(docs, list) else [docs]:
        written = json.loads((res / f"{doc['name']}.json").read_text())
        assert written["seeds"] == [0] and written["models"][written["primary"]]
        assert all(m in written["models"][written["primary"]] for m in written["metrics"])
