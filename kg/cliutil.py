"""Small helpers shared by every `medkg` subcommand: JSON or human output, errors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print `obj` as JSON, or as the text `human(obj)` gives (key: value lines by default)."""
    if as_json:
        print(json.dumps(obj, indent=2, default=str))
        return
    if human is not None:
        print(human(obj))
        return
    if isinstance(obj, dict):
        width = max((len(str(k)) for k in obj), default=0)
        for key, value in obj.items():
            print(f"{str(key).ljust(width)}  {value}")
    else:
        print(obj)


def table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    """A plain aligned text table."""
    cells = [tuple(str(c) for c in headers), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
