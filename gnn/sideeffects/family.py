"""The "side-effects" model family: Drug-CAUSES-SideEffect for any drug (see gnn.sideeffects.model).

train    -> one run: cold and warm stackers (k chosen, Platt fitted on validation), the drugs' input matrices
            and the recorded profiles; PREDICTED_CAUSES written back (graph data only, `--no-writeback` skips)
evaluate -> docs/results/side-effects-cold.json and side-effects-warm.json (3 seeds, baselines in the same run)
predict  -> a TSV drug_id, side_effect_id, probability for `--drugs`/`--input`, or every drug without a profile
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.store import RunManifest
from kg.errors import ConfigError

EVAL_METRICS = ["auroc", "auprc", "auprc/popularity", "p@10", "r@50", "brier", "ece"]


@dataclass
class SideEffectsConfig(FamilyConfig):
    fixture: str | None = None  # a JSON fixture instead of the graph (tests)
    data_dir: str | None = None  # where drugbank/drugbank.tsv is (InChI); default MEDKG_DATA_DIR
    k_grid: str = "10,40"  # neighbours per similarity, chosen on validation
    neg_rate: float = 0.05  # share of negative pairs the stacker sees (weighted back)
    writeback: bool = True  # write PREDICTED_CAUSES after training on the graph
    threshold: float = 0.5  # writeback: minimum calibrated probability
    per_drug: int = 20  # writeback: at most this many predictions per drug

    def ks(self) -> tuple[int, ...]:
        try:
            ks = tuple(int(k) for k in str(self.k_grid).split(",") if k.strip())
        except ValueError as exc:
            raise ConfigError(f"--k-grid: expected comma-separated integers, got {self.k_grid!r}") from exc
        if not ks or min(ks) < 1:
            raise ConfigError(f"--k-grid: expected positive integers, got {self.k_grid!r}")
        return ks


class SideEffectsFamily(ModelFamily):
    name = "side-effects"
    summary = "drug side effects (CAUSES) for any drug: similarity kNN over structure, targets, classes, ATC"
    artifact_format = 1
    config_type = SideEffectsConfig
    headline_metrics = ("cold_val_auprc", "cold_val_auroc", "warm_val_auprc")

    # -- CLI -------------------------------------------------------------------------------------
    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--fixture", default=None, help="JSON fixture instead of the graph (tests)")
            parser.add_argument("--data-dir", dest="data_dir", default=None, help="data dir with drugbank/ (InChI)")
            parser.add_argument("--k-grid", dest="k_grid", default=None, help="neighbour counts to try (10,40)")
        if verb == "train":
            parser.add_argument("--no-writeback", dest="writeback", action="store_false", default=None,
                                help="do not write PREDICTED_CAUSES to Neo4j")
            parser.add_argument("--threshold", type=float, default=None, help="writeback probability (0.5)")
            parser.add_argument("--per-drug", dest="per_drug", type=int, default=None,
                                help="writeback: at most N per drug (20)")
        if verb == "predict":
            parser.add_argument("--output", required=True, help="TSV to write")
            parser.add_argument("--drugs", nargs="+", default=None, metavar="ID", help="DrugBank ids")
            parser.add_argument("--input", default=None, help="file with one drug id per line (or a drug_id column)")
            parser.add_argument("--top", type=int, default=50, help="at most N side effects per drug (50)")
            parser.add_argument("--min-probability", dest="min_probability", type=float, default=0.0)
            parser.add_argument("--run", default=None, help="model run (default: latest)")

    # -- data ------------------------------------------------------------------------------------
    def _data(self, cfg: SideEffectsConfig, progress: bool):
        from gnn.sideeffects import data as D

        if cfg.fixture:
            return D.from_fixture(Path(cfg.fixture))
        return D.from_graph(Path(cfg.data_dir) if cfg.data_dir else None, progress=progress)

    # -- train -----------------------------------------------------------------------------------
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        assert isinstance(config, SideEffectsConfig)
        import numpy as np

        from gnn.artifacts_io import write_json
        from gnn.sideeffects.evaluate import choose
        from gnn.sideeffects.fit import COLD, WARM, QuerySims, Reference, calibrate
        from gnn.sideeffects.metrics import calibration, per_drug
        from gnn.sideeffects.predictor import INDEX, MATRICES, STACKERS, SideEffectModel, pack
        from gnn.sideeffects.writeback import write_predictions

        _threads(config.threads)
        data = self._data(config, progress)
        rng = np.random.default_rng(config.seed)
        y = data.label_matrix()
        # cold: 10 % of the profiled drugs for k and Platt
        drugs = rng.permutation(data.profiled())
        n_val = max(1, round(0.1 * len(drugs)))
        val, tr = drugs[:n_val], drugs[n_val:]
        ref = Reference.of(tr, y)
        s_tr, s_val = QuerySims.of(data, ref, tr, COLD), QuerySims.of(data, ref, val, COLD)
        cold, cold_tried, _ = choose(s_tr, y[tr], None, s_val, y[val], None, config.ks(), rng, config.neg_rate)
        p_val = calibrate(cold, s_val, y[val], None, rng)
        cold_m = per_drug(p_val, y[val]) | calibration(p_val, y[val])
        # warm: 10 % of the edges; stacker on half the drugs, k and Platt on the other half
        e = data.causes[:, rng.permutation(data.causes.shape[1])]
        n_ev = max(1, round(0.1 * e.shape[1]))
        y_val, y_tr = data.label_matrix(e[:, :n_ev]), data.label_matrix(e[:, n_ev:])
        prof = data.profiled()
        wref = Reference.of(prof, y_tr)
        h = rng.permutation(len(prof))
        a, b = np.sort(prof[h[: len(prof) // 2]]), np.sort(prof[h[len(prof) // 2:]])
        s_a, s_b = QuerySims.of(data, wref, a, WARM, y_tr), QuerySims.of(data, wref, b, WARM, y_tr)
        warm, warm_tried, _ = choose(s_a, y_val[a], y_tr[a], s_b, y_val[b], y_tr[b], config.ks(), rng, config.neg_rate)
        pw = calibrate(warm, s_b, y_val[b], y_tr[b], rng)
        warm_m = per_drug(pw, y_val[b], y_tr[b]) | calibration(pw, y_val[b], y_tr[b])
        metrics: dict[str, Any] = {f"cold_val_{k}": v for k, v in cold_m.items()}
        metrics |= {f"warm_val_{k}": v for k, v in warm_m.items()}
        metrics |= {"cold_k": cold.k, "warm_k": warm.k, "cold_kind": cold.kind, "warm_kind": warm.kind,
                     "k_tried": {"cold": cold_tried, "warm": warm_tried},
                    "cold_weights": cold.weights(), "warm_weights": warm.weights(),
                    "profiled_drugs": len(prof), "drugs_with_inputs": int(data.has_input().sum()),
                    "drugs": data.n_drugs, "side_effects": data.n_se, "causes": int(data.causes.shape[1]),
                    "note": "validation figures (Platt fitted on the same validation queries); test figures come "
                            "from `medkg evaluate side-effects`"}
        store = self.store(config.artifacts)
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), metrics=metrics, build_id=data.build_id,
                          data_checksums=data.checksums)
        index = {"drugs": data.drugs, "drug_names": data.drug_names, "side_effects": data.side_effects,
                 "se_names": data.se_names, "feature_labels": data.feature_labels, "build_id": data.build_id}
        arrays: dict[str, Any] = pack("labels", y)
        for m, mat in data.modalities.items():
            arrays |= pack(m, mat)

        def files(out, folder: Path) -> None:
            out.json(folder / INDEX, index)
            out.npz(folder / MATRICES, **arrays)
            out.json(folder / STACKERS, {"cold": cold.to_dict(), "warm": warm.to_dict()}, indent=1)

        store.save(man, files)
        if config.writeback and not config.fixture:
            model = SideEffectModel.from_folder(Path(man.folder), man.model_run)
            man.metrics["writeback"] = write_predictions(model, config.threshold, config.per_drug, progress)
            # run.json is sealed by then: the writeback summary goes beside it
            write_json(Path(man.folder) / "writeback.json", man.metrics["writeback"], indent=1)
        return man

    # -- evaluate --------------------------------------------------------------------------------
    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> list[dict[str, Any]]:
        assert isinstance(config, SideEffectsConfig)
        from tqdm import tqdm

        from gnn.pipeline.results import results_document, write_results
        from gnn.sideeffects import evaluate as E

        _threads(config.threads)
        data = self._data(config, progress)
        per = {"cold": {}, "warm": {}}
        notes: dict[str, dict[str, Any]] = {"cold": {}, "warm": {}}
        for s in tqdm(seeds, desc="seeds", disable=not progress):
            for setting, fn in (("cold", E.cold_start), ("warm", E.warm_start)):
                res = fn(data, s, config.ks(), config.neg_rate)
                pop_ap = res.rows["popularity"]["auprc"]
                for model, row in res.rows.items():
                    row["auprc/popularity"] = row["auprc"] / pop_ap if pop_ap > 0 else float("nan")
                    per[setting].setdefault(model, []).append(row)
                notes[setting][f"seed {s}"] = res.notes
        common = {"profiled_drugs": len(data.profiled()), "drugs": data.n_drugs,
                  "drugs_with_inputs": int(data.has_input().sum()), "side_effects": data.n_se,
                  "causes": int(data.causes.shape[1]), "data_checksums": data.checksums}
        docs = []
        for setting, title, split in (
            ("cold", "Side effects, cold start (drugs with no known side effect)", E.COLD_SPLIT),
            ("warm", "Side effects, warm (held-out CAUSES edges of profiled drugs)", E.WARM_SPLIT),
        ):
            doc = results_document(f"side-effects-{setting}", self.name, title=title, split=split, seeds=seeds,
                                   primary=E.PRIMARY, metrics=EVAL_METRICS, per_seed=per[setting],
                                   build_id=data.build_id, notes={**common, "per_seed": notes[setting]},
                                   command="medkg evaluate side-effects")
            write_results(doc)
            docs.append(doc)
        return docs

    # -- load / predict --------------------------------------------------------------------------
    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.sideeffects.predictor import SideEffectModel

        man = self.store(artifacts).manifest(run)
        try:
            model = SideEffectModel.from_folder(Path(man.folder), man.model_run)
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"side-effects model run {man.folder} is unreadable ({exc}); retrain with "
                              "`medkg train side-effects`") from exc
        model.metrics = man.metrics
        return model

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.sideeffects.predict import write_tsv

        model = self.load(args.run, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        return write_tsv(model, Path(args.output), drugs=args.drugs, input_file=args.input, top=args.top,
                         min_probability=args.min_probability)

    # -- meta-tests ------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        from gnn.sideeffects.data import synthetic_fixture

        path = synthetic_fixture(workdir / "sideeffects-fixture.json")
        return SideEffectsConfig(artifacts=artifacts, fixture=str(path), k_grid="5", threads=1, neg_rate=0.5)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        return argparse.Namespace(run=str(run_dir), output=str(workdir / "side-effects.tsv"), drugs=None, input=None,
                                  top=5, min_probability=0.0, artifacts=None, json=True)


def _threads(n: int) -> None:
    try:
        import torch

        torch.set_num_threads(max(1, n))
    except ImportError:  # numpy/scipy only; torch just caps its own pool
        pass


def read_drug_ids(path: Path) -> list[str]:
    """One id per line, or a TSV/CSV with a `drug_id` column; blank lines and # comments skipped."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"--input {path}: {exc}") from exc
    if lines and "drug_id" in lines[0]:
        delim = "\t" if "\t" in lines[0] else ","
        reader = csv.DictReader(lines, delimiter=delim)
        return [r["drug_id"].strip() for r in reader if (r.get("drug_id") or "").strip()]
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
