"""Inputs of the ddi family: the DrugBank 86-type pairs (ddi.tsv, id2rel.txt) and the graph facts the features
use (per-drug tokens: targets, classes, ATC codes, side effects; DDInter grades), read once from Neo4j and
kept as one JSON file beside the run so training, evaluation and the API see the same snapshot."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.errors import ConfigError

DDI = "drugbank-ddi-86/ddi.tsv"
TYPES = "drugbank-ddi-86/id2rel.txt"
N_TYPES = 86
SEVERITIES = ("Major", "Moderate", "Minor")


@dataclass
class PairTable:
    """The 86-type pairs in ddi.tsv orientation: drug1, drug2 (ids) and type 0..85 (= Label - 1)."""

    drugs: list[str]
    index: dict[str, int]
    d1: np.ndarray
    d2: np.ndarray
    y: np.ndarray
    templates: dict[int, str]  # type 1..86 -> sentence with #Drug1/#Drug2


def read_templates(path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out[int(row["Interaction type"])] = row["Description"].strip()
            except (KeyError, ValueError, AttributeError) as exc:
                raise ConfigError(f"{path}:{line}: bad interaction type row ({exc})") from exc
    return out


def read_pairs(data_dir: Path, limit: int | None = None) -> PairTable:
    """ddi.tsv as index arrays; a malformed line is an error naming it."""
    path = Path(data_dir) / DDI
    if not path.is_file():
        raise ConfigError(f"missing {path} (set MEDKG_DATA_DIR)")
    templates = read_templates(Path(data_dir) / TYPES)
    drugs: list[str] = []
    index: dict[str, int] = {}
    d1, d2, y = [], [], []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[:3] != ["drug1", "drug2", "Label"]:
            raise ConfigError(f"{path}:1: expected header drug1, drug2, Label, got {header}")
        for line, raw in enumerate(fh, start=2):
            parts = raw.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].strip().isdigit() or not 1 <= int(parts[2]) <= N_TYPES:
                raise ConfigError(f"{path}:{line}: malformed row {raw.strip()!r}")
            for d in parts[:2]:
                if d not in index:
                    index[d] = len(drugs)
                    drugs.append(d)
            d1.append(index[parts[0]])
            d2.append(index[parts[1]])
            y.append(int(parts[2]) - 1)
            if limit and len(y) >= limit:
                break
    return PairTable(drugs, index, np.array(d1, np.int64), np.array(d2, np.int64), np.array(y, np.int64), templates)


@dataclass
class GraphFacts:
    """What the features take from the graph: tokens per drug, DDInter grades, names, all interacting pairs."""

    tokens: dict[str, list[str]] = field(default_factory=dict)
    grades: list[tuple[str, str, str]] = field(default_factory=list)  # (a, b, Major|Moderate|Minor), a < b
    names: dict[str, str] = field(default_factory=dict)
    build_id: str | None = None

    def save(self, path: Path) -> None:
        from gnn.artifacts_io import write_text

        write_text(path, json.dumps({"tokens": self.tokens, "grades": self.grades, "names": self.names,
                                     "build_id": self.build_id}))

    @classmethod
    def load(cls, path: Path) -> GraphFacts:
        try:
            d = json.loads(Path(path).read_text())
            return cls(d["tokens"], [tuple(g) for g in d["grades"]], d.get("names", {}), d.get("build_id"))
        except (OSError, json.JSONDecodeError, KeyError) as exc:
            raise ConfigError(f"cannot read ddi graph facts {path}: {exc}") from exc


Q_TOKENS = """
MATCH (d:Drug) WHERE d.id STARTS WITH 'DB'
RETURN d.id AS id, d.name AS name, coalesce(d.atc_codes, []) AS atc,
       COLLECT { MATCH (d)-[:BINDS]->(g:Gene) RETURN g.id } AS genes,
       COLLECT { MATCH (c:PharmacologicClass)-[:INCLUDES]->(d) RETURN c.id } AS classes,
       COLLECT { MATCH (d)-[:CAUSES]->(s:SideEffect) RETURN s.id } AS effects
"""
Q_GRADES = """
MATCH (a:Drug)-[r:INTERACTS_WITH {source: 'ddinter'}]->(b:Drug)
WHERE a.id STARTS WITH 'DB' AND b.id STARTS WITH 'DB' AND r.severity IN ['Major', 'Moderate', 'Minor']
RETURN a.id AS a, b.id AS b, r.severity AS severity
"""
Q_BUILD = "MATCH (b:Build {status: 'complete'}) RETURN b.id AS id ORDER BY b.finished DESC LIMIT 1"


def fetch_graph_facts(driver, database: str = "neo4j") -> GraphFacts:
    """Read the per-drug tokens and DDInter grades (~10 s on the full graph). Labels: no indications."""
    from kg.db import read

    facts = GraphFacts()
    for r in read(driver, Q_TOKENS, database):
        toks = [f"gene:{g}" for g in r["genes"]] + [f"class:{c}" for c in r["classes"]]
        toks += [f"se:{s}" for s in r["effects"]]
        for code in r["atc"] or []:
            code = str(code)
            toks += [f"atc1:{code[:1]}", f"atc3:{code[:3]}", f"atc4:{code[:4]}", f"atc:{code}"]
        facts.tokens[r["id"]] = sorted(set(toks))
        facts.names[r["id"]] = r["name"]
    best: dict[tuple[str, str], str] = {}
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    for r in read(driver, Q_GRADES, database):
        key = (r["a"], r["b"]) if r["a"] < r["b"] else (r["b"], r["a"])
        if key not in best or rank[r["severity"]] < rank[best[key]]:  # a pair in several files: the worst grade
            best[key] = r["severity"]
    facts.grades = [(a, b, s) for (a, b), s in sorted(best.items())]
    rows = read(driver, Q_BUILD, database)
    facts.build_id = rows[0]["id"] if rows else None
    return facts


def graph_facts(cache: Path | None, refresh: bool = False) -> GraphFacts:
    """The graph facts from `cache` if present, else from Neo4j (and written to `cache`)."""
    if cache is not None and Path(cache).is_file() and not refresh:
        return GraphFacts.load(cache)
    from kg.db import driver_session
    from kg.settings import get_settings

    with driver_session() as driver:
        facts = fetch_graph_facts(driver, get_settings().neo4j_database)
    if cache is not None:
        facts.save(Path(cache))
    return facts
