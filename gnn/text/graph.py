"""Text embeddings in the graph: vector indexes, incremental node embedding, vector and hybrid search."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import numpy as np
from neo4j import Driver

from gnn.text.encoder import DIM, TextEncoder, get_encoder
from gnn.text.nodes import NameMatcher, model_text, model_text_hash, node_text, text_hash
from kg.db import read, write
from kg.errors import InvalidInput, NotFound
from kg.schema import get_schema

PROPERTY = "text_embedding"  # full text: search and display
HASH_PROPERTY = "text_hash"
MODEL_PROPERTY = "model_embedding"  # model inputs: indication statements and disease names removed (Drug)
MODEL_HASH_PROPERTY = "model_text_hash"
FULLTEXT_INDEX = "name_fulltext"
_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_STOP_WORDS = {"a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "my", "i", "is", "it", "by", "from",
               "as", "be", "feel", "feeling", "have", "has"}
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


def check_label(label: str) -> str:
    """A label is interpolated into Cypher only if it is a plain PascalCase identifier."""
    if not isinstance(label, str) or not _LABEL.match(label):
        raise InvalidInput(f"label {label!r} is not a plain PascalCase node label", field="label")
    return label


def index_name(label: str) -> str:
    return f"{check_label(label).lower()}_text"


def create_vector_indexes(driver: Driver, labels: list[str], timeout_s: int = 300) -> list[str]:
    """One cosine vector index of 384 dims per label, named `<label_lower>_text`; waits until online."""
    names = []
    for label in labels:
        name = index_name(label)
        write(driver, f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.{PROPERTY} "
                      f"OPTIONS {{indexConfig: {{`vector.dimensions`: {DIM}, "
                      f"`vector.similarity_function`: 'cosine'}}}}")
        names.append(name)
    write(driver, f"CALL db.awaitIndexes({int(timeout_s)})")
    return names


def create_fulltext_index(driver: Driver, labels: list[str], timeout_s: int = 300,
                          name: str = FULLTEXT_INDEX) -> str:
    """The fulltext index `name_fulltext` on `name` and `synonyms` across `labels` (if not there yet).

    An index of that name that already exists is left as it is, whatever labels it covers.
    """
    if not labels:
        raise InvalidInput("create_fulltext_index needs at least one label", field="labels")
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise InvalidInput(f"index name {name!r} is not a plain snake_case name", field="name")
    lab = "|".join(check_label(label) for label in labels)
    write(driver, f"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{lab}) ON EACH [n.name, n.synonyms]")
    write(driver, f"CALL db.awaitIndexes({int(timeout_s)})")
    return name


def _write_batch(driver: Driver, label: str, rows: list[dict]) -> None:
    """Rows with `vec` set both vectors; rows with `vec` None (full text unchanged) only the model vector."""
    full = [r for r in rows if r["vec"] is not None]
    if full:
        write(driver, f"UNWIND $rows AS row MATCH (n:{label} {{id: row.id}}) "
                      f"CALL db.create.setNodeVectorProperty(n, '{PROPERTY}', row.vec) "
                      f"CALL db.create.setNodeVectorProperty(n, '{MODEL_PROPERTY}', row.mvec) "
                      f"SET n.{HASH_PROPERTY} = row.hash, n.{MODEL_HASH_PROPERTY} = row.mhash", rows=full)
    model_only = [r for r in rows if r["vec"] is None]
    if model_only:
        write(driver, f"UNWIND $rows AS row MATCH (n:{label} {{id: row.id}}) "
                      f"CALL db.create.setNodeVectorProperty(n, '{MODEL_PROPERTY}', row.mvec) "
                      f"SET n.{MODEL_HASH_PROPERTY} = row.mhash", rows=model_only)


def disease_matcher(driver: Driver) -> NameMatcher:
    """Every graph Disease name and synonym (what a drug's model text must not mention)."""
    rows = read(driver, "MATCH (x:Disease) RETURN x.name AS name, x.synonyms AS synonyms")
    names: set[str] = set()
    for r in rows:
        names.update([r["name"]] if r["name"] else [])
        syn = r["synonyms"]
        names.update([syn] if isinstance(syn, str) else [s for s in syn or [] if s])
    return NameMatcher(names)


def text_properties(label: str) -> tuple[str, ...] | None:
    """The properties that make a label's text (the schema's `text:` list), or None for a label outside it."""
    spec = get_schema().labels.get(label)
    return spec.text if spec is not None and spec.text else None


def text_labels() -> list[str]:
    """Labels whose schema entry has a `text:` list (the ones `embed_graph` embeds), in schema order."""
    return [name for name, spec in get_schema().labels.items() if spec.text and not spec.patient_data]


def embed_nodes(driver: Driver, label: str, encoder: TextEncoder | None = None, only_missing: bool = True,
                batch: int = 256, progress: bool = False, ids: list[str] | None = None,
                diseases: NameMatcher | None = None) -> dict[str, Any]:
    """Embed the `label` nodes whose text changed or that have no embedding (all of them if not only_missing).

    Reads each node's text properties (the schema's `text:` list for schema labels, else all properties;
    never its vector), composes `node_text` (full: search/display) and `model_text` (what models read: for a
    Drug without indication sentences and disease names, `diseases` defaults to every graph Disease name),
    compares their hashes with the stored ones, and writes `text_embedding` + `text_hash` and
    `model_embedding` + `model_text_hash` (the same vector when both texts are equal). `ids` restricts the
    run to those nodes. Returns counts: total nodes (considered), embedded, unchanged, skipped (no id).
    """
    check_label(label)
    props = text_properties(label)
    proj = ("n {" + ", ".join(f".`{p}`" for p in ("id", *props)) + "}" if props
            else f"n {{.*, {PROPERTY}: null, {HASH_PROPERTY}: null, {MODEL_PROPERTY}: null, "
                 f"{MODEL_HASH_PROPERTY}: null}}")
    where = "WHERE n.id IN $ids " if ids is not None else ""
    rows = read(driver, f"MATCH (n:{label}) {where}RETURN n.id AS id, n.{HASH_PROPERTY} AS hash, "
                        f"n.{MODEL_HASH_PROPERTY} AS mhash, n.{PROPERTY} IS NOT NULL AS has_vec, "
                        f"n.{MODEL_PROPERTY} IS NOT NULL AS has_mvec, {proj} AS props", ids=list(ids or []))
    if label == "Drug" and diseases is None:
        diseases = disease_matcher(driver)
    todo: list[tuple[str, str | None, str, str, str]] = []  # (id, full text or None if unchanged, ...)
    copy: list[dict] = []  # full text unchanged and equal to the model text: copy the vector, no encoding
    skipped = 0
    for r in rows:
        if r["id"] is None:
            skipped += 1
            continue
        text = node_text(label, r["props"])
        mtext = model_text(label, r["props"], diseases)
        h, mh = text_hash(text), model_text_hash(mtext)
        if only_missing and r["has_vec"] and r["hash"] == h:
            if r["has_mvec"] and r["mhash"] == mh:
                continue
            if mtext == text:
                copy.append({"id": r["id"], "mhash": mh})
                continue
            todo.append((r["id"], None, h, mtext, mh))  # only the model text changed
            continue
        todo.append((r["id"], text, h, mtext, mh))
    for start in range(0, len(copy), 5000):
        write(driver, f"UNWIND $rows AS row MATCH (n:{label} {{id: row.id}}) "
                      f"CALL db.create.setNodeVectorProperty(n, '{MODEL_PROPERTY}', n.{PROPERTY}) "
                      f"SET n.{MODEL_HASH_PROPERTY} = row.mhash", rows=copy[start:start + 5000])
    if not todo:
        return {"label": label, "total": len(rows), "embedded": 0, "unchanged": len(rows) - skipped,
                "skipped": skipped}
    todo.sort(key=lambda t: len(t[3]))  # similar lengths per batch: less padding (long drug descriptions)
    encoder = encoder or get_encoder()
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"embed {label}", unit="node", file=sys.stderr)
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        texts = sorted({t for _, t, _, _, _ in chunk if t is not None} | {m for _, _, _, m, _ in chunk})
        vec_of = dict(zip(texts, encoder.encode(texts, batch_size=64), strict=True))
        _write_batch(driver, label, [{"id": i, "vec": None if t is None else vec_of[t].tolist(), "hash": h,
                                      "mvec": vec_of[m].tolist(), "mhash": mh} for i, t, h, m, mh in chunk])
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return {"label": label, "total": len(rows), "embedded": len(todo),
            "unchanged": len(rows) - len(todo) - skipped, "skipped": skipped}


def _vec(vector: Any) -> list[float]:
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if arr.shape[0] != DIM:
        raise InvalidInput(f"query vector has {arr.shape[0]} dimensions, expected {DIM}", field="vector")
    return arr.tolist()


def vector_search(driver: Driver, label: str, vector: Any, k: int = 10) -> list[dict]:
    """The k nearest `label` nodes by cosine (db.index.vector.queryNodes); `score` is Neo4j's (1+cos)/2."""
    name = index_name(label)
    return read(driver, "CALL db.index.vector.queryNodes($index, $k, $vec) YIELD node, score "
                        "RETURN $label AS label, node.id AS id, node.name AS name, score, 2 * score - 1 AS cosine",
                index=name, k=int(k), vec=_vec(vector), label=label)


def _fulltext_query(text: str) -> str:
    words = [_LUCENE_SPECIAL.sub(r"\\\1", w) for w in text.split()]
    words = [w for w in words if w.lower() not in {"and", "or", "not"}]
    if not words:
        return ""
    phrase = " ".join(words)
    terms = [w for w in words if w.lower() not in _STOP_WORDS] or words  # "to" alone must not match "failure to…"
    # the whole phrase counts most, each word a little, fuzzy words catch typos
    return f'"{phrase}"^3 ' + " ".join(terms) + " " + " ".join(f"{w}~1" for w in terms if len(w) > 4)


def _fulltext_exists(driver: Driver, name: str) -> bool:
    return bool(read(driver, "SHOW FULLTEXT INDEXES YIELD name WHERE name = $n RETURN name", n=name))


def vector_indexes(driver: Driver) -> dict[str, str]:
    """Label → name of its ONLINE `<label_lower>_text` vector index on `text_embedding`."""
    rows = read(driver, "SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, state "
                        "WHERE properties = [$prop] AND state = 'ONLINE' RETURN name, labelsOrTypes[0] AS label",
                prop=PROPERTY)
    return {r["label"]: r["name"] for r in rows if r["name"] == f"{str(r['label']).lower()}_text"}


def node_embedding(driver: Driver, label: str, node_id: str) -> np.ndarray | None:
    """A node's stored text embedding; None if it has none; NotFound if there is no such node."""
    rows = read(driver, f"MATCH (n:{check_label(label)} {{id: $id}}) RETURN n.{PROPERTY} AS v LIMIT 1", id=node_id)
    if not rows:
        raise NotFound(f"no {label} with id {node_id!r}")
    return None if rows[0]["v"] is None else np.asarray(rows[0]["v"], dtype=np.float32)


def similar_nodes(driver: Driver, label: str, node_id: str, k: int = 10) -> list[dict]:
    """The k `label` nodes nearest to node `node_id` by its stored embedding (itself left out)."""
    vec = node_embedding(driver, label, node_id)
    if vec is None:
        raise InvalidInput(f"{label} {node_id} has no text embedding yet: run `medkg text embed-graph "
                           f"--labels {label}`", field="id")
    hits = vector_search(driver, label, vec, k + 1)
    return [h for h in hits if h["id"] != node_id][:k]


def embed_graph(driver: Driver, labels: list[str] | None = None, batch: int = 256,
                encoder: TextEncoder | None = None, progress: bool = False, force: bool = False) -> dict[str, Any]:
    """Vector index + incremental embedding for each label with a schema `text:` list (or `labels`);
    `force` re-embeds every node (for timing a full run).

    Returns {"labels": [counts + seconds per label], "embedded", "unchanged", "seconds"}.
    """
    if batch < 1:
        raise InvalidInput(f"batch must be at least 1, got {batch}", field="batch")
    allowed = text_labels()
    labels = labels or allowed
    bad = [lab for lab in labels if lab not in allowed]
    if bad:
        raise InvalidInput(f"label(s) {', '.join(bad)} have no `text:` list in ontologies/schema.yaml; "
                           f"embeddable: {', '.join(allowed)}", field="labels")
    t0 = time.perf_counter()
    create_vector_indexes(driver, labels)
    per_label = []
    for label in labels:
        t = time.perf_counter()
        counts = embed_nodes(driver, label, encoder, only_missing=not force, batch=batch, progress=progress)
        per_label.append({**counts, "index": index_name(label), "seconds": round(time.perf_counter() - t, 2)})
    return {"labels": per_label, "embedded": sum(c["embedded"] for c in per_label),
            "unchanged": sum(c["unchanged"] for c in per_label), "seconds": round(time.perf_counter() - t0, 2)}


def hybrid_search(driver: Driver, query: str, labels: list[str], k: int = 10,
                  encoder: TextEncoder | None = None, vector_weight: float = 0.6,
                  fulltext_index: str = FULLTEXT_INDEX, use_vectors: bool = True) -> list[dict]:
    """Nodes of `labels` for a free-text `query`: cosine of text embeddings, fulltext name/synonym score
    (normalised by the best hit) and an exact name/synonym match bonus, summed into `score`.

    So "heart attack" finds myocardial infarction by its synonym and by meaning. Each hit says which
    signals it came from (`vector`, `fulltext`, `exact`, `matched`: "name"/"synonym"). Degrades: a label
    without an online vector index (or `use_vectors=False`, e.g. no encoder) is searched by fulltext and
    exact match only; without the fulltext index, the other two signals still work.
    """
    if not query or not query.strip():
        raise InvalidInput("empty search query", field="query")
    for label in labels:
        check_label(label)
    q = query.strip()
    indexed = vector_indexes(driver) if use_vectors else {}
    vec = (encoder or get_encoder()).encode([q])[0] if any(lab in indexed for lab in labels) else None
    hits: dict[tuple[str, str], dict] = {}

    def hit(label: str, row: dict) -> dict:
        key = (label, row["id"])
        if key not in hits:
            hits[key] = {"label": label, "id": row["id"], "name": row.get("name"), "vector": 0.0,
                         "fulltext": 0.0, "exact": False, "matched": None}
        return hits[key]

    pool = max(k * 3, 20)
    for label in labels:
        if vec is not None and label in indexed:
            for row in vector_search(driver, label, vec, pool):
                hit(label, row)["vector"] = max(0.0, float(row["cosine"]))
        exact = read(driver, f"MATCH (n:{label}) WHERE toLower(n.name) = $q "
                             f"OR any(s IN coalesce(n.synonyms, []) WHERE toLower(s) = $q) "
                             f"RETURN n.id AS id, n.name AS name, toLower(n.name) = $q AS by_name LIMIT $k",
                     q=q.lower(), k=pool)
        for row in exact:
            h = hit(label, row)
            h["exact"], h["matched"] = True, "name" if row["by_name"] else "synonym"
    ft_query = _fulltext_query(q)
    if ft_query and _fulltext_exists(driver, fulltext_index):
        rows = read(driver, "CALL db.index.fulltext.queryNodes($index, $q, {limit: $limit}) YIELD node, score "
                            "WITH node, score, [l IN labels(node) WHERE l IN $labels] AS ls WHERE size(ls) > 0 "
                            "RETURN ls[0] AS label, node.id AS id, node.name AS name, score",
                    index=fulltext_index, q=ft_query, limit=pool * 2, labels=labels)
        best = max((r["score"] for r in rows), default=0.0) or 1.0
        for row in rows:
            hit(row["label"], row)["fulltext"] = float(row["score"]) / best
    missing = [h for h in hits.values() if h["vector"] == 0.0 and h["label"] in indexed]
    for label in {h["label"] for h in missing}:  # fulltext/exact hits outside the vector pool: score them too
        ids = [h["id"] for h in missing if h["label"] == label]
        for row in read(driver, f"MATCH (n:{label}) WHERE n.id IN $ids AND n.{PROPERTY} IS NOT NULL "
                                f"RETURN n.id AS id, n.{PROPERTY} AS v", ids=ids):
            hits[(label, row["id"])]["vector"] = max(0.0, float(np.dot(np.asarray(row["v"], np.float32), vec)))
    for h in hits.values():
        h["score"] = vector_weight * h["vector"] + (1 - vector_weight) * h["fulltext"] + (1.0 if h["exact"] else 0.0)
    return sorted(hits.values(), key=lambda h: (-h["score"], h["label"], str(h["id"])))[:k]
