"""Per-drug feature vectors for pair models.

A drug's vector is [profile SVD | profile counts | log degree | graph SVD]:
- the *profile* is what the training pairs of the task say about the drug (for the type model: which partner
  with which type in which role), as a sparse multi-hot reduced by a truncated SVD, plus the counts per
  (type, role) — built from the training pairs only;
- the *graph* part is the drug's targets, pharmacologic classes, ATC codes and side effects (tokens),
  TF-IDF-weighted and SVD-reduced; nothing about indications.

A training pair's own row is in its drugs' profiles; at prediction time it would not be. So for a training
example the pair's own contribution is subtracted (the SVD projection is linear: subtract that column's
component vector; counts: subtract one), making train and test features alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def _svd(m: sp.csr_matrix, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(Z = U·S rows per drug, Vt) of a truncated SVD; k is clipped to the matrix."""
    from sklearn.utils.extmath import randomized_svd

    k = max(1, min(k, min(m.shape) - 1))
    if m.nnz == 0:
        return np.zeros((m.shape[0], k), np.float32), np.zeros((k, m.shape[1]), np.float32)
    u, s, vt = randomized_svd(m.astype(np.float64), k, n_iter=4, random_state=seed)
    return (u * s).astype(np.float32), vt.astype(np.float32)


def graph_block(drugs: list[str], tokens: dict[str, list[str]], k: int, seed: int) -> np.ndarray:
    """TF-IDF of the drugs' graph tokens (targets, classes, ATC, side effects), SVD-reduced, rows L2-normed."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, d in enumerate(drugs):
        for t in tokens.get(d, ()):
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
    n = len(drugs)
    if not vocab:
        return np.zeros((n, 1), np.float32)
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(vocab)))
    df = np.asarray((m > 0).sum(axis=0)).ravel()
    m = m.multiply(np.log((1 + n) / (1 + df)) + 1).tocsr()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = sp.diags(1 / np.maximum(norms, 1e-9)) @ m
    z, _ = _svd(m.tocsr(), k, seed)
    return z


@dataclass
class Profile:
    """The task's training relation seen from each drug, with per-example corrections."""

    z: np.ndarray  # N x k   SVD of the profile multi-hot
    counts: np.ndarray  # N x C   counts per count-column
    degree: np.ndarray  # N       nonzeros of the multi-hot
    corr_a: np.ndarray  # n_train x k   component of the example's own column for drug a
    corr_b: np.ndarray
    cnt_a: np.ndarray  # n_train   count column of the example for drug a
    cnt_b: np.ndarray


def build_profile(n: int, a: np.ndarray, b: np.ndarray, col_a: np.ndarray, col_b: np.ndarray, ncols: int,
                  cnt_a: np.ndarray, cnt_b: np.ndarray, ncnt: int, k: int, seed: int) -> Profile:
    """Row a gets column col_a (and count cnt_a), row b column col_b, for each training example."""
    rows = np.concatenate([a, b])
    cols = np.concatenate([col_a, col_b])
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, ncols))
    m.sum_duplicates()
    m.data[:] = 1.0
    z, vt = _svd(m, k, seed)
    counts = np.zeros((n, ncnt), np.float32)
    np.add.at(counts, (a, cnt_a), 1)
    np.add.at(counts, (b, cnt_b), 1)
    degree = np.asarray(m.sum(axis=1)).ravel().astype(np.float32)
    return Profile(z, counts, degree, vt[:, col_a].T.copy(), vt[:, col_b].T.copy(), cnt_a.astype(np.int64),
                   cnt_b.astype(np.int64))


def drug_matrix(profile: Profile, graph: np.ndarray) -> np.ndarray:
    """Every drug's full vector with no example removed (what prediction uses)."""
    deg = profile.degree[:, None]
    return np.concatenate([profile.z / np.sqrt(deg + 1), np.log1p(profile.counts), np.log1p(deg), graph],
                          axis=1).astype(np.float32)


def example_features(profile: Profile, graph: np.ndarray, drug: np.ndarray, corr: np.ndarray | None,
                     cnt: np.ndarray | None) -> np.ndarray:
    """Vectors of `drug` for a batch of examples; `corr`/`cnt` given for training examples (own pair removed)."""
    z = profile.z[drug]
    counts = profile.counts[drug].copy()
    deg = profile.degree[drug].copy()
    if corr is not None:
        z = z - corr
        counts[np.arange(len(drug)), cnt] -= 1
        deg = deg - 1
    deg = np.maximum(deg, 0)[:, None]
    return np.concatenate([z / np.sqrt(deg + 1), np.log1p(np.maximum(counts, 0)), np.log1p(deg), graph[drug]],
                          axis=1).astype(np.float32)
