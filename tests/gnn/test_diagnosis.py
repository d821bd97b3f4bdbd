"""Diagnosis: parsing of the DDXPlus sample, graph baseline, a tiny attention model and `medkg diagnose`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from api.cli import build_parser, main
from gnn.diagnosis.baseline import GraphBaseline
from gnn.diagnosis.findings import parse_finding, parse_patient
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.model import ModelConfig
from gnn.diagnosis.patients import read_patients, sample_path
from gnn.diagnosis.service import Diagnoser
from kg.errors import InvalidInput

HEADER = "age,top5_diagnoses,sex,diagnosis,features,feature_id\n"


@pytest.fixture(scope="module")
def kb():
    return default_knowledge()


@pytest.fixture(scope="module")
def rows(kb):
    return read_patients(sample_path(), kb, require_labels=True)


@pytest.fixture(scope="module")
def tiny(kb, rows, tmp_path_factory) -> tuple[Diagnoser, Path]:
    """A small attention model trained on 400 sample patients, saved as a run and loaded back."""
    import torch

    from gnn.diagnosis.family import DiagnosisConfig, DiagnosisFamily

    torch.set_num_threads(1)
    cfg = ModelConfig(dim=32, heads=2, layers=1, epochs=8, seed=0)
    artifacts = tmp_path_factory.mktemp("artifacts")
    fam = DiagnosisFamily()
    man = fam.save_run(Diagnoser.train(rows[:400], kb, cfg),
                       DiagnosisConfig(artifacts=artifacts, dim=32, heads=2, epochs=8))
    return fam.load(None, artifacts), Path(man.folder)


def test_reads_the_real_sample_format(rows) -> None:
    assert len(rows) == 1306
    first = rows[0]
    assert (first.line, first.patient.age, first.patient.sex, first.pathology) == (2, 8, "M", "Pneumonia")
    assert first.patient.tokens[:3] == ["E_53", "E_54_@_V_179", "E_54_@_V_192"]
    assert "E_56_@_2" in first.patient.tokens  # numeric value
    assert len(first.differential) == 17 and first.differential[0][0] == "Pneumonia"
    assert sum(len(r.patient.unrecognised) for r in rows) == 0


def test_reads_release_style_upper_case_columns(kb, tmp_path: Path) -> None:
    f = tmp_path / "release.csv"
    f.write_text('AGE,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE,DIFFERENTIAL_DIAGNOSIS\n'
                 '49,F,URTI,"[\'E_91\', \'E_54_@_V_161\']",E_201,"[[\'URTI\', 0.6], [\'Influenza\', 0.4]]"\n')
    (row,) = read_patients(f, kb, require_labels=True)
    assert row.patient.tokens == ["E_201", "E_91", "E_54_@_V_161"]  # initial evidence added first
    assert row.differential == [("URTI", 0.6), ("Influenza", 0.4)]


def test_scoring_ignores_malformed_label_columns(kb, tmp_path: Path) -> None:
    f = tmp_path / "heldout.csv"
    f.write_text(HEADER + "41.0,not a list,m,Some new disease,\"['E_91', 'E_201']\",E_201\n")
    (row,) = read_patients(f, kb)
    assert (row.patient.age, row.patient.sex, row.patient.tokens) == (41, "M", ["E_91", "E_201"])
    assert (row.pathology, row.differential) == (None, None)
    with pytest.raises(InvalidInput, match="line 2: field 'diagnosis'"):
        read_patients(f, kb, require_labels=True)


def test_parses_values_and_reports_unknown_codes(kb) -> None:
    assert parse_finding("E_56_@_2.0", kb).token == "E_56_@_2"
    assert parse_finding("e_91", kb).token == "E_91"
    p = parse_patient("30", "female", ["E_91", "E_9999", "E_54_@_V_999", "E_201"], kb, symptom_names=["cough", "xyz"])
    assert p.tokens == ["E_91", "E_201"]  # "cough" maps to E_201, already present
    assert p.unrecognised == ["E_9999", "E_54_@_V_999", "xyz"]
    assert (p.age, p.sex) == (30, "F")


def test_empty_findings_and_bad_sex_are_invalid(kb) -> None:
    with pytest.raises(InvalidInput, match="empty") as exc:
        parse_patient(30, "M", [], kb)
    assert exc.value.field == "findings"
    with pytest.raises(InvalidInput, match="sex"):
        parse_patient(30, "X", ["E_91"], kb)


def test_bad_row_names_file_line_and_field(kb, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(HEADER + "30,,M,,\"['E_91']\",\nabc,,F,,\"['E_91']\",\n")
    with pytest.raises(InvalidInput) as exc:
        read_patients(f, kb)
    msg = str(exc.value)
    assert str(f) in msg and "line 3" in msg and "'age'" in msg and "'abc'" in msg
    f.write_text(HEADER + "30,,M,,\"['E_91'\",\n")
    with pytest.raises(InvalidInput, match=r"line 2: field 'features'"):
        read_patients(f, kb)


def test_graph_baseline_ranks_a_clear_case_first(kb) -> None:
    g = GraphBaseline(kb.links, kb.evidences)
    # a patient answering exactly a pathology's linked evidences gets it top-1, for every pathology
    scores = g.log_scores([set(kb.links[p]) for p in kb.pathologies])
    assert list(scores.argmax(axis=1)) == list(range(len(kb.pathologies)))
    assert g.explain("Pneumonia", ["E_91", "E_9999"])[0] == ["E_91"]


def test_graph_baseline_accepts_a_plain_mapping() -> None:
    g = GraphBaseline({"A": {"x": 1.0, "y": 1.0}, "B": {"z": 1.0}})
    p = g.predict_proba([{"x"}, {"z"}])
    assert p.argmax(axis=1).tolist() == [0, 1] and np.allclose(p.sum(axis=1), 1.0)


def test_tiny_model_diagnoses_with_evidence(tiny, kb, rows) -> None:
    diagnoser, _ = tiny
    row = rows[0]
    res = diagnoser.diagnose(row.patient.age, row.patient.sex, [*row.patient.tokens, "E_0000"])
    probs = [c.probability for c in res.ranked]
    assert len(res.ranked) == 49 and probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
    assert res.ranked[0].disease == "Pneumonia"
    assert res.unrecognised == ["E_0000"]
    top = res.ranked[0]
    linked = set(kb.links["Pneumonia"])
    assert top.supporting and all(s.evidence in linked for s in top.supporting)
    assert {a.evidence for a in top.absent} == linked - row.patient.evidences
    assert "E_204_@_V_10" not in [s.code for s in top.supporting]  # default answer ("no travel") is not support
    assert set(res.attention) == set(row.patient.tokens)
    with pytest.raises(InvalidInput):
        diagnoser.diagnose(40, "M", [])


def test_tiny_model_is_accurate_on_its_training_slice(tiny, kb, rows) -> None:
    diagnoser, _ = tiny
    probs = diagnoser.predict_proba([r.patient for r in rows[:400]])
    y = np.array([kb.index[r.pathology] for r in rows[:400]])
    top3 = (np.argsort(-probs, axis=1)[:, :3] == y[:, None]).any(axis=1).mean()
    assert top3 > 0.9


def test_cli_actions_do_not_clash() -> None:
    parser = build_parser()
    assert parser.parse_args(["diagnose", "--input", "a.csv"]).action == "run"
    assert parser.parse_args(["diagnose", "train"]).action == "train"
    assert parser.parse_args(["diagnose", "evaluate", "--json"]).action == "evaluate"
    new = parser.parse_args(["evaluate", "diagnosis", "--seeds", "4", "5", "--folds", "3"])
    assert (new._family, new._verb, new.seeds, new.folds) == ("diagnosis", "evaluate", [4, 5], 3)
    pred = parser.parse_args(["predict", "diagnosis", "--input", "a.csv", "--top", "3"])
    assert (pred._family, pred.input, pred.top, pred.run) == ("diagnosis", "a.csv", 3, None)


def test_old_train_spelling_runs_the_new_command_and_says_so_once(monkeypatch, capsys) -> None:
    import gnn.pipeline.cli as pcli

    seen = []
    monkeypatch.setattr(pcli, "_train", lambda name: lambda args: seen.append((name, args.seed, args.epochs)) or 0)
    monkeypatch.setattr(pcli, "_warned", set())
    assert main(["diagnose", "train", "--seed", "3", "--epochs", "2"]) == 0
    assert main(["diagnose", "train"]) == 0
    assert seen == [("diagnosis", 3, 2), ("diagnosis", 0, None)]
    assert capsys.readouterr().err.count("`medkg diagnose train` is now `medkg train diagnosis`") == 1


def test_the_deployed_run_carries_its_threshold_and_marks_the_differential(tiny, kb, rows) -> None:
    diagnoser, folder = tiny
    assert diagnoser.run.folder == str(folder) and diagnoser.threshold is None  # saved without a recipe
    diagnoser.threshold = 0.05
    res = diagnoser.diagnose(rows[0].patient.age, rows[0].patient.sex, rows[0].patient.tokens)
    assert res.threshold == 0.05 and res.ranked[0].probability >= 0.05


def test_cli_writes_one_ranked_line_per_row_in_order(tiny, kb, tmp_path: Path, capsys) -> None:
    diagnoser, folder = tiny
    lines = sample_path().read_text().splitlines()
    inp = tmp_path / "in.csv"
    inp.write_text("\n".join([lines[0], lines[5], lines[1], lines[9]]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["diagnose", "--input", str(inp), "--output", str(out), "--model-dir", str(folder)]) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    expected = read_patients(inp, kb)
    assert len(recs) == 3
    assert [r.pathology for r in expected] == ["Chronic rhinosinusitis", "Pneumonia", "Viral pharyngitis"]
    for rec, row in zip(recs, expected, strict=True):
        assert set(rec) == {"ranked"} and len(rec["ranked"]) == 49
        assert set(rec["ranked"][0]) == {"disease", "probability"}
        ps = [c["probability"] for c in rec["ranked"]]
        assert ps == sorted(ps, reverse=True) and 1.0 - 1e-6 < sum(ps) <= 1.0  # floored, never above 1
        assert {c["disease"] for c in rec["ranked"]} == set(kb.pathologies)
        best = diagnoser.diagnose(row.patient.age, row.patient.sex, row.patient.tokens).ranked[0]
        assert rec["ranked"][0]["disease"] == best.disease


def test_cli_malformed_rows_warn_and_stay_aligned(tiny, kb, tmp_path: Path, capsys) -> None:
    diagnoser, folder = tiny
    good = "30,,M,,\"['E_91', 'E_201']\",E_201"
    inp = tmp_path / "in.csv"
    inp.write_text(HEADER + "\n".join([
        good,
        "30,,Q,,\"['E_91', 'E_201']\",E_201",          # line 3: bad sex
        "abc,,F,,\"['E_91', 'E_9999']\",",              # line 4: bad age, an unknown code
        "30,,M,,\"['E_91', 'E_201'\",",                  # line 5: features not a list (codes salvaged)
        "30,,M,,,",                                      # line 6: no findings at all
        good,
    ]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["diagnose", "--input", str(inp), "--output", str(out), "--model-dir", str(folder)]) == 0
    err = capsys.readouterr().err
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 6  # one line per input row, in order
    assert f"{inp}: line 3: field 'sex'" in err and "(value 'Q')" in err
    assert f"{inp}: line 4: field 'age'" in err and "(value 'abc')" in err
    assert f"{inp}: line 5: field 'features'" in err and f"{inp}: line 6: field 'features'" in err
    assert "line 4: unrecognised findings ['E_9999']" in err and "4 malformed rows" in err
    assert set(recs[0]) == set(recs[5]) == {"ranked"}
    assert recs[1]["missing"] == ["sex"] and "line 3" in recs[1]["warnings"][0]
    assert recs[2]["missing"] == ["age"] and recs[2]["unrecognised"] == ["E_9999"]
    assert "read 2 code(s)" in recs[3]["warnings"][0] and "missing" not in recs[3]
    for rec in recs:
        ps = [c["probability"] for c in rec["ranked"]]
        assert len(ps) == 49 and ps == sorted(ps, reverse=True) and 1.0 - 1e-6 < sum(ps) <= 1.0
    # the salvaged row scores exactly like the well-formed one; a missing sex averages over M and F
    for i in (3, 5):  # (equal up to float noise of batching with padding)
        assert [c["disease"] for c in recs[i]["ranked"][:5]] == [c["disease"] for c in recs[0]["ranked"][:5]]
        assert [c["probability"] for c in recs[i]["ranked"]] == pytest.approx(
            [c["probability"] for c in recs[0]["ranked"]], abs=1e-6)
    p_m, p_f = (diagnoser.predict_proba([parse_patient(30, s, ["E_91", "E_201"], kb)])[0] for s in "MF")
    best = recs[1]["ranked"][0]
    assert best["probability"] == pytest.approx((p_m + p_f)[kb.index[best["disease"]]] / 2, abs=1e-6)


def test_cli_strict_stops_at_a_bad_row_with_a_one_line_error(tiny, tmp_path: Path, capsys) -> None:
    _, folder = tiny
    inp = tmp_path / "in.csv"
    inp.write_text(HEADER + "30,,Q,,\"['E_91']\",\n")
    assert main(["diagnose", "--input", str(inp), "--model-dir", str(folder), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "'sex'" in err and "'Q'" in err
