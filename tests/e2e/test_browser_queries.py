"""The Browser set-up for exploration: browser/example-queries.cypher and browser/medkg.grass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.schema import get_schema
from tests.e2e.browser_helpers import graph_node_styles, load_style, open_browser_session, run_cypher
from tests.e2e.example_queries import (
    GRASS_FILE,
    ExampleFileError,
    parse_examples,
    parse_grass,
    write_clauses,
)

# Labels of docs/contract.md (Image comes with the image encoders and is not in the schema yet).
CONTRACT_LABELS = ("Drug", "Disease", "Symptom", "SideEffect", "Gene", "Anatomy", "PharmacologicClass", "Pathway",
                   "BiologicalProcess", "CellularComponent", "MolecularFunction", "Pathology", "Evidence", "Patient",
                   "Condition", "Medication", "Image")
NODE_LABEL = re.compile(r"\(\s*\w*\s*:\s*(\w+)")
REL_TYPES = re.compile(r"\[\s*\w*\s*:\s*([\w|]+)")
INTERACTIONS = "Drug interactions (warfarin) with severity and sources"


def example(name: str):
    return next(e for e in parse_examples() if e.name == name)


def test_examples_are_named_unique_nonempty_and_read_only() -> None:
    examples = parse_examples()
    names = [e.name for e in examples]
    assert len(examples) >= 8
    assert len(set(names)) == len(names), names
    for ex in examples:
        assert ex.name and ex.cypher.strip(), ex
        assert ex.cypher.lstrip().upper().startswith("MATCH"), ex.name
        assert write_clauses(ex.cypher) == [], f"{ex.name} (line {ex.line}) writes: {write_clauses(ex.cypher)}"
        assert "RETURN" in ex.cypher.upper(), ex.name


def test_required_examples_are_present() -> None:
    by_name = {e.name: e.cypher for e in parse_examples()}
    assert "toLower(d.name) = 'warfarin'" in by_name[INTERACTIONS]
    assert "r.severity" in by_name[INTERACTIONS] and "r.source" in by_name[INTERACTIONS]
    treat = next(c for n, c in by_name.items() if n.startswith("Disease treatments and symptoms"))
    assert ":TREATS" in treat and ":PRESENTS]->(s:Symptom)" in treat
    path = next(c for n, c in by_name.items() if n.startswith("Drug binds a gene"))
    assert "(drug:Drug)-[b:BINDS]->(g:Gene)<-[a:ASSOCIATES]-(dis:Disease)" in path  # Disease-ASSOCIATES->Gene
    patient = next(c for n, c in by_name.items() if n.startswith("Patient medications"))
    assert "(p:Patient)-[:TAKES]->(:Medication)-[:CONTAINS]->(d:Drug)" in patient and "INTERACTS_WITH" in patient


def test_examples_use_only_schema_labels_and_types() -> None:
    schema = get_schema()
    for ex in parse_examples():
        for label in NODE_LABEL.findall(ex.cypher):
            assert label in schema.labels, f"{ex.name}: unknown label {label}"
        for types in REL_TYPES.findall(ex.cypher):
            for rel in types.split("|"):
                assert rel in schema.relationships, f"{ex.name}: unknown relationship type {rel}"


def test_write_clause_detector_and_parser_errors(tmp_path: Path) -> None:
    assert write_clauses("MATCH (n) SET n.x = 1") == ["SET"]
    assert write_clauses("MATCH (n) DETACH DELETE n") == ["DETACH", "DELETE"]
    assert write_clauses("LOAD CSV FROM 'file:///x' AS row RETURN row") == ["LOAD CSV"]
    assert write_clauses("call dbms.components()") == ["CALL DBMS"]
    assert write_clauses("MATCH (n {name: 'Create; Merge'}) RETURN n.offset // SET here is a comment") == []
    bad = tmp_path / "bad.cypher"
    bad.write_text("// name: first\nRETURN 1;\n// name: empty\n;\n")
    with pytest.raises(ExampleFileError, match=r"bad\.cypher:3: example 'empty' has no query"):
        parse_examples(bad)
    bad.write_text("RETURN 1;\n")
    with pytest.raises(ExampleFileError, match=r"bad\.cypher:1: Cypher before the first"):
        parse_examples(bad)


def test_grass_styles_every_contract_and_schema_label() -> None:
    rules = parse_grass()
    schema = get_schema()
    labels = set(CONTRACT_LABELS) | set(schema.labels)
    colours = {}
    for label in sorted(labels):
        rule = rules.get(f"node.{label}")
        assert rule is not None, f"no style for label {label}"
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", rule["color"]), rule
        spec = schema.labels.get(label)
        has_name = spec is not None and "name" in (*spec.required, *spec.properties)
        assert rule["caption"] == ('"{name}"' if has_name else '"{id}"'), (label, rule["caption"])
        colours[label] = rule["color"].upper()
    assert len(set(colours.values())) == len(colours), "two labels share a colour"
    assert rules["node.Patient"]["caption"] == '"{id}"'  # pseudonymous id, never a name
    for selector in rules:
        kind, _, name = selector.partition(".")
        assert kind in {"node", "relationship"}, selector
        if kind == "relationship" and name:
            assert name in schema.relationships, selector


def test_grass_parser_rejects_comments(tmp_path: Path) -> None:
    bad = tmp_path / "bad.grass"
    bad.write_text("/* header */\nnode { color: #FFFFFF; }\n")
    with pytest.raises(ExampleFileError, match="comments"):
        parse_grass(bad)
    bad.write_text("node { color: #FFFFFF; }\nnode.Drug color: red;\n")
    with pytest.raises(ExampleFileError, match=r"bad\.grass:2: not a"):
        parse_grass(bad)


@pytest.mark.neo4j
def test_examples_compile_as_read_only_queries_on_neo4j(driver) -> None:
    """EXPLAIN plans each example on the real server: syntax errors fail, and the plan must be read-only."""
    for ex in parse_examples():
        with driver.session(default_access_mode="READ") as session:
            summary = session.run("EXPLAIN " + ex.cypher).consume()
        assert summary.query_type == "r", f"{ex.name}: query type {summary.query_type}"


@pytest.mark.browser
@pytest.mark.neo4j
def test_browser_loads_the_style_sheet(browser_page, browser_target) -> None:
    open_browser_session(browser_page, browser_target.http_port, browser_target.bolt_port, browser_target.password)
    shown = load_style(browser_page, GRASS_FILE.read_text(encoding="utf-8"))
    rules = parse_grass()
    for label in CONTRACT_LABELS:
        assert f"node.{label} {{" in shown, f"the Browser did not take the style of {label}"
    assert rules["node.Drug"]["color"] in shown and rules["node.Disease"]["color"] in shown


@pytest.mark.browser
@pytest.mark.neo4j
def test_drug_interactions_example_in_browser(browser_page, browser_target, driver, artefacts_dir: Path) -> None:
    ex = example(INTERACTIONS)
    with driver.session(default_access_mode="READ") as session:
        rows = session.run(ex.cypher).data()
    if not rows:
        pytest.skip("graph not built: no warfarin interactions (run `medkg kg build` first)")
    open_browser_session(browser_page, browser_target.http_port, browser_target.bolt_port, browser_target.password)
    load_style(browser_page, GRASS_FILE.read_text(encoding="utf-8"))
    text = run_cypher(browser_page, ex.cypher)
    browser_page.screenshot(path=str(artefacts_dir / "browser-warfarin-interactions.png"))
    assert f'"{rows[0]["drug"]}"' in text
    assert f'"{rows[0]["interacts_with"]}"' in text
    assert f'"{rows[-1]["interacts_with"]}"' in text

    graph = example("Drug interaction network (warfarin, Major severity) as a graph")
    run_cypher(browser_page, graph.cypher, table=False)
    browser_page.screenshot(path=str(artefacts_dir / "browser-warfarin-graph.png"))
    styles = graph_node_styles(browser_page)
    drug_colour = parse_grass()["node.Drug"]["color"]
    assert styles and all(s["fill"].upper() == drug_colour.upper() for s in styles), styles
