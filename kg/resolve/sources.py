"""Reading the source files the resolvers are built from, with errors that name file, line and field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.errors import SourceDataError

csv.field_size_limit(1 << 24)


def require(path: Path) -> Path:
    """`path` if it is a readable file, else a SourceDataError naming it."""
    if not path.is_file():
        raise SourceDataError(f"{path}: source file not found")
    return path


def read_rows(path: Path, columns: tuple[str, ...], delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; fails early if a needed column is missing."""
    with require(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SourceDataError(f"{path}:1: missing column(s) {missing} (header {reader.fieldnames})")
        for row in reader:
            yield reader.line_num, row


def read_json(path: Path) -> Any:
    try:
        return json.loads(require(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceDataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from exc


def bad_value(path: Path, line: int, field: str, value: object, why: str) -> SourceDataError:
    return SourceDataError(f"{path}:{line}: field {field!r} value {value!r}: {why}")
