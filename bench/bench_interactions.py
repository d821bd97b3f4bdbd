"""Interaction-check latency: `POST /interactions/check` (10 drugs) over loopback HTTP vs one direct driver query.

Run: .venv/bin/python bench/bench_interactions.py [--clients 1,10,50] [--requests 300] [--repeats 3]
                                                  [--workers 1] [--max-seconds 20] [--json]
Needs the built graph (NEO4J_URI / NEO4J_PASSWORD). The API runs in a uvicorn subprocess on a free
loopback port with a throwaway researcher key and no practical rate limit. For each concurrency level,
`--requests` requests (bounded also by `--max-seconds`) are sent by that many asyncio clients (httpx);
the baseline is the API's own all-pairs Cypher query (CHECK_QUERY, ids already resolved) sent by the same
number of threads through one neo4j driver, in the same run. Prints medians over repeats of p50, p99 and
throughput, the error count, and the overhead ratio API p50 / direct p50 (and the same for p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api.security import KeyStore
from api.services.interactions import CHECK_QUERY
from kg.adapters.resolvers import drug_resolver
from kg.db import make_driver
from kg.settings import REPO_ROOT, get_settings
from neo4j import RoutingControl

DRUGS = ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone", "metformin",
         "lisinopril", "omeprazole", "fluoxetine"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(latencies: list[float], wall: float, errors: int) -> dict:
    return {"p50_ms": statistics.median(latencies), "p99_ms": _percentile(latencies, 0.99),
            "throughput_rps": len(latencies) / wall, "requests": len(latencies), "errors": errors}


async def _api_level(url: str, headers: dict, clients: int, total: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + max_seconds

        async def worker() -> None:
            nonlocal errors, sent
            while sent < total and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                resp = await client.post("/interactions/check", json={"drugs": DRUGS})
                latencies.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
    return _summary(latencies, wall, errors)


def _direct_level(driver, database: str, ids: list[str], clients: int, total: int, max_seconds: float) -> dict:
    deadline = time.perf_counter() + max_seconds

    def one(_: int) -> float | None:
        if time.perf_counter() > deadline:
            return None
        t0 = time.perf_counter()
        driver.execute_query(CHECK_QUERY, {"ids": ids}, database_=database, routing_=RoutingControl.READ)
        return (time.perf_counter() - t0) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for r in pool.map(one, range(total)) if r is not None]
    return _summary(results, time.perf_counter() - start, 0)


def _start_api(port: int, workers: int, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)


def _wait_ready(url: str, headers: dict, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with code {proc.returncode}")
        try:
            resp = httpx.post(f"{url}/interactions/check", json={"drugs": DRUGS}, headers=headers, timeout=30)
            if resp.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the API did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--requests", type=int, default=300, help="requests per level and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time cap per level and repeat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    settings = get_settings()

    tmp = Path(tempfile.mkdtemp(prefix="medkg-bench-"))
    store_path = tmp / "api-keys.json"
    _, secret = KeyStore(store_path).create("bench", "researcher")
    headers = {"X-API-Key": secret}
    env = {**os.environ, "MEDKG_API_KEYS": str(store_path), "MEDKG_AUDIT_LOG": str(tmp / "audit.log"),
           "MEDKG_RATE_LIMIT": "1000000000", "MEDKG_RATE_BURST": "1000000000"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_api(port, args.workers, env)
    driver = make_driver(settings)
    try:
        _wait_ready(url, headers, proc)
        resolver = drug_resolver(settings.medkg_data_dir)
        ids = sorted({resolver.resolve(d).id for d in DRUGS})  # type: ignore[union-attr]
        for _ in range(30):  # warm-up: the API's workers, caches and the server's query plan
            httpx.post(f"{url}/interactions/check", json={"drugs": DRUGS}, headers=headers, timeout=30)
            driver.execute_query(CHECK_QUERY, {"ids": ids}, database_=settings.neo4j_database,
                                 routing_=RoutingControl.READ)
        runs: dict[int, dict[str, list[dict]]] = {c: {"api": [], "direct": []} for c in levels}
        for _ in range(args.repeats):
            for clients in levels:
                runs[clients]["direct"].append(_direct_level(driver, settings.neo4j_database, ids, clients,
                                                             args.requests, args.max_seconds))
                runs[clients]["api"].append(asyncio.run(_api_level(url, headers, clients, args.requests,
                                                                   args.max_seconds)))
    finally:
        driver.close()
        proc.terminate()
        proc.wait(timeout=30)

    def med(items: list[dict], key: str) -> float:
        return statistics.median(i[key] for i in items)

    report = {"drugs": DRUGS, "workers": args.workers, "repeats": args.repeats, "requests": args.requests,
              "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "levels": []}
    for clients in levels:
        api, direct = runs[clients]["api"], runs[clients]["direct"]
        row = {"clients": clients,
               "api": {k: round(med(api, k), 2) for k in ("p50_ms", "p99_ms", "throughput_rps")},
               "direct": {k: round(med(direct, k), 2) for k in ("p50_ms", "p99_ms", "throughput_rps")},
               "errors": sum(r["errors"] for r in api), "requests": sum(r["requests"] for r in api)}
        row["overhead_p50"] = round(row["api"]["p50_ms"] / row["direct"]["p50_ms"], 2)
        row["overhead_p99"] = round(row["api"]["p99_ms"] / row["direct"]["p99_ms"], 2)
        report["levels"].append(row)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"POST /interactions/check, {len(DRUGS)} drugs ({len(ids)} ids, 45 pairs); uvicorn workers={args.workers}; "
          f"medians of {args.repeats} repeats; {os.cpu_count()} CPUs, load avg {report['load_avg_1m']:.1f}")
    print(f"{'clients':>7} | {'API p50':>8} {'p99':>8} {'req/s':>7} | {'direct p50':>10} {'p99':>8} {'q/s':>7} | "
          f"{'ovh p50':>7} {'ovh p99':>7} | errors")
    for row in report["levels"]:
        a, d = row["api"], row["direct"]
        print(f"{row['clients']:>7} | {a['p50_ms']:>8.2f} {a['p99_ms']:>8.2f} {a['throughput_rps']:>7.1f} | "
              f"{d['p50_ms']:>10.2f} {d['p99_ms']:>8.2f} {d['throughput_rps']:>7.1f} | "
              f"{row['overhead_p50']:>7.2f} {row['overhead_p99']:>7.2f} | {row['errors']}/{row['requests']}")


if __name__ == "__main__":
    main()
