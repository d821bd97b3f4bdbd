"""The `medkg` command: one entry point, subcommands registered by each package."""

from __future__ import annotations

import argparse
import importlib
import sys

from kg.errors import MedKGError

# Modules that each define `register(subparsers)`; imported lazily-light (no torch at import time).
COMMAND_MODULES = [
    "kg.cli",
    "kg.patients_cli",
    "gnn.treats.cli",
    "gnn.diagnosis.cli",
    "gnn.text.cli",
    "gnn.images.cli",
    "gnn.pipeline.cli",
    "api.keys_cli",
    "api.serve_cli",
    "api.qa_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medkg", description="MedKG: medical knowledge-graph reasoning.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MedKGError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
