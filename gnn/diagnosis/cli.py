"""`medkg diagnose --input P.csv`: score patients to JSONL. `medkg diagnose train|evaluate` are old spellings of
`medkg train|evaluate diagnosis` (gnn/diagnosis/family.py), kept as aliases."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from kg.cliutil import add_json_flag

ACTIONS = ("run", "train", "evaluate")


def _floor(p: float, digits: int = 8) -> float:
    """Round down so the listed probabilities never sum above 1."""
    scale = 10**digits
    return math.floor(p * scale) / scale


def _family():
    from gnn.pipeline.registry import get_family

    return get_family("diagnosis")


def _load_or_train(args: argparse.Namespace):
    """The run named by --model-dir (a run folder or name), else the latest; with no run at all, train one."""
    fam = _family()
    if args.model_dir or fam.store().latest_name():
        return fam.load(args.model_dir)
    print(f"notice: no trained diagnosis model in {fam.store().root}; training one (a few minutes; "
          "`medkg train diagnosis` does this ahead of time)", file=sys.stderr)
    man = fam.train(fam.config_type(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}),
                                    **({"train_data": args.train_data} if args.train_data else {})))
    return fam.load(man.folder)


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
    from kg.errors import InvalidInput

    if not args.input:
        raise InvalidInput("medkg diagnose: --input FILE.csv is required (or use `medkg train diagnosis` / "
                           "`medkg evaluate diagnosis`)", "input")
    score_file(_load_or_train(args), Path(args.input), Path(args.output) if args.output else None,
               top=args.top, explain=args.explain, strict=args.strict)
    return 0


def score_file(diagnoser, input_path: Path, output: Path | None, *, top: int = 49, explain: bool = False,
               strict: bool = False) -> dict:
    """Score a patient CSV to JSONL (stdout without `output`), one line per row in order; warnings on stderr."""
    from gnn.diagnosis.patients import read_patients

    kb = diagnoser.kb
    rows = read_patients(input_path, kb, lenient=not strict)
    probs = score_rows(diagnoser, rows)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    n_unrec = n_bad = 0
    try:
        for row, p in zip(rows, probs, strict=True):
            if explain:
                cands = diagnoser.explain(row.patient, p, top)
                rec = {"ranked": [{"disease": c.disease, "probability": _floor(c.probability),
                                   "supporting": [s.code for s in c.supporting],
                                   "absent": [a.evidence for a in c.absent]} for c in cands],
                       "unrecognised": row.patient.unrecognised}
            else:
                order = p.argsort(kind="stable")[::-1][:top]
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
                print(f"warning: {input_path}: line {row.line}: unrecognised findings {row.patient.unrecognised}",
                      file=sys.stderr)
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    notes = [f"{n} {what}" for n, what in ((n_bad, "malformed rows scored best-effort"),
                                            (n_unrec, "with unrecognised findings")) if n]
    if output or notes:
        print(f"scored {len(rows)} patients" + (f" -> {output}" if output else "")
              + (f" ({'; '.join(notes)})" if notes else ""), file=sys.stderr)
    run = getattr(diagnoser, "run", None)
    return {"input": str(input_path), "output": str(output) if output else None, "rows": len(rows),
            "malformed_rows": n_bad, "rows_with_unrecognised": n_unrec,
            "model_run": run.model_run if run is not None else None}


def _pipeline_args(args: argparse.Namespace, verb: str) -> argparse.Namespace:
    extra = {"seed": args.seed} if verb == "train" else {"seeds": args.seeds, "folds": args.folds}
    return argparse.Namespace(json=args.json, threads=None, artifacts=None, epochs=args.epochs,
                              train_data=args.train_data or (args.input if verb == "evaluate" else None),
                              inner_folds=None, **extra)


def cmd_train(args: argparse.Namespace) -> int:
    from gnn.pipeline.cli import _train, alias

    return alias(_train("diagnosis"), "diagnose train", "train diagnosis")(_pipeline_args(args, "train"))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gnn.pipeline.cli import _evaluate, alias

    return alias(_evaluate("diagnosis"), "diagnose evaluate", "evaluate diagnosis")(_pipeline_args(args, "evaluate"))


def cmd_diagnose(args: argparse.Namespace) -> int:
    return {"run": cmd_run, "train": cmd_train, "evaluate": cmd_evaluate}[args.action](args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg diagnose [run|train|evaluate]`."""
    p = sub.add_parser(
        "diagnose", help="differential diagnosis from DDXPlus findings (score, train, evaluate)",
        description="Score patients (`medkg diagnose --input P.csv --output P.jsonl`). `train` and `evaluate` are "
                    "old spellings of `medkg train diagnosis` and `medkg evaluate diagnosis`.")
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run", help="run (default), train or evaluate")
    p.add_argument("--input", help="CSV with columns age, sex, features (patients_sample.csv layout)")
    p.add_argument("--output", help="JSONL output, one line per input row (default: stdout)")
    p.add_argument("--top", type=int, default=49, help="candidates per patient (default all 49)")
    p.add_argument("--explain", action="store_true", help="add supporting/absent findings and unrecognised codes")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first malformed row (default: warn, score it best-effort, keep rows aligned)")
    p.add_argument("--model-dir", help="model run folder or run name (default: the latest run under "
                                       "$MEDKG_ARTIFACTS/diagnosis)")
    p.add_argument("--train-data", help="labelled CSV for train/evaluate (default DDXPlus patients_sample.csv)")
    p.add_argument("--epochs", type=int, help="training epochs (default 40)")
    p.add_argument("--seed", type=int, default=0, help="training seed (train)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="CV seeds (evaluate; default 0 1 2)")
    p.add_argument("--folds", type=int, default=None, help="CV folds (evaluate; default 3)")
    add_json_flag(p)
    p.set_defaults(func=cmd_diagnose)
