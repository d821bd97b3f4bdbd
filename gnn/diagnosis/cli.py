"""`medkg diagnose`: score patients from a CSV to JSONL, `train` the default model, `evaluate` it by CV."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from gnn.artifacts_io import write_json
from kg.cliutil import add_json_flag, emit, table

ACTIONS = ("run", "train", "evaluate")


def _floor(p: float, digits: int = 8) -> float:
    """Round down so the listed probabilities never sum above 1."""
    scale = 10**digits
    return math.floor(p * scale) / scale


def _model_dir(args: argparse.Namespace) -> Path:
    from gnn.diagnosis.service import artifacts_dir

    return Path(args.model_dir) if args.model_dir else artifacts_dir()


def _train(args: argparse.Namespace, notice: bool = False):
    from gnn.diagnosis.knowledge import default_knowledge
    from gnn.diagnosis.model import ModelConfig
    from gnn.diagnosis.patients import read_patients, sample_path
    from gnn.diagnosis.service import Diagnoser

    kb = default_knowledge()
    path = Path(args.train_data) if args.train_data else sample_path()
    rows = read_patients(path, kb, require_labels=True)
    cfg = ModelConfig(**({"epochs": args.epochs} if args.epochs else {}), seed=args.seed)
    if notice:
        print(f"notice: no trained diagnosis model in {_model_dir(args)}; training one on {path} "
              "(about a minute; `medkg diagnose train` does this ahead of time)", file=sys.stderr)
    import torch

    torch.set_num_threads(1)
    diagnoser = Diagnoser.train(rows, kb, cfg, progress=True)
    diagnoser.metrics["train_data"] = str(path)
    diagnoser.save(_model_dir(args))
    return diagnoser


def score_rows(diagnoser, rows):
    """Probabilities [N, P] per row; a row missing age or sex averages over the values it could have."""
    import numpy as np

    from gnn.diagnosis.patients import variants

    groups = [variants(r) for r in rows]
    flat = [p for g in groups for p in g]
    probs = diagnoser.predict_proba(flat)
    out, i = [], 0
    for g in groups:
        out.append(probs[i : i + len(g)].mean(axis=0))
        i += len(g)
    return np.stack(out) if out else probs


def cmd_run(args: argparse.Namespace) -> int:
    from gnn.diagnosis.knowledge import default_knowledge
    from gnn.diagnosis.patients import read_patients
    from gnn.diagnosis.service import Diagnoser
    from kg.errors import InvalidInput

    if not args.input:
        raise InvalidInput("medkg diagnose: --input FILE.csv is required (or use `train` / `evaluate`)", "input")
    kb = default_knowledge()
    rows = read_patients(Path(args.input), kb, lenient=not args.strict)
    diagnoser = Diagnoser.load(_model_dir(args)) if Diagnoser.exists(_model_dir(args)) else _train(args, True)
    probs = score_rows(diagnoser, rows)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    n_unrec = n_bad = 0
    try:
        for row, p in zip(rows, probs, strict=True):
            if args.explain:
                cands = diagnoser.explain(row.patient, p, args.top)
                rec = {"ranked": [{"disease": c.disease, "probability": _floor(c.probability),
                                   "supporting": [s.code for s in c.supporting],
                                   "absent": [a.evidence for a in c.absent]} for c in cands],
                       "unrecognised": row.patient.unrecognised}
            else:
                order = p.argsort(kind="stable")[::-1][: args.top]
                rec = {"ranked": [{"disease": kb.pathologies[j], "probability": _floor(float(p[j]))} for j in order]}
                if row.patient.unrecognised:
                    rec["unrecognised"] = row.patient.unrecognised
            for problem in row.problems:
                print(f"warning: {problem}", file=sys.stderr)
            if row.problems:
                n_bad += 1
                rec["warnings"] = row.problems
                if row.missing:
                    rec["missing"] = list(row.missing)
            if row.patient.unrecognised:
                n_unrec += 1
                print(f"warning: {args.input}: line {row.line}: unrecognised findings {row.patient.unrecognised}",
                      file=sys.stderr)
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    notes = [f"{n} {what}" for n, what in ((n_bad, "malformed rows scored best-effort"),
                                            (n_unrec, "with unrecognised findings")) if n]
    if args.output or notes:
        print(f"scored {len(rows)} patients" + (f" -> {args.output}" if args.output else "")
              + (f" ({'; '.join(notes)})" if notes else ""), file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    d = _train(args)
    shown = {k: v for k, v in d.metrics.items() if k not in ("losses", "evaluation")}
    info = {"model_dir": str(_model_dir(args)), **shown}
    emit(info, args.json)
    return 0


def _eval_text(res: dict) -> str:
    rows = []
    for m, s in res["summary"].items():
        rows.append((m, *(f"{s[k]['mean']:.3f} ± {s[k]['sd']:.3f}" for k in
                          ("top1_all", "top3_all", "top5_all", "top1_half", "top3_half", "top5_half", "f1_all"))))
    head = ("model", "top1 all", "top3 all", "top5 all", "top1 half", "top3 half", "top5 half", "diff F1")
    return f"{res['split']}\n{table(rows, head)}\n({res['seconds']} s; saved to {res['saved_to']})"


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gnn.diagnosis.evaluate import cross_validate
    from gnn.diagnosis.knowledge import default_knowledge
    from gnn.diagnosis.model import ModelConfig
    from gnn.diagnosis.patients import read_patients, sample_path

    kb = default_knowledge()
    path = Path(args.train_data or args.input or sample_path())
    rows = read_patients(path, kb, require_labels=True)
    cfg = ModelConfig(**({"epochs": args.epochs} if args.epochs else {}))
    res = cross_validate(rows, kb, cfg, seeds=tuple(args.seeds), folds=args.folds, progress=True)
    res["data"] = str(path)
    folder = _model_dir(args)
    folder.mkdir(parents=True, exist_ok=True)
    res["saved_to"] = str(folder / "evaluation.json")
    write_json(folder / "evaluation.json", res, indent=2)
    if args.json:
        res = {k: v for k, v in res.items() if k != "splits"}
    emit(res, args.json, _eval_text)
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    return {"run": cmd_run, "train": cmd_train, "evaluate": cmd_evaluate}[args.action](args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg diagnose [run|train|evaluate]`."""
    p = sub.add_parser(
        "diagnose", help="differential diagnosis from DDXPlus findings (score, train, evaluate)",
        description="Score patients (`medkg diagnose --input P.csv --output P.jsonl`), train the default model "
                    "(`medkg diagnose train`) or cross-validate it beside the baselines (`medkg diagnose evaluate`).")
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run", help="run (default), train or evaluate")
    p.add_argument("--input", help="CSV with columns age, sex, features (patients_sample.csv layout)")
    p.add_argument("--output", help="JSONL output, one line per input row (default: stdout)")
    p.add_argument("--top", type=int, default=49, help="candidates per patient (default all 49)")
    p.add_argument("--explain", action="store_true", help="add supporting/absent findings and unrecognised codes")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first malformed row (default: warn, score it best-effort, keep rows aligned)")
    p.add_argument("--model-dir", help="model folder (default $MEDKG_ARTIFACTS/diagnosis)")
    p.add_argument("--train-data", help="labelled CSV for train/evaluate (default DDXPlus patients_sample.csv)")
    p.add_argument("--epochs", type=int, help="training epochs (default 40)")
    p.add_argument("--seed", type=int, default=0, help="training seed (train)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="CV seeds (evaluate)")
    p.add_argument("--folds", type=int, default=5, help="CV folds (evaluate)")
    add_json_flag(p)
    p.set_defaults(func=cmd_diagnose)
