"""Soak run on loopback: the API under mixed traffic at a fixed rate; errors, latency and server memory over time.

Starts `medkg serve` (uvicorn, one process) on a free 127.0.0.1 port against the Neo4j in NEO4J_URI /
NEO4J_PASSWORD, with a throwaway admin key and audit log, then sends open-loop traffic at `--rate` requests a
second for `--duration` seconds (interaction checks, drug search, entity lookups and neighbours, Cypher reads,
a drug's interactions, diagnosis) and samples the server's RSS from /proc/<pid>/status every `--sample` s.
It stops by itself (duration and request count are bounded), stops the server, prints a summary and writes
JSON (default test-artifacts/soak.json). Baseline in the same run: the first minute, against which the last
minute's RSS and p50 latency are reported as ratios (flat ≈ 1.0).

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... .venv/bin/python bench/soak.py --duration 600 --rate 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.security import KeyStore  # noqa: E402

DRUGS = ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone", "ibuprofen",
         "metformin", "lisinopril", "omeprazole", "atorvastatin", "fluoxetine", "tramadol", "DB00945", "DB00682"]
TYPOS = ["asprin", "warfarn", "simvastatn", "ibuprofin", "metfromin", "Tylenol", "zocor"]
DRUG_IDS = ["DB00945", "DB00682", "DB00641", "DB01211", "DB00390", "DB01118", "DB01050", "DB00331"]
DISEASES = ["DOID:9352", "DOID:1612", "DOID:10763", "DOID:2841", "DOID:9074"]
CYPHER = [
    ("MATCH (d:Drug {id: $id})-[r:INTERACTS_WITH]-(o:Drug) RETURN o.name AS partner, r.severity AS severity "
     "ORDER BY partner LIMIT 20", "id", DRUG_IDS),
    ("MATCH (d:Drug)-[:TREATS]->(x:Disease {id: $id}) RETURN d.name AS drug ORDER BY drug", "id", DISEASES),
    ("MATCH (x:Disease {id: $id})-[p:PRESENTS]->(s:Symptom) RETURN s.name AS symptom, p.source AS source "
     "LIMIT 25", "id", DISEASES),
    ("MATCH (d:Drug {id: $id})-[:BINDS]->(g:Gene)<-[:ASSOCIATES]-(x:Disease) RETURN x.name AS disease, "
     "count(g) AS genes ORDER BY genes DESC LIMIT 10", "id", DRUG_IDS),
]
FINDINGS = [(["E_91", "E_201"], ["sore throat"]), (["E_53", "E_55_@_V_89"], ["cough"]),
            (["E_91"], ["headache", "fever"])]


def _request(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    """(endpoint label, method, path, requests kwargs) of one request of the mix."""
    kind = rng.choices(["check", "search", "entity", "neighbours", "cypher", "drug_interactions", "diagnosis"],
                       weights=[5, 5, 3, 2, 3, 1, 1])[0]
    if kind == "check":
        return "POST /interactions/check", "POST", "/interactions/check", {
            "json": {"drugs": rng.sample(DRUGS, rng.randint(2, 5))}}
    if kind == "search":
        return "GET /drugs/search", "GET", "/drugs/search", {"params": {"q": rng.choice(DRUGS + TYPOS)}}
    if kind == "entity":
        if rng.random() < 0.5:
            return "GET /entities/{label}/{id}", "GET", f"/entities/Drug/{rng.choice(DRUG_IDS)}", {}
        return "GET /entities/{label}/{id}", "GET", f"/entities/Disease/{rng.choice(DISEASES)}", {}
    if kind == "neighbours":
        return "GET /entities/{label}/{id}/neighbours", "GET", f"/entities/Drug/{rng.choice(DRUG_IDS)}/neighbours", {
            "params": {"limit": 25}}
    if kind == "cypher":
        query, name, values = rng.choice(CYPHER)
        return "POST /cypher", "POST", "/cypher", {"json": {"query": query, "parameters": {name: rng.choice(values)}}}
    if kind == "drug_interactions":
        return "GET /drugs/{drug}/interactions", "GET", f"/drugs/{rng.choice(DRUG_IDS)}/interactions", {
            "params": {"limit": 50}}
    evidences, symptoms = rng.choice(FINDINGS)
    return "POST /diagnosis", "POST", "/diagnosis", {"json": {"age": rng.randint(18, 80), "sex": rng.choice("FM"),
                                                              "evidences": evidences, "symptoms": symptoms, "top": 5}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def start_server(port: int, work: Path) -> tuple[subprocess.Popen, str]:
    """The API in its own process (new session, so it can be stopped as a group); returns it and an admin key."""
    keys = work / "api-keys.json"
    _, secret = KeyStore(keys).create("soak", "admin")
    env = {**os.environ, "MEDKG_API_KEYS": str(keys), "MEDKG_AUDIT_LOG": str(work / "audit.log"),
           "MEDKG_RATE_LIMIT": "100000", "MEDKG_RATE_BURST": "100000"}
    log = open(work / "server.log", "wb")  # noqa: SIM115 - the child writes to it until stopped
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}; see {work / 'server.log'}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, secret
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the API did not become healthy within 180 s; see {work / 'server.log'}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def soak(base: str, key: str, pid: int, duration: float, rate: float, sample: float, timeout: float,
         seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    total = int(duration * rate)
    results: list[tuple[float, str, int | str, float]] = []  # (t, endpoint, status or error, ms)
    lock = threading.Lock()
    local = threading.local()
    rss: list[tuple[float, int]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def sampler() -> None:
        while not stop.is_set():
            value = rss_kib(pid)
            if value is not None:
                rss.append((round(time.monotonic() - t0, 1), value))
            stop.wait(sample)

    def send(endpoint: str, method: str, path: str, kwargs: dict[str, Any]) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["X-API-Key"] = key
        start = time.monotonic()
        try:
            status: int | str = local.session.request(method, base + path, timeout=timeout, **kwargs).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with lock:
            results.append((start - t0, endpoint, status, (time.monotonic() - start) * 1000))

    threading.Thread(target=sampler, daemon=True).start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):  # open loop: request i leaves at t0 + i / rate, however slow the answers are
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, *_request(rng))
            if i % max(1, int(rate * 60)) == 0 and i:
                with lock:
                    errs = sum(1 for r in results if not (isinstance(r[2], int) and r[2] < 500))
                print(f"[{time.monotonic() - t0:6.0f} s] {len(results)} answered, {errs} errors, "
                      f"RSS {rss[-1][1] / 1024 if rss else 0:.0f} MiB", file=sys.stderr, flush=True)
    stop.set()
    return summarise(results, rss, time.monotonic() - t0, rate)


def summarise(results: list[tuple[float, str, int | str, float]], rss: list[tuple[float, int]], elapsed: float,
              rate: float) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    by_endpoint: dict[str, list] = defaultdict(list)
    for r in results:
        by_endpoint[r[1]].append(r)
    for endpoint, rows in sorted(by_endpoint.items()):
        ms = [r[3] for r in rows]
        statuses: dict[str, int] = defaultdict(int)
        for r in rows:
            statuses[str(r[2])] += 1
        per[endpoint] = {"requests": len(rows), "errors": sum(1 for r in rows if not (isinstance(r[2], int)
                                                                                      and r[2] < 500)),
                         "non_2xx": sum(1 for r in rows if not (isinstance(r[2], int) and r[2] < 300)),
                         "statuses": dict(statuses), "p50_ms": _pct(ms, 0.5), "p99_ms": _pct(ms, 0.99)}
    window = min(60.0, elapsed / 4)
    first = [v for t, v in rss if t <= window]
    last = [v for t, v in rss if t >= elapsed - window]
    first_ms = [r[3] for r in results if r[0] <= window]
    last_ms = [r[3] for r in results if r[0] >= elapsed - window]
    rss_ratio = round(statistics.mean(last) / statistics.mean(first), 3) if first and last else None
    p50_ratio = (round(statistics.median(last_ms) / statistics.median(first_ms), 3)
                 if first_ms and last_ms else None)
    return {"seconds": round(elapsed, 1), "rate_target": rate, "requests": len(results),
            "rate_achieved": round(len(results) / elapsed, 2) if elapsed else None,
            "errors": sum(e["errors"] for e in per.values()), "window_seconds": round(window, 1),
            "rss_mib": {"first_window_mean": round(statistics.mean(first) / 1024, 1) if first else None,
                        "last_window_mean": round(statistics.mean(last) / 1024, 1) if last else None,
                        "max": round(max(v for _, v in rss) / 1024, 1) if rss else None,
                        "last_vs_first_ratio": rss_ratio},
            "p50_ms_all": {"first_window": round(statistics.median(first_ms), 2) if first_ms else None,
                           "last_window": round(statistics.median(last_ms), 2) if last_ms else None,
                           "last_vs_first_ratio": p50_ratio},
            "per_endpoint": per, "rss_samples_kib": rss}


def print_summary(s: dict[str, Any]) -> None:
    print(f"soak: {s['requests']} requests in {s['seconds']} s ({s['rate_achieved']}/s, target {s['rate_target']}/s),"
          f" {s['errors']} errors (5xx or no answer)")
    print(f"{'endpoint':42} {'n':>6} {'err':>4} {'non2xx':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for name, e in s["per_endpoint"].items():
        print(f"{name:42} {e['requests']:>6} {e['errors']:>4} {e['non_2xx']:>6} {e['p50_ms']:>8} {e['p99_ms']:>8}")
    r, p = s["rss_mib"], s["p50_ms_all"]
    print(f"RSS MiB: first {s['window_seconds']} s mean {r['first_window_mean']}, last {r['last_window_mean']}, "
          f"max {r['max']}; last/first ratio {r['last_vs_first_ratio']} (flat ≈ 1.0)")
    print(f"p50 ms (all endpoints): first window {p['first_window']}, last {p['last_window']}; "
          f"ratio {p['last_vs_first_ratio']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    ap.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    ap.add_argument("--sample", type=float, default=5.0, help="RSS sampling interval, seconds")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "test-artifacts" / "soak.json")
    args = ap.parse_args(argv)
    if not os.environ.get("NEO4J_URI"):
        raise SystemExit("set NEO4J_URI and NEO4J_PASSWORD to the Neo4j holding the built graph")
    with tempfile.TemporaryDirectory(prefix="medkg-soak-") as tmp:
        port = _free_port()
        proc, key = start_server(port, Path(tmp))
        try:
            summary = soak(f"http://127.0.0.1:{port}", key, proc.pid, args.duration, args.rate, args.sample,
                           args.timeout, args.seed)
        finally:
            stop_server(proc)
    summary["server"] = {"command": "python -m api.cli serve (uvicorn, 1 process)", "port": port,
                         "neo4j": os.environ["NEO4J_URI"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print_summary(summary)
    print(f"written to {args.out}")
    return 0 if summary["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
