"""`medkg text classify`: a CSV with a `text` column → one JSON line per row, in order."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from kg.errors import InvalidInput


def read_texts(path: Path) -> list[tuple[int, str]]:
    """(line number, text) per data row of the CSV; the `text` column is required (other columns ignored)."""
    if not path.exists():
        raise InvalidInput(f"{path}: file not found", field="input")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            column = "text" if "text" in columns else next(
                (c for c in columns if c is not None and c.strip().lower() == "text"), None)
            if column is None:
                raise InvalidInput(f"{path}: no 'text' column; columns found: {columns}", field="text")
            rows = []
            for row in reader:
                value = row.get(column)
                rows.append((reader.line_num, value if isinstance(value, str) else ""))
            return rows
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc})", field="input") from exc
    except csv.Error as exc:
        raise InvalidInput(f"{path}: malformed CSV: {exc}", field="input") from exc


def classify_file(input_path: Path, output_path: Path, classifier=None, progress: bool = False) -> dict:
    """Write `{"label": ..., "probability": p}` per input row to output_path (JSON lines); `classifier`
    defaults to the latest run of the text family."""
    from gnn.text.features import encode_complaints

    if classifier is None:  # fail before reading a large file
        from gnn.pipeline.registry import get_family

        classifier = get_family("text").load()
    clf = classifier
    rows = read_texts(input_path)
    empty = 0
    for line, text in rows:
        if not text.strip():
            empty += 1
            print(f"warning: {input_path}, line {line}: empty text; writing the most likely label anyway",
                  file=sys.stderr)
    texts = [t.strip() for _, t in rows]
    whole, mean = encode_complaints(texts, progress=progress)
    probs = clf.predict_proba(texts, whole, mean) if texts else []
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as out:
        for p in probs:
            i = int(p.argmax())
            out.write(json.dumps({"label": clf.classes[i], "probability": round(float(p[i]), 6)}) + "\n")
    return {"input": str(input_path), "output": str(output_path), "rows": len(rows), "empty_rows": empty,
            "model_run": clf.meta.get("model_run")}
