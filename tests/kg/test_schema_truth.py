"""ontologies/schema.yaml is the single source of truth: every label and relationship type in the code's Cypher
is in it, adapters get CURIEs from it, and its Biolink classes and id namespaces are served."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

from kg.records import GraphBatch
from kg.schema import get_schema

ROOT = Path(__file__).resolve().parents[2]
CODE = ("kg", "gnn", "api")
_CYPHER = re.compile(r"\b(MATCH|MERGE|CREATE|RETURN|UNWIND|CALL|DELETE|SET)\b")
# (n:Label), (:A:B {..}), [r:TYPE], [:A|B*1..2]; `{}` stands for an f-string's interpolated (schema-checked) part
_NODE = re.compile(r"\(\s*[A-Za-z_]?\w*\s*((?::\s*`?[A-Za-z]\w*`?\s*)+)[\s{)]")
_REL = re.compile(r"\[\s*[A-Za-z_]?\w*\s*:\s*([A-Za-z_][\w|:\s`]*?)\s*[\]{*]")


def _strings(path: Path) -> list[tuple[int, str]]:
    """String constants and f-string skeletons of a module, docstrings left out."""
    tree = ast.parse(path.read_text(), str(path))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
            out.append((n.lineno, n.value))
        elif isinstance(n, ast.JoinedStr):
            out.append((n.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in n.values)))
    return out


def cypher_names(text: str) -> tuple[set[str], set[str]]:
    """(labels, relationship types) named in the node and relationship patterns of one Cypher string."""
    if not _CYPHER.search(text):
        return set(), set()
    labels = {x.strip(" `") for m in _NODE.finditer(text) for x in m.group(1).split(":") if x.strip(" `")}
    types = {x.strip(" `") for m in _REL.finditer(text) for x in re.split(r"[|:]", m.group(1)) if x.strip(" `")}
    return labels, types


def test_cypher_name_walker() -> None:
    q = "MATCH (d:Drug {id: $id})-[r:TREATS|PALLIATES]->(:Disease:Thing)<-[:IS_A*1..2]-(x) RETURN d, labels(x)"
    assert cypher_names(q) == ({"Drug", "Disease", "Thing"}, {"TREATS", "PALLIATES", "IS_A"})
    assert cypher_names("(note: Not Cypher) [see: ALSO]") == (set(), set())


def test_every_label_and_type_in_the_codes_cypher_is_in_the_schema() -> None:
    schema = get_schema()
    known = set(schema.labels) | set(schema.relationships)
    seen: set[str] = set()
    unknown: dict[str, set[str]] = {}
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in _strings(path):
                labels, types = cypher_names(text)
                seen |= labels | types
                for name in (labels | types) - known:
                    unknown.setdefault(name, set()).add(f"{path.relative_to(ROOT)}:{line}")
    assert unknown == {}
    assert {"Drug", "Disease", "Patient", "TREATS", "INTERACTS_WITH", "REPORTS"} <= seen  # the walker sees Cypher


def test_adapters_write_no_curie_of_their_own() -> None:
    hard_coded = [f"{p.name}:{n}" for p in sorted((ROOT / "kg" / "adapters").glob("*.py"))
                  for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"[\"']curie[\"']", line)]
    assert hard_coded == []


def test_nodes_get_their_curie_from_the_schema(tmp_path: Path) -> None:
    schema = get_schema()
    drug = schema.label("Drug")
    assert drug.curie("DB00945") == "drugbank:DB00945" and drug.curie("DDInter9") == "ddinter:DDInter9"
    batch = GraphBatch(schema=schema, data_dir=tmp_path)
    cases = {("Drug", "DB00945"): "drugbank:DB00945", ("Drug", "DDInter9"): "ddinter:DDInter9",
             ("Disease", "DOID:9352"): "DOID:9352", ("Symptom", "D002637"): "MESH:D002637",
             ("PharmacologicClass", "N0000175605"): "NDFRT:N0000175605", ("Condition", "44054006"): "SNOMEDCT:44054006"}
    for (label, node_id) in cases:
        assert batch.add_node(label, node_id, {"name": "x"}, "hetionet")
    assert batch.add_node("Patient", "P-0123456789ab", {}, "hetionet")
    assert {k: batch.nodes[k]["curie"] for k in cases} == cases
    assert "curie" not in batch.nodes[("Patient", "P-0123456789ab")]  # patient data gets no public identifier


def test_schema_listing_carries_biolink_and_id_namespace() -> None:
    proc = subprocess.run([sys.executable, "-m", "api.cli", "kg", "schema", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    listing = json.loads(proc.stdout)
    drug = next(x for x in listing["labels"] if x["label"] == "Drug")
    assert (drug["biolink"], drug["id_namespace"], drug["curie_prefix"]) == ("biolink:Drug", "DrugBank", "drugbank:")
    assert {x["label"] for x in listing["labels"]} == set(get_schema().labels)
    treats = next(x for x in listing["relationships"] if x["type"] == "TREATS")
    assert (treats["from"], treats["to"], treats["biolink"]) == (["Drug"], ["Disease"], "biolink:treats")
