"""The real graph, built once per session from MEDKG_DATA_DIR (fixture `built_graph`): counts are facts."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kg.build import ADAPTERS, build, required_files
from kg.stats import graph_stats

pytestmark = pytest.mark.neo4j

PATIENT_KEYS = {"id", "age_band", "sex", "race", "ethnicity", "deceased", "origin",
                "sources", "source_versions", "licenses", "build_id"}


def _one(driver, query: str, **params):
    records, _, _ = driver.execute_query(query, params, database_="neo4j")
    return records[0][0]


def _graph_build_id(driver) -> str:
    """The build the graph holds now (the newest complete one): tests compare against it rather than the session
    fixture's id, so a test that rebuilds (test_second_build_gives_identical_counts) may run in any order."""
    return _one(driver, "MATCH (b:Build {status: 'complete'}) RETURN b.id ORDER BY b.finished DESC LIMIT 1")


@pytest.fixture(scope="module")
def stats(built_graph, driver, settings) -> dict:
    return graph_stats(driver, database=settings.neo4j_database)


@pytest.fixture(scope="module")
def metaedges(settings) -> Counter:
    """Rows per metaedge of Hetionet's medical edge file."""
    with gzip.open(settings.medkg_data_dir / "hetionet/hetionet-v1.0-medical-edges.sif.gz", "rt") as fh:
        next(fh)
        return Counter(line.split("\t")[1] for line in fh)


def test_counts_are_the_sources_counts(built_graph, stats: dict, metaedges: Counter, driver) -> None:
    assert stats["nodes"]["Symptom"] == 438
    assert stats["nodes"]["SideEffect"] == 5_734
    assert stats["nodes_by_source"]["Drug"]["hetionet"] == 1_552
    assert stats["nodes_by_source"]["Disease"]["hetionet"] == 137
    assert stats["relationships"]["CAUSES"] == 138_944
    assert stats["relationships"]["TREATS"] == metaedges["CtD"] == 604
    assert stats["relationships"]["PALLIATES"] == metaedges["CpD"] == 390
    assert _one(driver, "MATCH ()-[r:INTERACTS_WITH {source: 'ddinter'}]->() RETURN count(r)") > 100_000
    # what the build says it wrote is what the database holds (API patients and predictions carry no build_id)
    assert _build_counts(driver, _graph_build_id(driver)) == built_graph.counts
    for label, n in built_graph.counts["nodes"].items():
        assert stats["nodes"][label] >= n


def _build_counts(driver, build_id: str) -> dict:
    nodes, _, _ = driver.execute_query("MATCH (n) WHERE n.build_id = $id UNWIND labels(n) AS l "
                                       "RETURN l, count(*) AS c ORDER BY l", id=build_id, database_="neo4j")
    rels, _, _ = driver.execute_query("MATCH ()-[r]->() WHERE r.build_id = $id RETURN type(r) AS t, count(*) AS c "
                                      "ORDER BY t", id=build_id, database_="neo4j")
    return {"nodes": {r["l"]: r["c"] for r in nodes}, "relationships": {r["t"]: r["c"] for r in rels}}


def test_every_element_has_sources_licenses_and_the_build_id(built_graph, driver) -> None:
    build_id = _graph_build_id(driver)
    # elements of a build (API patients and predictions carry no build_id); none left from another build
    lacking = ("size(coalesce(x.sources, [])) = 0 OR size(coalesce(x.licenses, [])) = 0 "
               "OR size(coalesce(x.source_versions, [])) = 0 OR x.build_id <> $id")
    assert _one(driver, f"MATCH (x) WHERE NOT x:Build AND x.build_id IS NOT NULL AND ({lacking}) RETURN count(x)",
                id=build_id) == 0
    assert _one(driver, f"MATCH ()-[x]->() WHERE x.build_id IS NOT NULL AND ({lacking}) RETURN count(x)",
                id=build_id) == 0
    total = sum(built_graph.counts["nodes"].values()) + sum(built_graph.counts["relationships"].values())
    assert _one(driver, "MATCH (x) WHERE x.build_id = $id RETURN count(x)", id=build_id) + _one(
        driver, "MATCH ()-[x]->() WHERE x.build_id = $id RETURN count(x)", id=build_id) == total
    # per-source types carry exactly one source, version and license
    assert _one(driver, "MATCH ()-[x:PRESENTS|INTERACTS_WITH]->() WHERE x.source IS NULL OR x.license IS NULL "
                        "OR x.sources <> [x.source] RETURN count(x)") == 0


def test_build_node_records_checksums_and_counts(built_graph, driver, settings) -> None:
    b = _one(driver, "MATCH (b:Build {id: $id}) RETURN b", id=_graph_build_id(driver))
    assert b["status"] == "complete" and b["finished"] >= b["started"]
    sums = json.loads(b["checksums"])
    files = {str(p.relative_to(settings.medkg_data_dir)) for p in required_files(settings.medkg_data_dir,
                                                                                   list(ADAPTERS))}
    assert set(sums) == files and len(files) >= 25
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in sums.values())
    assert json.loads(b["counts"]) == built_graph.counts
    assert b["rejects"] == built_graph.rejects and b["unresolved"] == built_graph.unresolved
    assert b["sources"] == list(ADAPTERS) and b["excluded_licenses"] == []


def test_stats_cli_json(built_graph, driver) -> None:
    proc = subprocess.run([sys.executable, "-m", "api.cli", "kg", "stats", "--json"], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["nodes"]["Symptom"] == 438 and out["relationships"]["CAUSES"] == 138_944
    assert set(out) >= {"nodes", "relationships", "rejects", "unresolved", "build"}
    for kind in ("nodes", "relationships"):
        for key, n in built_graph.counts[kind].items():
            assert out[kind][key] >= n, key  # API patients and predictions may add to the build's counts
    assert out["relationships"]["TREATS"] == built_graph.counts["relationships"]["TREATS"]
    assert out["rejects"] == built_graph.rejects and out["unresolved"] == built_graph.unresolved
    assert out["build"]["id"] == _graph_build_id(driver)


def test_warfarin_aspirin_severity_and_mechanism(built_graph, driver) -> None:
    severity = _one(driver, "MATCH (:Drug {id: 'DB00682'})-[r:INTERACTS_WITH {source: 'ddinter'}]-"
                            "(:Drug {id: 'DB00945'}) RETURN collect(r.severity)")
    assert severity == ["Major"]
    mechanisms = _one(driver, "MATCH (:Drug {id: 'DB00945'})-[r:INTERACTS_WITH {source: 'drugbank-ddi-86'}]->"
                              "(:Drug {id: 'DB00682'}) RETURN collect(r.mechanism)")
    assert "Acetylsalicylic acid may increase the anticoagulant activities of Warfarin." in mechanisms


def test_patients_carry_no_identifying_properties(built_graph, driver) -> None:
    rows, _, _ = driver.execute_query("MATCH (p:Patient) WHERE p.build_id IS NOT NULL "
                                      "RETURN p.id AS id, keys(p) AS k, p.age_band AS band", database_="neo4j")
    assert len(rows) == 111
    for r in rows:
        assert set(r["k"]) <= PATIENT_KEYS, r["k"]
        assert re.fullmatch(r"P-[0-9a-f]{16}", r["id"])
        if r["band"] != "90+":  # ten-year bands only: 0-9, 10-19, ...
            low, high = (int(x) for x in r["band"].split("-"))
            assert low % 10 == 0 and high == low + 9, r["band"]


def test_reports_resolution_and_rejects(built_graph) -> None:
    report = Path(built_graph.report_dir)
    resolution = json.loads((report / "resolution.json").read_text())
    assert {"ddinter", "columbia-diseases", "columbia-symptoms", "ddxplus-pathologies", "synthea-conditions",
            "synthea-medications"} <= set(resolution)
    for name, entry in resolution.items():
        assert entry["total"] > 0, name
        assert entry["rate"] == round(entry["resolved"] / entry["total"], 4), name
        assert len(entry["unresolved"]) == entry["total"] - entry["resolved"], name
    assert resolution["ddinter"]["rate"] > 0.7
    assert sum(e["total"] - e["resolved"] for e in resolution.values()) == built_graph.unresolved
    lines = (report / "rejects.tsv").read_text().splitlines()
    assert lines[0] == "source\tfile\tline\treason" and len(lines) - 1 == built_graph.rejects
    assert all(len(line.split("\t")) == 4 for line in lines)


@pytest.mark.slow
def test_second_build_gives_identical_counts(built_graph, driver, settings) -> None:
    """A rebuild on the same database changes nothing but the build id (the other tests read the graph's current
    build id, so this one may run in any order)."""
    before = _graph_build_id(driver)
    before_counts = _build_counts(driver, before)
    again = build(driver, settings.medkg_data_dir, database=settings.neo4j_database,
                  report_root=settings.medkg_home / "builds", progress=False)
    assert again.build_id != before and _graph_build_id(driver) == again.build_id
    assert again.counts == built_graph.counts == before_counts
    assert again.rejects == built_graph.rejects
    assert again.deleted_stale == {}
    assert _build_counts(driver, again.build_id) == built_graph.counts
    assert _one(driver, "MATCH (n) WHERE NOT n:Build AND n.build_id <> $id RETURN count(n)", id=again.build_id) == 0
    assert _one(driver, "MATCH ()-[r]->() WHERE r.build_id <> $id RETURN count(r)", id=again.build_id) == 0
