"""What the interaction sources cover, per drug, read once from the graph and cached per build.

DDInter was downloaded per ATC group and only the files for groups A, B, D, H, L, P, R, V exist. A file
lists every interaction of the drugs DDInter files under that group, so a drug whose DDInter interactions
all appear in one group's file is *complete* in DDInter; any other DDInter drug only has its interactions
with drugs of those groups. Which group DDInter files a drug under is not in the data: it is inferred as
the groups common to all of the drug's DDInter relationships (`atc_groups`), trusted from 5 relationships
on, or below that when DrugBank's ATC codes agree.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from neo4j import Driver

from api.services.db import run_read
from api.services.errors import QueryTimeout
from kg.errors import DatabaseUnavailable
from kg.resolve.normalise import normalise

log = logging.getLogger(__name__)

DDINTER = "ddinter"
DDI86 = "drugbank-ddi-86"
INTERACTION_SOURCES = (DDINTER, DDI86)
DDINTER_GROUPS = ("A", "B", "D", "H", "L", "P", "R", "V")
DDINTER_MISSING_GROUPS = ("C", "G", "J", "M", "N", "S")
MIN_EDGES_FOR_GROUP = 5
LOAD_TIMEOUT = 120.0

BUILD_ID = "head(COLLECT { MATCH (b:Build) RETURN b.id AS id ORDER BY id DESC LIMIT 1 })"
Q_BUILD = f"RETURN {BUILD_ID} AS build_id"
Q_BUILD_STATE = """
OPTIONAL MATCH (b:Build) WITH b ORDER BY b.id DESC LIMIT 1
RETURN b.id AS build_id, coalesce(b.status = 'complete', false) AS complete
"""
Q_DDINTER = """
MATCH (d:Drug)-[r:INTERACTS_WITH {source: $source}]-()
WITH d, collect(r.atc_groups) AS groups
RETURN d.id AS id, d.atc_codes AS atc_codes, size(groups) AS n,
       reduce(acc = head(groups), g IN tail(groups) | [x IN acc WHERE x IN g]) AS common
"""
Q_DDI86 = "MATCH (d:Drug) WHERE EXISTS { (d)-[:INTERACTS_WITH {source: $source}]-() } RETURN d.id AS id"
Q_GRAPH_ONLY = """
MATCH (d:Drug) WHERE d.resolved = false OR d.name_known = false
RETURN d.id AS id, d.name AS name, coalesce(d.resolved, true) AS resolved, coalesce(d.name_known, true) AS name_known
"""
Q_MEDICATIONS = """
MATCH (m:Medication) OPTIONAL MATCH (m)-[:CONTAINS]->(d:Drug)
RETURN m.id AS id, m.name AS name, [x IN collect(d.id) WHERE x IS NOT NULL] AS drugs
"""


@dataclass(frozen=True)
class DrugCoverage:
    """Whether each interaction source covers one drug."""

    in_ddinter: bool = False
    ddinter_groups: tuple[str, ...] = ()
    ddinter_edges: int = 0
    in_ddi86: bool = False

    @property
    def ddinter_complete(self) -> bool:
        return bool(self.ddinter_groups)


NOT_COVERED = DrugCoverage()


@dataclass
class GraphDrug:
    """A Drug node the DrugBank vocabulary does not name: an unresolved DDInter drug or a newer DrugBank id."""

    id: str
    name: str
    resolved: bool
    name_known: bool


@dataclass
class GraphIndex:
    build_id: str | None
    coverage: dict[str, DrugCoverage] = field(default_factory=dict)
    graph_drugs: dict[str, GraphDrug] = field(default_factory=dict)
    graph_names: dict[str, list[str]] = field(default_factory=dict)  # normalised name -> ids
    medications: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # RxNorm -> (name, drug ids)
    medication_names: dict[str, str] = field(default_factory=dict)  # normalised name -> RxNorm

    def of(self, drug_id: str) -> DrugCoverage:
        return self.coverage.get(drug_id, NOT_COVERED)


def _ddinter_groups(common: list[str], n: int, atc_codes: list[str] | None) -> tuple[str, ...]:
    groups = tuple(sorted(set(common or ()) & set(DDINTER_GROUPS)))
    if not groups or n >= MIN_EDGES_FOR_GROUP:
        return groups
    drugbank_letters = {code[:1] for code in (atc_codes or ()) if code}
    return tuple(g for g in groups if g in drugbank_letters)


def load_index(driver: Driver, database: str) -> GraphIndex:
    """Read coverage, graph-only drugs and medications from the graph (about 5 s on the full graph)."""
    build_id = run_read(driver, database, Q_BUILD)[0]["build_id"]
    index = GraphIndex(build_id=build_id)
    ddinter = {row["id"]: row for row in run_read(driver, database, Q_DDINTER, {"source": DDINTER},
                                                  timeout=LOAD_TIMEOUT)}
    ddi86 = {row["id"] for row in run_read(driver, database, Q_DDI86, {"source": DDI86}, timeout=LOAD_TIMEOUT)}
    for drug_id in set(ddinter) | ddi86:
        row = ddinter.get(drug_id)
        index.coverage[drug_id] = DrugCoverage(
            in_ddinter=row is not None,
            ddinter_groups=_ddinter_groups(row["common"], row["n"], row["atc_codes"]) if row else (),
            ddinter_edges=row["n"] if row else 0,
            in_ddi86=drug_id in ddi86,
        )
    for row in run_read(driver, database, Q_GRAPH_ONLY, timeout=LOAD_TIMEOUT):
        drug = GraphDrug(row["id"], row["name"], row["resolved"], row["name_known"])
        index.graph_drugs[drug.id] = drug
        if drug.name_known and drug.name != drug.id:
            index.graph_names.setdefault(normalise(drug.name), []).append(drug.id)
    for row in run_read(driver, database, Q_MEDICATIONS, timeout=LOAD_TIMEOUT):
        index.medications[row["id"]] = (row["name"], sorted(row["drugs"]))
        index.medication_names[normalise(row["name"])] = row["id"]
    return index


_CURRENT: dict[tuple[str, str], str | None] = {}  # (bolt URI, database) -> the build id last seen
_BY_BUILD: dict[tuple[str | None, str, str], GraphIndex] = {}  # build id (or URI for an unbuilt graph) -> index
_LOCK = threading.Lock()


def _build_key(build_id: str | None, key: str, database: str) -> tuple[str | None, str, str]:
    return (build_id, "", database) if build_id is not None else (None, key, database)


def get_index(driver: Driver, database: str, key: str, build_id: str | object | None = ...) -> GraphIndex:
    """The cached index of a graph (`key`: its bolt URI), reloaded when the graph's build id changes.

    Pass the `build_id` a query already read; by default it is read here (one tiny query). Indexes are
    shared by build id, so two apps (or a proxy) on the same graph load it once.
    """
    if build_id is ...:
        build_id = run_read(driver, database, Q_BUILD)[0]["build_id"]
    assert build_id is None or isinstance(build_id, str)
    cache_key = _build_key(build_id, key, database)
    index = _BY_BUILD.get(cache_key)
    if index is None:
        with _LOCK:
            index = _BY_BUILD.get(cache_key)
            if index is None:
                index = load_index(driver, database)
                _BY_BUILD[_build_key(index.build_id, key, database)] = index
    _CURRENT[(key, database)] = index.build_id
    return index


def cached_index(key: str, database: str) -> GraphIndex | None:
    """The index of the build last seen on this graph, if loaded (never waits, never queries)."""
    if (key, database) not in _CURRENT:
        return None
    return _BY_BUILD.get(_build_key(_CURRENT[(key, database)], key, database))


@dataclass(frozen=True)
class BuildState:
    """The newest Build of a graph: its id (None for an unbuilt graph) and whether it finished."""

    build_id: str | None
    complete: bool


class BuildClock:
    """The graph's newest build, re-read at most every `ttl` seconds (0: on every call).

    Lets a hot path trust in-memory copies of a complete build without a round trip per request; a
    rebuild or an unreachable Neo4j is noticed within `ttl` seconds (the failed re-read raises, as any
    query does: DatabaseUnavailable). `start_refresher` re-reads in a background thread every ttl/2, so
    requests find a fresh view instead of each doing the round trip when it expires.
    """

    def __init__(self, driver: Driver, database: str, ttl: float) -> None:
        self.driver, self.database, self.ttl = driver, database, ttl
        self._seen: tuple[float, BuildState] | None = None

    def peek(self) -> BuildState | None:
        """The state read less than `ttl` seconds ago, or None when a re-read is due (never queries)."""
        seen = self._seen
        return seen[1] if seen is not None and time.monotonic() - seen[0] < self.ttl else None

    def current(self) -> BuildState:
        state = self.peek()
        return state if state is not None else self.refresh()

    def refresh(self) -> BuildState:
        """Re-read the newest build now."""
        row = run_read(self.driver, self.database, Q_BUILD_STATE)[0]
        state = BuildState(row["build_id"], bool(row["complete"]))
        self._seen = (time.monotonic(), state)
        return state

    def start_refresher(self, stop: threading.Event) -> threading.Thread | None:
        """Re-read every ttl/2 seconds until `stop` is set (no thread when ttl is 0). A failed re-read is left to
        expire: requests then re-read themselves and answer 503 while Neo4j is down."""
        if self.ttl <= 0:
            return None

        def loop() -> None:
            while not stop.wait(max(self.ttl, 0.1) / 2):
                try:
                    if self.ttl > 0:  # (ttl may be changed while running)
                        self.refresh()
                except (DatabaseUnavailable, QueryTimeout) as exc:  # the view expires; requests see the error
                    log.debug("build state not refreshed: %s", exc)
                except Exception:  # the thread's outermost boundary: a bug, logged; the thread keeps going
                    log.exception("build clock: unexpected error")

        thread = threading.Thread(target=loop, name="medkg-build-clock", daemon=True)
        thread.start()
        return thread
