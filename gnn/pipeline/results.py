"""Results as files: `medkg evaluate MODEL` writes docs/results/<name>.json (committed), and the tables
and figures in README.md and docs/*.md are generated from those files by `medkg docs tables`.

A results document::

    {"name": "treats", "family": "treats", "title": ..., "command": ..., "git_sha": ..., "build_id": ...,
     "created": ..., "split": "how the data was split", "seeds": [10, 11, ...], "primary": "ensemble",
     "metrics": ["auroc_all", "mrr", "hits@10"],            # the table's columns, in order
     "models": {"ensemble": {"hits@10": {"per_seed": [...], "mean": m, "sd": s}, ...},
                "degree prior": {...}},                       # baselines measured in the same run
     "notes": {...}}                                          # anything else worth keeping

Markers in markdown (the generator replaces what lies between them):

    <!-- results:treats -->...<!-- /results -->                 the table, all metrics
    <!-- results:treats metrics=mrr,hits@10 models=ensemble,degree prior -->...<!-- /results -->
    <!-- value:treats:ensemble:hits@10 -->0.556 ± 0.096<!-- /value -->   one figure
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gnn.artifacts_io import write_text
from kg.errors import ConfigError
from kg.settings import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "docs" / "results"
DOC_FILES = ("README.md", "docs/*.md")
_TABLE = re.compile(r"(<!-- results:(?P<spec>[^>]*?) -->)(?P<body>.*?)(<!-- /results -->)", re.S)
_VALUE = re.compile(r"(<!-- value:(?P<spec>[^>]*?) -->)(?P<body>.*?)(<!-- /value -->)", re.S)


def summarise(values: Iterable[float]) -> dict[str, Any]:
    """Per-seed values with their mean and sample standard deviation (0 for one seed)."""
    vals = [float(v) for v in values]
    return {"per_seed": vals, "mean": statistics.fmean(vals) if vals else float("nan"),
            "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0}


def aggregate(per_seed: Mapping[str, list[Mapping[str, float]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{model: [ {metric: value} per seed ]} -> {model: {metric: summarise(values)}} (metrics every seed has)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for model, rows in per_seed.items():
        keys = [k for k in rows[0] if all(k in r for r in rows)] if rows else []
        out[model] = {k: summarise(r[k] for r in rows) for k in keys
                      if all(isinstance(r[k], int | float) for r in rows)}
    return out


def results_document(name: str, family: str, *, title: str, split: str, seeds: list[int], primary: str,
                     metrics: list[str], per_seed: Mapping[str, list[Mapping[str, float]]],
                     build_id: str | None = None, notes: dict[str, Any] | None = None,
                     command: str | None = None) -> dict[str, Any]:
    from gnn.pipeline.store import git_sha

    return {"name": name, "family": family, "title": title,
            "command": command if command is not None else "medkg " + " ".join(sys.argv[1:]),
            "git_sha": git_sha(), "build_id": build_id, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "split": split, "seeds": list(seeds), "primary": primary, "metrics": list(metrics),
            "models": aggregate(per_seed), "notes": notes or {}}


def write_results(doc: dict[str, Any], results_dir: Path | None = None) -> Path:
    """docs/results/<name>.json, atomically."""
    for key in ("name", "models", "metrics", "seeds"):
        if key not in doc:
            raise ConfigError(f"results document lacks '{key}'")
    folder = Path(results_dir or os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR)
    return write_text(folder / f"{doc['name']}.json", json.dumps(doc, indent=2, default=str) + "\n")


def load_results(name: str, results_dir: Path | None = None) -> dict[str, Any]:
    path = Path(results_dir or os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR) / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"no results file {path}: run the evaluation that writes it (see docs)")
    return json.loads(path.read_text())


def fmt(cell: Mapping[str, Any] | None, digits: int = 3) -> str:
    if not cell:
        return "–"
    if cell.get("sd") and len(cell.get("per_seed", [])) > 1:
        return f"{cell['mean']:.{digits}f} ± {cell['sd']:.{digits}f}"
    return f"{cell['mean']:.{digits}f}"


def _parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    name, *rest = spec.strip().split(" ", 1)
    opts: dict[str, str] = {}
    for m in re.finditer(r"(\w+)=((?:(?! \w+=).)+)", rest[0] if rest else ""):
        opts[m.group(1)] = m.group(2).strip()
    return name, opts


def render_table(doc: Mapping[str, Any], metrics: list[str] | None = None, models: list[str] | None = None,
                 digits: int = 3) -> str:
    metrics = metrics or list(doc["metrics"])
    models = models or list(doc["models"])
    head = "| model | " + " | ".join(metrics) + " |"
    sep = "|---|" + "---|" * len(metrics)
    rows = []
    for m in models:
        if m not in doc["models"]:
            raise ConfigError(f"results '{doc['name']}' has no model '{m}'")
        label = f"**{m}**" if m == doc.get("primary") else m
        rows.append(f"| {label} | " + " | ".join(fmt(doc["models"][m].get(k), digits) for k in metrics) + " |")
    seeds = ", ".join(str(s) for s in doc["seeds"])
    foot = (f"\n\n<sub>{doc.get('split', '')} Seeds {seeds}; mean ± sd. From `docs/results/{doc['name']}.json` "
            f"(`{doc.get('command', '')}`, git {str(doc.get('git_sha') or '?')[:12]}, build "
            f"{doc.get('build_id') or '?'}).</sub>\n")
    return "\n" + "\n".join([head, sep, *rows]) + foot


def render_markdown(text: str, results_dir: Path | None = None) -> str:
    """`text` with every results/value marker's body regenerated from its results file."""
    cache: dict[str, dict[str, Any]] = {}

    def doc(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = load_results(name, results_dir)
        return cache[name]

    def table(m: re.Match[str]) -> str:
        name, opts = _parse_spec(m.group("spec"))
        def split(k):
            return ([s.strip() for s in opts[k].split(",")] if k in opts else None)
        body = render_table(doc(name), split("metrics"), split("models"), int(opts.get("digits", 3)))
        return m.group(1) + body + m.group(4)

    def value(m: re.Match[str]) -> str:
        name, model, metric = m.group("spec").strip().split(":", 2)
        d = doc(name)
        if model not in d["models"] or metric not in d["models"][model]:
            raise ConfigError(f"results '{name}' has no {model}:{metric}")
        return m.group(1) + fmt(d["models"][model][metric]) + m.group(4)

    return _VALUE.sub(value, _TABLE.sub(table, text))


def doc_paths(root: Path = REPO_ROOT) -> list[Path]:
    out: list[Path] = []
    for pattern in DOC_FILES:
        out.extend(sorted(root.glob(pattern)))
    return out


def regenerate(root: Path = REPO_ROOT, check: bool = False, results_dir: Path | None = None) -> list[Path]:
    """Rewrite (or, with check=True, list without writing) the markdown files whose tables are stale."""
    stale = []
    for path in doc_paths(root):
        text = path.read_text()
        new = render_markdown(text, results_dir)
        if new != text:
            stale.append(path)
            if not check:
                write_text(path, new)
    return stale
