"""Every Cypher statement of the treats model: candidates, explanations, patient safety, writeback."""

from __future__ import annotations

HETIONET_DISEASES = "MATCH (x:Disease) WHERE 'hetionet' IN x.sources RETURN collect(x.id) AS ids"

DISEASE_NAMES = "MATCH (x:Disease) WHERE x.id IN $ids RETURN x.id AS id, x.name AS name"
DRUG_NAMES = "MATCH (d:Drug) WHERE d.id IN $ids RETURN d.id AS id, d.name AS name"
PATIENT_EXISTS = "MATCH (p:Patient {id: $patient}) RETURN p.id AS id"

# Supporting paths for (drug, disease) pairs, one query per metapath, strongest first inside each
# (a rarer middle node is stronger evidence). Every row names the edges and their sources.
EXPLAIN_METAPATHS: dict[str, str] = {
    "Drug-TREATS-Disease (known indication)": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})-[r:TREATS]->(x:Disease {id: $disease})
RETURN did AS drug, 2.0 AS weight,
       [{from: d.id, type: 'TREATS', to: x.id, sources: r.sources}] AS edges,
       [d.name, x.name] AS names""",
    "Drug-PALLIATES-Disease": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})-[r:PALLIATES]->(x:Disease {id: $disease})
RETURN did AS drug, 1.0 AS weight,
       [{from: d.id, type: 'PALLIATES', to: x.id, sources: r.sources}] AS edges,
       [d.name, x.name] AS names""",
    "Drug-BINDS-Gene-ASSOCIATES-Disease": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})-[b:BINDS]->(g:Gene)<-[a:ASSOCIATES]-(x:Disease {id: $disease})
WITH did, d, b, g, a, x, COUNT { (g)<-[:ASSOCIATES]-() } AS gdeg
ORDER BY gdeg ASC
WITH did, collect({weight: 1.0 / gdeg, edges: [{from: d.id, type: 'BINDS', to: g.id, sources: b.sources},
                                              {from: x.id, type: 'ASSOCIATES', to: g.id, sources: a.sources}],
                   names: [d.name, g.name, x.name]})[..$k] AS paths
UNWIND paths AS p
RETURN did AS drug, p.weight AS weight, p.edges AS edges, p.names AS names""",
    "Drug-RESEMBLES-Drug-TREATS-Disease": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})-[s:RESEMBLES]-(o:Drug)-[t:TREATS]->(x:Disease {id: $disease})
WITH did, collect({weight: 0.8, edges: [{from: d.id, type: 'RESEMBLES', to: o.id, sources: s.sources},
                                       {from: o.id, type: 'TREATS', to: x.id, sources: t.sources}],
                   names: [d.name, o.name, x.name]})[..$k] AS paths
UNWIND paths AS p
RETURN did AS drug, p.weight AS weight, p.edges AS edges, p.names AS names""",
    "PharmacologicClass-INCLUDES-Drug peers TREATS Disease": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})<-[i:INCLUDES]-(c:PharmacologicClass)-[j:INCLUDES]->(o:Drug)
      -[t:TREATS]->(x:Disease {id: $disease})
WHERE o <> d
WITH did, c, collect({weight: 0.7, edges: [{from: c.id, type: 'INCLUDES', to: d.id, sources: i.sources},
                                         {from: c.id, type: 'INCLUDES', to: o.id, sources: j.sources},
                                         {from: o.id, type: 'TREATS', to: x.id, sources: t.sources}],
                   names: [c.name, d.name, o.name, x.name]})[..$k] AS paths
UNWIND paths AS p
RETURN did AS drug, p.weight AS weight, p.edges AS edges, p.names AS names""",
    "Drug-TREATS-Disease-RESEMBLES-Disease": """
UNWIND $drugs AS did
MATCH (d:Drug {id: did})-[t:TREATS]->(y:Disease)-[s:RESEMBLES|IS_A]-(x:Disease {id: $disease})
WITH did, collect({weight: 0.6, edges: [{from: d.id, type: 'TREATS', to: y.id, sources: t.sources},
                                       {from: y.id, type: type(s), to: x.id, sources: s.sources}],
                   names: [d.name, y.name, x.name]})[..$k] AS paths
UNWIND paths AS p
RETURN did AS drug, p.weight AS weight, p.edges AS edges, p.names AS names""",
}

DISEASE_CONTRAINDICATIONS = """
MATCH (d:Drug)-[r:NOT_INDICATED_FOR]->(x:Disease {id: $disease})
RETURN d.id AS drug, d.name AS name, r.sources AS sources, r.licenses AS licenses ORDER BY d.id
"""

# Patient safety: current medications' Major interactions, contraindications, allergies.
PATIENT_MAJOR_INTERACTIONS = """
MATCH (p:Patient {id: $patient})-[:TAKES {current: true}]->(m:Medication)-[:CONTAINS]->(cur:Drug)
MATCH (cur)-[r:INTERACTS_WITH]-(o:Drug)
WHERE r.severity = 'Major'
RETURN DISTINCT o.id AS drug, cur.id AS with_drug, cur.name AS with_name, m.name AS medication, r.sources AS sources
"""
PATIENT_CONTRAINDICATIONS = """
MATCH (p:Patient {id: $patient})-[:HAS_CONDITION]->(c:Condition)-[:MAPS_TO]->(x:Disease)<-[r:NOT_INDICATED_FOR]-(o:Drug)
RETURN DISTINCT o.id AS drug, x.id AS disease, x.name AS disease_name, c.name AS condition, r.sources AS sources
"""
PATIENT_ALLERGIES = """
MATCH (p:Patient {id: $patient})-[:ALLERGIC_TO]->(c)
MATCH (o:Drug) WHERE o = c OR toLower(o.name) = toLower(c.name)
RETURN DISTINCT o.id AS drug, c.name AS allergen
"""
PATIENT_CURRENT_DRUGS = """
MATCH (p:Patient {id: $patient})-[:TAKES {current: true}]->(:Medication)-[:CONTAINS]->(d:Drug)
RETURN collect(DISTINCT d.id) AS ids
"""

# Writeback: PREDICTED_TREATS carry no build_id, so graph builds leave them alone.
DELETE_PREDICTED = "MATCH ()-[r:PREDICTED_TREATS]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
WRITE_PREDICTED = """
UNWIND $rows AS row
MATCH (d:Drug {id: row.drug}), (x:Disease {id: row.disease})
WHERE NOT (d)-[:NOT_INDICATED_FOR]->(x) AND NOT (d)-[:TREATS]->(x)
CREATE (d)-[:PREDICTED_TREATS {score: row.score, probability: row.probability, model_run: $run,
                              sources: ['medkg'], licenses: ['CC0 1.0']}]->(x)
"""
COUNT_PREDICTED = "MATCH ()-[r:PREDICTED_TREATS]->() RETURN count(r) AS n, collect(DISTINCT r.model_run) AS runs"
