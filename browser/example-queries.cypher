// MedKG example queries for Neo4j Browser (read-only). Each query starts at its `// name:` line and ends
// with a semicolon; paste one into the Browser editor and run it (Ctrl+Enter). Names are matched
// case-insensitively, so edit the quoted drug, disease or pathology to explore another entity.

// name: Drug interactions (warfarin) with severity and sources
// One INTERACTS_WITH relationship per source and fact (ddinter: severity; drugbank-ddi-86: mechanism).
MATCH (d:Drug)-[r:INTERACTS_WITH]-(other:Drug)
WHERE toLower(d.name) = 'warfarin'
WITH d, other,
     collect(DISTINCT r.severity) AS severities,
     collect(DISTINCT r.source) AS sources,
     head(collect(r.mechanism)) AS mechanism
WITH d, other, severities, sources, mechanism,
     CASE WHEN 'Major' IN severities THEN 0 WHEN 'Moderate' IN severities THEN 1
          WHEN 'Minor' IN severities THEN 2 ELSE 3 END AS rank
RETURN d.name AS drug, other.name AS interacts_with, other.id AS other_id,
       severities, mechanism, sources
ORDER BY rank, interacts_with
LIMIT 50;

// name: Drug interaction network (warfarin, Major severity) as a graph
MATCH path = (d:Drug)-[r:INTERACTS_WITH]-(other:Drug)
WHERE toLower(d.name) = 'warfarin' AND r.severity = 'Major'
RETURN path
LIMIT 40;

// name: Disease treatments and symptoms (type 2 diabetes mellitus)
MATCH (dis:Disease)
WHERE toLower(dis.name) = 'type 2 diabetes mellitus'
OPTIONAL MATCH (drug:Drug)-[t:TREATS|PALLIATES]->(dis)
WITH dis, collect(DISTINCT drug.name + ' (' + toLower(type(t)) + ')') AS treatments
OPTIONAL MATCH (dis)-[p:PRESENTS]->(s:Symptom)
WITH dis, treatments, s, count(p) AS n_sources, max(p.weight) AS weight
ORDER BY n_sources DESC, weight DESC
RETURN dis.id AS disease_id, dis.name AS disease, treatments,
       collect(s.name)[..20] AS top_symptoms;

// name: Drug binds a gene that the disease is associated with (metformin, type 2 diabetes mellitus)
// Contract directions: Drug-[:BINDS]->Gene and Disease-[:ASSOCIATES]->Gene.
MATCH path = (drug:Drug)-[b:BINDS]->(g:Gene)<-[a:ASSOCIATES]-(dis:Disease)
WHERE toLower(drug.name) = 'metformin' AND toLower(dis.name) = 'type 2 diabetes mellitus'
RETURN path, g.name AS gene, b.sources AS binds_sources, a.sources AS associates_sources
LIMIT 25;

// name: Patient medications and the interactions between them
// Picks the patient who takes the most distinct drugs; replace the first two lines with
// MATCH (p:Patient {id: 'P-...'}) to look at another patient.
MATCH (p:Patient)-[:TAKES]->(:Medication)-[:CONTAINS]->(d:Drug)
WITH p, count(DISTINCT d) AS n_drugs ORDER BY n_drugs DESC, p.id LIMIT 1
MATCH (p)-[:TAKES]->(m:Medication)
OPTIONAL MATCH (m)-[:CONTAINS]->(d:Drug)
OPTIONAL MATCH (d)-[r:INTERACTS_WITH]-(other:Drug)<-[:CONTAINS]-(m2:Medication)<-[:TAKES]-(p)
WHERE m2 <> m
WITH p, m, d, other, collect(DISTINCT r.severity) AS severities, collect(DISTINCT r.source) AS sources
WITH p, m, d,
     collect(CASE WHEN other IS NOT NULL THEN {drug: other.name, severity: severities, sources: sources} END)
       AS interactions
RETURN p.id AS patient, p.age_band AS age_band, m.name AS medication, d.name AS ingredient, interactions
ORDER BY size(interactions) DESC, medication;

// name: Side effects of a drug (metformin)
MATCH (d:Drug)-[c:CAUSES]->(se:SideEffect)
WHERE toLower(d.name) = 'metformin'
RETURN d.name AS drug, se.id AS side_effect_id, se.name AS side_effect, c.sources AS sources, c.licenses AS licenses
ORDER BY side_effect
LIMIT 100;

// name: Predicted side effects of a drug without a recorded profile (lepirudin; model predictions, not facts)
// PREDICTED_CAUSES are written by `medkg train side-effects`: calibrated probability and the model run that made
// them, replaced on retraining; recorded side effects are the CAUSES relationships (see the query above).
MATCH (d:Drug)-[p:PREDICTED_CAUSES]->(se:SideEffect)
WHERE toLower(d.name) = 'lepirudin' AND NOT (d)-[:CAUSES]->(:SideEffect)
RETURN d.name AS drug, se.name AS predicted_side_effect, p.probability AS probability, p.model_run AS model_run
ORDER BY probability DESC, predicted_side_effect
LIMIT 50;

// name: Drugs of a pharmacologic class that also treat a disease (hypertension)
MATCH (pc:PharmacologicClass)-[:INCLUDES]->(d:Drug)-[:TREATS]->(dis:Disease)
WHERE toLower(dis.name) = 'hypertension'
RETURN pc.name AS pharmacologic_class, collect(DISTINCT d.name) AS drugs, count(DISTINCT d) AS n_drugs
ORDER BY n_drugs DESC, pharmacologic_class
LIMIT 25;

// name: DDXPlus pathology evidence and the Disease it maps to (Pneumonia)
MATCH (pa:Pathology)
WHERE toLower(pa.name) = 'pneumonia' OR toLower(pa.id) = 'pneumonia'
OPTIONAL MATCH (pa)-[:MAPS_TO]->(dis:Disease)
OPTIONAL MATCH (pa)-[rel:HAS_SYMPTOM|HAS_ANTECEDENT]->(e:Evidence)
RETURN pa.id AS pathology, pa.icd10 AS icd10, collect(DISTINCT dis.name) AS maps_to,
       collect(DISTINCT CASE type(rel) WHEN 'HAS_SYMPTOM' THEN e.question_en END)[..15] AS symptoms,
       collect(DISTINCT CASE type(rel) WHEN 'HAS_ANTECEDENT' THEN e.question_en END)[..15] AS antecedents;

// name: Graph overview: nodes per label
MATCH (n)
UNWIND labels(n) AS label
RETURN label, count(*) AS nodes
ORDER BY nodes DESC;

// name: Latest build and its provenance
MATCH (b:Build)
RETURN b.id AS build, b.status AS status, b.started AS started, b.finished AS finished,
       b.counts AS counts, b.rejects AS rejects, b.excluded_licenses AS excluded_licenses
ORDER BY b.started DESC
LIMIT 1;

// name: Patient chest X-rays with findings and nearest cases (similar images)
// Picks the patient with the most images; replace the first two lines with MATCH (p:Patient {id: 'P-...'}).
// Probabilities and SHOWS links are model predictions (model_run); neighbours come from the vector index
// `image_embedding` and are compared within the same model run only.
MATCH (p:Patient)-[:HAS_IMAGE]->(:Image)
WITH p, count(*) AS n_images ORDER BY n_images DESC, p.id LIMIT 1
MATCH (p)-[:HAS_IMAGE]->(img:Image)
CALL (img) {
  CALL db.index.vector.queryNodes('image_embedding', 6, img.embedding) YIELD node, score
  WITH node, score WHERE node <> img AND node.model_run = img.model_run
  OPTIONAL MATCH (other:Patient)-[:HAS_IMAGE]->(node)
  RETURN collect({image: node.id, patient: other.id, decision: node.decision,
                  probability: round(node.probability, 3), similarity: round(score, 3)})[..5] AS nearest
}
RETURN p.id AS patient, img.id AS image, img.decision AS decision, round(img.probability, 3) AS probability,
       img.model_run AS model_run, [(img)-[:SHOWS]->(d:Disease) | d.name] AS findings, nearest
ORDER BY img.created DESC;

// name: Predicted severity of ungraded interactions (model estimates, not from a source)
MATCH (a:Drug)-[p:PREDICTED_INTERACTS_WITH]->(b:Drug)
WHERE p.severity = 'Major'
OPTIONAL MATCH (a)-[r:INTERACTS_WITH {source: 'drugbank-ddi-86'}]->(b)
RETURN a.name AS subject, b.name AS object, p.severity AS predicted_severity, p.probability AS probability,
       p.model_run AS model_run, collect(r.mechanism)[..1] AS curated_mechanism
ORDER BY probability DESC, subject, object
LIMIT 25;
