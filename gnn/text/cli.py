"""`medkg text ...`: classify a CSV, embed a text or the graph, find findings in a complaint. `medkg text
train|evaluate` are old spellings of `medkg train|evaluate text` (gnn/text/family.py), kept as aliases."""

from __future__ import annotations

import argparse
from pathlib import Path

from kg.cliutil import add_json_flag, emit, table


def _pipeline_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(json=args.json, threads=None, artifacts=None, seed=None, seeds=None, data=None,
                              zero_shot=None)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gnn.pipeline.cli import _evaluate, alias

    return alias(_evaluate("text"), "text evaluate", "evaluate text")(_pipeline_args(args))


def cmd_train(args: argparse.Namespace) -> int:
    from gnn.pipeline.cli import _train, alias

    return alias(_train("text"), "text train", "train text")(_pipeline_args(args))


def cmd_classify(args: argparse.Namespace) -> int:
    from gnn.text.classify_file import classify_file

    result = classify_file(args.input, args.output, progress=False)
    emit(result, args.json, lambda r: f"wrote {r['rows']} predictions to {r['output']}"
         + (f" ({r['empty_rows']} empty rows, see warnings)" if r["empty_rows"] else ""))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from gnn.text.encoder import get_encoder

    vec = get_encoder().encode([args.text])[0]
    result = {"text": args.text, "dim": int(vec.shape[0]), "norm": round(float(np.linalg.norm(vec)), 6),
              "first": [round(float(x), 6) for x in vec[: args.first]]}
    emit(result, args.json, lambda r: f"dim {r['dim']}  norm {r['norm']:.4f}\nfirst {len(r['first'])}: "
         + " ".join(f"{x:+.4f}" for x in r["first"]))
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    from gnn.text.findings import FindingMatcher, ddxplus_candidates, mesh_symptom_candidates

    cands = ddxplus_candidates() if args.source == "ddxplus" else mesh_symptom_candidates()
    found = [f.as_dict() for f in FindingMatcher(cands, threshold=args.threshold).match(args.text)]
    emit(found, args.json, lambda fs: table([(f["id"], f"{f['score']:.3f}", f["text"], f["matched"]) for f in fs],
                                            ("id", "score", "finding", "matched text")) if fs else "no findings")
    return 0


def _embed_graph_text(r: dict) -> str:
    rows = [(c["label"], c["index"], c["total"], c["embedded"], c["unchanged"], f"{c['seconds']:.1f}")
            for c in r["labels"]]
    return (table(rows, ("label", "vector index", "nodes", "embedded", "unchanged", "seconds"))
            + f"\n\nembedded {r['embedded']} nodes, {r['unchanged']} unchanged, in {r['seconds']:.1f} s")


def cmd_embed_graph(args: argparse.Namespace) -> int:
    from gnn.text.graph import embed_graph
    from kg.db import driver_session

    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    with driver_session() as driver:
        report = embed_graph(driver, labels, batch=args.batch, progress=True, force=args.all)
    emit(report, args.json, _embed_graph_text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to `medkg`."""
    p = sub.add_parser("text", help="text encoder and complaint classifier",
                       description="Sentence encoder (all-MiniLM-L6-v2, offline) and the Symptom2Disease "
                                   "complaint classifier.")
    tsub = p.add_subparsers(dest="text_command", metavar="ACTION", required=True)

    t = tsub.add_parser("train", help="old spelling of `medkg train text` (fit on all of Symptom2Disease)")
    t.add_argument("--no-eval", action="store_true", help="ignored (training no longer evaluates first)")
    add_json_flag(t)
    t.set_defaults(func=cmd_train)

    e = tsub.add_parser("evaluate", help="old spelling of `medkg evaluate text`")
    add_json_flag(e)
    e.set_defaults(func=cmd_evaluate)

    c = tsub.add_parser("classify", help="CSV with a `text` column → JSON lines {label, probability}")
    c.add_argument("--input", type=Path, required=True, help="CSV file with a `text` column")
    c.add_argument("--output", type=Path, required=True, help="JSON-lines file to write (one line per row)")
    add_json_flag(c)
    c.set_defaults(func=cmd_classify)

    m = tsub.add_parser("embed", help="encode one text and show its vector's first values and norm")
    m.add_argument("text")
    m.add_argument("--first", type=int, default=8, help="how many leading values to show")
    add_json_flag(m)
    m.set_defaults(func=cmd_embed)

    g = tsub.add_parser("embed-graph", help="vector index + text embedding per node label (incremental)",
                        description="Create the `<label>_text` vector index (384 dims, cosine) for each label with "
                                    "a `text:` list in the schema and embed every node that has no embedding or "
                                    "whose text changed since (text_hash). A second run embeds nothing.")
    g.add_argument("--labels", help="comma-separated labels (default: all with a `text:` list, e.g. Drug,Disease)")
    g.add_argument("--batch", type=int, default=256, help="nodes encoded and written per batch")
    g.add_argument("--all", action="store_true", help="re-embed every node, changed or not")
    add_json_flag(g)
    g.set_defaults(func=cmd_embed_graph)

    f = tsub.add_parser("findings", help="symptoms / DDXPlus evidences a free-text complaint mentions")
    f.add_argument("text")
    f.add_argument("--source", choices=["ddxplus", "mesh"], default="ddxplus")
    f.add_argument("--threshold", type=float, default=0.6)
    add_json_flag(f)
    f.set_defaults(func=cmd_findings)
