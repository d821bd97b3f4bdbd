"""Builds that fail: killed midway (build process or Neo4j), missing files, malformed rows, license filter.

Runs against a private scratch server on a small copy of the real data (tests/kg/conftest.py).
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg.build import build, collect
from kg.errors import SourceDataError
from kg.records import COMMERCIAL_LICENSES
from kg.stats import graph_stats
from tests.kg.conftest import N_CCSE, SMALL_SOURCES

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]

BAD_DOID_LINE = "Disease::DOID_BAD\tBad disease\tDisease\n"


def _driver(server):
    from kg.db import make_driver
    from tests.conftest import scratch_settings

    return make_driver(scratch_settings(server))


def _count(driver, query: str, **params) -> int:
    records, _, _ = driver.execute_query(query, params, database_="neo4j")
    return records[0][0]


def _build(driver, data: Path, tmp: Path, **kw):
    return build(driver, data, database="neo4j", report_root=tmp / "builds", sources=SMALL_SOURCES,
                 progress=False, **kw)


def _lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


@pytest.fixture(scope="module")
def clean_counts(small_data: Path) -> dict:
    """What a clean build of the small data holds (no database needed)."""
    return collect(small_data, SMALL_SOURCES, progress=False).counts()


@pytest.fixture(scope="module")
def faulty(small_data: Path, tmp_path_factory: pytest.TempPathFactory, _kg_scratch_server) -> dict:
    """One build of a copy of the small data with one defect per file; returns what the tests assert on."""
    data = tmp_path_factory.mktemp("faulty") / "data"
    shutil.copytree(small_data, data)
    where: dict[str, int] = {}
    # 1. a Disease id that is not a DOID (Hetionet nodes)
    nodes = data / "hetionet/hetionet-v1.0-nodes.tsv"
    with open(nodes, "a", encoding="utf-8") as fh:
        fh.write(BAD_DOID_LINE)
    where["bad_id"] = _lines(nodes)
    # 2. an edge to a disease that does not exist, and 3. a row with missing fields (PharmacotherapyDB)
    ind = data / "pharmacotherapydb/indications.tsv"
    where["dangling"], where["short"] = _lines(ind) + 1, _lines(ind) + 2
    with open(ind, "a", encoding="utf-8") as fh:
        fh.write("DOID:0000001\tDB00945\tno such disease\tAspirin\tDM\t1\t1\n")
        fh.write("DOID:10652\tDB00843\n")
    # 4. a missing column: HSDN without `cooccurs`
    hsdn = data / "symptom-disease-kb/hsdn-symptoms-DO.tsv"
    with open(hsdn, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    drop = rows[0].index("cooccurs")
    with open(hsdn, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter="\t", lineterminator="\n").writerows(
            [r[:drop] + r[drop + 1:] for r in rows])
    # 5. a truncated gzip: the 5k sample (DrD/CrC rows in the small data) cut in half
    sample = data / "hetionet/hetionet-v1.0-edges-5k.sif.gz"
    raw = sample.read_bytes()
    sample.write_bytes(raw[: len(raw) // 2])
    # 6. an unknown DDInter severity on line 2 of the A file
    dd = data / "ddinter/ddinter_downloads_code_A.csv"
    lines = dd.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].rsplit(",", 1)[0] + ",Severe\n"
    dd.write_text("".join(lines), encoding="utf-8")
    where["ddinter_drugs"] = lines[1].split(",")[1], lines[1].split(",")[3]

    server = _kg_scratch_server
    if server.running_pid() is None:
        server.start()
    tmp = tmp_path_factory.mktemp("faulty-builds")
    with _driver(server) as driver:
        result = _build(driver, data, tmp)
        stats = graph_stats(driver, database="neo4j")
        by_source = {(r["t"], r["s"]): r["c"] for r in driver.execute_query(
            "MATCH ()-[r]->() RETURN type(r) AS t, r.source AS s, count(*) AS c", database_="neo4j")[0]}
    with open(Path(result.report_dir) / "rejects.tsv", encoding="utf-8", newline="") as fh:
        rejects = list(csv.DictReader(fh, delimiter="\t"))
    return {"data": data, "result": result, "stats": stats, "by_source": by_source, "rejects": rejects,
            "where": where}


def _reject(faulty: dict, file: str, text: str) -> dict:
    hits = [r for r in faulty["rejects"] if r["file"] == file and text in r["reason"]]
    assert hits, f"no reject for {file} containing {text!r}; have {faulty['rejects'][:5]}"
    return hits[0]


def test_bad_id_is_rejected_with_file_line_reason(faulty: dict, clean_counts: dict) -> None:
    r = _reject(faulty, "hetionet/hetionet-v1.0-nodes.tsv", "Disease: id 'DOID_BAD' does not match")
    assert int(r["line"]) == faulty["where"]["bad_id"]
    assert r["source"] == "hetionet"
    assert faulty["stats"]["nodes"]["Disease"] == clean_counts["nodes"]["Disease"] == 137


def test_dangling_edge_is_rejected_and_other_rows_load(faulty: dict, clean_counts: dict) -> None:
    r = _reject(faulty, "pharmacotherapydb/indications.tsv",
                "TREATS edge endpoint Disease 'DOID:0000001' does not exist")
    assert int(r["line"]) == faulty["where"]["dangling"]
    assert faulty["stats"]["relationships"]["TREATS"] == clean_counts["relationships"]["TREATS"]
    assert faulty["by_source"][("NOT_INDICATED_FOR", None)] == clean_counts["relationships"]["NOT_INDICATED_FOR"]


def test_short_row_is_rejected(faulty: dict) -> None:
    r = _reject(faulty, "pharmacotherapydb/indications.tsv", "malformed row: expected 7 fields")
    assert int(r["line"]) == faulty["where"]["short"]


def test_missing_column_rejects_that_file_only(faulty: dict, clean_counts: dict) -> None:
    r = _reject(faulty, "symptom-disease-kb/hsdn-symptoms-DO.tsv", "missing column(s) cooccurs")
    assert r["line"] == "1" and r["source"] == "hsdn"
    assert ("PRESENTS", "hsdn") not in faulty["by_source"]
    assert faulty["by_source"][("PRESENTS", "hetionet")] == 3357  # every DpS row of the medical file


def test_truncated_gzip_keeps_rows_before_the_break(faulty: dict, clean_counts: dict) -> None:
    r = _reject(faulty, "hetionet/hetionet-v1.0-edges-5k.sif.gz", "file truncated or corrupt after line")
    after = int(r["reason"].split("after line ")[1].split(":")[0])
    assert int(r["line"]) == after + 1 > 100
    loaded = faulty["stats"]["relationships"]["RESEMBLES"]
    assert 0 < loaded < clean_counts["relationships"]["RESEMBLES"]
    # every row before the break loaded (lines 2..after; the sample's DrD/CrC rows all have both endpoints)
    assert loaded == after - 1


def test_bad_ddinter_level_is_rejected(faulty: dict, clean_counts: dict) -> None:
    r = _reject(faulty, "ddinter/ddinter_downloads_code_A.csv", "field Level has unknown value 'Severe'")
    assert r["line"] == "2" and r["source"] == "ddinter"
    ddinter = faulty["by_source"][("INTERACTS_WITH", "ddinter")]
    assert clean_counts["relationships"]["INTERACTS_WITH"] - 1 <= ddinter < clean_counts["relationships"][
        "INTERACTS_WITH"] + 1
    assert ddinter > 1000


def test_rejects_are_counted_on_the_build_node(faulty: dict, kg_scratch) -> None:
    result = faulty["result"]
    assert result.rejects == len(faulty["rejects"]) >= 6
    assert faulty["stats"]["rejects"] == result.rejects
    assert faulty["stats"]["build"]["id"] == result.build_id


def test_missing_file_is_an_error_before_anything_is_written(faulty: dict, small_data: Path, tmp_path: Path,
                                                               kg_scratch) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_data, data)
    (data / "pharmacotherapydb/indications.tsv").unlink()
    with _driver(kg_scratch) as driver:
        before = graph_stats(driver, database="neo4j")
        builds = _count(driver, "MATCH (b:Build) RETURN count(b)")
        with pytest.raises(SourceDataError, match=r"missing source file\(s\) .*pharmacotherapydb/indications.tsv"
                                                  r"; nothing was written"):
            _build(driver, data, tmp_path)
        proc = _cli(kg_scratch, tmp_path, data)
        assert proc.returncode == 1
        assert "pharmacotherapydb/indications.tsv" in proc.stderr and "nothing was written" in proc.stderr
        assert graph_stats(driver, database="neo4j") == before
        assert _count(driver, "MATCH (b:Build) RETURN count(b)") == builds
    assert not (tmp_path / "builds").exists()


def test_commercial_only_leaves_out_non_commercial_records(small_data: Path, tmp_path: Path, kg_scratch) -> None:
    with _driver(kg_scratch) as driver:
        result = _build(driver, small_data, tmp_path, commercial_only=True)
        stats = graph_stats(driver, database="neo4j")
        assert "CAUSES" not in stats["relationships"]  # SIDER, CC BY-NC-SA
        assert result.excluded["rel:CAUSES:hetionet"] == N_CCSE
        assert result.excluded["rel:INTERACTS_WITH:ddinter"] > 1000
        assert _count(driver, "MATCH ()-[r:INTERACTS_WITH]->() RETURN count(r)") == 0
        assert "Drug" not in stats["nodes"]  # DrugBank terms and Hetionet compounds are non-commercial
        assert stats["nodes"]["Disease"] == 137 and stats["nodes"]["Symptom"] == 438
        assert stats["relationships"]["PRESENTS"] > 3357  # Hetionet DpS (public domain) + HSDN (CC BY 4.0)
        ok = sorted(COMMERCIAL_LICENSES)
        assert _count(driver, "MATCH (n) WHERE NOT n:Build AND (size(coalesce(n.licenses, [])) = 0 "
                              "OR any(x IN n.licenses WHERE NOT x IN $ok)) RETURN count(n)", ok=ok) == 0
        assert _count(driver, "MATCH ()-[r]->() WHERE size(coalesce(r.licenses, [])) = 0 "
                              "OR any(x IN r.licenses WHERE NOT x IN $ok) RETURN count(r)", ok=ok) == 0
        assert _count(driver, "MATCH (b:Build {id: $id}) WHERE b.excluded_licenses = ['non-commercial'] "
                              "RETURN count(b)", id=result.build_id) == 1


# --- killed midway ---------------------------------------------------------------------------------
def _cli(server, tmp: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_cli_cmd(data), capture_output=True, text=True, env=_cli_env(server, tmp), timeout=300)


def _cli_cmd(data: Path) -> list[str]:
    return [sys.executable, "-m", "api.cli", "kg", "build", "--data-dir", str(data),
            "--sources", ",".join(SMALL_SOURCES), "--json"]


def _cli_env(server, tmp: Path) -> dict:
    return {**os.environ, "NEO4J_URI": f"bolt://127.0.0.1:{server.bolt_port}", "NEO4J_PASSWORD": server.password,
            "MEDKG_HOME": str(tmp / "home")}


def _start_and_wait(server, tmp: Path, data: Path, what: str) -> tuple[subprocess.Popen, str]:
    """Start a CLI build and wait until it has written some nodes (what='nodes') or relationships."""
    proc = subprocess.Popen(_cli_cmd(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_cli_env(server, tmp))
    query = ("MATCH (n) WHERE n.build_id = $id RETURN count(n)" if what == "nodes"
             else "MATCH ()-[r]->() WHERE r.build_id = $id RETURN count(r)")
    deadline = time.monotonic() + 240
    with _driver(server) as driver:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"build ended before it could be killed: {proc.communicate()}"
            running = driver.execute_query("MATCH (b:Build {status: 'running'}) RETURN b.id AS id",
                                           database_="neo4j")[0]
            if running and _count(driver, query, id=running[0]["id"]) > 0:
                return proc, running[0]["id"]
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no {what} written within 240 s")


def _assert_exact(server, tmp: Path, data: Path, killed_id: str, clean_counts: dict) -> None:
    with _driver(server) as driver:
        # the kill really was midway: the build is unfinished and the graph incomplete
        assert _count(driver, "MATCH (b:Build {id: $id}) WHERE b.status = 'running' RETURN count(b)",
                      id=killed_id) == 1
        assert _count(driver, "MATCH ()-[r]->() WHERE r.build_id = $id RETURN count(r)", id=killed_id) < sum(
            clean_counts["relationships"].values())
        result = _build(driver, data, tmp)
        stats = graph_stats(driver, database="neo4j")
        assert result.counts == clean_counts
        assert stats["nodes"] == clean_counts["nodes"]
        assert stats["relationships"] == clean_counts["relationships"]
        assert _count(driver, "MATCH (n) WHERE NOT n:Build AND n.build_id <> $id RETURN count(n)",
                      id=result.build_id) == 0
        assert _count(driver, "MATCH ()-[r]->() WHERE r.build_id <> $id RETURN count(r)", id=result.build_id) == 0
        assert _count(driver, "MATCH (b:Build) WHERE b.status <> 'complete' RETURN count(b)") == 0


def test_build_process_killed_midway_then_rerun_is_exact(small_data: Path, tmp_path: Path, kg_scratch,
                                                          clean_counts: dict) -> None:
    proc, build_id = _start_and_wait(kg_scratch, tmp_path, small_data, "relationships")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    _assert_exact(kg_scratch, tmp_path, small_data, build_id, clean_counts)


def test_neo4j_killed_midway_then_restart_and_rerun_is_exact(small_data: Path, tmp_path: Path, kg_scratch,
                                                              clean_counts: dict) -> None:
    proc, build_id = _start_and_wait(kg_scratch, tmp_path, small_data, "nodes")
    kg_scratch.kill()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the build should fail when Neo4j dies"
    assert err.strip(), "the failed build says why"
    kg_scratch.start()
    _assert_exact(kg_scratch, tmp_path, small_data, build_id, clean_counts)
