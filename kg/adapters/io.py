"""Reading source files row by row with line numbers; malformed rows become rejects, not crashes."""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from kg.records import GraphBatch

csv.field_size_limit(2**31 - 1)


def read_table(path: Path, batch: GraphBatch, source: str, required: list[str], delimiter: str = "\t",
               encoding: str = "utf-8-sig") -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) of a TSV/CSV; a missing column rejects the whole file, a short row that line."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, newline="") as fh:
            reader = csv.DictReader(fh, delimiter=delimiter)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                batch.reject(path, 1, f"missing column(s) {', '.join(missing)}; header has {', '.join(header)}",
                             source)
                return
            for row in reader:
                line = reader.line_num
                if None in row or any(row.get(c) is None for c in required):
                    batch.reject(path, line, f"malformed row: expected {len(header)} fields", source)
                    continue
                yield line, row
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        batch.reject(path, None, f"file truncated or corrupt: {exc}; rows before it were loaded", source)


def read_sif(path: Path, batch: GraphBatch, source: str) -> Iterator[tuple[int, str, str, str]]:
    """Hetionet SIF (source, metaedge, target), gzip; a truncated file keeps the rows read before the break."""
    line = 1
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            if header != ["source", "metaedge", "target"]:
                batch.reject(path, 1, f"unexpected header {header}; want source, metaedge, target", source)
                return
            for line, raw in enumerate(fh, start=2):
                parts = raw.rstrip("\n").split("\t")
                if len(parts) != 3 or not all(parts):
                    batch.reject(path, line, f"malformed row: expected 3 tab-separated fields, got {raw!r:.80}",
                                 source)
                    continue
                yield line, parts[0], parts[1], parts[2]
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        batch.reject(path, line + 1, f"file truncated or corrupt after line {line}: {exc}; earlier rows loaded",
                     source)


def split_list(value: str | None, sep: str = "|") -> list[str]:
    return [v.strip() for v in (value or "").split(sep) if v.strip()]
