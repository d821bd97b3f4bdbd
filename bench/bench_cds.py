"""CDS Hooks latency: `POST /cds-services/medkg-order-sign` for a five-drug order against a ten-drug medication
list (with allergies and conditions in the prefetch) vs the plain `POST /interactions/check` of the same 15
medications, over loopback HTTP, in the same run.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_cds.py [--clients 1,10] [--requests 300] [--repeats 3] [--json]
Needs the built graph (NEO4J_URI / NEO4J_PASSWORD). The API runs as `medkg serve` (one worker) in a subprocess
with a throwaway clinician key and no practical rate limit; the CDS call includes everything a real call does
(JSON parsing, FHIR element validation, RxNorm/name resolution, the check, allergy/condition facts, cards, the
audit-log entry with its fsync). The baseline request lists the same 15 medications by the texts the CDS
service resolves them from. Prints medians over repeats of p50/p99 and throughput, errors, and the ratio
CDS / plain check (p50 and p99). Goal: CDS p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from api.security import KeyStore
from bench.bench_interactions import _free_port, _percentile, _start_api, load
from tests.api.fhir_builders import allergy, condition, hook_request, medication_request

# ten current medications as Synthea writes them (RxNorm product codes the graph maps to DrugBank ingredients)
MEDICATIONS = [("314076", "lisinopril 10 MG Oral Tablet"), ("309362", "Clopidogrel 75 MG Oral Tablet"),
               ("312961", "Simvastatin 20 MG Oral Tablet"),
               ("866412", "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet"),
               ("308136", "amLODIPine 2.5 MG Oral Tablet"), ("310798", "Hydrochlorothiazide 25 MG Oral Tablet"),
               ("849574", "Naproxen sodium 220 MG Oral Tablet"), ("243670", "aspirin 81 MG Oral Tablet"),
               ("313988", "Furosemide 40 MG Oral Tablet"), ("197591", "Diazepam 5 MG Oral Tablet")]
# a five-drug order given by display text only (resolved through the drug lookup)
ORDER = ["Warfarin 5 MG Oral Tablet", "Clarithromycin 500 MG Oral Tablet", "Digoxin 0.25 MG Oral Tablet",
         "Amiodarone 200 MG Oral Tablet", "Fluoxetine 20 MG Oral Capsule"]


def cds_body() -> dict:
    drafts = [medication_request(f"d{i}", "bench", None, text) for i, text in enumerate(ORDER)]
    meds = [medication_request(f"m{i}", "bench", code, text, "active") for i, (code, text) in enumerate(MEDICATIONS)]
    return hook_request("order-sign", "bench-patient", drafts, meds,
                        allergies=[allergy("a1", "bench", "7984", "Penicillin V")],
                        conditions=[condition("c1", "bench", "195967001", "Asthma"),
                                    condition("c2", "bench", "44054006", "Diabetes mellitus type 2 (disorder)")])


def check_body() -> dict:
    return {"drugs": ORDER + [f"rxnorm:{code}" for code, _ in MEDICATIONS]}


def _request(port: int, headers: dict, path: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
            f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def in_process(n: int) -> dict:
    """Per-call wall and CPU (thread) time of the CDS handling and of the plain check inside one process, no HTTP:
    CPU time is what a call costs whatever else the machine is doing."""
    from api.services.cds import CdsService, parse_json
    from api.services.state import build_services
    from kg.db import make_driver
    from kg.settings import get_settings

    settings = get_settings()
    driver = make_driver(settings)
    try:
        services = build_services(settings, driver)
        service = CdsService(services.interactions)
        raw, drugs = json.dumps(cds_body()).encode(), check_body()["drugs"]

        def cds() -> None:
            service.cards(service.parse("medkg-order-sign", parse_json(raw)))

        def check() -> None:
            services.interactions.check_in_memory(drugs) or services.interactions.check(drugs)

        for _ in range(20):  # loads the index, the interaction store, the facts and the fuzzy matcher
            cds()
            check()
        out = {}
        for name, fn in (("check", check), ("cds", cds)):
            wall, cpu = [], []
            for _ in range(n):
                t0, c0 = time.perf_counter(), time.thread_time()
                fn()
                cpu.append((time.thread_time() - c0) * 1000)
                wall.append((time.perf_counter() - t0) * 1000)
            out[name] = {"wall_p50_ms": round(statistics.median(wall), 2),
                         "wall_p99_ms": round(_percentile(wall, 0.99), 2),
                         "cpu_p50_ms": round(statistics.median(cpu), 2), "cpu_p99_ms": round(_percentile(cpu, 0.99), 2)}
        out["ratio_cpu_p50"] = round(out["cds"]["cpu_p50_ms"] / out["check"]["cpu_p50_ms"], 2)
        return out
    finally:
        driver.close()


def _wait_ready(url: str, headers: dict, proc, timeout: float = 240) -> dict:
    deadline = time.time() + timeout
    ok = 0
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with code {proc.returncode}")
        try:
            health = httpx.get(f"{url}/health", timeout=30).json()
            resp = httpx.post(f"{url}/cds-services/medkg-order-sign", json=cds_body(), headers=headers, timeout=60)
            ok = ok + 1 if resp.status_code == 200 and health.get("interaction_store") else 0
            if ok >= 4:
                return {"cards": resp.json()["cards"], "store": health["interaction_store"]}
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("the API did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10")
    parser.add_argument("--requests", type=int, default=300, help="requests per level and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--in-process", type=int, default=500, metavar="N",
                        help="also time N calls inside this process (wall and CPU time; 0 = skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    local = in_process(args.in_process) if args.in_process else None
    levels = [int(c) for c in args.clients.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="medkg-bench-cds-"))
    keys = tmp / "api-keys.json"
    _, secret = KeyStore(keys).create("bench", "clinician")
    headers = {"X-API-Key": secret}
    env = {**os.environ, "MEDKG_API_KEYS": str(keys), "MEDKG_AUDIT_LOG": str(tmp / "audit.log"),
           "MEDKG_RATE_LIMIT": "1000000000", "MEDKG_RATE_BURST": "1000000000"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_api(port, 1, env)
    try:
        ready = _wait_ready(url, headers, proc)
        requests = {"cds": _request(port, headers, "/cds-services/medkg-order-sign", cds_body()),
                    "check": _request(port, headers, "/interactions/check", check_body())}
        for _ in range(30):  # warm-up of both paths
            httpx.post(f"{url}/interactions/check", json=check_body(), headers=headers, timeout=30)
            httpx.post(f"{url}/cds-services/medkg-order-sign", json=cds_body(), headers=headers, timeout=30)
        runs = {c: {"cds": [], "check": []} for c in levels}
        for _ in range(args.repeats):
            for clients in levels:
                for name in ("check", "cds"):
                    runs[clients][name].append(asyncio.run(load(port, [requests[name]], clients, args.requests,
                                                                  args.max_seconds)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    def med(items: list[dict], key: str) -> float:
        return round(statistics.median(i[key] for i in items), 2)

    report = {"order": ORDER, "medications": [t for _, t in MEDICATIONS], "cards": len(ready["cards"]),
              "indicators": {k: sum(c["indicator"] == k for c in ready["cards"]) for k in ("critical", "warning",
                                                                                           "info")},
              "repeats": args.repeats, "requests": args.requests, "cpus": os.cpu_count(),
              "load_avg_1m": round(os.getloadavg()[0], 2), "in_process": local, "levels": []}
    for clients in levels:
        cds, check = runs[clients]["cds"], runs[clients]["check"]
        row = {"clients": clients, "cds": {k: med(cds, k) for k in ("p50_ms", "p99_ms", "throughput_rps")},
               "check": {k: med(check, k) for k in ("p50_ms", "p99_ms", "throughput_rps")},
               "errors": sum(r["errors"] for r in cds + check), "requests": sum(r["requests"] for r in cds + check)}
        row["ratio_p50"] = round(row["cds"]["p50_ms"] / row["check"]["p50_ms"], 2)
        row["ratio_p99"] = round(row["cds"]["p99_ms"] / row["check"]["p99_ms"], 2)
        report["levels"].append(row)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"CDS order-sign: {len(ORDER)}-drug order, {len(MEDICATIONS)}-drug medication list, 1 allergy, 2 conditions "
          f"-> {report['cards']} cards {report['indicators']}")
    print(f"baseline: POST /interactions/check of the same 15 medications; one uvicorn worker; medians of "
          f"{args.repeats} repeats; {os.cpu_count()} CPUs, load avg {report['load_avg_1m']}")
    print(f"{'clients':>7} | {'CDS p50':>8} {'p99':>8} {'req/s':>7} | {'check p50':>9} {'p99':>8} {'req/s':>7} | "
          f"{'ratio p50':>9} {'p99':>6} | errors")
    for row in report["levels"]:
        a, b = row["cds"], row["check"]
        print(f"{row['clients']:>7} | {a['p50_ms']:>8.2f} {a['p99_ms']:>8.2f} {a['throughput_rps']:>7.1f} | "
              f"{b['p50_ms']:>9.2f} {b['p99_ms']:>8.2f} {b['throughput_rps']:>7.1f} | "
              f"{row['ratio_p50']:>9.2f} {row['ratio_p99']:>6.2f} | {row['errors']}/{row['requests']}")
    if local:
        c, k = local["cds"], local["check"]
        print(f"in process ({args.in_process} calls, no HTTP): CDS wall p50/p99 {c['wall_p50_ms']}/"
              f"{c['wall_p99_ms']} ms, CPU p50/p99 {c['cpu_p50_ms']}/{c['cpu_p99_ms']} ms; "
              f"check wall {k['wall_p50_ms']}/{k['wall_p99_ms']} ms, "
              f"CPU {k['cpu_p50_ms']}/{k['cpu_p99_ms']} ms; CPU ratio p50 {local['ratio_cpu_p50']}")
    goal = max(r["cds"]["p99_ms"] for r in report["levels"])
    print(f"goal p99 < 100 ms: {'met' if goal < 100 else 'NOT met'} (worst level p99 {goal:.1f} ms)")


if __name__ == "__main__":
    main()
