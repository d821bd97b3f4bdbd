"""`medkg recommend` (torch imported lazily). `medkg train|evaluate|predict treats` come from the model pipeline
(gnn.pipeline.cli, family `gnn.treats.family:TreatsFamily`)."""

from __future__ import annotations

import argparse

from gnn.pipeline.cli import verb_subparsers  # noqa: F401  (kept importable from here for older callers)
from kg.cliutil import add_json_flag, emit, table


def _driver():
    from kg.db import make_driver

    return make_driver()


def cmd_recommend(args: argparse.Namespace) -> int:
    from gnn.pipeline.registry import get_family
    from gnn.treats.recommend import Recommender, recommend

    rec = Recommender(get_family("treats").load(args.run))
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
        for c in r.get("contraindicated", []):
            out.append(f"contraindicated (never recommended) {c['drug_id']} ({c['name']}): NOT_INDICATED_FOR "
                       f"{r['disease']}, sources {', '.join(c.get('sources') or []) or '-'}")
        return "\n".join(out)

    emit(result, args.json, human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg recommend`."""
    run_help = "run folder or name under $MEDKG_ARTIFACTS/treats (default: the latest)"
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
