"""Metapath and text features of (drug, disease) pairs, à la Project Rephetio, from sparse matrices (no torch).

Every path that ends in a TREATS edge uses only the `visible` TREATS edges given (the training edges during
evaluation), so held-out links never enter a feature. Each relation matrix is degree-normalised
(`D_row^-w · M · D_col^-w`, w = 0.5, as in degree-weighted path counts) and paths are chained products, never a
materialised drug × drug matrix. A path through the scored pair itself (e.g. d–CAUSES–s–CAUSES–d–TREATS–x)
needs (d, x) to be a visible TREATS edge, so it cannot reach an unknown pair: no diagonal needs removing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from kg.export import EdgeType, ExportedGraph

W_DAMP = 0.5
TEXT_K = 20  # neighbours kept per drug / disease in the text-similarity paths

# name -> description (what `PathGraph.features` computes, in this order)
FEATURES: dict[str, str] = {
    "text": "cosine(drug text embedding, disease text embedding)",
    "text_dd": "Drug~text~Drug-TREATS-Disease (top-20 text neighbours)",
    "text_xx": "Drug-TREATS-Disease~text~Disease (top-20 text neighbours)",
    "rdt": "Drug-RESEMBLES-Drug-TREATS-Disease",
    "cdt": "Drug-INCLUDES^-1-PharmacologicClass-INCLUDES-Drug-TREATS-Disease",
    "bdt": "Drug-BINDS-Gene-BINDS^-1-Drug-TREATS-Disease",
    "sdt": "Drug-CAUSES-SideEffect-CAUSES^-1-Drug-TREATS-Disease",
    "idt": "Drug-INTERACTS_WITH-Drug-TREATS-Disease",
    "bga": "Drug-BINDS-Gene-ASSOCIATES^-1-Disease",
    "tdr": "Drug-TREATS-Disease-RESEMBLES-Disease",
    "tis": "Drug-TREATS-Disease-IS_A(either way)-Disease",
    "tag": "Drug-TREATS-Disease-ASSOCIATES-Gene-ASSOCIATES^-1-Disease",
    "tps": "Drug-TREATS-Disease-PRESENTS-Symptom-PRESENTS^-1-Disease",
    "tla": "Drug-TREATS-Disease-LOCALIZES-Anatomy-LOCALIZES^-1-Disease",
    "pal": "Drug-PALLIATES-Disease",
    "rev": "Drug-UP/DOWNREGULATES-Gene-DOWN/UPREGULATES^-1-Disease (signature reversal)",
    "deg_drug": "log1p(drug's visible TREATS degree)",
    "deg_dis": "log1p(disease's visible TREATS degree)",
}


def _adj(graph: ExportedGraph, et: EdgeType, keep: np.ndarray | None = None) -> sp.csr_matrix:
    src, _, dst = et
    shape = (len(graph.nodes[src]), len(graph.nodes[dst]))
    ei = graph.edges.get(et, np.zeros((2, 0), dtype=np.int64))
    if keep is not None:
        ei = ei[:, keep]
    m = sp.csr_matrix((np.ones(ei.shape[1], dtype=np.float32), (ei[0], ei[1])), shape=shape)
    m.data[:] = 1.0
    return m


def damp(m: sp.spmatrix, w: float = W_DAMP) -> sp.csr_matrix:
    """D_row^-w · M · D_col^-w (zero rows/columns stay zero)."""
    m = sp.csr_matrix(m, dtype=np.float32)
    r, c = np.asarray(m.sum(1)).ravel(), np.asarray(m.sum(0)).ravel()
    rs = np.where(r > 0, np.power(np.maximum(r, 1e-12), -w), 0).astype(np.float32)
    cs = np.where(c > 0, np.power(np.maximum(c, 1e-12), -w), 0).astype(np.float32)
    return sp.csr_matrix(sp.diags(rs) @ m @ sp.diags(cs))


def _unit(e: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(e, axis=1, keepdims=True)
    return np.divide(e, n, out=np.zeros_like(e, dtype=np.float32), where=n > 0).astype(np.float32)


def topk_similarity(e: np.ndarray, k: int = TEXT_K, block: int = 1024) -> sp.csr_matrix:
    """Sparse n × n: each row's k most cosine-similar other rows (positive similarities only)."""
    e = _unit(e)
    n = len(e)
    k = min(k, max(n - 1, 0))
    rows, cols, vals = [], [], []
    for i in range(0, n, block):
        s = e[i:i + block] @ e.T
        s[np.arange(len(s)), np.arange(i, i + len(s))] = -np.inf
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k] if k else np.zeros((len(s), 0), dtype=np.int64)
        v = np.take_along_axis(s, idx, 1)
        rows.append(np.repeat(np.arange(i, i + len(s)), k))
        cols.append(idx.ravel())
        vals.append(np.maximum(v.ravel(), 0))
    m = sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n, n))
    m.eliminate_zeros()
    return m


class VisibleProducts(NamedTuple):
    """`PathGraph.features`' inputs that depend only on the visible TREATS edges."""

    tn: sp.csr_matrix  # damped drug × disease TREATS
    deg_drug: np.ndarray  # visible TREATS degrees
    deg_dis: np.ndarray
    via: dict[str, sp.csr_matrix]  # "A"/"P"/"L" -> tn @ ASSOCIATES/PRESENTS/LOCALIZES (drug × gene/symptom/anatomy)


@dataclass
class PathGraph:
    """The split-independent, degree-normalised relation matrices (rows: all drugs / all diseases)."""

    mats: dict[str, sp.csr_matrix]
    drug_text: np.ndarray  # unit rows (zeros where a drug has no text embedding)
    dis_text: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, graph: ExportedGraph, keep: dict[EdgeType, np.ndarray] | None = None) -> PathGraph:
        """From the exported graph; `keep` masks (the split's) drop held-out pairs' PALLIATES edges."""
        keep = keep or {}
        n_drug, n_dis = len(graph.nodes["Drug"]), len(graph.nodes["Disease"])

        def a(et: EdgeType) -> sp.csr_matrix:
            if et[0] in graph.nodes and et[2] in graph.nodes:
                return _adj(graph, et, keep.get(et))
            return sp.csr_matrix((len(graph.nodes.get(et[0], ())), len(graph.nodes.get(et[2], ()))),
                                 dtype=np.float32)

        def sym(m: sp.csr_matrix) -> sp.csr_matrix:
            return ((m + m.T) > 0).astype(np.float32).tocsr()

        ft = graph.features
        drug_text = _unit(ft["Drug"]) if "Drug" in ft else np.zeros((n_drug, 1), dtype=np.float32)
        dis_text = _unit(ft["Disease"]) if "Disease" in ft else np.zeros((n_dis, 1), dtype=np.float32)
        mats = {
            "R": damp(sym(a(("Drug", "RESEMBLES", "Drug")))),
            "C": damp(a(("PharmacologicClass", "INCLUDES", "Drug")).T),  # drug × class
            "B": damp(a(("Drug", "BINDS", "Gene"))),
            "S": damp(a(("Drug", "CAUSES", "SideEffect"))),
            "I": damp(sym(a(("Drug", "INTERACTS_WITH", "Drug")))),
            "A": damp(a(("Disease", "ASSOCIATES", "Gene"))),
            "DR": damp(sym(a(("Disease", "RESEMBLES", "Disease")))),
            "IS": damp(sym(a(("Disease", "IS_A", "Disease")))),
            "P": damp(a(("Disease", "PRESENTS", "Symptom"))),
            "L": damp(a(("Disease", "LOCALIZES", "Anatomy"))),
            "PAL": a(("Drug", "PALLIATES", "Disease")),
            "DU": damp(a(("Drug", "UPREGULATES", "Gene"))), "DD": damp(a(("Drug", "DOWNREGULATES", "Gene"))),
            "XU": damp(a(("Disease", "UPREGULATES", "Gene"))), "XD": damp(a(("Disease", "DOWNREGULATES", "Gene"))),
            "TDD": damp(topk_similarity(drug_text)), "TXX": damp(topk_similarity(dis_text)),
        }
        return cls(mats=mats, drug_text=drug_text, dis_text=dis_text)

    def visible_products(self, visible: np.ndarray) -> VisibleProducts:
        """What `features` derives from the visible TREATS edges alone (the same for every disease). A scorer
        with fixed visible edges computes this once (8.9 → ~1 ms per disease served)."""
        n_drug, n_dis = self.drug_text.shape[0], self.dis_text.shape[0]
        t = sp.csr_matrix((np.ones(visible.shape[1], dtype=np.float32), (visible[0], visible[1])),
                          shape=(n_drug, n_dis))
        t.data[:] = 1.0
        tn = damp(t)
        return VisibleProducts(tn, np.asarray(t.sum(1)).ravel(), np.asarray(t.sum(0)).ravel(),
                               {k: sp.csr_matrix(tn @ self.mats[k]) for k in ("A", "P", "L")})

    def features(self, visible: np.ndarray, diseases: np.ndarray, cand_drugs: np.ndarray,
                 pre: VisibleProducts | None = None) -> np.ndarray:
        """len(FEATURES) × len(diseases) × len(cand_drugs) raw feature values with `visible` TREATS edges
        (`pre`: `visible_products(visible)`, when the caller keeps it)."""
        m = self.mats
        n_drug = self.drug_text.shape[0]
        diseases, cand_drugs = np.asarray(diseases), np.asarray(cand_drugs)
        tn, deg_drug, deg_dis, via_products = pre if pre is not None else self.visible_products(visible)
        # sparse relation matrices times dense drug/disease × selected-disease blocks: matrix-vector speed
        tc = tn[:, diseases].toarray()  # drug × selected diseases

        def cols_of(x: sp.csr_matrix) -> np.ndarray:  # x[:, diseases] as a dense block
            return x[:, diseases].toarray()

        def dis_side(x: sp.csr_matrix) -> np.ndarray:  # Drug-TREATS-Disease-X-Disease[cols]
            return tn @ cols_of(x)

        def via(k: str) -> np.ndarray:  # Drug-TREATS-Disease-X-Y-X^-1-Disease[cols]
            return via_products[k] @ m[k][diseases].T.toarray()

        def drug_side(x: sp.csr_matrix) -> np.ndarray:  # Drug-X-Y-X^-1-Drug-TREATS-Disease[cols]
            return x @ (x.T @ tc)

        cols = [
            self.drug_text @ self.dis_text[diseases].T,
            m["TDD"] @ tc,
            dis_side(m["TXX"]),
            m["R"] @ tc,
            drug_side(m["C"]),
            drug_side(m["B"]),
            drug_side(m["S"]),
            m["I"] @ tc,
            m["B"] @ m["A"][diseases].T.toarray(),
            dis_side(m["DR"]),
            dis_side(m["IS"]),
            via("A"),
            via("P"),
            via("L"),
            cols_of(m["PAL"]),
            m["DU"] @ m["XD"][diseases].T.toarray() + m["DD"] @ m["XU"][diseases].T.toarray(),
            np.repeat(np.log1p(deg_drug)[:, None], len(diseases), 1),
            np.repeat(np.log1p(deg_dis[diseases])[None, :], n_drug, 0),
        ]
        out = np.stack([c[cand_drugs].T for c in cols]).astype(np.float32)
        return out

    def save(self, path: Path, **arrays: np.ndarray) -> Path:
        """One .npz with every matrix (CSR parts) and `arrays`."""
        parts: dict[str, np.ndarray] = {"drug_text": self.drug_text.astype(np.float16),
                                        "dis_text": self.dis_text.astype(np.float16)}
        for k, v in self.mats.items():
            parts.update({f"m_{k}_data": v.data, f"m_{k}_indices": v.indices, f"m_{k}_indptr": v.indptr,
                          f"m_{k}_shape": np.array(v.shape)})
        np.savez_compressed(path, **parts, **arrays)
        return path

    @classmethod
    def from_npz(cls, z) -> PathGraph:
        names = {k[2:-5] for k in z.files if k.startswith("m_") and k.endswith("_data")}
        mats = {k: sp.csr_matrix((z[f"m_{k}_data"], z[f"m_{k}_indices"], z[f"m_{k}_indptr"]),
                                 shape=tuple(z[f"m_{k}_shape"])) for k in names}
        return cls(mats=mats, drug_text=z["drug_text"].astype(np.float32), dis_text=z["dis_text"].astype(np.float32))
