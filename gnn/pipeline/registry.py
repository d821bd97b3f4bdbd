"""The model families by name. A new family is one module with a `ModelFamily` subclass and one line here.

Entries are "module:Class" strings so that building the CLI imports no torch; a family module keeps its
heavy imports inside its methods.
"""

from __future__ import annotations

import importlib
from functools import cache

from gnn.pipeline.family import ModelFamily
from kg.errors import ConfigError

FAMILIES: dict[str, str] = {
    "diagnosis": "gnn.diagnosis.family:DiagnosisFamily",
    "text": "gnn.text.family:TextFamily",
    "images": "gnn.images.family:ImagesFamily",
    "ddi": "gnn.ddi.family:DdiFamily",
    "side-effects": "gnn.sideeffects.family:SideEffectsFamily",
    "qa": "gnn.qa.family:QAFamily",
    "treats": "gnn.treats.family:TreatsFamily",
}


@cache
def get_family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family '{name}'; known: {', '.join(sorted(FAMILIES)) or 'none'}")
    module, _, cls = FAMILIES[name].partition(":")
    family = getattr(importlib.import_module(module), cls)()
    if family.name != name:
        raise ConfigError(f"registry entry '{name}' points at family '{family.name}'")
    return family


def families() -> list[ModelFamily]:
    return [get_family(n) for n in FAMILIES]
