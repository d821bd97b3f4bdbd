"""Benchmark of `POST /ask`'s work: question -> intent + entities -> catalogue query -> answer, through the same
QAService the API uses (one process, warm), against the baseline of running the same catalogue Cypher directly
with the already-known parameters, measured in the same run, interleaved.

    NEO4J_URI=... NEO4J_PASSWORD=... .venv/bin/python bench/bench_ask.py [--rounds 5] [--repeat 20] [--json]

Needs a trained qa model (`medkg train qa`). Prints medians and p99 in ms and the ratio ask / direct query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

QUESTIONS = [
    "What are the side effects of aspirin?", "What are the targets of Coumadin?", "side effects of asprin",
    "Which drugs treat type 2 diabetes mellitus?", "What drugs treat heart attack?",
    "Do warfarin and aspirin interact?", "List the major interactions of simvastatin",
    "Which genes are associated with Alzheimer's disease?", "symptoms of asthma",
    "Which diseases present with fever and headache?", "What class of drug is metformin?",
    "Which drugs are Calcium Channel Antagonists?", "Where does multiple sclerosis localise in the body?",
    "diseases similar to psoriasis", "Why might metformin help type 2 diabetes mellitus?",
    "Which drugs cause nausea?", "What's the weather like today?", "How much ibuprofen should I take?",
    "What are the side effects of zorblaxin?", "what drugs relieve the symptoms of rheumatoid arthritis",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10, help="passes over the question list per round")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from api.services.db import run_read
    from api.services.qa import QAService
    from api.services.state import build_services
    from kg.db import make_driver
    from kg.settings import get_settings

    settings = get_settings()
    driver = make_driver(settings)
    services = build_services(settings, driver)
    svc = QAService(settings, driver, services)
    t = time.perf_counter()
    svc.ask(QUESTIONS[0])
    cold = time.perf_counter() - t
    for q in QUESTIONS:  # warm every path (fuzzy index, vector index, interaction store)
        svc.ask(q)
    plans = {q: svc.ask(q).get("cypher") for q in QUESTIONS}
    rounds = []
    for _ in range(args.rounds):
        ask_t, direct_t = [], []
        for _ in range(args.repeat):
            for q in QUESTIONS:
                t = time.perf_counter()
                svc.ask(q)
                ask_t.append(time.perf_counter() - t)
                plan = plans[q]
                if plan is not None:
                    t = time.perf_counter()
                    run_read(driver, services.database, plan["query"], plan["params"])
                    direct_t.append(time.perf_counter() - t)
        rounds.append({"ask_p50": 1000 * statistics.median(ask_t), "ask_p99": float(np.percentile(ask_t, 99) * 1000),
                       "direct_p50": 1000 * statistics.median(direct_t),
                       "direct_p99": float(np.percentile(direct_t, 99) * 1000), "requests": len(ask_t)})
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    out = {"questions": len(QUESTIONS), "rounds": args.rounds, "cold_first_question_s": round(cold, 2),
           **{k: round(v, 2) for k, v in med.items()},
           "ratio_p50": round(med["ask_p50"] / med["direct_p50"], 2),
           "ratio_p99": round(med["ask_p99"] / med["direct_p99"], 2), "goal_p99_ms": 100,
           "goal_met": med["ask_p99"] < 100}
    driver.close()
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"ask (intent + linking + catalogue query), {len(QUESTIONS)} questions x {args.repeat} x {args.rounds} "
          f"rounds (medians over rounds); cold first question {out['cold_first_question_s']} s")
    print(f"  ask     p50 {out['ask_p50']:.2f} ms  p99 {out['ask_p99']:.2f} ms")
    print(f"  direct  p50 {out['direct_p50']:.2f} ms  p99 {out['direct_p99']:.2f} ms  (the same catalogue Cypher)")
    print(f"  ratio   p50 {out['ratio_p50']}  p99 {out['ratio_p99']}   goal p99 < 100 ms: "
          f"{'met' if out['goal_met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
