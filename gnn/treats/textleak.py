"""How much of a drug's indications its text gives away: the TREATS pairs whose drug text names the disease,
in the full text (search/display) and in the model text (indication sentences and disease names removed), beside
random candidate pairs (the base rate of a mention by chance)."""

from __future__ import annotations

from typing import Any

import numpy as np
from neo4j import Driver

from gnn.text.graph import disease_matcher, text_properties
from gnn.text.nodes import NameMatcher, model_text, node_text
from kg.db import read

_STEM = 6  # "hypertens" in "antihypertensive": a looser, stem-level mention


def _stems(name: str) -> list[str]:
    return [w.lower()[:_STEM] for w in name.split() if len(w) >= _STEM + 1]


def mention_counts(pairs: list[tuple[str, str]], texts: dict[str, tuple[str, str]], dis_names: dict[str, str],
                   ) -> dict[str, int]:
    """Pairs (drug id, disease id) whose full / model drug text names the disease (word-aligned), or a word
    stem of its name (first 6 letters of each word of ≥ 7 letters)."""
    m = NameMatcher([])
    out = {"pairs": 0, "full": 0, "model": 0, "full_stem": 0, "model_stem": 0}
    for d, x in pairs:
        if d not in texts or not dis_names.get(x):
            continue
        full, model = texts[d]
        name = dis_names[x]
        out["pairs"] += 1
        out["full"] += m.mentions(full, name)
        out["model"] += m.mentions(model, name)
        stems = _stems(name)
        out["full_stem"] += bool(stems) and any(s in full.lower() for s in stems)
        out["model_stem"] += bool(stems) and any(s in model.lower() for s in stems)
    return out


def text_leak(driver: Driver, n_random: int = 5000, seed: int = 0) -> dict[str, Any]:
    props = text_properties("Drug") or ("name", "synonyms", "brand_names", "description")
    proj = "d {" + ", ".join(f".`{p}`" for p in ("id", *props)) + "}"
    rows = read(driver, f"MATCH (d:Drug)-[:TREATS]->() WITH DISTINCT d RETURN {proj} AS p")
    matcher = disease_matcher(driver)
    texts = {r["p"]["id"]: (node_text("Drug", r["p"]), model_text("Drug", r["p"], matcher)) for r in rows}
    treats = [(r["d"], r["x"]) for r in read(driver, "MATCH (d:Drug)-[:TREATS]->(x:Disease) "
                                                      "RETURN DISTINCT d.id AS d, x.id AS x")]
    dis_names = {r["id"]: r["name"] for r in read(driver, "MATCH (x:Disease)<-[:TREATS]-() WITH DISTINCT x "
                                                          "RETURN x.id AS id, x.name AS name")}
    rng = np.random.default_rng(seed)
    drugs, dis = sorted(texts), sorted(dis_names)
    known = set(treats)
    rand = [(drugs[i], dis[j]) for i, j in zip(rng.integers(len(drugs), size=n_random),
                                               rng.integers(len(dis), size=n_random), strict=True)]
    rand = [p for p in rand if p not in known]
    return {"treats": mention_counts(treats, texts, dis_names), "random": mention_counts(rand, texts, dis_names)}
