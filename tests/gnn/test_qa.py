"""QA family: the contract on a graph-free question set, the linker and classifier on examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from gnn.pipeline.registry import get_family
from tests.gnn.family_contract import check_family


def test_qa_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_family(get_family("qa"), tmp_path, monkeypatch)
