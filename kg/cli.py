"""`medkg neo4j ...` and `medkg kg ...` subcommands."""

from __future__ import annotations

import argparse

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
    p = sub.add_parser("neo4j", help="run the local Neo4j 5.26 server (with Browser)",
                       description="Start, stop or inspect the local Neo4j server (loopback only).")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--home", type=lambda v: __import__("pathlib").Path(v),
                   help="server home (conf, data, logs); default $MEDKG_HOME/neo4j")
    p.add_argument("--bolt-port", type=int, help="Bolt port (0 = pick a free one); default 7687")
    p.add_argument("--http-port", type=int, help="HTTP/Browser port (0 = pick a free one); default 7474")
    add_json_flag(p)
    p.set_defaults(func=cmd_neo4j)
