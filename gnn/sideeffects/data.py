"""The side-effect family's data step: drugs, their inputs (structure, targets, classes, ATC codes,
DrugBank categories, interaction partners) and the recorded CAUSES edges, as plain arrays.

From the graph (`from_graph`), or from a JSON fixture (`from_fixture`, tests). InChI is not stored on Drug
nodes, so it is read from DrugBank's `drugbank.tsv` in the data directory and the file's checksum recorded.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from kg.errors import ConfigError

# the modalities a drug can have as input; "profile" (its own known side effects) only in the warm setting
MODALITIES: tuple[str, ...] = ("structure", "targets", "classes", "atc", "categories", "interactions")
DRUGBANK_TSV = Path("drugbank") / "drugbank.tsv"
FP_BITS, FP_RADIUS = 2048, 2


@dataclass
class SideEffectData:
    """Rows = drugs, columns = side effects; one binary drug × feature matrix per modality."""

    drugs: list[str]
    drug_names: list[str]
    side_effects: list[str]
    se_names: list[str]
    causes: np.ndarray  # 2 × E int64: (drug row, side-effect column)
    causes_sources: list[list[str]]
    modalities: dict[str, sparse.csr_matrix]
    feature_names: dict[str, list[str]] = field(default_factory=dict)
    feature_labels: dict[str, list[str]] = field(default_factory=dict)  # human names (genes, classes)
    build_id: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def n_drugs(self) -> int:
        return len(self.drugs)

    @property
    def n_se(self) -> int:
        return len(self.side_effects)

    def label_matrix(self, edges: np.ndarray | None = None) -> sparse.csr_matrix:
        e = self.causes if edges is None else edges
        return sparse.csr_matrix((np.ones(e.shape[1], dtype=np.float32), (e[0], e[1])),
                                 shape=(self.n_drugs, self.n_se))

    def profiled(self) -> np.ndarray:
        """Rows of the drugs with at least one recorded side effect."""
        return np.unique(self.causes[0])

    def has_input(self) -> np.ndarray:
        """Boolean per drug: does it have any input modality (else there is no basis to predict)."""
        out = np.zeros(self.n_drugs, dtype=bool)
        for m in self.modalities.values():
            out |= np.asarray(m.getnnz(axis=1) > 0)
        return out


def _binary(rows: list[Iterable[str]], vocab: list[str] | None = None) -> tuple[sparse.csr_matrix, list[str]]:
    vocab = vocab if vocab is not None else sorted({f for r in rows for f in r})
    pos = {f: i for i, f in enumerate(vocab)}
    r_idx, c_idx = [], []
    for i, feats in enumerate(rows):
        for f in set(feats):
            if f in pos:
                r_idx.append(i)
                c_idx.append(pos[f])
    m = sparse.csr_matrix((np.ones(len(r_idx), dtype=np.float32), (r_idx, c_idx)), shape=(len(rows), len(vocab)))
    return m, vocab


def atc_features(codes: Iterable[str]) -> set[str]:
    """ATC codes as their hierarchy prefixes (level 1, 3, 4, 5), so drugs sharing a group are similar too."""
    out: set[str] = set()
    for c in codes:
        c = c.strip().upper()
        for n in (1, 3, 4, 5, 7):
            if len(c) >= n:
                out.add(c[:n])
    return out


def fingerprint_bits(inchi: str | None) -> list[int]:
    """Morgan (ECFP4-like) bit indices from an InChI; [] if RDKit cannot parse it."""
    if not inchi:
        return []
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromInchi(inchi, sanitize=True, treatWarningAsError=False)
    if mol is None:
        return []
    gen = _generator()
    return list(gen.GetFingerprint(mol).GetOnBits())


_GEN: Any = None


def _generator() -> Any:
    global _GEN
    if _GEN is None:
        from rdkit.Chem import rdFingerprintGenerator

        _GEN = rdFingerprintGenerator.GetMorganGenerator(radius=FP_RADIUS, fpSize=FP_BITS)
    return _GEN


def read_inchi(data_dir: Path) -> tuple[dict[str, str], str]:
    """DrugBank id → InChI from drugbank.tsv, and the file's checksum; a clear error if the file is missing."""
    from gnn.pipeline.store import file_checksum

    path = Path(data_dir) / DRUGBANK_TSV
    if not path.is_file():
        raise ConfigError(f"side effects: {path} not found (InChI for the structure features); set MEDKG_DATA_DIR")
    csv.field_size_limit(sys.maxsize)
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if not reader.fieldnames or "inchi" not in reader.fieldnames or "drugbank_id" not in reader.fieldnames:
            raise ConfigError(f"{path} line 1: header lacks 'drugbank_id' or 'inchi' (got {reader.fieldnames})")
        for row in reader:
            inchi = (row.get("inchi") or "").strip()
            if inchi.startswith("InChI="):
                out[row["drugbank_id"]] = inchi
    return out, file_checksum(path)


def assemble(drugs: list[dict[str, Any]], side_effects: list[dict[str, str]], causes: list[dict[str, Any]],
             binds: list[dict[str, str]], classes: list[dict[str, str]], interactions: list[tuple[str, str]],
             inchi: dict[str, str], *, build_id: str | None = None, checksums: dict[str, str] | None = None,
             progress: bool = False) -> SideEffectData:
    """Plain records → SideEffectData (drugs and side effects sorted by id: stable rows and columns)."""
    drugs = sorted(drugs, key=lambda d: d["id"])
    ids = [d["id"] for d in drugs]
    pos = {d: i for i, d in enumerate(ids)}
    ses = sorted(side_effects, key=lambda s: s["id"])
    se_pos = {s["id"]: i for i, s in enumerate(ses)}
    c_rows, c_cols, c_src = [], [], []
    for r in sorted(causes, key=lambda r: (r["drug"], r["se"])):
        if r["drug"] in pos and r["se"] in se_pos:
            c_rows.append(pos[r["drug"]])
            c_cols.append(se_pos[r["se"]])
            c_src.append(list(r.get("sources") or []))
    mods: dict[str, sparse.csr_matrix] = {}
    names: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}

    from tqdm import tqdm

    bits = [fingerprint_bits(inchi.get(d)) for d in tqdm(ids, desc="fingerprints", disable=not progress)]
    mods["structure"], _ = _binary([[str(b) for b in bl] for bl in bits], [str(i) for i in range(FP_BITS)])
    names["structure"] = [str(i) for i in range(FP_BITS)]
    per: dict[str, list[set[str]]] = {m: [set() for _ in ids] for m in ("targets", "classes", "interactions")}
    gene_names: dict[str, str] = {}
    class_names: dict[str, str] = {}
    for b in binds:
        if b["drug"] in pos:
            per["targets"][pos[b["drug"]]].add(b["gene"])
            gene_names[b["gene"]] = b.get("gene_name") or b["gene"]
    for c in classes:
        if c["drug"] in pos:
            per["classes"][pos[c["drug"]]].add(c["cls"])
            class_names[c["cls"]] = c.get("cls_name") or c["cls"]
    for a, b in interactions:
        if a in pos and b in pos and a != b:
            per["interactions"][pos[a]].add(b)
            per["interactions"][pos[b]].add(a)
    for m in ("targets", "classes", "interactions"):
        mods[m], names[m] = _binary(per[m])
    labels["targets"] = [gene_names.get(g, g) for g in names["targets"]]
    labels["classes"] = [class_names.get(c, c) for c in names["classes"]]
    mods["atc"], names["atc"] = _binary([atc_features(d.get("atc_codes") or []) for d in drugs])
    mods["categories"], names["categories"] = _binary([set(d.get("categories") or []) for d in drugs])
    return SideEffectData(
        drugs=ids, drug_names=[d.get("name") or d["id"] for d in drugs], side_effects=[s["id"] for s in ses],
        se_names=[s.get("name") or s["id"] for s in ses],
        causes=np.array([c_rows, c_cols], dtype=np.int64).reshape(2, -1), causes_sources=c_src, modalities=mods,
        feature_names=names, feature_labels=labels, build_id=build_id, checksums=dict(checksums or {}))


Q_DRUGS = "MATCH (d:Drug) RETURN d.id AS id, d.name AS name, d.atc_codes AS atc_codes, d.categories AS categories"
Q_SES = "MATCH (s:SideEffect) RETURN s.id AS id, s.name AS name"
Q_CAUSES = "MATCH (d:Drug)-[r:CAUSES]->(s:SideEffect) RETURN d.id AS drug, s.id AS se, r.sources AS sources"
Q_BINDS = "MATCH (d:Drug)-[:BINDS]->(g:Gene) RETURN DISTINCT d.id AS drug, g.id AS gene, g.name AS gene_name"
Q_CLASSES = ("MATCH (c:PharmacologicClass)-[:INCLUDES]->(d:Drug) "
             "RETURN DISTINCT d.id AS drug, c.id AS cls, c.name AS cls_name")
Q_INTERACTS = "MATCH (a:Drug)-[:INTERACTS_WITH]->(b:Drug) RETURN DISTINCT a.id AS a, b.id AS b"


def from_graph(data_dir: Path | None = None, *, progress: bool = True) -> SideEffectData:
    """Read everything from Neo4j (settings from the environment) plus InChI from DrugBank's file."""
    from kg.db import make_driver, read
    from kg.export import current_build_id
    from kg.settings import get_settings

    settings = get_settings()
    inchi, checksum = read_inchi(Path(data_dir or settings.medkg_data_dir))
    driver = make_driver(settings)
    try:
        recs = {k: read(driver, q) for k, q in (("drugs", Q_DRUGS), ("ses", Q_SES), ("causes", Q_CAUSES),
                                                ("binds", Q_BINDS), ("classes", Q_CLASSES))}
        inter = [(r["a"], r["b"]) for r in read(driver, Q_INTERACTS)]
        build_id = current_build_id(driver)
    finally:
        driver.close()
    if not recs["causes"]:
        raise ConfigError("side effects: the graph has no Drug-CAUSES-SideEffect edges; build it with `medkg kg build`")
    return assemble(recs["drugs"], recs["ses"], recs["causes"], recs["binds"], recs["classes"], inter, inchi,
                    build_id=build_id, checksums={str(DRUGBANK_TSV): checksum}, progress=progress)


def from_fixture(path: Path) -> SideEffectData:
    """A JSON fixture with keys drugs, side_effects, causes, binds, classes, interactions, inchi."""
    from gnn.pipeline.store import file_checksum

    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"side-effect fixture {path}: {exc}") from exc
    missing = [k for k in ("drugs", "side_effects", "causes") if k not in raw]
    if missing:
        raise ConfigError(f"side-effect fixture {path}: missing field(s) {', '.join(missing)}")
    return assemble(raw["drugs"], raw["side_effects"], raw["causes"], raw.get("binds", []), raw.get("classes", []),
                    [tuple(p) for p in raw.get("interactions", [])], raw.get("inchi", {}),
                    build_id=raw.get("build_id", "fixture"), checksums={Path(path).name: file_checksum(Path(path))})


# a few real small molecules so the fixture exercises RDKit
_INCHI = ["InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)",
          "InChI=1S/C8H9NO2/c1-6(10)9-7-2-4-8(11)5-3-7/h2-5,11H,1H3,(H,9,10)",
          "InChI=1S/C13H18O2/c1-9(2)8-11-4-6-12(7-5-11)10(3)13(14)15/h4-7,9-10H,8H2,1-3H3,(H,14,15)",
          "InChI=1S/C8H10N4O2/c1-10-4-9-6-5(10)7(13)12(3)8(14)11(6)2/h4H,1-3H3",
          "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"]


def synthetic_fixture(path: Path, n_drugs: int = 60, n_se: int = 40, seed: int = 0,
                      rename: dict[str, str] | None = None) -> Path:
    """A small fixture with planted structure: drugs in groups share targets, classes, ATC and side effects.
    Drug i is DB9xxxx (i + 90000) and side effect s is C1xxxxxx (s + 1000000) unless `rename` maps them."""
    rng = np.random.default_rng(seed)
    groups = 4
    drugs, causes, binds, classes, inter, inchi = [], [], [], [], [], {}
    for i in range(n_drugs):
        g = i % groups
        did = f"DB{90000 + i:05d}"
        drugs.append({"id": did, "name": f"fixture drug {i}", "atc_codes": [f"A0{g}AB0{i % 3}"],
                      "categories": [f"category {g}"]})
        inchi[did] = _INCHI[g] if i % 5 else ""
        if i < n_drugs - 3:  # the last three drugs have no inputs at all
            binds += [{"drug": did, "gene": str(100 + g * 10 + k), "gene_name": f"GENE{g}{k}"}
                      for k in rng.choice(5, size=2, replace=False)]
            classes.append({"drug": did, "cls": f"N{g:07d}", "cls_name": f"class {g}"})
        else:
            drugs[-1].update(atc_codes=[], categories=[])
            inchi[did] = ""
        if i < int(n_drugs * 0.8):  # profiled
            for s in range(n_se):
                p = 0.6 if s % groups == g else (0.3 if s < 4 else 0.03)
                if rng.random() < p:
                    causes.append({"drug": did, "se": f"C{1000000 + s:07d}", "sources": ["sider"]})
        if 0 < i < n_drugs - 3 and rng.random() < 0.5:
            inter.append([did, f"DB{90000 + i - 1:05d}"])
    ses = [{"id": f"C{1000000 + s:07d}", "name": f"side effect {s}"} for s in range(n_se)]
    if rename:
        def rn(x: str) -> str:
            return rename.get(x, x)

        for d in drugs:
            d["id"] = rn(d["id"])
        inchi = {rn(k): v for k, v in inchi.items()}
        causes = [{**c, "drug": rn(c["drug"]), "se": rn(c["se"])} for c in causes]
        binds = [{**b, "drug": rn(b["drug"])} for b in binds]
        classes = [{**c, "drug": rn(c["drug"])} for c in classes]
        inter = [[rn(a), rn(b)] for a, b in inter]
        ses = [{**s, "id": rn(s["id"])} for s in ses]
    doc = {"build_id": "fixture", "drugs": drugs, "side_effects": ses, "causes": causes, "binds": binds,
           "classes": classes, "interactions": inter, "inchi": inchi}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
