"""The `ddi` model family: interaction type (86 DrugBank types) of an ordered pair, estimated severity of an
ungraded pair, and the probability that an uncovered pair interacts. Every output is a prediction, labelled so
wherever it is shown; curated facts are never replaced."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.store import RunManifest

GRAPH_FACTS = "graph-facts.json"


@dataclass
class DdiConfig(FamilyConfig):
    data_dir: Path | None = None  # default: MEDKG_DATA_DIR
    graph_facts: Path | None = None  # default: $MEDKG_HOME/ddi/graph-facts.json, read from Neo4j when missing
    refresh_graph: bool = False
    limit: int = 0  # first N rows of ddi.tsv (0 = all)
    svd_dim: int = 128
    graph_dim: int = 64
    hidden: int = 256  # severity, any (half of it) and the feature-MLP baseline
    type_hidden: int = 512  # the type model's first layer
    dropout: float = 0.3
    epochs: int = 8  # the type model
    type_embedding: bool = True  # a learned vector per drug and role in the type model's first layer
    bilinear: bool = True  # type: a multiplicative (U·x_a) * (V·x_b) term in the first layer
    emb_dropout: float = 0.0  # training: drop a drug's embedding with this probability
    class_weight_power: float = 0.25  # type loss weights (1 / class frequency) ** power; 0 = plain cross-entropy
    logit_adjust: bool = True  # type: subtract tau * log prior, tau chosen on validation (rare types)
    baseline_epochs: int = 3
    severity_epochs: int = 6
    any_epochs: int = 3
    lr: float = 2e-3
    batch_size: int = 1024
    major_recall: float = 0.9
    write_back: bool = True
    write_threshold: float = 0.8
    tasks: str = "type,severity,any"  # what `evaluate` scores (comma-separated)


@dataclass
class Prepared:
    pt: Any
    facts: Any
    drugs: list[str]
    graph: np.ndarray
    ga: np.ndarray
    gb: np.ndarray
    gy: np.ndarray
    types: dict[tuple[int, int], np.ndarray]


def prepare(cfg: DdiConfig, seed: int) -> Prepared:
    from gnn.ddi.data import SEVERITIES, graph_facts, read_pairs
    from gnn.ddi.features import graph_block
    from gnn.ddi.tasks import pair_types
    from kg.settings import get_settings

    s = get_settings()
    pt = read_pairs(Path(cfg.data_dir or s.medkg_data_dir), cfg.limit or None)
    facts = graph_facts(Path(cfg.graph_facts or s.medkg_home / "ddi" / GRAPH_FACTS), cfg.refresh_graph)
    drugs = list(pt.drugs)
    index = dict(pt.index)
    for d in sorted(set(facts.tokens) | {x for g in facts.grades for x in g[:2]}):
        if d not in index:
            index[d] = len(drugs)
            drugs.append(d)
    graph = graph_block(drugs, facts.tokens, cfg.graph_dim, seed)
    sev = {s_: i for i, s_ in enumerate(SEVERITIES)}
    ga = np.array([index[a] for a, _, _ in facts.grades], np.int64)
    gb = np.array([index[b] for _, b, _ in facts.grades], np.int64)
    gy = np.array([sev[g] for _, _, g in facts.grades], np.int64)
    return Prepared(pt, facts, drugs, graph, ga, gb, gy, pair_types(len(drugs), pt.d1, pt.d2, pt.y))


def any_examples(p: Prepared, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Known unordered pairs (86-type or DDInter-graded) as positives and as many sampled non-pairs."""
    from gnn.ddi.tasks import sample_negatives

    pos = set(p.types) | {(a, b) if a < b else (b, a) for a, b in zip(p.ga.tolist(), p.gb.tolist(), strict=True)}
    keys = np.array(sorted(pos), np.int64).reshape(-1, 2)
    neg = sample_negatives(np.unique(keys), pos, len(keys), seed)
    allp = np.concatenate([keys, neg])
    y = np.concatenate([np.ones(len(keys), np.int64), np.zeros(len(neg), np.int64)])
    return allp[:, 0], allp[:, 1], y


def _sev_types(p: Prepared) -> np.ndarray:
    from gnn.ddi.tasks import type_matrix

    return type_matrix([(a, b) if a < b else (b, a) for a, b in zip(p.ga.tolist(), p.gb.tolist(), strict=True)],
                       p.types)


class DdiFamily(ModelFamily):
    name = "ddi"
    summary = "drug-drug interaction type, estimated severity and interaction probability (predictions)"
    artifact_format = 1
    config_type = DdiConfig
    headline_metrics = ("type_accuracy", "type_macro_f1", "severity_major_recall", "any_auroc")

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--data-dir", dest="data_dir", type=Path, default=None)
            parser.add_argument("--graph-facts", dest="graph_facts", type=Path, default=None,
                                help="graph facts JSON (default: $MEDKG_HOME/ddi/graph-facts.json, read from "
                                     "Neo4j when missing)")
            parser.add_argument("--refresh-graph", dest="refresh_graph", action="store_true", default=None,
                                help="re-read the graph facts from Neo4j")
            parser.add_argument("--epochs", type=int, default=None)
            parser.add_argument("--limit", type=int, default=None, help="first N rows of ddi.tsv (tests)")
        if verb == "evaluate":
            parser.add_argument("--tasks", default=None, help="comma-separated subset of type,severity,any")
        if verb == "train":
            parser.add_argument("--no-write-back", dest="write_back", action="store_false", default=None,
                                help="do not write PREDICTED_INTERACTS_WITH to Neo4j")
        if verb == "predict":
            parser.add_argument("--input", required=True, help="TSV with header drug1, drug2 (DrugBank ids)")
            parser.add_argument("--output", required=True, help="TSV to write")
            parser.add_argument("--run", default=None, help="model run (default: latest)")

    # -- train --------------------------------------------------------------------------------------------
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        import torch

        from gnn.ddi.data import N_TYPES
        from gnn.ddi.tasks import multiclass_metrics, pair_split, train_any, train_severity, train_type

        assert isinstance(config, DdiConfig)
        cfg = config
        torch.set_num_threads(max(1, cfg.threads))
        p = prepare(cfg, cfg.seed)
        pt, n = p.pt, len(p.drugs)
        tr, va, _ = pair_split(len(pt.y), cfg.seed, val=0.1, test=0.0)
        tm = train_type(pt.d1, pt.d2, pt.y, p.graph, tr, va, cfg, cfg.seed, progress=progress)
        tmet = multiclass_metrics(tm.proba(pt.d1[va], pt.d2[va]), pt.y[va])
        t = _sev_types(p)
        str_, sva, _ = pair_split(len(p.gy), cfg.seed, val=0.1, test=0.0)
        sm = train_severity(p.ga, p.gb, p.gy, t, p.graph, str_, sva, cfg, cfg.seed, progress=progress)
        from gnn.ddi.tasks import severity_metrics

        smet = severity_metrics(sm.proba(p.ga[sva], p.gb[sva], t[sva]), p.gy[sva], sm.threshold)
        aa, ab, ay = any_examples(p, cfg.seed)
        atr, ava, _ = pair_split(len(ay), cfg.seed, val=0.1, test=0.0)
        am = train_any(aa, ab, ay, p.graph, atr, ava, cfg, cfg.seed, progress=progress)
        from gnn.ddi.tasks import binary_metrics

        amet = binary_metrics(am.proba(aa[ava], ab[ava]), ay[ava])
        counts = np.zeros((n, 2 * N_TYPES), np.float32)
        np.add.at(counts, (pt.d1, pt.y), 1)
        np.add.at(counts, (pt.d2, N_TYPES + pt.y), 1)
        grades = np.zeros((n, 3), np.float32)
        np.add.at(grades, (p.ga, p.gy), 1)
        np.add.at(grades, (p.gb, p.gy), 1)
        in_profile = np.zeros(n, bool)
        in_profile[np.unique(np.concatenate([pt.d1[tr], pt.d2[tr]]))] = True
        metrics = {"type_accuracy": tmet["accuracy"], "type_macro_f1": tmet["macro_f1"], "type_ece": tmet["ece"],
                   "type_tau": tm.tau,
                   "severity_macro_f1": smet["macro_f1"], "severity_major_recall": smet["major_recall"],
                   "severity_major_precision": smet["major_precision"], "any_auroc": amet["auroc"],
                   "any_auprc": amet["auprc"], "split": "validation (10 % of pairs)"}
        store = self.store(cfg.artifacts)
        from gnn.pipeline.store import file_checksum
        from kg.settings import get_settings

        data_dir = Path(cfg.data_dir or get_settings().medkg_data_dir)
        man = RunManifest(family=self.name, model_run=store.new_run_name(cfg.seed), artifact_format=0,
                          seed=cfg.seed, config=cfg.to_dict(), metrics=metrics, build_id=p.facts.build_id,
                          data_checksums={"drugbank-ddi-86/ddi.tsv": file_checksum(data_dir / "drugbank-ddi-86"
                                                                                   / "ddi.tsv")})
        arrays = {**{f"type_{k}": v for k, v in tm.weights.items()}, **{f"sev_{k}": v for k, v in sm.weights.items()},
                  **{f"any_{k}": v for k, v in am.weights.items()}, "type_counts": counts, "grade_counts": grades,
                  "in_profile": in_profile,
                  "known_pairs": np.stack([pt.d1, pt.d2, pt.y], axis=1).astype(np.int32)}
        meta = {"model_run": man.model_run, "drugs": p.drugs, "templates": {str(k): v for k, v in pt.templates.items()},
                "type_temperature": tm.temperature, "type_tau": tm.tau, "sev_temperature": sm.temperature,
                "major_threshold": sm.threshold, "any_platt": list(am.platt or (1.0, 0.0))}

        def write(out, folder: Path) -> None:
            out.npz(folder / "model.npz", **arrays)
            out.json(folder / "meta.json", meta)

        store.save(man, write)
        if cfg.write_back and not cfg.limit:
            from gnn.ddi.writeback import write_predictions

            man.metrics["written_predictions"] = write_predictions(Path(man.folder), p, cfg.write_threshold,
                                                                   progress=progress)
        return man

    # -- evaluate -------------------------------------------------------------------------------------------
    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> list[dict[str, Any]]:
        from gnn.ddi.evaluate import evaluate_all

        assert isinstance(config, DdiConfig)
        return evaluate_all(self, config, seeds, progress=progress)

    # -- load / predict ---------------------------------------------------------------------------------------
    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.ddi.runtime import DdiRuntime

        man = self.store(artifacts).manifest(run)
        return DdiRuntime.load(Path(man.folder))

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.ddi.predict_tsv import predict_file

        rt = self.load(args.run, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        return predict_file(rt, Path(args.input), Path(args.output))

    # -- meta-tests --------------------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        from gnn.ddi.fixture import write_fixture

        data, facts = write_fixture(workdir)
        return DdiConfig(artifacts=artifacts, data_dir=data, graph_facts=facts, threads=1, svd_dim=8, graph_dim=4,
                         hidden=32, type_hidden=32, epochs=3, baseline_epochs=2, severity_epochs=3, any_epochs=2,
                         batch_size=64, write_back=False)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        inp = workdir / "pairs.tsv"
        inp.write_text("drug1\tdrug2\nDB90001\tDB90002\nDB90003\tDB99999\n")
        return argparse.Namespace(run=str(run_dir), input=str(inp), output=str(workdir / "out.tsv"), artifacts=None,
                                  json=True)

