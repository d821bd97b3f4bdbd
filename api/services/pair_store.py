"""Every drug-drug interaction fact of one complete build, in memory and keyed by drug pair.

An interaction check of n drugs then costs n·(n−1)/2 dictionary lookups instead of a Cypher query that
expands every INTERACTS_WITH relationship of each (dense) listed drug. The store is loaded from the graph
(~2 s, ~300k facts, streamed) once per process and build id, only for a build whose status is `complete`: a build
in progress is still changing, so checks against it go to Neo4j. Facts are exactly the relationships'
properties; nothing is derived here.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, ManagedTransaction, unit_of_work

from api.services.db import read_tx, run_read
from api.services.errors import QueryTimeout
from api.services.memory import keep_long_lived
from kg.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

FIELDS = ("subject", "object", "source", "license", "source_version", "severity", "mechanism", "ddi_type")
LOAD_TIMEOUT = 300.0
MAX_STORES = 2  # builds kept in memory per process (~140 MB each on the full graph)
Q_FACTS = """
MATCH (a:Drug)-[r:INTERACTS_WITH]->(b:Drug)
WITH a, collect([b.id, r.source, r.license, r.source_version, r.severity, r.mechanism, r.ddi_type]) AS facts
RETURN a.id AS subject, facts
"""
Q_NAMES = "MATCH (d:Drug) RETURN d.id AS id, d.name AS name"

Fact = tuple[Any, ...]  # values in FIELDS order


@dataclass(frozen=True)
class PairStore:
    """The interaction facts of one build: sorted (id, id) pair -> facts, and every Drug's name."""

    build_id: str
    names: dict[str, str]
    pairs: dict[tuple[str, str], tuple[Fact, ...]]
    facts: int

    def found(self, ids: list[str]) -> list[dict[str, str]]:
        """The Drug nodes among `ids`, as the check query returns them."""
        return [{"id": i, "name": self.names[i]} for i in ids if i in self.names]

    def pair_facts(self, a: str, b: str) -> list[dict[str, Any]]:
        """The facts between drugs `a` < `b`."""
        return [dict(zip(FIELDS, fact, strict=True)) for fact in self.pairs.get((a, b), ())]


def load_store(driver: Driver, database: str, build_id: str) -> PairStore:
    """Read every INTERACTS_WITH fact and Drug name of the graph (the caller vouches the build is complete).

    The facts are streamed (one record per subject drug), so the driver never holds the whole result."""
    intern = sys.intern
    names = {intern(r["id"]): r["name"] for r in run_read(driver, database, Q_NAMES, timeout=LOAD_TIMEOUT)}
    pairs: dict[tuple[str, str], list[Fact]] = {}

    @unit_of_work(timeout=LOAD_TIMEOUT)
    def stream(tx: ManagedTransaction) -> None:
        pairs.clear()  # a retried transaction starts again
        for record in tx.run(Q_FACTS):
            subject = intern(record["subject"])
            for obj, source, lic, version, severity, mechanism, ddi_type in record["facts"]:
                obj = intern(obj)
                fact = (subject, obj, intern(source), intern(lic) if lic else lic,
                        intern(version) if version else version, intern(severity) if severity else severity,
                        mechanism, ddi_type)
                pairs.setdefault((subject, obj) if subject < obj else (obj, subject), []).append(fact)

    read_tx(driver, database, stream, caller_query=False)
    return PairStore(build_id, names, {k: tuple(v) for k, v in pairs.items()}, sum(map(len, pairs.values())))


_STORES: dict[tuple[str, str], PairStore] = {}  # (build id, database) -> store
_LOADING: set[tuple[str, str]] = set()
_LOCK = threading.Lock()  # guards the two collections above, held briefly
_LOAD_LOCK = threading.Lock()  # one load at a time


def cached_store(build_id: str, database: str) -> PairStore | None:
    """The store of this complete build if it is loaded (never waits, never queries)."""
    return _STORES.get((build_id, database))


def get_store(driver: Driver, database: str, build_id: str) -> PairStore:
    """The store of this complete build, loading it now if needed (one loader per build at a time)."""
    key = (build_id, database)
    with _LOAD_LOCK:
        store = _STORES.get(key)
        if store is not None:
            return store
        store = load_store(driver, database, build_id)
        keep_long_lived()
        with _LOCK:
            _STORES[key] = store
            while len(_STORES) > MAX_STORES:  # the oldest loaded goes first
                del _STORES[next(iter(_STORES))]
        return store


def load_in_background(driver: Driver, database: str, build_id: str) -> None:
    """Start loading the store of this complete build in a daemon thread, unless loaded or loading."""
    key = (build_id, database)
    with _LOCK:
        if key in _STORES or key in _LOADING:
            return
        _LOADING.add(key)

    def work() -> None:
        try:
            get_store(driver, database, build_id)
        except (DatabaseUnavailable, QueryTimeout) as exc:  # checks keep using Cypher; the next one retries
            log.info("interaction store for build %s not loaded: %s", build_id, exc)
        except Exception:  # the thread's outermost boundary: a bug, logged (checks keep using Cypher)
            log.exception("interaction store for build %s: unexpected error", build_id)
        finally:
            with _LOCK:
                _LOADING.discard(key)

    threading.Thread(target=work, name=f"medkg-pairs-{build_id}", daemon=True).start()
