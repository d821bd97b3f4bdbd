"""The `medkg` command: every subcommand has --help; errors are one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.cli import build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_top_level_help_lists_subcommands() -> None:
    out = subprocess.run([sys.executable, "-m", "api.cli", "--help"], capture_output=True, text=True, check=True)
    for name in ("neo4j", "serve"):
        assert name in out.stdout


@pytest.mark.parametrize("name", _subcommands())
def test_each_subcommand_has_help(name: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "api.cli", name, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"usage: medkg {name}" in proc.stdout
