"""The query catalogue: one typed, parameterised, read-only Cypher query per intent.

Every query returns rows `id, name, label, facts` (facts: the relationships behind the answer, each as a map
with `type` and its properties, provenance included), most relevant first, at most `$limit` (500) rows.
No query is built from user text: the runtime only fills the parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MAX_ANSWERS = 500
SEVERITY_RANK = "CASE r.severity WHEN 'Major' THEN 0 WHEN 'Moderate' THEN 1 WHEN 'Minor' THEN 2 ELSE 3 END"


@dataclass(frozen=True)
class Slot:
    """An entity the intent needs: its parameter name, the labels it may have, and whether several are allowed."""

    name: str
    labels: tuple[str, ...]
    many: bool = False
    min_count: int = 1


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    slots: tuple[Slot, ...]
    cypher: str = ""
    #: summary: "{n} {what} {verb} {entity}" style pieces filled by the runtime
    answer_noun: str = "results"
    relation: str = ""
    prediction: str | None = None  # relationship type of a prediction intent (queried only if present)
    flags: tuple[str, ...] = ()
    examples: tuple[str, ...] = field(default_factory=tuple)


def _one_hop(anchor: str, anchor_param: str, pattern: str, answer: str, answer_label: str,
             order: str = "size(rs) DESC, toLower(coalesce(a.name, a.id))") -> str:
    return (f"MATCH (x:{anchor} {{id: ${anchor_param}}}){pattern}(a:{answer_label})\n"
            f"WITH a, collect(r) AS rs\n"
            f"RETURN a.id AS id, a.name AS name, '{answer_label}' AS label,\n"
            f"       [r IN rs | r {{.*, type: type(r), build_id: null}}] AS facts\n"
            f"ORDER BY {order}\nLIMIT $limit")


_TOP_WEIGHT = ("reduce(m = 0.0, r IN rs | CASE WHEN coalesce(r.weight, 0.0) > m THEN coalesce(r.weight, 0.0) "
               "ELSE m END) DESC, toLower(a.name)")

D, DR, SY, SE, PC = ("Disease",), ("Drug",), ("Symptom",), ("SideEffect",), ("PharmacologicClass",)

INTENTS: dict[str, Intent] = {i.name: i for i in [
    Intent("treats", "drugs that treat a disease (disease-modifying indications)", (Slot("disease", D),),
           _one_hop("Disease", "disease", "<-[r:TREATS]-", "a", "Drug"), "drugs", "treat"),
    Intent("palliates", "drugs that relieve a disease's symptoms (palliative indications)", (Slot("disease", D),),
           _one_hop("Disease", "disease", "<-[r:PALLIATES]-", "a", "Drug"), "drugs", "relieve the symptoms of"),
    Intent("side_effects", "side effects of a drug", (Slot("drug", DR),),
           _one_hop("Drug", "drug", "-[r:CAUSES]->", "a", "SideEffect"), "side effects", "are reported for"),
    Intent("drugs_causing", "drugs that cause a side effect", (Slot("side_effect", SE),),
           _one_hop("SideEffect", "side_effect", "<-[r:CAUSES]-", "a", "Drug"), "drugs", "can cause"),
    Intent("symptoms", "symptoms of a disease", (Slot("disease", D),),
           _one_hop("Disease", "disease", "-[r:PRESENTS]->", "a", "Symptom", _TOP_WEIGHT), "symptoms",
           "present in"),
    Intent("differential", "diseases that present with one or more symptoms (all of them first)",
           (Slot("symptoms", SY, many=True),),
           "MATCH (a:Disease)-[r:PRESENTS]->(s:Symptom) WHERE s.id IN $symptoms\n"
           "WITH a, collect(r) AS rs, count(DISTINCT s) AS matched\n"
           "WITH max(matched) AS best, collect({a: a, rs: rs, matched: matched}) AS rows\n"
           "UNWIND rows AS row WITH row, best WHERE row.matched = best\n"
           "WITH row.a AS a, row.rs AS rs\n"
           "RETURN a.id AS id, a.name AS name, 'Disease' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           f"ORDER BY {_TOP_WEIGHT.replace('toLower(a.name)', 'size(rs) DESC, toLower(a.name)')}\nLIMIT $limit",
           "diseases", "present with"),
    Intent("genes", "genes associated with a disease", (Slot("disease", D),),
           _one_hop("Disease", "disease", "-[r:ASSOCIATES]->", "a", "Gene"), "genes", "are associated with"),
    Intent("targets", "genes/proteins a drug binds (targets)", (Slot("drug", DR),),
           _one_hop("Drug", "drug", "-[r:BINDS]->", "a", "Gene"), "targets", "are bound by"),
    Intent("class_members", "drugs in a pharmacologic class", (Slot("class", PC),),
           _one_hop("PharmacologicClass", "class", "-[r:INCLUDES]->", "a", "Drug"), "drugs", "belong to"),
    Intent("drug_classes", "pharmacologic classes of a drug", (Slot("drug", DR),),
           _one_hop("Drug", "drug", "<-[r:INCLUDES]-", "a", "PharmacologicClass"), "classes", "include"),
    Intent("interactions", "drugs that interact with a drug (optionally Major only)", (Slot("drug", DR),),
           "MATCH (x:Drug {id: $drug})-[r:INTERACTS_WITH]-(a:Drug)\n"
           "WHERE a <> x AND (NOT $major_only OR r.severity = 'Major')\n"
           f"WITH a, collect(r) AS rs, min({SEVERITY_RANK}) AS rank\n"
           "RETURN a.id AS id, a.name AS name, 'Drug' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           "ORDER BY rank, size(rs) DESC, toLower(a.name)\nLIMIT $limit",
           "drugs", "interact with", flags=("major_only",)),
    Intent("interaction_check", "whether two or more named drugs interact (the interaction check)",
           (Slot("drugs", DR, many=True, min_count=2),),
           "UNWIND $drugs AS p UNWIND $drugs AS q WITH p, q WHERE p < q\n"
           "MATCH (x:Drug {id: p})-[r:INTERACTS_WITH]-(y:Drug {id: q})\n"
           f"WITH x, y, collect(r) AS rs, min({SEVERITY_RANK}) AS rank\n"
           "RETURN x.id + '|' + y.id AS id, x.name + ' + ' + y.name AS name, 'Interaction' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           "ORDER BY rank, toLower(name)\nLIMIT $limit",
           "interacting pairs", "among"),
    Intent("localizes", "anatomy where a disease localises", (Slot("disease", D),),
           _one_hop("Disease", "disease", "-[r:LOCALIZES]->", "a", "Anatomy"), "anatomical sites", "localise"),
    Intent("resembles", "diseases that resemble a disease", (Slot("disease", D),),
           _one_hop("Disease", "disease", "-[r:RESEMBLES]-", "a", "Disease"), "diseases", "resemble"),
    Intent("explain", "why a drug might help a disease: supporting graph paths with sources",
           (Slot("drug", DR), Slot("disease", D)), "", "supporting paths", "support"),
    Intent("predicted_treats", "model-predicted treatments of a disease (predictions, not facts)",
           (Slot("disease", D),),
           "MATCH (x:Disease {id: $disease})<-[r:PREDICTED_TREATS]-(a:Drug)\n"
           "WITH a, collect(r) AS rs, max(r.score) AS score\n"
           "RETURN a.id AS id, a.name AS name, 'Drug' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           "ORDER BY score DESC, toLower(a.name)\nLIMIT $limit",
           "predicted drugs", "are predicted to treat", prediction="PREDICTED_TREATS"),
    Intent("predicted_side_effects", "model-predicted side effects of a drug (predictions, not facts)",
           (Slot("drug", DR),),
           "MATCH (x:Drug {id: $drug})-[r:PREDICTED_CAUSES]->(a:SideEffect)\n"
           "WITH a, collect(r) AS rs, max(r.probability) AS score\n"
           "RETURN a.id AS id, a.name AS name, 'SideEffect' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           "ORDER BY score DESC, toLower(a.name)\nLIMIT $limit",
           "predicted side effects", "are predicted for", prediction="PREDICTED_CAUSES"),
    Intent("predicted_interactions", "model-predicted interactions of a drug (predictions, not facts)",
           (Slot("drug", DR),),
           "MATCH (x:Drug {id: $drug})-[r:PREDICTED_INTERACTS_WITH]-(a:Drug)\n"
           "WHERE a <> x\n"
           "WITH a, collect(r) AS rs, max(r.probability) AS score\n"
           "RETURN a.id AS id, a.name AS name, 'Drug' AS label,\n"
           "       [r IN rs | r {.*, type: type(r), build_id: null}] AS facts\n"
           "ORDER BY score DESC, toLower(a.name)\nLIMIT $limit",
           "drugs", "are predicted to interact with", prediction="PREDICTED_INTERACTS_WITH"),
]}

OUT_OF_SCOPE = "out_of_scope"
INTENT_NAMES: list[str] = [*INTENTS, OUT_OF_SCOPE]

# "why might DRUG help DISEASE": the treats explanation metapaths (gnn/treats/queries.py), run as a UNION so
# the answer is one query; each path is one answer.
def explain_cypher() -> str:
    from gnn.treats.queries import EXPLAIN_METAPATHS

    parts = []
    for metapath, text in EXPLAIN_METAPATHS.items():
        body = text.strip().replace("UNWIND $drugs AS did", "WITH $drug AS did")
        parts.append(f"{body}, {json.dumps(metapath)} AS metapath")
    return "\nUNION ALL\n".join(parts)


def browser_text(cypher: str, params: dict) -> str:
    """The query as it runs unchanged in Neo4j Browser: one `:param` line per parameter, then the query."""
    lines = [f":param {k} => {json.dumps(v)};" for k, v in params.items()]
    return "\n".join([*lines, cypher])
