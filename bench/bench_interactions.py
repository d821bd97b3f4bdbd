"""Interaction-check latency: `POST /interactions/check` (10 drugs) over loopback HTTP vs one direct driver query.

Run: .venv/bin/python bench/bench_interactions.py [--clients 1,10,50] [--requests 300] [--repeats 3]
                                                  [--workers 1] [--max-seconds 20] [--random-lists K]
                                                  [--fresh-lists] [--no-predictions] [--json]
Needs the built graph (NEO4J_URI / NEO4J_PASSWORD). The API runs as `medkg serve` in a subprocess on a free
loopback port with a throwaway researcher key and no practical rate limit; measuring starts once `/health`
shows the in-memory interaction store loaded. For each concurrency level, `--requests` requests (bounded
also by `--max-seconds`) are sent by that many asyncio clients, each on one keep-alive HTTP/1.1
connection with a pre-encoded request (a lean client: on 2 cores the load generator's own CPU time
otherwise dominates); every response is read whole and its status checked. The baseline is the same check
as one direct Cypher query (CHECK_QUERY, the API's own fallback path, ids already resolved) sent by the
same number of threads through one neo4j driver, in the same run. Prints medians over repeats of p50, p99
and throughput, the error count, and the overhead ratio API p50 / direct p50 (and the same for p99).
The API caches resolved entries and pair answers per complete build: the fixed list and a cycle of K lists
measure checks of pairs seen before; `--random-lists K --fresh-lists` sends every list once (cache misses).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from neo4j import RoutingControl

from api.security import KeyStore
from api.services.interactions import CHECK_QUERY
from kg.adapters.resolvers import drug_resolver
from kg.db import make_driver
from kg.settings import REPO_ROOT, get_settings

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


PREDICTIONS = True  # the request's `predictions` flag (--no-predictions: curated facts only)


def _request_bytes(port: int, headers: dict, drugs: list[str]) -> bytes:
    body = json.dumps({"drugs": drugs, "predictions": PREDICTIONS}).encode()
    head = ["POST /interactions/check HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection and read the whole response; returns the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def load(port: int, requests: list[bytes], clients: int, total: int, max_seconds: float) -> dict:
    """`clients` keep-alive connections send `requests` in turn until `total` are answered or time runs out."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    deadline = time.perf_counter() + max_seconds

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors, sent
        while sent < total and time.perf_counter() < deadline:
            request = requests[sent % len(requests)]
            sent += 1
            t0 = time.perf_counter()
            status = await _exchange(reader, writer, request)
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += status != 200

    start = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    wall = time.perf_counter() - start
    for _, writer in conns:
        writer.close()
    return _summary(latencies, wall, errors)


async def _api_level(port: int, headers: dict, lists: list[list[str]], clients: int, total: int,
                     max_seconds: float) -> dict:
    return await load(port, [_request_bytes(port, headers, drugs) for drugs in lists], clients, total, max_seconds)


def _direct_level(driver, database: str, id_lists: list[list[str]], clients: int, total: int,
                  max_seconds: float) -> dict:
    deadline = time.perf_counter() + max_seconds

    def one(i: int) -> float | None:
        if time.perf_counter() > deadline:
            return None
        t0 = time.perf_counter()
        driver.execute_query(CHECK_QUERY, {"ids": id_lists[i % len(id_lists)]}, database_=database,
                             routing_=RoutingControl.READ)
        return (time.perf_counter() - t0) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for r in pool.map(one, range(total)) if r is not None]
    return _summary(results, time.perf_counter() - start, 0)


def _start_api(port: int, workers: int, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)


def _wait_ready(url: str, headers: dict, proc: subprocess.Popen, workers: int, timeout: float = 180) -> dict:
    """Wait until the check answers and `/health` shows the interaction store loaded (in every worker)."""
    deadline = time.time() + timeout
    loaded = 0
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with code {proc.returncode}")
        try:
            resp = httpx.post(f"{url}/interactions/check", json={"drugs": DRUGS}, headers=headers, timeout=30)
            health = httpx.get(f"{url}/health", timeout=30).json()
            loaded = loaded + 1 if resp.status_code == 200 and health.get("interaction_store") else 0
            if loaded >= 4 * workers:  # several consecutive answers, spread over the workers
                return health["interaction_store"]
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("the API did not become ready (or its interaction store never loaded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--requests", type=int, default=300, help="requests per level and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time cap per level and repeat")
    parser.add_argument("--random-lists", type=int, default=0, metavar="K",
                        help="instead of the fixed list, cycle through K seeded random lists of 10 DrugBank ids "
                             "drawn from the drugs that have interactions (no two requests alike)")
    parser.add_argument("--fresh-lists", action="store_true",
                        help="with --random-lists: every request of every level and repeat sends a list not sent "
                             "before (K is raised to cover them), so no pair answer is served from the API's cache")
    parser.add_argument("--no-predictions", action="store_true",
                        help="send predictions=false (default: on, the API default; needs a trained ddi run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global PREDICTIONS
    PREDICTIONS = not args.no_predictions
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
        store = _wait_ready(url, headers, proc, args.workers)
        resolver = drug_resolver(settings.medkg_data_dir)
        ids = sorted({resolver.resolve(d).id for d in DRUGS})  # type: ignore[union-attr]
        lists, id_lists = [DRUGS], [ids]
        if args.random_lists:
            pool = sorted(r["id"] for r in driver.execute_query(
                "MATCH (d:Drug) WHERE d.id STARTS WITH 'DB' AND EXISTS { (d)-[:INTERACTS_WITH]-() } "
                "RETURN d.id AS id", database_=settings.neo4j_database, routing_=RoutingControl.READ).records)
            rng = random.Random(0)
            count = args.requests * args.repeats * len(levels) if args.fresh_lists else args.random_lists
            lists = [rng.sample(pool, len(DRUGS)) for _ in range(max(count, args.random_lists))]
            id_lists = [sorted(x) for x in lists]
        for _ in range(30):  # warm-up: the API's workers, caches and the server's query plan
            warm = httpx.post(f"{url}/interactions/check", json={"drugs": DRUGS, "predictions": PREDICTIONS},
                              headers=headers, timeout=30).json()
            driver.execute_query(CHECK_QUERY, {"ids": ids}, database_=settings.neo4j_database,
                                 routing_=RoutingControl.READ)
        runs: dict[int, dict[str, list[dict]]] = {c: {"api": [], "direct": []} for c in levels}
        part = 0
        for _ in range(args.repeats):
            for clients in levels:
                some = slice(part * args.requests, (part + 1) * args.requests) if args.fresh_lists else slice(None)
                part += 1
                runs[clients]["direct"].append(_direct_level(driver, settings.neo4j_database, id_lists[some],
                                                             clients, args.requests, args.max_seconds))
                runs[clients]["api"].append(asyncio.run(_api_level(port, headers, lists[some], clients,
                                                                   args.requests, args.max_seconds)))
    finally:
        driver.close()
        proc.terminate()
        proc.wait(timeout=30)

    def med(items: list[dict], key: str) -> float:
        return statistics.median(i[key] for i in items)

    what = (f"{len(lists)} random lists, each sent once, of" if args.fresh_lists and args.random_lists
            else f"{args.random_lists} random lists of" if args.random_lists else "the fixed list of")
    report = {"drugs": DRUGS if not args.random_lists else f"{what} {len(DRUGS)}",
              "fresh_lists": bool(args.fresh_lists and args.random_lists),
              "workers": args.workers, "interaction_store": store, "repeats": args.repeats,
              "predictions": warm.get("predictions"),
              "requests": args.requests,
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
    print(f"POST /interactions/check, {what} {len(DRUGS)} drugs (45 pairs); uvicorn workers={args.workers}; "
          f"medians of {args.repeats} repeats; {os.cpu_count()} CPUs, load avg {report['load_avg_1m']:.1f}")
    print(f"API pairs from the in-memory store of build {store['build_id']} ({store['facts']:,} facts); "
          "direct = CHECK_QUERY through the driver")
    pred = report["predictions"] or {}
    print(f"predictions: {'on, ddi run ' + str(pred.get('model_run')) if pred.get('enabled') else 'off'} "
          f"({pred.get('predicted_pairs', 0)} of 45 pairs of the fixed list predicted)")
    print(f"{'clients':>7} | {'API p50':>8} {'p99':>8} {'req/s':>7} | {'direct p50':>10} {'p99':>8} {'q/s':>7} | "
          f"{'ovh p50':>7} {'ovh p99':>7} | errors")
    for row in report["levels"]:
        a, d = row["api"], row["direct"]
        print(f"{row['clients']:>7} | {a['p50_ms']:>8.2f} {a['p99_ms']:>8.2f} {a['throughput_rps']:>7.1f} | "
              f"{d['p50_ms']:>10.2f} {d['p99_ms']:>8.2f} {d['throughput_rps']:>7.1f} | "
              f"{row['overhead_p50']:>7.2f} {row['overhead_p99']:>7.2f} | {row['errors']}/{row['requests']}")


if __name__ == "__main__":
    main()
