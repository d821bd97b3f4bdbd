"""The treats model family (drug recommendation) on the model pipeline: `medkg train|evaluate|predict treats`.

No torch at module level (the CLI imports this module to build its parser)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.store import RunManifest
from kg.errors import ConfigError

HEADLINE = ["auroc_all", "mrr", "hits@10", "hits@1", "auroc_sampled", "brier", "ece"]
ABLATION = ["auroc_all", "mrr", "hits@10", "hits@1", "auroc_sampled"]
PROTOCOL_SEEDS = (101, 102, 103, 104, 105)  # fresh seeds, fixed in docs/treats.md before scoring


@dataclass
class TreatsConfig(FamilyConfig):
    epochs: int = 150  # GNN epoch cap (evaluation: early stopping on validation; training: the recipe's count)
    feature_dim: int = 32
    text: str | None = None  # training: override the recipe's text variant (noind, full, none)
    variants: str = "noind,full,none"  # evaluation: text variants, the first is the recipe's (headline)
    writeback: bool = True
    threshold: float = 0.01
    graph_dir: str | None = None  # a graph saved by kg.export.save_arrays instead of Neo4j (tiny tests)
    gnn: bool = False  # evaluation: also train the GNN per seed and variant (off: see docs/treats.md, "Recipe")


def _results_dir() -> Path:
    from gnn.pipeline.results import RESULTS_DIR

    return Path(os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR)


class TreatsFamily(ModelFamily):
    name = "treats"
    summary = "drug recommendation: metapath/text regression + DistMult + prior ensemble (Drug-TREATS-Disease)"
    artifact_format = 3
    config_type = TreatsConfig
    headline_metrics = ("known_treats", "calibration_a", "calibration_b")
    default_seeds = PROTOCOL_SEEDS

    # -- CLI -------------------------------------------------------------------------------------
    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--epochs", type=int, default=None, help="GNN epoch cap (default 150)")
        if verb == "train":
            parser.add_argument("--text", choices=["noind", "full", "none"], default=None,
                                help="text the models read (default: the evaluated recipe's, indication-free)")
            parser.add_argument("--writeback", action=argparse.BooleanOptionalAction, default=None,
                                help="write PREDICTED_TREATS to Neo4j (replaces earlier runs'; default on)")
            parser.add_argument("--threshold", type=float, default=None,
                                help="calibrated probability for writeback (default 0.01)")
        if verb == "evaluate":
            parser.add_argument("--variants", default=None,
                                help="text variants, first = headline (default noind,full,none)")
            parser.add_argument("--gnn", action=argparse.BooleanOptionalAction, default=None,
                                help="also train and weigh the GNN (default off: CPU budget, see docs/treats.md)")
        if verb == "predict":
            parser.add_argument("--output", required=True, help="TSV file to write")
            parser.add_argument("--run", default=None, help="run folder or name (default: the latest)")

    # -- data ------------------------------------------------------------------------------------
    def _graphs(self, cfg: TreatsConfig, variants: list[str], progress: bool):
        """text variant → exported graph, the Hetionet disease ids and names (Neo4j, or `graph_dir`)."""
        from gnn.treats.recipe import TEXT_VARIANTS
        from kg.export import ExportedGraph, load_arrays

        bad = [v for v in variants if v not in TEXT_VARIANTS]
        if bad:
            raise ConfigError(f"unknown text variant(s) {', '.join(bad)}; known: {', '.join(TEXT_VARIANTS)}")
        if cfg.graph_dir:
            g = load_arrays(Path(cfg.graph_dir))
            return {v: g if TEXT_VARIANTS[v] else ExportedGraph(g.nodes, g.edges, g.build_id) for v in variants}, [], {}
        from gnn.treats.run import load_graph, names_of
        from gnn.treats.split import candidate_diseases, candidate_drugs
        from kg.db import make_driver

        drv = make_driver()
        try:
            graphs, het = {}, []
            for v in variants:
                graphs[v], het = load_graph(drv, TEXT_VARIANTS[v], progress)
            g = graphs[variants[0]]
            names = names_of(drv, g, candidate_drugs(g), candidate_diseases(g, het))
        finally:
            drv.close()
        return graphs, het, names

    def _train_config(self, cfg: TreatsConfig, seed: int):
        from gnn.treats.train import TrainConfig

        return TrainConfig(epochs=cfg.epochs, seed=seed, threads=cfg.threads, feature_dim=cfg.feature_dim,
                           eval_every=5 if cfg.epochs > 10 else 1)

    # -- verbs -----------------------------------------------------------------------------------
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        assert isinstance(config, TreatsConfig)
        import torch

        from gnn.treats.recipe import load_recipe
        from gnn.treats.run import train_deployed

        torch.set_num_threads(config.threads)
        recipe = load_recipe(_results_dir())
        if config.text:
            recipe.text = config.text
        recipe.gnn_epochs = min(recipe.gnn_epochs, config.epochs)
        graphs, het, names = self._graphs(config, [recipe.text], progress)
        man = train_deployed(graphs[recipe.text], het, self._train_config(config, config.seed), recipe,
                             artifacts=config.artifacts, names=names, progress=progress,
                             family_config=config.to_dict())
        if config.writeback and not config.graph_dir:
            from gnn.treats.artifacts import load_run
            from gnn.treats.writeback import write_predictions
            from kg.db import make_driver

            drv = make_driver()
            try:
                man.metrics["writeback"] = write_predictions(drv, load_run(man.folder), threshold=config.threshold)
            finally:
                drv.close()
        return man

    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> list[dict[str, Any]]:
        assert isinstance(config, TreatsConfig)
        import torch

        from gnn.treats.evaluate import evaluate_protocol
        from gnn.treats.split import candidate_diseases, candidate_drugs

        torch.set_num_threads(config.threads)
        variants = [v.strip() for v in config.variants.split(",") if v.strip()]
        graphs, het, _ = self._graphs(config, variants, progress)
        g0 = graphs[variants[0]]
        cand_drugs, cand_dis = candidate_drugs(g0), candidate_diseases(g0, het)
        out = evaluate_protocol(graphs, seeds, self._train_config(config, seeds[0]), cand_drugs, cand_dis,
                                primary=variants[0], use_gnn=config.gnn, progress=progress)
        docs = self._documents(out, seeds, variants, g0.build_id, cand_drugs, cand_dis)
        if not config.graph_dir:
            docs.append(self._leak_document(g0.build_id))
        return docs

    def _leak_document(self, build_id: str | None) -> dict[str, Any]:
        """docs/results/treats-text-leak.json: TREATS pairs whose drug text names the disease, full vs model text."""
        from gnn.pipeline.results import results_document, write_results
        from gnn.treats.textleak import text_leak
        from kg.db import make_driver

        drv = make_driver()
        try:
            leak = text_leak(drv)
        finally:
            drv.close()
        t, r = leak["treats"], leak["random"]
        rows = {}
        for key, label in (("full", "full text"), ("model", "indication-free text")):
            rows[label] = [{"treats pairs naming the disease": t[key], "share of treats pairs": t[key] / t["pairs"],
                            "share of random pairs": r[key] / r["pairs"],
                            "treats pairs with a name stem": t[f"{key}_stem"],
                            "stem share, treats": t[f"{key}_stem"] / t["pairs"],
                            "stem share, random": r[f"{key}_stem"] / r["pairs"]}]
        doc = results_document("treats-text-leak", self.name, title="Drug text naming the treated disease",
                               split=f"All {t['pairs']} TREATS pairs and {r['pairs']} random unknown pairs; a "
                                     "mention is the disease name word-aligned in the drug's text (stem: the first "
                                     "6 letters of a 7+-letter word of the name anywhere).",
                               seeds=[0], primary="indication-free text", metrics=list(rows["full text"][0]),
                               per_seed=rows, build_id=build_id, notes=leak)
        write_results(doc)
        return doc

    def _documents(self, out: dict[str, Any], seeds: list[int], variants: list[str], build_id: str | None,
                   cand_drugs, cand_dis) -> list[dict[str, Any]]:
        import numpy as np

        from gnn.pipeline.calibration import reliability_bins
        from gnn.pipeline.results import results_document, write_results
        from gnn.treats.recipe import TEXT_LABELS, recipe_from_seeds

        primary = variants[0]
        sizes = out["split"]
        split = (f"Random TREATS edge split per seed ({sizes['train']} train / {sizes['val']} validation / "
                 f"{sizes['test']} test); design choices on validation edges only; test edges scored once. "
                 f"Ranked among all {len(cand_drugs):,} candidate drugs per disease ({len(cand_dis)} diseases); "
                 f"models read the {TEXT_LABELS[primary]}.")
        choices = [c for c in out["choices"] if c["text"] == primary]
        recipe = recipe_from_seeds(choices, primary, f"`medkg evaluate treats --seeds {' '.join(map(str, seeds))}`")
        rows = out["rows"]
        head = {k: rows[k] for k in ("ensemble", "paths", "GNN", "degree prior", "DistMult") if k in rows}
        p, y, w = (np.concatenate(x) for x in zip(*out["calibration"], strict=True))
        plot = self._reliability_plot(p, y, w)
        notes = {"recipe": recipe.to_dict(), "choices": out["choices"],
                 "calibration": {"reliability_bins_pooled": reliability_bins(p, y, 10, w), "plot": plot,
                                 "how": "Platt fitted by 10-fold cross-fitting on each seed's training edges; "
                                        "Brier/ECE on the test edges against 20,000 sampled unknown candidate "
                                        "pairs weighted to their true count (real base rate)"},
                 "metric_names": {"auroc_all": "AUROC of each test pair against every unknown candidate drug of "
                                               "its disease (mean)",
                                  "mrr": "filtered MRR among all candidate drugs", "hits@10": "filtered Hits@10",
                                  "auroc_sampled": "secondary: test pairs vs as many random unknown pairs (1:1)"}}
        doc = results_document("treats", self.name, title="Drug recommendation (held-out TREATS edges)",
                               split=split, seeds=seeds, primary="ensemble", metrics=HEADLINE, per_seed=head,
                               build_id=build_id, notes=notes)
        abl_rows = {}
        for v in variants:
            sfx = "" if v == primary else f" ({v})"
            for m in ("ensemble", "paths", "GNN"):
                if f"{m}{sfx}" in rows:
                    abl_rows[f"{m}, {TEXT_LABELS[v]}"] = rows[f"{m}{sfx}"]
        abl_rows["degree prior"], abl_rows["DistMult"] = rows["degree prior"], rows["DistMult"]
        abl = results_document("treats-ablation", self.name,
                               title="Drug recommendation: text ablation (same seeds, same splits)",
                               split=split.replace(f"models read the {TEXT_LABELS[primary]}.",
                                                   "each text variant refits the regression and the ensemble "
                                                   "weights (and the GNN with --gnn); prior and DistMult read no "
                                                   "text."),
                               seeds=seeds, primary=f"ensemble, {TEXT_LABELS[primary]}", metrics=ABLATION,
                               per_seed=abl_rows, build_id=build_id,
                               notes={"variants": {v: TEXT_LABELS[v] for v in variants}})
        write_results(doc)
        write_results(abl)
        return [doc, abl]

    def _reliability_plot(self, p, y, w) -> str:
        from gnn.pipeline.calibration import reliability_plot

        path = _results_dir().parent / "treats-reliability.png"
        if os.environ.get("MEDKG_RESULTS_DIR"):  # tests: keep the plot beside their results
            path = _results_dir() / "treats-reliability.png"
        reliability_plot({"ensemble (held-out test edges, weighted)": (p, y, w)}, path,
                         "Drug recommendation: reliability on held-out edges")
        return str(path.name)

    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.treats.artifacts import load_run

        return load_run(run, artifacts)

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.treats.predict import write_predictions

        run = self.load(args.run, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        return write_predictions(run, Path(args.output), progress=not getattr(args, "json", False))

    # -- meta-tests ------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        from gnn.treats.synthetic import synthetic_graph
        from kg.export import save_arrays

        folder = save_arrays(synthetic_graph(), workdir / "graph")
        return TreatsConfig(artifacts=artifacts, epochs=3, threads=1, feature_dim=4, variants="noind,none",
                            writeback=False, graph_dir=str(folder))

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        return argparse.Namespace(run=str(run_dir), output=str(workdir / "pred.tsv"), artifacts=None, json=True)
