"""`medkg predict ddi --input PAIRS.tsv --output OUT.tsv`: one output row per input row, same order.

Input: header `drug1`, `drug2` (DrugBank ids, ddi.tsv orientation). Output: drug1, drug2, type (1-86),
probability, severity, severity_probability, note. An unknown id keeps its row with an empty type and the
reason in `note`; a malformed line is an error naming the line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from gnn.ddi.data import SEVERITIES
from gnn.ddi.runtime import DdiRuntime
from kg.errors import ConfigError

HEADER = ("drug1", "drug2", "type", "probability", "severity", "severity_probability", "note")
CHUNK = 65536


def read_input(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise ConfigError(f"no input file {path}")
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if [h.strip().lower() for h in header[:2]] != ["drug1", "drug2"]:
            raise ConfigError(f"{path}:1: expected a header with columns drug1<TAB>drug2, got {header!r}")
        for line, raw in enumerate(fh, start=2):
            parts = raw.rstrip("\r\n").split("\t")
            if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
                raise ConfigError(f"{path}:{line}: malformed line {raw.rstrip()!r}: expected drug1<TAB>drug2")
            rows.append((parts[0].strip(), parts[1].strip()))
    return rows


def predict_pairs(rt: DdiRuntime, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised: type, its probability, severity label index and probability for index arrays."""
    tp = rt.type_proba(a, b)
    t = tp.argmax(axis=1)
    feats = rt.pair_type_features(a, b, tp)
    sp = rt.severity_proba(a, b, feats)
    rest = 1 + sp[:, 1:].argmax(axis=1)
    sev = np.where(sp[:, 0] >= rt.major_threshold, 0, rest)
    return {"type": t + 1, "probability": tp[np.arange(len(t)), t], "severity": sev,
            "severity_probability": sp[np.arange(len(t)), sev]}


def predict_file(rt: DdiRuntime, inp: Path, out: Path) -> dict[str, Any]:
    from gnn.artifacts_io import write_text

    t0 = time.perf_counter()
    rows = read_input(inp)
    idx = rt.index
    ia = np.array([idx.get(r[0], -1) for r in rows], np.int64)
    ib = np.array([idx.get(r[1], -1) for r in rows], np.int64)
    ok = (ia >= 0) & (ib >= 0) & (ia != ib)
    good = np.flatnonzero(ok)
    res: dict[str, list[np.ndarray]] = {"type": [], "probability": [], "severity": [], "severity_probability": []}
    for s in range(0, len(good), CHUNK):
        g = good[s:s + CHUNK]
        part = predict_pairs(rt, ia[g], ib[g])
        for k in res:
            res[k].append(part[k])
    cols = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in res.items()}
    lines = ["\t".join(HEADER)]
    pos = np.full(len(rows), -1, np.int64)
    pos[good] = np.arange(len(good))
    # the numeric columns as text in bulk (one pass each), then one join per row
    ttxt = cols["type"].astype(np.int64).astype(str).tolist()
    ptxt = np.char.mod("%.4f", cols["probability"]).tolist() if len(good) else []
    stxt = [SEVERITIES[i] for i in cols["severity"].astype(np.int64).tolist()]
    sptxt = np.char.mod("%.4f", cols["severity_probability"]).tolist() if len(good) else []
    for i, (d1, d2) in enumerate(rows):
        j = int(pos[i])
        if j < 0:
            if d1 == d2:
                note = "drug1 and drug2 are the same drug"
            else:
                unknown = [f"{name} {d!r}" for name, d in (("drug1", d1), ("drug2", d2)) if d not in idx]
                note = "unknown id: " + ", ".join(unknown) + " (not in the model's drug list)"
            lines.append(f"{d1}\t{d2}\t\t\t\t\t{note}")
            continue
        lines.append(f"{d1}\t{d2}\t{ttxt[j]}\t{ptxt[j]}\t{stxt[j]}\t{sptxt[j]}\tpredicted")
    write_text(out, "\n".join(lines) + "\n")
    return {"rows": len(rows), "predicted": len(good), "unknown": int(len(rows) - len(good)),
            "output": str(out), "model_run": rt.model_run, "seconds": round(time.perf_counter() - t0, 3)}
