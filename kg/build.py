"""`medkg kg build`: run the adapters, validate, load into Neo4j, record the build and its reports."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from neo4j import Driver

from kg import loader
from kg.adapters import (
    columbia,
    ddi86,
    ddinter,
    ddxplus,
    disease_ontology,
    drugbank,
    hetionet,
    hsdn,
    mesh,
    pharmacotherapydb,
    synthea,
)
from kg.adapters.ddi86 import render
from kg.errors import SourceDataError
from kg.records import GraphBatch
from kg.schema import Schema, get_schema

# Order matters only for readability: dangling edges are checked once every adapter has run.
ADAPTERS: dict[str, ModuleType] = {
    "hetionet": hetionet,
    "drugbank": drugbank,
    "disease-ontology": disease_ontology,
    "mesh": mesh,
    "pharmacotherapydb": pharmacotherapydb,
    "hsdn": hsdn,
    "columbia": columbia,
    "ddinter": ddinter,
    "drugbank-ddi-86": ddi86,
    "ddxplus": ddxplus,
    "synthea": synthea,
}


@dataclass
class BuildResult:
    build_id: str
    counts: dict[str, dict[str, int]]
    rejects: int
    unresolved: int
    deleted_stale: dict[str, int]
    seconds: dict[str, float]
    report_dir: str
    excluded: dict[str, int] = field(default_factory=dict)
    resolution: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def required_files(data_dir: Path, sources: list[str]) -> list[Path]:
    return [data_dir / rel for name in sources for rel in ADAPTERS[name].FILES]


def check_inputs(data_dir: Path, sources: list[str]) -> None:
    """A missing file is a clear error before anything is written."""
    if not data_dir.is_dir():
        raise SourceDataError(f"data directory {data_dir} does not exist (set MEDKG_DATA_DIR or --data-dir)")
    missing = [str(p.relative_to(data_dir)) for p in required_files(data_dir, sources) if not p.is_file()]
    if missing:
        raise SourceDataError(f"missing source file(s) in {data_dir}: {', '.join(missing)}; nothing was written")


def checksums(data_dir: Path, sources: list[str]) -> dict[str, str]:
    out = {}
    for path in required_files(data_dir, sources):
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out[str(path.relative_to(data_dir))] = h.hexdigest()
    return out


def make_build_id(started: datetime, sums: dict[str, str]) -> str:
    """A build's id: its start time and a digest of its inputs' checksums."""
    digest = hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()[:8]
    return started.strftime("%Y%m%dT%H%M%S") + "-" + digest


def collect(data_dir: Path, sources: list[str], *, schema: Schema | None = None,
            excluded_sources: frozenset[str] = frozenset(), commercial_only: bool = False,
            progress: bool = True) -> GraphBatch:
    """Run the adapters into one validated GraphBatch (no database access)."""
    from tqdm import tqdm

    batch = GraphBatch(schema or get_schema(), data_dir, excluded_sources, commercial_only)
    for name in tqdm(sources, desc="reading sources", unit="src", disable=not progress):
        if name in excluded_sources:
            continue
        ADAPTERS[name].load(batch)
    batch.drop_dangling()
    _render_mechanisms(batch)
    return batch


def _render_mechanisms(batch: GraphBatch) -> None:
    """Fill DrugBank mechanism sentences with the drug names, in the right direction."""
    for key, props in batch.edges.items():
        template = props.get("mechanism_template")
        if template:
            start, end = key[1], key[2]
            props["mechanism"] = render(template, batch.nodes[start]["name"], batch.nodes[end]["name"])


def build(driver: Driver, data_dir: Path, *, database: str, report_root: Path,
          sources: list[str] | None = None, excluded_sources: frozenset[str] = frozenset(),
          commercial_only: bool = False, progress: bool = True) -> BuildResult:
    """Build (or rebuild) the graph from `data_dir` into Neo4j."""
    sources = sources or list(ADAPTERS)
    unknown = [s for s in sources if s not in ADAPTERS]
    if unknown:
        raise SourceDataError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(ADAPTERS)}")
    check_inputs(data_dir, sources)
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    sums = checksums(data_dir, sources)
    build_id = make_build_id(started, sums)
    batch = collect(data_dir, sources, excluded_sources=excluded_sources, commercial_only=commercial_only,
                    progress=progress)
    t_read = time.perf_counter()
    schema = batch.schema
    loader.ensure_schema(driver, schema, database)
    driver.execute_query(
        "MERGE (b:Build {id: $id}) SET b.started = $started, b.status = 'running', b.data_dir = $dir",
        id=build_id, started=started.isoformat(), dir=str(data_dir), database_=database)
    loader.write_batch(driver, batch, build_id, database, progress=progress)
    t_write = time.perf_counter()
    deleted = loader.delete_stale(driver, schema, build_id, database)
    counts, unresolved, report_dir = write_reports(report_root, build_id, batch)
    driver.execute_query(
        "MATCH (b:Build {id: $id}) SET b.finished = $finished, b.status = 'complete', b.checksums = $sums, "
        "b.counts = $counts, b.rejects = $rejects, b.unresolved = $unresolved, b.excluded_licenses = $excl, "
        "b.sources = $sources, b.report_dir = $report "
        "WITH b MATCH (old:Build) WHERE old.id <> b.id AND old.status <> 'complete' DELETE old",
        id=build_id, finished=datetime.now(UTC).isoformat(), sums=json.dumps(sums),
        counts=json.dumps(counts), rejects=len(batch.rejects), unresolved=unresolved,
        excl=["non-commercial"] if commercial_only else [], sources=sources, report=str(report_dir),
        database_=database)
    t_end = time.perf_counter()
    return BuildResult(
        build_id=build_id, counts=counts, rejects=len(batch.rejects), unresolved=unresolved,
        deleted_stale=deleted, report_dir=str(report_dir), excluded=dict(batch.excluded),
        resolution={k: {kk: (len(vv) if isinstance(vv, list) else vv) for kk, vv in v.items()}
                    for k, v in batch.resolution.items()},
        seconds={"read": round(t_read - t0, 2), "write": round(t_write - t_read, 2),
                 "cleanup": round(t_end - t_write, 2), "total": round(t_end - t0, 2)},
    )


def write_reports(report_root: Path, build_id: str, batch: GraphBatch) -> tuple[dict, int, Path]:
    """Write the rejects, resolution and summary reports of a build and point `latest` at them.

    Returns the counts per label/type, the number of unresolved names and the report folder.
    """
    counts = batch.counts()
    unresolved = sum(len(v.get("unresolved", [])) for v in batch.resolution.values())
    report_dir = report_root / build_id
    _write_report_files(report_dir, batch, counts)
    latest = report_root / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(report_dir.name)
    return counts, unresolved, report_dir


def _write_report_files(report_dir: Path, batch: GraphBatch, counts: dict) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    with open(report_dir / "rejects.tsv", "w", encoding="utf-8") as fh:
        fh.write("source\tfile\tline\treason\n")
        for r in batch.rejects:
            fh.write(f"{r.source}\t{r.file}\t{r.line if r.line is not None else ''}\t{r.reason}\n")
    (report_dir / "resolution.json").write_text(json.dumps(batch.resolution, indent=1, default=str))
    by_source = Counter(r.source for r in batch.rejects)
    (report_dir / "summary.json").write_text(json.dumps(
        {"counts": counts, "rejects_by_source": dict(by_source), "excluded": dict(batch.excluded)}, indent=1))
