"""`medkg neo4j ...` and `medkg kg ...` subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from kg.cliutil import add_json_flag, emit
from kg.settings import get_settings


def _server(args: argparse.Namespace):
    from kg.server import Neo4jServer

    s = get_settings()
    return Neo4jServer(
        home=(args.home or s.server_home).resolve(),
        lib=s.neo4j_lib,
        bolt_port=args.bolt_port if args.bolt_port is not None else s.neo4j_bolt_port,
        http_port=args.http_port if args.http_port is not None else s.neo4j_http_port,
        password=s.neo4j_password,
        heap=s.neo4j_heap,
        pagecache=s.neo4j_pagecache,
        guide_base=s.medkg_browser_guide_url or None,
    )


def _status_text(st: dict) -> str:
    if not st["running"]:
        return f"Neo4j is not running (home {st['home']})"
    return (
        f"Neo4j {st['version']} {st['edition']} running (pid {st['pid']})\n"
        f"  Bolt     {st['bolt_uri']}\n"
        f"  Browser  {st['browser_url']}  (user neo4j, password: NEO4J_PASSWORD or {st['home']}/password)\n"
        f"  data     {st['data_dir']}"
    )


def cmd_neo4j(args: argparse.Namespace) -> int:
    server = _server(args)
    if args.action == "start":
        st = server.start()
    elif args.action == "stop":
        stopped = server.stop()
        st = server.status()
        st["stopped"] = stopped
        if not args.json:
            print("Neo4j stopped" if stopped else f"Neo4j was not running (home {st['home']})")
            return 0
    else:
        st = server.status()
    emit(st, args.json, _status_text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    register_neo4j(sub)
    register_kg(sub)


def register_neo4j(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("neo4j", help="run the local Neo4j 5.26 server (with Browser)",
                       description="Start, stop or inspect the local Neo4j server (loopback only).")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--home", type=Path,
                   help="server home (conf, data, logs); default $MEDKG_HOME/neo4j")
    p.add_argument("--bolt-port", type=int, help="Bolt port (0 = pick a free one); default 7687")
    p.add_argument("--http-port", type=int, help="HTTP/Browser port (0 = pick a free one); default 7474")
    add_json_flag(p)
    p.set_defaults(func=cmd_neo4j)


def cmd_kg(args: argparse.Namespace) -> int:
    from kg.db import open_driver

    if args.action == "schema":  # no database needed
        from kg.schema import describe_text, get_schema

        emit(get_schema().describe(), args.json, describe_text)
        return 0
    s = get_settings()
    with open_driver(s) as driver:
        if args.action == "build":
            from kg.build import ADAPTERS, build

            data_dir = (args.data_dir or s.medkg_data_dir).resolve()
            sources = [x.strip() for x in args.sources.split(",")] if args.sources else list(ADAPTERS)
            opts = {"database": s.neo4j_database, "report_root": s.medkg_home / "builds", "sources": sources,
                    "excluded_sources": frozenset(args.exclude_source or ()),
                    "commercial_only": args.commercial_only, "progress": not args.json}
            if args.bulk:
                from kg.bulk import bulk_build, server_for

                result = bulk_build(server_for(s), data_dir, expected_uri=s.neo4j_uri, **opts)
            else:
                result = build(driver, data_dir, **opts)
            emit(result.to_dict(), args.json, _build_text)
        else:
            from kg.stats import graph_stats, stats_text

            emit(graph_stats(driver, database=s.neo4j_database), args.json, stats_text)
    return 0


def _build_text(r: dict) -> str:
    from kg.cliutil import table

    c = r["counts"]
    lines = [f"build {r['build_id']} complete in {r['seconds']['total']} s "
             f"(read {r['seconds']['read']} s, write {r['seconds']['write']} s)", "",
             table(sorted(c["nodes"].items()), ("label", "nodes")), "",
             table(sorted(c["relationships"].items()), ("type", "relationships")), "",
             f"rejects: {r['rejects']} (see {r['report_dir']}/rejects.tsv)",
             f"unresolved names: {r['unresolved']} (see {r['report_dir']}/resolution.json)"]
    if r["resolution"]:
        rows = [(k, v.get("total"), v.get("resolved"), v.get("rate")) for k, v in sorted(r["resolution"].items())]
        lines += ["", table(rows, ("source", "names", "resolved", "rate"))]
    if r["deleted_stale"]:
        lines.append(f"removed leftovers of earlier builds: {r['deleted_stale']}")
    return "\n".join(lines)


def register_kg(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kg", help="build the knowledge graph, show its counts or its schema",
                       description="Build the medical knowledge graph into Neo4j, report counts, or list the "
                                   "schema (labels with Biolink class and id namespace, relationship types).")
    p.add_argument("action", choices=["build", "stats", "schema"])
    p.add_argument("--data-dir", type=Path, help="source data folder (default $MEDKG_DATA_DIR or ../shared/data)")
    p.add_argument("--sources", help="comma-separated subset of sources to build (default: all)")
    p.add_argument("--exclude-source", action="append", help="leave out a source (repeatable)")
    p.add_argument("--commercial-only", action="store_true",
                   help="leave out every record under a non-commercial license (CC BY-NC, DrugBank terms, ...)")
    p.add_argument("--bulk", action="store_true",
                   help="fresh database only: load with neo4j-admin database import (stops and restarts the "
                        "local server in NEO4J_HOME or $MEDKG_HOME/neo4j; refuses a database with non-build data)")
    add_json_flag(p)
    p.set_defaults(func=cmd_kg)
