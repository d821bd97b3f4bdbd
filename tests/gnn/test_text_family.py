"""The text family on the pipeline: the contract meta-test on 48 real complaints of 4 labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnn.text.family import TextFamily
from tests.gnn.family_contract import check_family


@pytest.mark.slow
def test_text_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fam = TextFamily()
    check_family(fam, tmp_path, monkeypatch)
    doc = json.loads((tmp_path / "results" / "text.json").read_text())
    assert set(doc["models"]) == {"model", "baseline"}
    model = doc["models"]["model"]
    assert model["accuracy"]["mean"] >= 0.75  # 12 held-out complaints of 4 well-separated labels
    assert 0.0 < model["brier"]["mean"] < 0.5 and model["ece"]["per_seed"] != [0.0]
    assert (tmp_path / "text-reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = json.loads((Path(fam.store(tmp_path / "artifacts").resolve()) / "run.json").read_text())
    assert run["data_checksums"].keys() == {"s2d_tiny.csv"} and run["metrics"]["n_classes"] == 4
    lines = [json.loads(x) for x in (tmp_path / "work" / "labels.jsonl").read_text().splitlines()]
    assert [x["label"] for x in lines] == ["Migraine", "urinary tract infection"]
