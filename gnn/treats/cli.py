"""`medkg train treats`, `medkg predict treats`, `medkg evaluate treats`, `medkg recommend` (torch imported lazily).

`train`, `predict` and `evaluate` are shared verbs: `verb_subparsers(sub, "train")` returns the verb's
sub-subparsers, creating the verb once, so another package adds `medkg train images` the same way without
clashing (argparse refuses a second `add_parser("train")`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kg.cliutil import add_json_flag, emit, table

VERB_HELP = {"train": "train a model (treats, ...)", "predict": "write a model's predictions (treats, ...)",
             "evaluate": "evaluate a model over several seeds (treats, ...)"}
METRIC_KEYS = ("auroc", "auprc", "auroc_full", "mrr", "hits@10")


def verb_subparsers(sub: argparse._SubParsersAction, verb: str) -> argparse._SubParsersAction:
    """The model-name subparsers of a shared verb (`medkg VERB MODEL`), created on first use."""
    if verb not in sub.choices:
        p = sub.add_parser(verb, help=VERB_HELP.get(verb, verb), description=f"{verb.capitalize()} a model by name.")
        inner = p.add_subparsers(dest=f"{verb}_model", metavar="MODEL", required=True)
        p.set_defaults(_verb_sub=inner)
        return inner
    return sub.choices[verb].get_default("_verb_sub")


def _metrics_table(test: dict) -> str:
    rows = [(name, *(f"{m[k]:.4f}" for k in METRIC_KEYS)) for name, m in test.items()]
    return table(rows, ("model", "AUROC", "AUPRC", "AUROC(all)", "MRR", "Hits@10"))


def _driver():
    from kg.db import make_driver

    return make_driver()


def cmd_train(args: argparse.Namespace) -> int:
    from gnn.treats.run import load_graph, names_of, train_run
    from gnn.treats.split import candidate_diseases, candidate_drugs
    from gnn.treats.train import TrainConfig

    drv = _driver()
    try:
        graph, het = load_graph(drv, progress=not args.json)
        names = names_of(drv, graph, candidate_drugs(graph), candidate_diseases(graph, het))
        cfg = TrainConfig(epochs=args.epochs, seed=args.seed, threads=args.threads)
        result = train_run(graph, het, cfg, names=names, distmult=not args.no_baseline, progress=not args.json)
        if args.writeback:
            from gnn.treats.artifacts import load_run
            from gnn.treats.writeback import write_predictions

            result["writeback"] = write_predictions(drv, load_run(result["folder"]), threshold=args.threshold)
    finally:
        drv.close()

    def human(r: dict) -> str:
        lines = [f"trained {r['model_run']} (seed {r['seed']}, best epoch {r['best_epoch']}, "
                 f"{r['seconds_train']} s training, {r['seconds']} s in all) -> {r['folder']}",
                 f"graph build {r['build_id']}; split {r['split']}", "test part:", _metrics_table(r["test"])]
        if "writeback" in r:
            w = r["writeback"]
            lines.append(f"writeback: deleted {w['deleted']} old PREDICTED_TREATS, wrote {w['written']} "
                         f"(calibrated probability >= {w['threshold']})")
        return "\n".join(lines)

    emit(result, args.json, human)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from gnn.treats.artifacts import load_run
    from gnn.treats.predict import write_predictions

    result = write_predictions(load_run(args.run), Path(args.output), progress=not args.json)
    emit(result, args.json, lambda r: (f"wrote {r['rows']} rows ({r['drugs']} drugs x {r['diseases']} diseases, "
                                       f"{r['known_excluded']} known TREATS pairs left out) to {r['output']} "
                                       f"(model {r['model_run']})"))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import time

    from gnn.treats.artifacts import runtime_info, treats_root
    from gnn.treats.evaluate import evaluate_seeds
    from gnn.treats.run import load_graph
    from gnn.treats.split import candidate_diseases, candidate_drugs
    from gnn.treats.train import TrainConfig

    drv = _driver()
    try:
        graph, het = load_graph(drv, progress=not args.json)
    finally:
        drv.close()
    cfg = TrainConfig(epochs=args.epochs, threads=args.threads)
    result = evaluate_seeds(graph, args.seeds, cfg, candidate_drugs(graph), candidate_diseases(graph, het),
                            progress=not args.json)
    result.update(build_id=graph.build_id, config=cfg.to_dict(), **runtime_info())
    out = treats_root() / f"evaluation-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    result["saved_to"] = str(out)

    def human(r: dict) -> str:
        s = r["summary"]
        rows = [(name, *(f"{s[name][k]['mean']:.4f} ± {s[name][k]['sd']:.4f}" for k in METRIC_KEYS)) for name in s]
        return (f"test part ({r['split']['test']} held-out TREATS per seed), seeds {r['seeds']}; mean ± sd\n"
                + table(rows, ("model", "AUROC", "AUPRC", "AUROC(all)", "MRR", "Hits@10"))
                + f"\nsaved to {r['saved_to']}")

    emit(result, args.json, human)
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from gnn.treats.artifacts import load_run
    from gnn.treats.recommend import Recommender, recommend

    rec = Recommender(load_run(args.run))
    drv = _driver()
    try:
        result = recommend(rec, drv, args.disease, patient_id=args.patient, top=args.top, safety=args.safety,
                           with_explanations=not args.no_explain)
    finally:
        drv.close()

    def human(r: dict) -> str:
        rows = []
        for it in r["recommendations"]:
            why = it["explanation"][0]["metapath"] if it["explanation"] else ""
            flag = ",".join(sorted({s["reason"] for s in it["safety"]}))
            rows.append((it["rank"], it["drug_id"], (it["name"] or "")[:30], f"{it['probability']:.4f}",
                         it["status"], flag, why))
        out = [f"drugs for {r['disease']} (model {r['model_run']}"
               + (f", patient {r['patient']}, safety={r['safety']})" if r["patient"] else ")"),
               table(rows, ("rank", "drug", "name", "probability", "status", "safety", "top explanation"))]
        for e in r["excluded"]:
            out.append(f"excluded {e['drug_id']} ({e['name']}): " + "; ".join(x["reason"] for x in e["reasons"]))
        return "\n".join(out)

    emit(result, args.json, human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg train|predict|evaluate treats` and `medkg recommend`."""
    run_help = "run folder or name under $MEDKG_ARTIFACTS/treats (default: the latest)"
    t = verb_subparsers(sub, "train").add_parser(
        "treats", help="train the Drug-TREATS-Disease GNN", description="Train the heterogeneous GAT link "
        "predictor on the graph in Neo4j; save it under artifacts/treats/<run>/ with its metrics.")
    t.add_argument("--epochs", type=int, default=150, help="maximum epochs (early stopping on validation MRR)")
    t.add_argument("--seed", type=int, default=0, help="random seed (split and training)")
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    t.add_argument("--no-baseline", action="store_true", help="skip the DistMult baseline")
    t.add_argument("--writeback", action=argparse.BooleanOptionalAction, default=True,
                   help="write PREDICTED_TREATS to Neo4j (replaces earlier runs'; default on)")
    t.add_argument("--threshold", type=float, default=0.01,
                   help="calibrated probability for writeback (default 0.01; the base rate is ~4e-4)")
    add_json_flag(t)
    t.set_defaults(func=cmd_train)

    p = verb_subparsers(sub, "predict").add_parser(
        "treats", help="score every unknown candidate drug-disease pair",
        description="Write drug_id<TAB>disease_id<TAB>score for every candidate pair that is not a known TREATS.")
    p.add_argument("--output", required=True, help="TSV file to write")
    p.add_argument("--run", help=run_help)
    add_json_flag(p)
    p.set_defaults(func=cmd_predict)

    e = verb_subparsers(sub, "evaluate").add_parser(
        "treats", help="GNN vs degree prior vs DistMult over several seeds",
        description="Train and test on several seeded splits; mean ± sd of AUROC, AUPRC, MRR, Hits@10.")
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    e.add_argument("--epochs", type=int, default=150, help="maximum epochs per seed")
    e.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    add_json_flag(e)
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("recommend", help="rank drugs for a disease (optionally safe for a patient)",
                       description="Ranked drugs for a disease with calibrated probability, known/predicted, "
                       "supporting paths and, for a patient, safety exclusions or flags.")
    r.add_argument("--disease", required=True, help="Disease id, e.g. DOID:9352")
    r.add_argument("--patient", help="Patient id (P-...) for safety checks")
    r.add_argument("--top", type=int, default=10, help="how many drugs (default 10)")
    r.add_argument("--safety", choices=["exclude", "flag"], default="exclude", help="unsafe drugs: drop or flag")
    r.add_argument("--no-explain", action="store_true", help="skip the explanation paths")
    r.add_argument("--run", help=run_help)
    add_json_flag(r)
    r.set_defaults(func=cmd_recommend)
