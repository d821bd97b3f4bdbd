"""`medkg predict side-effects`: a TSV `drug_id, side_effect_id, probability` (best first per drug)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from gnn.sideeffects.predictor import SideEffectModel
from kg.errors import ConfigError

HEADER = ("drug_id", "side_effect_id", "probability")


def requested_rows(model: SideEffectModel, drugs: list[str] | None, input_file: str | None) -> np.ndarray:
    """Rows of the requested ids (unknown ids: an error naming them and where they came from); with no
    request, every drug without a recorded profile that has inputs."""
    from gnn.sideeffects.family import read_drug_ids

    if not drugs and not input_file:
        return np.nonzero(~model.profiled & model.has_input)[0]
    ids = list(drugs or []) + (read_drug_ids(Path(input_file)) if input_file else [])
    unknown = [d for d in ids if d not in model.pos]
    if unknown:
        where = f"--input {input_file}" if input_file else "--drugs"
        raise ConfigError(f"{where}: unknown drug id(s) {', '.join(unknown[:10])}"
                          f"{' …' if len(unknown) > 10 else ''} (not in model run {model.model_run})")
    return np.array(sorted({model.pos[d] for d in ids}), dtype=np.int64)


def write_tsv(model: SideEffectModel, output: Path, *, drugs: list[str] | None = None, input_file: str | None = None,
              top: int = 50, min_probability: float = 0.0, batch: int = 256) -> dict[str, Any]:
    from gnn.artifacts_io import write_text

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    rows = requested_rows(model, drugs, input_file)
    buf = io.StringIO()
    buf.write("\t".join(HEADER) + "\n")
    n_rows, no_basis = 0, []
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        p = np.nan_to_num(model.probabilities(chunk), nan=-1.0)
        for j, r in enumerate(chunk.tolist()):
            if model.basis(r) == "none":
                no_basis.append(model.drugs[r])
                continue
            cols = np.nonzero(p[j] >= min_probability)[0]
            cols = cols[np.argsort(-p[j, cols], kind="stable")][:top]
            for c in cols.tolist():
                buf.write(f"{model.drugs[r]}\t{model.side_effects[c]}\t{p[j, c]:.4f}\n")
                n_rows += 1
    write_text(Path(output), buf.getvalue())
    return {"output": str(output), "rows": n_rows, "drugs": len(rows) - len(no_basis),
            "no_basis": no_basis, "model_run": model.model_run}
