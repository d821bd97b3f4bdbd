"""`medkg kg build --bulk`: fill a fresh database with `neo4j-admin database import` (the physical-limit path).

The rows the online build would write (kg.build.collect, then kg.loader's row groups) go to import CSVs:
one file per label (`id:ID(Label)` id spaces) or relationship type (`:START_ID(Label)`/`:END_ID(Label)`),
columns typed (`string[]` for lists, with an array delimiter that no value contains). The server is
stopped, the import replaces the database, the server is started again, then the constraints, indexes
and the Build node are created as the online build does. The result is the online build's graph: same
elements, same properties (provenance and `build_id` included).

Values a CSV cell cannot carry (empty lists, empty strings, NaN) are set with Cypher after the start.
The import replaces the whole database: it refuses a database that holds nodes no build made
(patients created through the API, predictions).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kg import loader
from kg.build import ADAPTERS, BuildResult, check_inputs, checksums, collect, make_build_id, write_reports
from kg.errors import ConfigError, ServerError, SourceDataError
from kg.records import GraphBatch
from kg.server import Neo4jServer
from kg.settings import Settings

ARRAY_DELIMITERS = ("\x1f", "\x1e", "\x1d", "\x1c", "|", ";")
FIX = "medkg_fix"  # temporary property: index of the values set after the import


def _cell_type(value: Any) -> str | None:
    """The import type of a value, or None when a CSV cell cannot carry it exactly."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double" if math.isfinite(value) else None
    if isinstance(value, str):
        return "string"  # written quoted, so "" stays an empty string
    if isinstance(value, list | tuple):
        if any(v == "" for v in value):
            return None  # an empty element cannot be told apart in a delimited cell
        kinds = {_cell_type(v) for v in value}
        if len(kinds) != 1:
            return None  # empty, or mixed
        kind = kinds.pop()
        return None if kind is None or kind.endswith("[]") else f"{kind}[]"
    return None


def _cell(value: Any, delimiter: str) -> str:
    """One CSV field: strings and lists quoted (quotes doubled), numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        text = delimiter.join(v if isinstance(v, str) else _cell(v, delimiter) for v in value)
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


@dataclass
class _File:
    path: Path
    kind: str  # "nodes" or "relationships"
    name: str  # label or relationship type
    columns: dict[str, str] = field(default_factory=dict)  # property -> import type
    rows: list[tuple[dict[str, Any], tuple[str, str]]] = field(default_factory=list)  # (typed props, key)

    def fits(self, typed: dict[str, str]) -> bool:
        return all(self.columns.get(k, t) == t for k, t in typed.items())


@dataclass
class ImportFiles:
    """The CSV files of one import and the values to set after it."""

    directory: Path
    nodes: list[tuple[str, Path]]
    relationships: list[tuple[str, Path]]
    array_delimiter: str
    multiline: bool
    fixups: dict[tuple[str, str], dict[str, dict[str, Any]]]  # (kind, label/type) -> {fix index: props}
    n_nodes: int = 0
    n_relationships: int = 0

    def args(self) -> list[str]:
        out = [f"--nodes={label}={path}" for label, path in self.nodes]
        out += [f"--relationships={rel}={path}" for rel, path in self.relationships]
        return out


def _delimiter(batch: GraphBatch) -> str:
    used: set[str] = set()
    for values in (batch.nodes.values(), batch.edges.values()):
        for props in values:
            for v in props.values():
                if isinstance(v, list | tuple):
                    for item in v:
                        used.update(c for c in ARRAY_DELIMITERS if c in str(item))
    for prov in (*batch.node_prov.values(), *batch.edge_prov.values()):
        for item in (*prov.sources, *prov.versions, *prov.licenses):
            used.update(c for c in ARRAY_DELIMITERS if c in item)
    free = [c for c in ARRAY_DELIMITERS if c not in used]
    if not free:
        raise SourceDataError("no safe array delimiter: every candidate occurs in some list value")
    return free[0]


def _place(files: list[_File], make: Any, typed: dict[str, str]) -> _File:
    """First file whose column types agree with this row's (a property with two types splits the group)."""
    for f in files:
        if f.fits(typed):
            return f
    files.append(make(len(files)))
    return files[-1]


def write_import_files(batch: GraphBatch, build_id: str, directory: Path) -> ImportFiles:
    """Write the batch as neo4j-admin import CSVs into `directory` (exactly what the online loader writes)."""
    directory.mkdir(parents=True, exist_ok=True)
    delim = _delimiter(batch)
    multiline = False
    fixups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    out = ImportFiles(directory, [], [], delim, False, fixups)

    def split(kind: str, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        nonlocal multiline
        keep, typed, later = {}, {}, {}
        for k, v in props.items():
            t = _cell_type(v)
            if t is None:
                later[k] = v
            else:
                keep[k], typed[k] = v, t
                multiline = multiline or (t.startswith("string") and any("\n" in s or "\r" in s for s in (
                    v if isinstance(v, list) else [v])))
        if later:
            fix = fixups.setdefault((kind, name), {})
            keep[FIX], typed[FIX] = len(fix), "long"
            fix[str(len(fix))] = later
        return keep, typed

    node_files: list[_File] = []
    for label, rows in sorted(loader._node_groups(batch).items()):
        batch.schema.check_label(label)
        files: list[_File] = []
        for row in rows:
            props = {k: v for k, v in row["props"].items() if k != "id"}
            props["build_id"] = build_id
            keep, typed = split("nodes", label, props)
            f = _place(files, lambda i, lab=label: _File(directory / f"nodes-{lab}-{i}.csv", "nodes", lab), typed)
            f.columns.update(typed)
            f.rows.append((keep, (row["id"], "")))
        node_files += files
        out.n_nodes += len(rows)
    rel_files: list[_File] = []
    for (rel, s_label, t_label, _per_source), rows in sorted(loader._edge_groups(batch).items()):
        batch.schema.check_rel(rel)
        files = []
        for row in rows:
            props = dict(row["props"])
            props["build_id"] = build_id
            keep, typed = split("relationships", rel, props)
            typed = {"\0start": s_label, "\0end": t_label, **typed}
            f = _place(files, lambda i, r=rel, s=s_label, t=t_label: _File(
                directory / f"rels-{r}-{s}-{t}-{i}.csv", "relationships", r), typed)
            f.columns.update(typed)
            f.rows.append((keep, (row["s"], row["t"])))
        rel_files += files
        out.n_relationships += len(rows)
    for f in node_files + rel_files:
        _write_csv(f, delim)
        (out.nodes if f.kind == "nodes" else out.relationships).append((f.name, f.path))
    out.multiline = multiline
    return out


def _write_csv(f: _File, delim: str) -> None:
    cols = [c for c in f.columns if not c.startswith("\0")]
    if f.kind == "nodes":
        header = [f"id:ID({f.name})"]
    else:
        start, end = f.columns["\0start"], f.columns["\0end"]
        header = [f":START_ID({start})", f":END_ID({end})"]
    header += [f"{c}:{f.columns[c]}" for c in cols]
    with open(f.path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for props, ends in f.rows:
            lead = [_cell(e, delim) for e in (ends[:1] if f.kind == "nodes" else ends)]
            # an absent property is an empty, unquoted field
            fh.write(",".join(lead + [_cell(props[c], delim) if c in props else "" for c in cols]) + "\n")
    f.rows.clear()


def run_import(server: Neo4jServer, files: ImportFiles, database: str, heap: str = "1g") -> float:
    """`neo4j-admin database import full` into the (stopped) server's database; returns seconds."""
    if server.running_pid() is not None:
        raise ServerError(f"Neo4j is running (home {server.home}); stop it before a bulk import")
    if not (server.conf_dir / "neo4j.conf").is_file():
        raise ConfigError(f"no Neo4j configuration in {server.conf_dir}: start the server once first")
    java = server._java()
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.conf_dir)}
    cmd = [java, f"-Xmx{heap}", "-cp", f"{server.lib}/*", "org.neo4j.cli.AdminTool",
           "database", "import", "full", database, *files.args(), "--overwrite-destination",
           f"--array-delimiter={files.array_delimiter}", f"--multiline-fields={str(files.multiline).lower()}",
           f"--report-file={files.directory / 'import.report'}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=files.directory)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
        raise ServerError(f"neo4j-admin database import failed (exit {proc.returncode}): " + " | ".join(tail))
    return time.perf_counter() - t0


def apply_fixups(driver, files: ImportFiles, database: str, schema) -> None:
    """Set the values CSV cells could not carry, then drop the temporary index property."""
    for (kind, name), fixes in sorted(files.fixups.items()):
        pattern = f"(x:{schema.check_label(name)})" if kind == "nodes" else f"()-[x:{schema.check_rel(name)}]->()"
        driver.execute_query(
            f"MATCH {pattern} WHERE x.{FIX} IS NOT NULL "
            f"WITH x, $fixes[toString(x.{FIX})] AS p SET x += p REMOVE x.{FIX}",
            fixes=fixes, database_=database)


def server_for(settings: Settings) -> Neo4jServer:
    """The local server the settings point at (home NEO4J_HOME or $MEDKG_HOME/neo4j, Bolt port of NEO4J_URI)."""
    bolt = settings.neo4j_bolt_port
    if settings.neo4j_uri:
        bolt = urlparse(settings.neo4j_uri).port or bolt
    return Neo4jServer(home=settings.server_home.resolve(), lib=settings.neo4j_lib, bolt_port=bolt,
                       http_port=settings.neo4j_http_port, password=settings.neo4j_password,
                       heap=settings.neo4j_heap, pagecache=settings.neo4j_pagecache,
                       guide_base=settings.medkg_browser_guide_url or None)


def _driver(server: Neo4jServer, user: str = "neo4j"):
    from neo4j import GraphDatabase

    return GraphDatabase.driver(f"bolt://127.0.0.1:{server.bolt_port}", auth=(user, server.resolve_password()),
                                notifications_min_severity="OFF")


def _guard_other_data(server: Neo4jServer, database: str) -> None:
    with _driver(server) as drv:
        nodes = drv.execute_query("MATCH (n) WHERE n.build_id IS NULL AND NOT n:Build RETURN count(n) AS c",
                                  database_=database)[0][0]["c"]
        rels = drv.execute_query("MATCH ()-[r]->() WHERE r.build_id IS NULL RETURN count(r) AS c",
                                 database_=database)[0][0]["c"]
    if nodes or rels:
        raise ConfigError(f"the database holds {nodes} nodes and {rels} relationships no build made (API patients, "
                          "predictions…); a bulk import would erase them: use the online build (without --bulk)")


def bulk_build(server: Neo4jServer, data_dir: Path, *, database: str, report_root: Path,
               sources: list[str] | None = None, excluded_sources: frozenset[str] = frozenset(),
               commercial_only: bool = False, progress: bool = True, expected_uri: str | None = None,
               work_dir: Path | None = None) -> BuildResult:
    """Build the graph with neo4j-admin import; the server is stopped for the import and started after."""
    sources = sources or list(ADAPTERS)
    unknown = [s for s in sources if s not in ADAPTERS]
    if unknown:
        raise SourceDataError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(ADAPTERS)}")
    check_inputs(data_dir, sources)
    was_running = server.running_pid() is not None
    if was_running:
        st = server.status()
        server.bolt_port, server.http_port = st["bolt_port"], st["http_port"]
        if expected_uri and urlparse(expected_uri).port not in (None, server.bolt_port):
            raise ConfigError(f"NEO4J_URI {expected_uri} is not the server in {server.home} (Bolt port "
                              f"{server.bolt_port}): set NEO4J_HOME to the home of the server to load")
        _guard_other_data(server, database)
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    sums = checksums(data_dir, sources)
    build_id = make_build_id(started, sums)
    batch = collect(data_dir, sources, excluded_sources=excluded_sources, commercial_only=commercial_only,
                    progress=progress)
    t_read = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medkg-import-", dir=work_dir) as tmp:
        files = write_import_files(batch, build_id, Path(tmp))
        t_csv = time.perf_counter()
        if was_running:
            server.stop()
        elif not (server.conf_dir / "neo4j.conf").is_file() or not (server.data_dir / "dbms").exists():
            server.start()  # a never-started home: let the server write its conf and system database
            server.stop()
        t_import = run_import(server, files, database)
        server.start()
        t_loaded = time.perf_counter()
        with _driver(server) as driver:
            apply_fixups(driver, files, database, batch.schema)
            loader.ensure_schema(driver, batch.schema, database)
            counts, unresolved, report_dir = write_reports(report_root, build_id, batch)
            driver.execute_query(
                "CREATE (b:Build {id: $id}) SET b.started = $started, b.data_dir = $dir, b.finished = $finished, "
                "b.status = 'complete', b.checksums = $sums, b.counts = $counts, b.rejects = $rejects, "
                "b.unresolved = $unresolved, b.excluded_licenses = $excl, b.sources = $sources, "
                "b.report_dir = $report, b.method = 'bulk'",
                id=build_id, started=started.isoformat(), dir=str(data_dir), finished=datetime.now(UTC).isoformat(),
                sums=json.dumps(sums), counts=json.dumps(counts), rejects=len(batch.rejects),
                unresolved=unresolved, excl=["non-commercial"] if commercial_only else [], sources=sources,
                report=str(report_dir), database_=database)
    if not was_running:
        server.stop()
    t_end = time.perf_counter()
    return BuildResult(
        build_id=build_id, counts=counts, rejects=len(batch.rejects), unresolved=unresolved, deleted_stale={},
        report_dir=str(report_dir), excluded=dict(batch.excluded),
        resolution={k: {kk: (len(vv) if isinstance(vv, list) else vv) for kk, vv in v.items()}
                    for k, v in batch.resolution.items()},
        seconds={"read": round(t_read - t0, 2), "csv": round(t_csv - t_read, 2), "import": round(t_import, 2),
                 "write": round(t_loaded - t_read, 2), "cleanup": round(t_end - t_loaded, 2),
                 "total": round(t_end - t0, 2)},
    )
