"""`medkg ask`: one question (readable and --json) and CSV -> JSONL with a malformed row, wiring checked with a
stand-in service (the real engine is tested in test_qa_api.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main

ANSWER = {"question": "q", "abstained": False, "reason": None, "count": 1,
          "interpretation": {"intent": "targets", "probability": 0.9,
                             "entities": [{"id": "DB00682", "name": "Warfarin", "label": "Drug", "confidence": 0.95,
                                           "method": "synonym-exact"}]},
          "answers": [{"id": "1559", "name": "VKORC1", "label": "Gene",
                       "facts": [{"relationship": "BINDS", "sources": ["hetionet"], "licenses": ["CC0 1.0"]}]}],
          "summary": "Warfarin binds 1 target(s): VKORC1.",
          "cypher": {"query": "MATCH ...", "params": {"drug": "DB00682"}, "browser": ':param drug => "DB00682";'}}


class FakeService:
    def __init__(self, *args: object) -> None:
        pass

    def ask(self, question: str) -> dict:
        return {**ANSWER, "question": question}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    class Driver:
        def close(self) -> None:
            pass

    monkeypatch.setattr("api.services.qa.QAService", FakeService)
    monkeypatch.setattr("api.services.state.build_services", lambda s, d: None)
    monkeypatch.setattr("kg.db.make_driver", lambda s: Driver())


def test_ask_one_question(fake: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "What are the targets of Coumadin?"]) == 0
    out = capsys.readouterr().out
    assert "intent: targets (0.90)" in out and "VKORC1 (Gene 1559)  sources: hetionet" in out
    assert main(["ask", "What are the targets of Coumadin?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answers"][0]["id"] == "1559"


def test_ask_csv_to_jsonl_with_malformed_row(fake: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp, out = tmp_path / "questions.csv", tmp_path / "answers.jsonl"
    inp.write_text("id,question\nq1,targets of coumadin\nq2,a,b\nq3,side effects of aspirin\n")
    assert main(["ask", "--input", str(inp), "--output", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3"]
    assert rows[0]["answers"] == [{"id": "1559", "name": "VKORC1", "label": "Gene"}] and rows[0]["intent"] == "targets"
    assert rows[0]["evidence"][0]["facts"][0]["sources"] == ["hetionet"] and rows[0]["cypher"]["params"]
    assert rows[1]["line"] == 3 and "questions.csv:3: expected 2 fields" in rows[1]["error"]
    assert "1 malformed" in capsys.readouterr().out
    assert main(["ask", "--input", str(inp)]) == 1  # --output missing: a clear error, exit 1
