"""The three pair tasks: their splits, feature batches, training, baselines and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gnn.ddi.data import N_TYPES, SEVERITIES
from gnn.ddi.features import Profile, build_profile, drug_matrix, example_features
from gnn.ddi.model import NetSpec, export, fit, np_logits, sigmoid, softmax


# -- splits ---------------------------------------------------------------------------------------------
def pair_split(n: int, seed: int, val: float = 0.1, test: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    nv, nt = int(n * val), int(n * test)
    return np.sort(order[nv + nt:]), np.sort(order[:nv]), np.sort(order[nv:nv + nt])


def drug_split(a: np.ndarray, b: np.ndarray, seed: int, val: float = 0.1, test: float = 0.1
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out drugs: validation (test) pairs have one validation (test) drug and one training drug; pairs
    joining two held-out drugs, or a validation and a test drug, are left out."""
    drugs = np.unique(np.concatenate([a, b]))
    order = np.random.default_rng(seed + 1000).permutation(drugs)
    nv, nt = int(len(drugs) * val), int(len(drugs) * test)
    role = np.zeros(int(drugs.max()) + 1, np.int8)
    role[order[:nv]], role[order[nv:nv + nt]] = 1, 2
    ra, rb = role[a], role[b]
    train = np.flatnonzero((ra == 0) & (rb == 0))
    valid = np.flatnonzero(((ra == 1) & (rb == 0)) | ((ra == 0) & (rb == 1)))
    test_ = np.flatnonzero(((ra == 2) & (rb == 0)) | ((ra == 0) & (rb == 2)))
    return train, valid, test_


# -- metrics --------------------------------------------------------------------------------------------
def temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising validation NLL (grid + refinement; one parameter)."""
    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean())
    grid = np.exp(np.linspace(np.log(0.3), np.log(5), 25))
    t0 = min(grid, key=nll)
    fine = t0 * np.exp(np.linspace(-0.15, 0.15, 13))
    return float(min(fine, key=nll))


def multiclass_metrics(prob: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    from gnn.pipeline.calibration import brier, ece

    pred = prob.argmax(axis=1)
    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", labels=np.unique(y), zero_division=0)),
            "kappa": float(cohen_kappa_score(y, pred)), "brier": brier(prob, y), "ece": ece(prob, y)}


# -- the type task ----------------------------------------------------------------------------------------
@dataclass
class TypeModel:
    """A trained type model: numpy weights (first layer per drug), temperature, and the feature tables."""

    weights: dict[str, np.ndarray]
    temperature: float
    history: list[float] = field(default_factory=list)
    tau: float = 0.0  # logit adjustment folded into the output bias (b3 -= tau * log prior)

    def proba(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return softmax(np_logits(self.weights, a, b) / self.temperature)


# negative tau moves a class-weighted model back toward the prior (accuracy), positive away from it (rare types)
TAUS = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


def log_prior(y: np.ndarray, classes: int = N_TYPES) -> np.ndarray:
    """log class frequencies of the training labels (add-one smoothed: a class absent from training stays finite)."""
    c = np.bincount(y, minlength=classes).astype(np.float64) + 1.0
    return np.log(c / c.sum()).astype(np.float32)


def adjust_logits(logits: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    """Post-hoc logit adjustment (Menon et al. 2021): subtract tau * log prior; tau > 0 favours rare classes."""
    return logits - np.float32(tau) * prior


def choose_tau(logits: np.ndarray, y: np.ndarray, prior: np.ndarray, taus: tuple[float, ...] = TAUS
               ) -> tuple[float, list[dict[str, float]]]:
    """The tau with the best validation accuracy + macro-F1 (the two goals, weighted alike); returns it with
    the grid's validation figures."""
    from sklearn.metrics import f1_score

    grid = []
    for tau in taus:
        pred = adjust_logits(logits, prior, tau).argmax(axis=1)
        grid.append({"tau": tau, "accuracy": float((pred == y).mean()),
                     "macro_f1": float(f1_score(y, pred, average="macro", labels=np.unique(y), zero_division=0))})
    return max(grid, key=lambda g: g["accuracy"] + g["macro_f1"])["tau"], grid


def type_profile(n: int, d1: np.ndarray, d2: np.ndarray, y: np.ndarray, k: int, seed: int) -> Profile:
    """Row (drug1, drug2, t): drug1 gets column (t, role 1, drug2), drug2 gets (t, role 2, drug1);
    counts per (t, role). Partners are indexed compactly over the drugs of the training pairs."""
    used = np.unique(np.concatenate([d1, d2]))
    compact = np.full(n, -1, np.int64)
    compact[used] = np.arange(len(used))
    m = len(used)
    col_a = y * m + compact[d2]
    col_b = N_TYPES * m + y * m + compact[d1]
    return build_profile(n, d1, d2, col_a, col_b, 2 * N_TYPES * m, y, N_TYPES + y, 2 * N_TYPES, k, seed)


def train_type(d1: np.ndarray, d2: np.ndarray, y: np.ndarray, graph: np.ndarray, tr: np.ndarray, va: np.ndarray,
               cfg: Any, seed: int, *, use_profile: bool = True, progress: bool = False, desc: str = "type"
               ) -> TypeModel:
    n = graph.shape[0]
    if use_profile:
        prof = type_profile(n, d1[tr], d2[tr], y[tr], cfg.svd_dim, seed)
    else:  # graph features only (the feature-MLP baseline)
        prof = Profile(np.zeros((n, 0), np.float32), np.zeros((n, 0), np.float32), np.zeros(n, np.float32),
                       np.zeros((len(tr), 0), np.float32), np.zeros((len(tr), 0), np.float32),
                       np.zeros(len(tr), np.int64), np.zeros(len(tr), np.int64))
    xall = drug_matrix(prof, graph) if use_profile else graph.astype(np.float32)

    emb = use_profile and cfg.type_embedding

    def train_batch(idx: np.ndarray, training: bool):
        if not use_profile:
            return graph[d1[tr][idx]], graph[d2[tr][idx]], None
        ia, ib = d1[tr][idx], d2[tr][idx]
        return (example_features(prof, graph, ia, prof.corr_a[idx], prof.cnt_a[idx]),
                example_features(prof, graph, ib, prof.corr_b[idx], prof.cnt_b[idx]), None, ia, ib)

    def val_batch(idx: np.ndarray, training: bool):
        ia, ib = d1[va][idx], d2[va][idx]
        return xall[ia], xall[ib], None, ia, ib

    width = cfg.type_hidden if use_profile else cfg.hidden
    spec = NetSpec(d_in=xall.shape[1], d_pair=0, out=N_TYPES, h1=width, h2=width // 2,
                   dropout=cfg.dropout, n_drugs=n if emb else 0,
                   emb_dropout=cfg.emb_dropout, bilinear=use_profile and cfg.bilinear)
    cw = None
    if use_profile and cfg.class_weight_power:
        freq = np.bincount(y[tr], minlength=N_TYPES).astype(np.float64)
        cw = (freq.sum() / np.maximum(freq, 1) / N_TYPES) ** cfg.class_weight_power
    net, hist = fit(spec, train_batch, y[tr], (val_batch, y[va]), epochs=cfg.epochs if use_profile else
                    cfg.baseline_epochs, lr=cfg.lr, batch_size=cfg.batch_size, seed=seed, class_weight=cw,
                    progress=progress, desc=desc)
    w = export(net, spec, xall)
    vlog = np_logits(w, d1[va], d2[va])
    tau = 0.0
    if use_profile and cfg.logit_adjust:
        prior = log_prior(y[tr])
        tau, _ = choose_tau(vlog, y[va], prior)
        w["b3"] = (w["b3"] - np.float32(tau) * prior).astype(np.float32)  # folded in: serving unchanged
        vlog = adjust_logits(vlog, prior, tau)
    return TypeModel(w, temperature(vlog, y[va]), hist, tau)


def frequency_baseline(n: int, d1: np.ndarray, d2: np.ndarray, y: np.ndarray, tr: np.ndarray,
                       alpha: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-drug type frequencies of the training pairs: p(t | a, b) ∝ n1[a, t] + n2[b, t] + alpha·prior(t)."""
    n1 = np.zeros((n, N_TYPES))
    n2 = np.zeros((n, N_TYPES))
    np.add.at(n1, (d1[tr], y[tr]), 1)
    np.add.at(n2, (d2[tr], y[tr]), 1)
    prior = np.bincount(y[tr], minlength=N_TYPES) / len(tr)
    return n1, n2, prior


def frequency_proba(tables: tuple[np.ndarray, np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray,
                    alpha: float = 1.0) -> np.ndarray:
    n1, n2, prior = tables
    s = n1[a] + n2[b] + alpha * prior
    return s / s.sum(axis=1, keepdims=True)


# -- severity and any-interaction (unordered pairs) ----------------------------------------------------------
@dataclass
class PairModel:
    """A symmetric pair model (severity: 3 classes; any-interaction: 1 logit) in numpy form."""

    weights: dict[str, np.ndarray]
    temperature: float = 1.0
    platt: tuple[float, float] | None = None
    threshold: float | None = None  # severity: p(Major) at or above which the answer is Major
    history: list[float] = field(default_factory=list)

    def logits(self, a: np.ndarray, b: np.ndarray, t: np.ndarray | None) -> np.ndarray:
        # symmetric by construction (shared first layer); averaging both orders is then a no-op
        return np_logits(self.weights, a, b, t)

    def proba(self, a: np.ndarray, b: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
        z = self.logits(a, b, t)
        if z.shape[1] == 1:
            s = z[:, 0]
            if self.platt:
                return sigmoid(self.platt[0] * s + self.platt[1])
            return sigmoid(s)
        return softmax(z / self.temperature)


def pair_types(n: int, d1: np.ndarray, d2: np.ndarray, y: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Unordered pair (i < j) -> multi-hot of its known 86 types (either orientation)."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for a, b, t in zip(d1.tolist(), d2.tolist(), y.tolist(), strict=True):
        key = (a, b) if a < b else (b, a)
        v = out.get(key)
        if v is None:
            v = out[key] = np.zeros(N_TYPES + 1, np.float32)
        v[t] = 1
    return out


def type_matrix(keys: list[tuple[int, int]], types: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """Pair features: the 86-type multi-hot plus a last column 'no known mechanism'."""
    t = np.zeros((len(keys), N_TYPES + 1), np.float32)
    for i, k in enumerate(keys):
        v = types.get(k)
        if v is None:
            t[i, N_TYPES] = 1
        else:
            t[i] = v
    return t


def train_severity(a: np.ndarray, b: np.ndarray, y: np.ndarray, t: np.ndarray, graph: np.ndarray, tr: np.ndarray,
                   va: np.ndarray, cfg: Any, seed: int, *, progress: bool = False) -> PairModel:
    """Major/Moderate/Minor (0/1/2) from drugs' graph features, their graded-partner profile (training pairs
    only: a narrow-therapeutic-index signal such as many Major partners) and the pair's known types."""
    n = graph.shape[0]
    prof = build_profile(n, a[tr], b[tr], y[tr] * n + b[tr], y[tr] * n + a[tr], len(SEVERITIES) * n, y[tr], y[tr],
                         len(SEVERITIES), cfg.svd_dim // 2, seed)
    xall = drug_matrix(prof, graph)

    def train_batch(idx: np.ndarray, training: bool):
        ia, ib = a[tr][idx], b[tr][idx]
        return (example_features(prof, graph, ia, prof.corr_a[idx], prof.cnt_a[idx]),
                example_features(prof, graph, ib, prof.corr_b[idx], prof.cnt_b[idx]), t[tr][idx])

    def val_batch(idx: np.ndarray, training: bool):
        return xall[a[va][idx]], xall[b[va][idx]], t[va][idx]

    spec = NetSpec(d_in=xall.shape[1], d_pair=t.shape[1], out=len(SEVERITIES), h1=cfg.hidden // 2,
                   h2=cfg.hidden // 4, dropout=cfg.dropout, symmetric=True)
    freq = np.bincount(y[tr], minlength=3).astype(np.float64)
    cw = (freq.sum() / np.maximum(freq, 1) / 3) ** 0.5  # soften the class imbalance (Minor is rare)
    net, hist = fit(spec, train_batch, y[tr], (val_batch, y[va]), epochs=cfg.severity_epochs, lr=cfg.lr,
                    batch_size=cfg.batch_size, seed=seed, class_weight=cw, progress=progress, desc="severity")
    m = PairModel(export(net, spec, xall), history=hist)
    vlog = m.logits(a[va], b[va], t[va])
    m.temperature = temperature(vlog, y[va])
    p = m.proba(a[va], b[va], t[va])
    m.threshold = major_threshold(p[:, 0], y[va] == 0, cfg.major_recall)
    return m


def major_threshold(p_major: np.ndarray, is_major: np.ndarray, recall: float) -> float:
    """The highest p(Major) threshold whose validation recall of Major is at least `recall`."""
    pos = np.sort(p_major[is_major])[::-1]
    if len(pos) == 0:
        return 0.5
    k = int(np.ceil(recall * len(pos))) - 1
    return float(pos[min(max(k, 0), len(pos) - 1)])


def severity_decision(prob: np.ndarray, threshold: float | None) -> np.ndarray:
    """Major when p(Major) >= threshold, else the likelier of Moderate/Minor."""
    pred = prob.argmax(axis=1)
    if threshold is not None:
        rest = 1 + prob[:, 1:].argmax(axis=1)
        pred = np.where(prob[:, 0] >= threshold, 0, rest)
    return pred


def severity_metrics(prob: np.ndarray, y: np.ndarray, threshold: float | None) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    from gnn.pipeline.calibration import brier, ece

    pred = severity_decision(prob, threshold)
    return {"macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1, 2], zero_division=0)),
            "accuracy": float((pred == y).mean()),
            "major_recall": float(recall_score(y == 0, pred == 0, zero_division=0)),
            "major_precision": float(precision_score(y == 0, pred == 0, zero_division=0)),
            "brier": brier(prob, y), "ece": ece(prob, y),
            "major_brier": brier(prob[:, 0], (y == 0).astype(int)), "major_ece": ece(prob[:, 0], (y == 0).astype(int))}


def sample_negatives(n_drugs: np.ndarray, positives: set[tuple[int, int]], count: int, seed: int
                     ) -> np.ndarray:
    """`count` unordered pairs of the given drugs that are not positives (uniform)."""
    rng = np.random.default_rng(seed)
    out: set[tuple[int, int]] = set()
    m = len(n_drugs)
    inside = sum(1 for i, j in positives if i in set(n_drugs.tolist()) and j in set(n_drugs.tolist())) if m < 500 else 0
    count = min(count, m * (m - 1) // 2 - inside)  # a tiny, dense set may have fewer non-pairs than asked
    while len(out) < count:
        a = rng.choice(n_drugs, 2 * count)
        b = rng.choice(n_drugs, 2 * count)
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            if i == j:
                continue
            k = (i, j) if i < j else (j, i)
            if k not in positives and k not in out:
                out.add(k)
                if len(out) >= count:
                    break
    return np.array(sorted(out), np.int64).reshape(-1, 2)


def train_any(a: np.ndarray, b: np.ndarray, y: np.ndarray, graph: np.ndarray, tr: np.ndarray, va: np.ndarray,
              cfg: Any, seed: int, *, progress: bool = False) -> PairModel:
    """P(the pair interacts): positives are known pairs, negatives sampled non-pairs; Platt-calibrated on
    validation. The profile is the drug's known partners among the *training positives* only."""
    n = graph.shape[0]
    pos = tr[y[tr] == 1]
    zero = np.zeros(len(pos), np.int64)
    prof = build_profile(n, a[pos], b[pos], b[pos], a[pos], n, zero, zero, 1, cfg.svd_dim // 2, seed)
    xall = drug_matrix(prof, graph)
    # the correction applies to training positives only; map a training row to its profile row
    prow = np.full(len(tr), -1, np.int64)
    prow[np.flatnonzero(y[tr] == 1)] = np.arange(len(pos))

    def train_batch(idx: np.ndarray, training: bool):
        ia, ib = a[tr][idx], b[tr][idx]
        xa, xb = xall[ia].copy(), xall[ib].copy()
        hit = prow[idx] >= 0
        if hit.any():
            r = prow[idx][hit]
            xa[hit] = example_features(prof, graph, ia[hit], prof.corr_a[r], prof.cnt_a[r])
            xb[hit] = example_features(prof, graph, ib[hit], prof.corr_b[r], prof.cnt_b[r])
        return xa, xb, None

    def val_batch(idx: np.ndarray, training: bool):
        return xall[a[va][idx]], xall[b[va][idx]], None

    spec = NetSpec(d_in=xall.shape[1], d_pair=0, out=1, h1=cfg.hidden // 2, h2=cfg.hidden // 4,
                   dropout=cfg.dropout, symmetric=True)
    net, hist = fit(spec, train_batch, y[tr].astype(np.int64), (val_batch, y[va].astype(np.int64)),
                    epochs=cfg.any_epochs, lr=cfg.lr, batch_size=cfg.batch_size, seed=seed, progress=progress,
                    desc="any")
    m = PairModel(export(net, spec, xall), history=hist)
    from gnn.pipeline.calibration import fit_platt

    m.platt = fit_platt(m.logits(a[va], b[va], None)[:, 0], y[va])
    return m


def binary_metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    from gnn.pipeline.calibration import brier, ece

    return {"auroc": float(roc_auc_score(y, p)), "auprc": float(average_precision_score(y, p)),
            "brier": brier(p, y), "ece": ece(p, y)}
