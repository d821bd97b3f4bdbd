"""One artefact store for every family: artifacts/<family>/<run>/ written atomically, run.json recording
provenance, and an atomically replaced `latest` pointer.

A run is staged in a hidden folder and renamed into place only once every file is written and fsynced,
so a crash leaves either no run or a complete one; `latest` is replaced with `os.replace` after that.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gnn.artifacts_io import ArtefactBatch, ArtefactWriteError, write_text
from kg.errors import ConfigError
from kg.settings import REPO_ROOT, get_settings

MANIFEST = "run.json"
LATEST = "latest"


def git_sha() -> str | None:
    """The working tree's commit (None outside git); `+dirty` when tracked files differ from it."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) or None


def runtime_info() -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "python": platform.python_version(), "git_sha": git_sha()}


def file_checksum(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a data file (first 16 hex digits), for a run's `data_checksums`."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


@dataclass
class RunManifest:
    """What a run records about itself (run.json)."""

    family: str
    model_run: str
    artifact_format: int
    seed: int
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    build_id: str | None = None
    data_checksums: dict[str, str] = field(default_factory=dict)
    git_sha: str | None = None
    torch: str | None = None
    python: str | None = None
    created: str = ""
    folder: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ArtefactStore:
    """artifacts/<family>/: run folders and the `latest` pointer of one model family."""

    def __init__(self, family: str, artifact_format: int, artifacts: Path | None = None) -> None:
        self.family = family
        self.artifact_format = artifact_format
        self.root = Path(artifacts or get_settings().medkg_artifacts) / family

    def new_run_name(self, seed: int, tag: str = "") -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        return f"{self.family}{('-' + tag) if tag else ''}-seed{seed}-{stamp}-{os.getpid()}"

    def save(self, manifest: RunManifest, write_files, *, mark_latest: bool = True) -> Path:
        """Stage a run folder, let `write_files(batch, folder)` add files to an ArtefactBatch, add
        run.json, then rename the folder into place and (optionally) point `latest` at it."""
        info = runtime_info()
        manifest.git_sha = manifest.git_sha or info["git_sha"]
        manifest.torch, manifest.python = info["torch"], info["python"]
        manifest.created = manifest.created or time.strftime("%Y-%m-%dT%H:%M:%S%z")
        manifest.artifact_format = self.artifact_format
        final = self.root / manifest.model_run
        stage = self.root / f".{manifest.model_run}.staging"
        manifest.folder = str(final)
        try:
            shutil.rmtree(stage, ignore_errors=True)
            stage.mkdir(parents=True)
        except OSError as exc:
            raise ArtefactWriteError(stage, exc) from exc
        try:
            with ArtefactBatch() as out:
                write_files(out, stage)
                out.json(stage / MANIFEST, manifest.to_dict(), indent=2, default=str)
            if final.exists():
                shutil.rmtree(final)
            os.replace(stage, final)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if mark_latest:
            self.mark_latest(final.name)
        return final

    def mark_latest(self, run_name: str) -> None:
        write_text(self.root / LATEST, run_name + "\n")

    def latest_name(self) -> str | None:
        p = self.root / LATEST
        return p.read_text().strip() or None if p.is_file() else None

    def resolve(self, run: str | Path | None = None) -> Path:
        """A run folder: a path, a run name under this store, else the latest run."""
        if run:
            p = Path(run)
            folder = p if p.is_dir() else self.root / str(run)
            if not folder.is_dir():
                raise ConfigError(f"no {self.family} model run {run!s} (looked in {folder})")
            return folder
        name = self.latest_name()
        if not name:
            raise ConfigError(f"no trained {self.family} model under {self.root}: run `medkg train {self.family}` "
                              "first")
        return self.root / name

    def manifest(self, run: str | Path | None = None) -> RunManifest:
        """The run's manifest, refusing a missing, corrupt or outdated run with a clear message."""
        folder = self.resolve(run)
        path = folder / MANIFEST
        if not path.is_file():
            raise ConfigError(f"{self.family} model run {folder} is incomplete or outdated: {MANIFEST} is missing; "
                              f"retrain with `medkg train {self.family}`")
        try:
            data = json.loads(path.read_text())
            man = RunManifest(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"corrupt {self.family} run manifest {path}: {exc}; "
                              f"retrain with `medkg train {self.family}`") from exc
        if man.artifact_format != self.artifact_format:
            raise ConfigError(f"{self.family} model run {folder} is outdated: {MANIFEST} field 'artifact_format' is "
                              f"{man.artifact_format}, this code reads {self.artifact_format}; retrain with "
                              f"`medkg train {self.family}`")
        man.folder = str(folder)
        return man

    def runs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
