"""Link-prediction metrics: AUROC/AUPRC on sampled negatives, full-candidate AUROC, filtered MRR and Hits@k."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

# score_fn(drug_rows, disease_rows) -> scores for aligned pairs
PairScorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
# matrix_fn(disease_rows) -> scores (len(disease_rows) × n_candidate_drugs), drugs in candidate order
MatrixScorer = Callable[[np.ndarray], np.ndarray]


def sample_negatives(known_keys: np.ndarray, drugs: np.ndarray, diseases: np.ndarray, n_dis_total: int,
                     n: int, seed: int) -> np.ndarray:
    """`n` random (candidate drug, candidate disease) pairs that are not known TREATS edges; 2×n."""
    rng = np.random.default_rng(seed)
    known = set(known_keys.tolist())
    out: list[tuple[int, int]] = []
    while len(out) < n:
        d, x = int(rng.choice(drugs)), int(rng.choice(diseases))
        if d * n_dis_total + x not in known:
            out.append((d, x))
    return np.array(out, dtype=np.int64).T.reshape(2, -1)


def rank_metrics(held: np.ndarray, matrix_fn: MatrixScorer, cand_drugs: np.ndarray, known: np.ndarray,
                 ks: tuple[int, ...] = (1, 3, 10)) -> dict[str, float]:
    """Filtered ranks of each held-out (drug, disease) among all candidate drugs for that disease.

    Filtered: every other known TREATS drug of the disease (`known`, 2×m, all parts) is left out; ties count
    half (mean of optimistic and pessimistic rank), so a constant scorer gets no credit.
    Also `auroc_full`: the held-out pairs against every unknown candidate pair of the same diseases.
    """
    col = {int(d): j for j, d in enumerate(cand_drugs)}
    diseases = np.unique(held[1])
    scores = matrix_fn(diseases)
    ranks, aucs = [], []
    for r, x in enumerate(diseases):
        s = scores[r]
        known_cols = [col[int(d)] for d in known[0][known[1] == x] if int(d) in col]
        mask = np.ones(len(cand_drugs), dtype=bool)
        mask[known_cols] = False
        negatives = s[mask]
        for d in held[0][held[1] == x]:
            if int(d) not in col:
                continue
            sd = s[col[int(d)]]
            greater, equal = (negatives > sd).sum(), (negatives == sd).sum()
            ranks.append(1 + greater + 0.5 * equal)
            aucs.append(1 - (greater + 0.5 * equal) / max(len(negatives), 1))
    ranks_a = np.asarray(ranks, dtype=float)
    out = {"mrr": float(np.mean(1 / ranks_a)), "mean_rank": float(ranks_a.mean()),
           "auroc_full": float(np.mean(aucs)), "n_ranked": len(ranks)}
    for k in ks:
        out[f"hits@{k}"] = float(np.mean(ranks_a <= k))
    return out


def link_metrics(pos: np.ndarray, neg: np.ndarray, pair_fn: PairScorer, matrix_fn: MatrixScorer,
                 cand_drugs: np.ndarray, known: np.ndarray) -> dict[str, float]:
    """AUROC and AUPRC (held-out positives vs the same number of sampled negatives) plus rank metrics."""
    sp, sn = pair_fn(pos[0], pos[1]), pair_fn(neg[0], neg[1])
    y = np.r_[np.ones(len(sp)), np.zeros(len(sn))]
    s = np.r_[sp, sn]
    return {"auroc": float(roc_auc_score(y, s)), "auprc": float(average_precision_score(y, s)),
            **rank_metrics(pos, matrix_fn, cand_drugs, known)}


def summarize(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """mean and sd (ddof=1 where there are ≥ 2 seeds) of every metric of every model."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for model in per_seed[0]:
        out[model] = {}
        for key in per_seed[0][model]:
            vals = np.array([run[model][key] for run in per_seed], dtype=float)
            out[model][key] = {"mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0}
    return out
