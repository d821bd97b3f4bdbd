"""`medkg ask "QUESTION" [--json]` and `medkg ask --input QUESTIONS.csv --output ANSWERS.jsonl`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kg.cliutil import add_json_flag, emit
from kg.errors import InvalidInput


def _readable(res: dict[str, Any]) -> str:
    interp = res.get("interpretation") or {}
    lines = []
    if res["abstained"]:
        lines.append(f"Not answered ({res['reason']}): {res.get('message', '')}")
        if res.get("candidates"):
            lines.append("Did you mean: " + ", ".join(f"{c['name']} ({c['id']})" for c in res["candidates"]))
        return "\n".join(lines)
    ents = ", ".join(f"{e['name']} ({e['label']} {e['id']}, {e['confidence']:.2f} {e['method']})"
                     for e in interp.get("entities", []))
    lines.append(f"intent: {interp['intent']} ({interp['probability']:.2f})   entities: {ents}")
    lines.append(res["summary"])
    for a in res["answers"][:20]:
        facts = a.get("facts", [])
        srcs = sorted({s for f in facts for s in f.get("sources", [])})
        extra = ""
        sev = sorted({f["severity"] for f in facts if f.get("severity")})
        if sev:
            extra = f" [{', '.join(sev)}]"
        lines.append(f"  {a['name']} ({a['label']} {a['id']}){extra}  sources: {', '.join(srcs) or '-'}")
    if res["count"] > 20:
        lines.append(f"  ... {res['count'] - 20} more (--json for all)")
    if res.get("cypher"):
        lines.append("Cypher (Neo4j Browser):\n" + res["cypher"]["browser"])
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from api.services.qa import QAService
    from api.services.state import build_services
    from gnn.qa.batch import answer_file
    from kg.db import make_driver
    from kg.settings import get_settings

    if bool(args.input) != bool(args.output):
        raise InvalidInput("--input and --output go together", "input")
    if not args.input and not args.question:
        raise InvalidInput("give a QUESTION, or --input QUESTIONS.csv --output ANSWERS.jsonl", "question")
    settings = get_settings()
    driver = make_driver(settings)
    try:
        svc = QAService(settings, driver, build_services(settings, driver))
        if args.input:
            summary = answer_file(svc.ask, Path(args.input), Path(args.output), progress=not args.json)
            emit(summary, args.json, lambda s: "\n".join(
                [f"{s['rows']} rows -> {s['output']}: {s['answered']} answered, {s['abstained']} abstained, "
                 f"{s['malformed']} malformed", *s["errors"]]))
            return 0
        res = svc.ask(args.question)
        emit(res, args.json, _readable)
        return 0
    finally:
        driver.close()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="answer a medical question from the graph (or a CSV of questions)",
                       description="Answer a question in plain words from the graph, with evidence and the Cypher, "
                                   "or abstain. Needs a trained model: `medkg train qa`.")
    p.add_argument("question", nargs="?", help="the question")
    p.add_argument("--input", help="CSV with header id,question")
    p.add_argument("--output", help="JSONL, one object per input row, in order")
    add_json_flag(p)
    p.set_defaults(func=cmd_ask)



