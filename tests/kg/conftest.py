"""Graph-build fixtures: a shared scratch server for destructive build tests and a small copy of the real
data (the real build, `built_graph`, lives in tests/conftest.py)."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.settings import get_settings


# --- a private server for the fault and bulk tests -------------------------------------------------
@pytest.fixture(scope="session")
def _kg_scratch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from kg.server import Neo4jServer

    server = Neo4jServer(home=tmp_path_factory.mktemp("kg-scratch") / "neo4j", lib=get_settings().neo4j_lib,
                         bolt_port=0, http_port=0, password="scratch-pass-123", heap="1g", pagecache="256m")
    yield server
    server.stop()


@pytest.fixture
def kg_scratch(_kg_scratch_server):
    """The session's scratch server, running (tests may kill, stop or overwrite it; it is restarted here)."""
    if _kg_scratch_server.running_pid() is None:
        _kg_scratch_server.start()
    return _kg_scratch_server


@pytest.fixture
def scratch_driver(kg_scratch) -> Iterator:
    from kg.db import make_driver
    from tests.conftest import scratch_settings

    drv = make_driver(scratch_settings(kg_scratch))
    yield drv
    drv.close()


# --- small data: subsets of the real files -----------------------------------------------------------
SMALL_SOURCES = ["hetionet", "drugbank", "pharmacotherapydb", "hsdn", "ddinter"]
SMALL_KINDS = {"Compound", "Disease", "Symptom", "Side Effect", "Anatomy", "Pharmacologic Class"}
SMALL_MEDICAL = {"CtD", "CpD", "DpS", "DlA", "PCiC", "CcSE"}
SMALL_SAMPLE = {"DrD", "CrC"}  # types left out of the medical subset, so they load from the 5k sample
N_CCSE = 8_000
N_HSDN = 1_500
N_DDINTER = 250


def _head(src: Path, dst: Path, n: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="utf-8", newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        for i, line in enumerate(fin):
            if i > n:
                break
            fout.write(line)


def make_small_data(real: Path, out: Path) -> Path:
    """A data dir for SMALL_SOURCES: drug/disease side of Hetionet, first rows of the other files."""
    from kg.adapters import ddinter, drugbank, hetionet, hsdn, pharmacotherapydb

    het = out / "hetionet"
    het.mkdir(parents=True)
    with open(real / hetionet.NODES, encoding="utf-8") as fin, open(out / hetionet.NODES, "w") as fout:
        for i, line in enumerate(fin):
            if i == 0 or line.rstrip("\n").split("\t")[2] in SMALL_KINDS:
                fout.write(line)
    n_ccse = 0
    with gzip.open(real / hetionet.MEDICAL, "rt") as fin, gzip.open(out / hetionet.MEDICAL, "wt") as fout:
        for i, line in enumerate(fin):
            kind = line.split("\t")[1]
            if kind == "CcSE":
                n_ccse += 1
            if i == 0 or (kind in SMALL_MEDICAL and (kind != "CcSE" or n_ccse <= N_CCSE)):
                fout.write(line)
    with gzip.open(real / hetionet.SAMPLE, "rt") as fin, gzip.open(out / hetionet.SAMPLE, "wt") as fout:
        for i, line in enumerate(fin):
            if i == 0 or line.split("\t")[1] in SMALL_SAMPLE:
                fout.write(line)
    for rel in (hetionet.CBG, hetionet.DAG):
        _head(real / rel, out / rel, 200)
    for rel in drugbank.FILES + pharmacotherapydb.FILES:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real / rel, out / rel)
    for rel in hsdn.FILES:
        _head(real / rel, out / rel, N_HSDN)
    for rel in ddinter.FILES:
        _head(real / rel, out / rel, N_DDINTER)
    return out


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only small data dir (copy it before changing anything)."""
    return make_small_data(get_settings().medkg_data_dir, tmp_path_factory.mktemp("small") / "data")
