"""`id,question` CSV -> JSONL answers, one object per row in order; a malformed row is reported with its line
number (and written as an error object) while the others are answered."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kg.errors import InvalidInput

MAX_QUESTION = 1000


def read_questions(path: Path) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    """(line, id, question, problem) per data row; problem names the line and field when the row is malformed."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", "input")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["id", "question"]:
            raise InvalidInput(f"{path}:1: the header must be 'id,question', got {','.join(header or [])!r}", "input")
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 2:
                yield line, (row[0] if row else None), None, (f"{path}:{line}: expected 2 fields (id,question), "
                                                              f"got {len(row)}")
            elif not row[0].strip():
                yield line, None, None, f"{path}:{line}: field 'id' is empty"
            elif not row[1].strip():
                yield line, row[0], None, f"{path}:{line}: field 'question' is empty"
            elif len(row[1]) > MAX_QUESTION:
                yield line, row[0], None, f"{path}:{line}: field 'question' is longer than {MAX_QUESTION} characters"
            else:
                yield line, row[0].strip(), row[1].strip(), None


def compact(qid: str | None, line: int, res: dict[str, Any]) -> dict[str, Any]:
    interp = res.get("interpretation") or {}
    return {"id": qid, "line": line, "question": res.get("question"), "abstained": res["abstained"],
            "reason": res.get("reason"), "intent": interp.get("intent"), "entities": interp.get("entities", []),
            "answers": [{"id": a["id"], "name": a["name"], "label": a["label"]} for a in res["answers"]],
            "summary": res.get("summary"), "cypher": res.get("cypher"),
            "evidence": [{"id": a["id"], "facts": a.get("facts", [])} for a in res["answers"]],
            "candidates": res.get("candidates", [])}


def answer_file(ask: Callable[[str], dict[str, Any]], inp: Path, out: Path,
                progress: bool = False) -> dict[str, Any]:
    rows = list(read_questions(inp))
    errors: list[str] = []
    answered = abstained = 0
    it = rows
    if progress:
        from tqdm import tqdm

        it = tqdm(rows, desc="questions", unit="q")
    lines = []
    for line, qid, question, problem in it:
        if problem is not None:
            errors.append(problem)
            lines.append({"id": qid, "line": line, "error": problem})
            continue
        res = ask(question or "")
        answered += 1
        abstained += bool(res["abstained"])
        lines.append(compact(qid, line, res))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(x, default=str) + "\n" for x in lines))
    return {"input": str(inp), "output": str(out), "rows": len(rows), "answered": answered - abstained,
            "abstained": abstained, "malformed": len(errors), "errors": errors}
