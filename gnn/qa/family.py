"""The `qa` model family: the intent classifier of the question-answering runtime, trained on the question set
generated from the graph (phrasing families split train/val/test), evaluated end to end (intent, linking, answer
F1, abstention) beside the keyword + exact-name baseline. `medkg train qa`, `medkg evaluate qa`."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.results import results_document, write_results
from gnn.pipeline.store import RunManifest

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5)
SIMILARITIES = (0.0, 0.6, 0.65, 0.7, 0.75, 0.8)
CUE_THRESHOLDS = (0.0, 0.8, 0.9, 0.95, 0.99, 1.01)  # 1.01: any out-of-scope cue abstains
MODEL, BASELINE = "classifier + linker", "keyword + exact name"
METRICS = ["intent_accuracy", "linking_accuracy", "answer_f1", "answer_f1_template", "answer_f1_hand",
           "abstention_out_of_scope", "abstention_unknown_entity", "false_abstention"]


@dataclass
class QAConfig(FamilyConfig):
    per_family: int = 3  # questions per phrasing family and seed
    use_encoder: bool = True  # MiniLM sentence embeddings as features (off: keyword features only)
    c: float = 16.0  # inverse L2 strength of the logistic regression (chosen on validation phrasings)
    cue_weight: float = 1.0  # scale of the cue-lexicon features (0: none; chosen on validation phrasings)
    label_counts: bool = True  # features: how many mentions could be each label, unknown runs
    #: top probability below which a question with an out-of-scope cue abstains: chosen on the pooled validation
    #: splits of seeds 20-22 (per-seed tuning left it off where a split held no cued miss); None tunes it per run
    oos_cue_threshold: float | None = 0.95
    compat_depth: int = 99  # how far down the intent ranking the runtime looks for an intent the entities fill
    fixture: str | None = None  # tests: a JSON {rows, questions} standing in for the graph


class Backend:
    """What training and evaluation need from the graph: gazetteer rows, a reader, optional vector/drug lookups."""

    def __init__(self, rows: list[dict[str, Any]], reader: Callable, vector: Callable | None = None,
                 drug_match: Callable | None = None, types: set[str] | None = None,
                 questions: Callable[[int], list[dict[str, Any]]] | None = None, build_id: str | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self.rows, self.reader, self.vector, self.drug_match = rows, reader, vector, drug_match
        self.types, self._questions, self.build_id, self.close = types, questions, build_id, close or (lambda: None)

    def questions(self, seed: int, per_family: int, progress: bool) -> list[dict[str, Any]]:
        if self._questions is not None:
            return self._questions(seed)
        from gnn.qa.dataset import build

        return build(self.reader, self.rows, seed, per_family, progress)


def graph_backend(encoder: Any | None) -> Backend:
    from gnn.qa.engine import gazetteer_query, relationship_types_query
    from kg.adapters.resolvers import drug_resolver
    from kg.db import make_driver, read
    from kg.settings import get_settings

    settings = get_settings()
    driver = make_driver(settings)

    def reader(q: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        return read(driver, q, **p)

    vector = None
    if encoder is not None:
        from gnn.text.graph import vector_indexes, vector_search

        indexed = vector_indexes(driver)

        def vector(label: str, text: str, k: int) -> list[dict[str, Any]]:
            return vector_search(driver, label, encoder.encode([text])[0], k) if label in indexed else []

    resolver = drug_resolver(settings.medkg_data_dir)

    def drug_match(text: str) -> tuple[str, str, float] | None:
        m = resolver.match(text)
        return None if m.resolution is None else (m.resolution.id, m.resolution.matched_name, m.resolution.score)

    rows = reader(gazetteer_query(), {})
    types = {r["type"] for r in reader(relationship_types_query(), {})}
    build = reader("MATCH (b:Build) WHERE b.status = 'complete' RETURN b.id AS id ORDER BY b.finished DESC LIMIT 1",
                   {})
    return Backend(rows, reader, vector, drug_match, types, build_id=build[0]["id"] if build else None,
                   close=driver.close)


def fixture_backend(path: str) -> Backend:
    """A graph stand-in for tests: the fixture's rows and questions; catalogue queries answered from the gold."""
    data = json.loads(Path(path).read_text())
    gold = {json.dumps(q["params"], sort_keys=True): q["answers"] for q in data["questions"] if q["params"]}

    def reader(q: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        key = json.dumps({k: v for k, v in p.items() if k not in ("limit", "k")}, sort_keys=True)
        if "k" in p:  # the explain query: one path per gold id "FROM-X->TO"
            return [{"drug": p["drug"], "weight": 1.0, "names": [a], "metapath": "fixture",
                     "edges": [{"from": a.split("-X->")[0], "type": "X", "to": a.split("-X->")[1], "sources": []}]}
                    for a in gold.get(key, [])]
        return [{"id": a, "name": a, "label": "X", "facts": []} for a in gold.get(key, [])]

    return Backend(data["rows"], reader, types=set(data.get("types", [])),
                   questions=lambda seed: _resplit(data["questions"], seed))


def _resplit(questions: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    from gnn.qa.dataset import families

    split = families(seed)
    return [{**q, "split": split.get(q["family"], "train")} for q in questions]


class QAFamily(ModelFamily):
    name = "qa"
    summary = "question answering: intent classifier (MiniLM + keywords, logistic regression) + entity linker"
    artifact_format = 1
    config_type = QAConfig
    headline_metrics = ("answer_f1", "intent_accuracy", "abstention_out_of_scope")
    default_seeds = (0, 1, 2)

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--per-family", dest="per_family", type=int, default=None,
                                help="questions per phrasing family (default 3)")
            parser.add_argument("--no-encoder", dest="use_encoder", action="store_const", const=False, default=None,
                                help="keyword features only (no MiniLM)")
        if verb == "predict":
            parser.add_argument("--input", required=True, help="CSV with header id,question")
            parser.add_argument("--output", required=True, help="JSONL, one answer per row")

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _encoder(cfg: QAConfig) -> Any | None:
        if not cfg.use_encoder:
            return None
        import torch

        from gnn.text.encoder import get_encoder

        enc = get_encoder()
        torch.set_num_threads(1)  # one short sentence per question: more threads only add contention
        return enc

    @staticmethod
    def _backend(cfg: QAConfig, encoder: Any | None) -> Backend:
        return fixture_backend(cfg.fixture) if cfg.fixture else graph_backend(encoder)

    @staticmethod
    def _masked(gaz: Any, questions: list[dict[str, Any]], vocabulary: set[str] | None = None
                ) -> tuple[list[str], list[dict[str, int]]]:
        from gnn.qa.linker import mask, question_vocabulary

        texts, counts = [], []
        vocabulary = vocabulary if vocabulary is not None else question_vocabulary()
        for q in questions:
            tokens, mentions = gaz.scan(q["question"])
            mentions = gaz.typo_mentions(tokens, mentions, vocabulary)  # as the engine reads the question
            t, c = mask(tokens, mentions, vocabulary)
            texts.append(t)
            counts.append(c)
        return texts, counts

    def _fit(self, cfg: QAConfig, gaz: Any, train: list[dict[str, Any]], encoder: Any | None,
             vocabulary: set[str] | None = None) -> Any:
        from gnn.qa.classifier import IntentClassifier

        texts, counts = self._masked(gaz, train, vocabulary)
        return IntentClassifier.fit(texts, counts, [q["intent"] for q in train], encoder, cfg.c, cfg.seed,
                                    cfg.cue_weight, cfg.label_counts)

    @staticmethod
    def _engine(backend: Backend, gaz: Any, clf: Any, encoder: Any | None, baseline: bool = False,
                vocabulary: set[str] | None = None, compat_depth: int = 99) -> Any:
        from gnn.qa.engine import QAEngine

        if baseline:
            return QAEngine(gaz, clf, backend.reader, available_types=backend.types, fuzzy=False,
                            vocabulary=vocabulary)
        return QAEngine(gaz, clf, backend.reader, encoder=encoder, vector=backend.vector,
                        drug_match=backend.drug_match, available_types=backend.types, vocabulary=vocabulary,
                        compat_depth=compat_depth)

    @staticmethod
    def train_vocabulary(questions: list[dict[str, Any]]) -> set[str]:
        """The question words an engine trained on this split knows: the training phrasings' words (and the
        cue lexicon), so a test question's words from its unseen phrasing count as unknown, as a user's would."""
        from gnn.qa.dataset import phrasing
        from gnn.qa.linker import question_vocabulary
        from gnn.qa.templates import OUT_OF_SCOPE as OOS_FAMILIES

        fams = {q["family"] for q in questions if q["split"] == "train"}
        texts = [t for f in fams for t in (OOS_FAMILIES[int(f[2:])] if f.startswith("o:") else [phrasing(f)])]
        return question_vocabulary(texts)

    @staticmethod
    def _run(engine: Any, questions: list[dict[str, Any]], progress: bool, desc: str) -> list[dict[str, Any]]:
        it = questions
        if progress:
            from tqdm import tqdm

            it = tqdm(questions, desc=desc, unit="q")
        return [engine.ask(q["question"]) for q in it]

    @staticmethod
    def _at_threshold(results: list[dict[str, Any]], tau: float, min_sim: float = 0.0, tau_cue: float = 0.0
                      ) -> list[dict[str, Any]]:
        from gnn.qa.engine import below_thresholds

        out = []
        for r in results:
            interp = r.get("interpretation") or {}
            low = below_thresholds(interp.get("probability", 1.0), interp.get("similarity", 1.0),
                                   interp.get("oos_cue", False), tau, min_sim, tau_cue)
            if not r["abstained"] and low:
                r = {**r, "abstained": True, "reason": "out_of_scope", "answers": []}
            elif r["abstained"] and r.get("reason") != "out_of_scope" and low:
                r = {**r, "reason": "out_of_scope"}
            out.append(r)
        return out

    def _tune(self, val: list[dict[str, Any]], results: list[dict[str, Any]], cue_fixed: float | None = None
              ) -> tuple[float, float, float, dict[str, float]]:
        """The abstention thresholds (top probability; similarity to in-scope training questions; top probability
        when the question has an out-of-scope cue) that maximise the per-question score pooled over val (answer F1
        in scope, abstention out of scope and for unknown entities); ties go to the lower thresholds."""
        from gnn.qa.evaluate import metrics, score_one

        best: tuple[float, float, float, float, dict[str, float]] = (-1.0, 0.0, 0.0, 0.0, {})
        for tau in THRESHOLDS:
            for sim in SIMILARITIES:
                for cue in CUE_THRESHOLDS if cue_fixed is None else (cue_fixed,):
                    res = self._at_threshold(results, tau, sim, cue)
                    score = sum(score_one(q, r)["f1"] for q, r in zip(val, res, strict=True)) / max(1, len(val))
                    if score > best[0] + 1e-9:
                        best = (score, tau, sim, cue, metrics(val, res))
        return best[1], best[2], best[3], best[4]

    def _split_fit(self, cfg: QAConfig, backend: Backend, encoder: Any | None, progress: bool
                   ) -> tuple[Any, Any, list[dict[str, Any]], dict[str, float], set[str]]:
        from gnn.qa.linker import Gazetteer

        questions = backend.questions(cfg.seed, cfg.per_family, progress)
        gaz = Gazetteer(backend.rows)
        vocabulary = self.train_vocabulary(questions)
        train = [q for q in questions if q["split"] == "train" and q["kind"] != "unknown"]
        val = [q for q in questions if q["split"] == "val"]
        clf = self._fit(cfg, gaz, train, encoder, vocabulary)
        engine = self._engine(backend, gaz, clf, encoder, vocabulary=vocabulary, compat_depth=cfg.compat_depth)
        res = self._run(engine, val, progress, "validation")
        tuned = self._tune(val, res, cfg.oos_cue_threshold)
        clf.threshold, clf.min_similarity, clf.oos_cue_threshold, val_metrics = tuned
        return gaz, clf, questions, val_metrics, vocabulary

    # -- the four verbs -------------------------------------------------------------------------
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        assert isinstance(config, QAConfig)
        random.seed(config.seed)
        encoder = self._encoder(config)
        backend = self._backend(config, encoder)
        try:
            gaz, clf, questions, val_metrics, _ = self._split_fit(config, backend, encoder, progress)
            # the served classifier learns every phrasing family; the threshold stays the one tuned on val
            tau = clf.threshold
            final = self._fit(config, gaz, [q for q in questions if q["kind"] != "unknown"], encoder)
            final.threshold, final.min_similarity = tau, clf.min_similarity
            final.oos_cue_threshold = clf.oos_cue_threshold
        finally:
            backend.close()
        store = self.store(config.artifacts)
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), build_id=backend.build_id,
                          metrics={**{f"val_{k}": v for k, v in val_metrics.items()}, "threshold": tau,
                                   "min_similarity": clf.min_similarity,
                                   "oos_cue_threshold": clf.oos_cue_threshold,
                                   "answer_f1": val_metrics.get("answer_f1"),
                                   "intent_accuracy": val_metrics.get("intent_accuracy"),
                                   "abstention_out_of_scope": val_metrics.get("abstention_out_of_scope"),
                                   "questions": len(questions)})

        def write(out: Any, folder: Path) -> None:
            final.save(out, folder)
            out.text(folder / "questions.jsonl", "".join(json.dumps(q) + "\n" for q in questions))

        store.save(man, write)
        return man

    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> dict[str, Any]:
        assert isinstance(config, QAConfig)
        from gnn.qa.evaluate import KeywordClassifier, errors, metrics, name_only
        from gnn.qa.linker import Gazetteer

        encoder = self._encoder(config)
        backend = self._backend(config, encoder)
        rows: dict[str, list[dict[str, float]]] = {MODEL: [], BASELINE: []}
        notes: dict[str, Any] = {"thresholds": [], "counts": [], "errors_seed0": [], "baseline_errors_seed0": []}
        try:
            base_gaz = Gazetteer(name_only(backend.rows))
            for s in seeds:
                cfg = QAConfig(**{**config.to_dict(), "seed": s, "artifacts": config.artifacts})
                gaz, clf, questions, _, vocab = self._split_fit(cfg, backend, encoder, progress)
                test = [q for q in questions if q["split"] == "test"]
                engine = self._engine(backend, gaz, clf, encoder, vocabulary=vocab, compat_depth=cfg.compat_depth)
                res = self._run(engine, test, progress, f"test seed {s}")
                base = self._run(self._engine(backend, base_gaz, KeywordClassifier(), None, baseline=True,
                                              vocabulary=vocab), test, progress, f"baseline seed {s}")
                rows[MODEL].append(metrics(test, res))
                rows[BASELINE].append(metrics(test, base))
                notes["thresholds"].append({"probability": clf.threshold, "similarity": clf.min_similarity,
                                            "oos_cue": clf.oos_cue_threshold})
                notes["counts"].append({sp: {k: sum(1 for q in questions if q["split"] == sp and q["kind"] == k)
                                             for k in ("template", "hand", "oos", "unknown")}
                                        for sp in ("train", "val", "test")})
                if s == seeds[0]:
                    notes["errors_seed0"] = errors(test, res)
                    notes["baseline_errors_seed0"] = errors(test, base, 10)
        finally:
            backend.close()
        doc = results_document(
            "qa", self.name, title="Question answering (test phrasings unseen in training)",
            split="Question set generated from the graph per seed; phrasing families (templates and hand-written "
                  "paraphrases, out-of-scope groups) split ~50/20/30 train/val/test, so tested phrasings were never "
                  "trained on (their words outside the training phrasings and the cue lexicon read as unknown); "
                  "thresholds tuned on val; scored on test.",
            seeds=seeds, primary=MODEL, metrics=METRICS, per_seed=rows, build_id=backend.build_id, notes=notes,
            command="medkg evaluate qa --seeds " + " ".join(map(str, seeds))
                    + (" --no-encoder" if not config.use_encoder else ""))
        write_results(doc)
        return doc

    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.qa.classifier import IntentClassifier

        man = self.store(artifacts).manifest(run)
        clf = IntentClassifier.load(Path(man.folder))
        clf.model_run = man.model_run  # type: ignore[attr-defined]
        return clf

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.qa.batch import answer_file

        cfg = QAConfig(threads=args.threads or 1) if getattr(args, "threads", None) else QAConfig(threads=1)
        clf = self.load(None, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        encoder = self._encoder(cfg) if clf.use_encoder else None
        backend = graph_backend(encoder)
        try:
            from gnn.qa.linker import Gazetteer

            engine = self._engine(backend, Gazetteer(backend.rows), clf, encoder)
            return answer_file(engine.ask, Path(args.input), Path(args.output), progress=not args.json)
        finally:
            backend.close()

    # -- meta-tests -----------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        path = workdir / "qa_tiny.json"
        path.write_text(json.dumps(tiny_fixture()))
        return QAConfig(artifacts=artifacts, fixture=str(path), use_encoder=False, threads=1)


def tiny_fixture() -> dict[str, Any]:
    """A graph-free question set: a few entities, every phrasing family filled once, gold answers made up."""
    from gnn.qa.catalogue import OUT_OF_SCOPE as OOS
    from gnn.qa.dataset import families, phrasing
    from gnn.qa.templates import OUT_OF_SCOPE as OOS_FAMILIES

    rows = [{"label": "Drug", "id": "DB00682", "name": "Warfarin", "synonyms": [], "brand_names": ["Coumadin"],
             "degree": 50},
            {"label": "Drug", "id": "DB00945", "name": "Acetylsalicylic acid", "synonyms": ["Aspirin"],
             "brand_names": [], "degree": 40},
            {"label": "Drug", "id": "DB00331", "name": "Metformin", "synonyms": [], "brand_names": [], "degree": 30},
            {"label": "Disease", "id": "DOID:9352", "name": "type 2 diabetes mellitus", "synonyms": [], "degree": 9},
            {"label": "Disease", "id": "DOID:5844", "name": "myocardial infarction", "synonyms": ["heart attack"],
             "degree": 9},
            {"label": "Symptom", "id": "D005334", "name": "Fever", "degree": 5},
            {"label": "Symptom", "id": "D006261", "name": "Headache", "degree": 5},
            {"label": "SideEffect", "id": "C0027497", "name": "Nausea", "degree": 5},
            {"label": "PharmacologicClass", "id": "N0000175722", "name": "Anticoagulants", "degree": 5}]
    fill = {"drug": ("Warfarin", "DB00682"), "drug2": ("aspirin", "DB00945"), "drug3": ("metformin", "DB00331"),
            "disease": ("type 2 diabetes mellitus", "DOID:9352"), "symptom": ("fever", "D005334"),
            "symptom2": ("headache", "D006261"), "side_effect": ("nausea", "C0027497"),
            "class": ("anticoagulants", "N0000175722")}
    params_of = {"drug": "drug", "disease": "disease", "side_effect": "side_effect", "class": "class"}
    questions = []
    for fam in families(0):
        if fam.startswith("o:"):
            for text in OOS_FAMILIES[int(fam[2:])]:
                q = text.format(**{k: v[0] for k, v in fill.items()})
                questions.append({"family": fam, "kind": "oos", "split": "", "intent": OOS, "question": q,
                                  "entities": {}, "params": {}, "answers": [], "abstain": True})
            continue
        intent, text = fam.split(":")[1], phrasing(fam)
        if intent.startswith("predicted"):
            continue
        import re

        slots = re.findall(r"\{([a-z_0-9]+)\}", text)
        if intent == "interaction_check":
            params: dict[str, Any] = {"drugs": [fill[s][1] for s in slots]}
        elif intent == "differential":
            params = {"symptoms": [fill[s][1] for s in slots]}
        else:
            params = {params_of[s]: fill[s][1] for s in slots}
            if intent == "interactions":
                params["major_only"] = bool(re.search(r"\b(major|severe|serious|dangerous)\b", text, re.I))
        for typo in (False, True):  # typos leave unknown words, as in the generated set
            q = text.format(**{k: (v[0][:3] + v[0][4:] if typo else v[0]) for k, v in fill.items()})
            questions.append({"family": fam, "kind": "template" if fam.startswith("t:") else "hand", "split": "",
                              "intent": intent, "question": q,
                              "entities": {s: {"id": fill[s][1], "text": fill[s][0]} for s in slots},
                              "params": params, "abstain": False,
                              "answers": [f"{intent}-answer-{i}" + ("-X->Y" if intent == "explain" else "")
                                          for i in (1, 2)]})
    return {"rows": rows, "questions": questions, "types": []}
