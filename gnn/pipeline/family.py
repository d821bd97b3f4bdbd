"""The contract every model family fulfils (PyKEEN's pipeline shape): a typed config, train, evaluate,
load, predict, plus the CLI arguments of each verb and a tiny config for the meta-tests."""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from gnn.pipeline.store import ArtefactStore, RunManifest


@dataclass
class FamilyConfig:
    """Base of every family's config: the seed, the artefact root and the thread budget."""

    seed: int = 0
    threads: int = 2
    artifacts: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


class ModelFamily(ABC):
    """A model family by name. Subclasses set `name`, `summary`, `artifact_format`, `config_type`."""

    name: ClassVar[str]
    summary: ClassVar[str]
    artifact_format: ClassVar[int]
    config_type: ClassVar[type[FamilyConfig]]
    #: the figures `medkg models` shows from a run's metrics (first ones first)
    headline_metrics: ClassVar[tuple[str, ...]] = ()
    #: seeds `medkg evaluate NAME` uses when none are given
    default_seeds: ClassVar[tuple[int, ...]] = (0, 1, 2)

    def store(self, artifacts: Path | None = None) -> ArtefactStore:
        return ArtefactStore(self.name, self.artifact_format, artifacts)

    # -- CLI -------------------------------------------------------------------------------------
    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:  # noqa: B027
        """Family-specific options of `medkg VERB NAME` (seed, threads and --json are added for all)."""

    def config_from_args(self, args: argparse.Namespace) -> FamilyConfig:
        names = self.config_type.field_names()
        return self.config_type(**{k: v for k, v in vars(args).items() if k in names and v is not None})

    # -- the four verbs --------------------------------------------------------------------------
    @abstractmethod
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        """Fit on the data the config names; save one run through `self.store()`; return its manifest."""

    @abstractmethod
    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> dict[str, Any]:
        """Score the recipe over `seeds`; return the results document (see `gnn.pipeline.results`)."""

    @abstractmethod
    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        """The loaded model of a run (default: latest); a ConfigError for missing or outdated runs."""

    @abstractmethod
    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        """`medkg predict NAME ...`: write predictions; return a summary dict."""

    # -- meta-tests ------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig | None:
        """A config that trains in seconds on a fixture (None: the family needs the graph for that)."""
        return None

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace | None:
        return None
