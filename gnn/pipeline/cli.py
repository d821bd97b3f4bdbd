"""`medkg train|evaluate|predict MODEL`, `medkg models` and `medkg docs tables`, read from the registry.

`verb_subparsers(sub, verb)` returns a verb's model-name subparsers, creating the verb once; `alias` adds an
old spelling (`medkg images train`) that prints the new form once and runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from kg.cliutil import add_json_flag, emit, table

VERB_HELP = {"train": "train a model family (see `medkg models`)",
             "evaluate": "evaluate a model family over seeds; writes docs/results/<name>.json",
             "predict": "write a model family's predictions"}


def verb_subparsers(sub: argparse._SubParsersAction, verb: str) -> argparse._SubParsersAction:
    """The model-name subparsers of a shared verb (`medkg VERB MODEL`), created on first use."""
    if verb not in sub.choices:
        p = sub.add_parser(verb, help=VERB_HELP.get(verb, verb), description=f"{verb.capitalize()} a model by name.")
        inner = p.add_subparsers(dest=f"{verb}_model", metavar="MODEL", required=True)
        p.set_defaults(_verb_sub=inner)
        return inner
    return sub.choices[verb].get_default("_verb_sub")


_warned: set[str] = set()


def alias(handler: Callable[[argparse.Namespace], int], old: str, new: str) -> Callable[[argparse.Namespace], int]:
    """Wrap `handler` so that the old spelling prints its new form once per process, on stderr."""

    def run(args: argparse.Namespace) -> int:
        if old not in _warned:
            _warned.add(old)
            print(f"note: `medkg {old}` is now `medkg {new}`", file=sys.stderr)
        return handler(args)

    return run


def _metric_str(metrics: dict[str, Any], keys: tuple[str, ...]) -> str:
    out = []
    for k in keys:
        v = metrics.get(k)
        if isinstance(v, int | float):
            out.append(f"{k} {v:.3f}")
    return ", ".join(out)


def _add_common(p: argparse.ArgumentParser, verb: str) -> None:
    if verb in ("train", "evaluate"):
        p.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's)")
    p.add_argument("--artifacts", type=str, default=None, help="artefact root (default: MEDKG_ARTIFACTS)")
    if verb == "train":
        p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    if verb == "evaluate":
        p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to evaluate (default: the family's)")
    add_json_flag(p)


def _train(family_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from gnn.pipeline.registry import get_family

        fam = get_family(family_name)
        man = fam.train(fam.config_from_args(args), progress=not args.json)
        emit(man.to_dict(), args.json, lambda m: (
            f"trained {m['model_run']} (seed {m['seed']}) -> {m['folder']}\n"
            f"{_metric_str(m['metrics'], fam.headline_metrics) or ''}").rstrip())
        return 0

    return run


def _evaluate(family_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from gnn.pipeline.registry import get_family
        from gnn.pipeline.results import render_table

        fam = get_family(family_name)
        cfg = fam.config_from_args(args)
        docs = fam.evaluate(cfg, args.seeds or list(fam.default_seeds), progress=not args.json)
        docs = docs if isinstance(docs, list) else [docs]
        emit(docs if len(docs) > 1 else docs[0], args.json,
             lambda _: "\n".join(f"{d['title']}{render_table(d)}-> docs/results/{d['name']}.json" for d in docs))
        return 0

    return run


def _predict(family_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from gnn.pipeline.registry import get_family

        emit(get_family(family_name).predict(args), args.json)
        return 0

    return run


def cmd_models(args: argparse.Namespace) -> int:
    from gnn.pipeline.registry import families
    from kg.errors import ConfigError

    rows = []
    for fam in families():
        entry: dict[str, Any] = {"name": fam.name, "summary": fam.summary, "artifact_format": fam.artifact_format,
                                 "headline": list(fam.headline_metrics)}
        try:
            man = fam.store().manifest()
            numeric = {k: v for k, v in man.metrics.items() if isinstance(v, int | float)}
            keys = [k for k in fam.headline_metrics if k in numeric] or list(numeric)[:3]
            entry.update(latest=man.model_run, created=man.created, metrics={k: numeric[k] for k in keys})
        except ConfigError as exc:
            entry.update(latest=None, problem=str(exc))
        rows.append(entry)
    emit(rows, args.json, lambda rs: table(
        [(r["name"], r["latest"] or "-", _metric_str(r["metrics"], tuple(r["metrics"])) if r["latest"] else
          r.get("problem", "")[:70], r["summary"]) for r in rs],
        ("model", "latest run", "metrics", "what")))
    return 0


def cmd_docs_tables(args: argparse.Namespace) -> int:
    from gnn.pipeline.results import regenerate

    stale = regenerate(check=args.check)
    rel = [str(p) for p in stale]
    if args.check:
        emit({"stale": rel}, args.json, lambda r: "\n".join(f"stale: {p}" for p in r["stale"]) or "all tables current")
        return 1 if stale else 0
    emit({"rewritten": rel}, args.json, lambda r: "\n".join(f"rewrote {p}" for p in r["rewritten"])
         or "all tables current")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from gnn.pipeline.registry import FAMILIES, get_family

    makers = {"train": _train, "evaluate": _evaluate, "predict": _predict}
    for verb, maker in makers.items():
        inner = verb_subparsers(sub, verb)
        for name in FAMILIES:
            if name in inner.choices:
                continue
            p = inner.add_parser(name, help=f"{verb} {name}")
            _add_common(p, verb)
            get_family(name).add_arguments(verb, p)
            p.set_defaults(func=maker(name), _family=name, _verb=verb)
    p = sub.add_parser("models", help="list model families, their latest run and its metrics")
    add_json_flag(p)
    p.set_defaults(func=cmd_models)
    docs = sub.add_parser("docs", help="documentation helpers")
    dsub = docs.add_subparsers(dest="docs_command", metavar="COMMAND", required=True)
    t = dsub.add_parser("tables", help="regenerate README/docs tables from docs/results/*.json")
    t.add_argument("--check", action="store_true", help="only list stale files; exit 1 if any")
    add_json_flag(t)
    t.set_defaults(func=cmd_docs_tables)

