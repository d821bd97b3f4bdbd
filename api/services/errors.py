"""Errors of the API services beyond kg.errors; api/app.py maps each to one HTTP status."""

from __future__ import annotations

import pickle
import zipfile

from kg.errors import MedKGError

# What loading a saved file can raise when it is missing, partial, corrupt or of another version (TypeError: a
# config whose keys the code no longer takes). Anything else while loading is a bug and is not caught.
UNREADABLE_ARTEFACT = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, RuntimeError,
                       pickle.UnpicklingError, zipfile.BadZipFile, MedKGError)
# What building an optional encoder can raise: package or files missing, an unusable install
ENCODER_MISSING = (ImportError, OSError, ValueError, RuntimeError, MedKGError)


class QueryRefused(MedKGError):
    """A Cypher statement that is not read-only (write, admin, file access): refused, never executed."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class QueryTimeout(MedKGError):
    """A query that ran past its time limit and was terminated by Neo4j."""


class QueryFailed(MedKGError):
    """Neo4j rejected a caller's query (syntax, type or argument error); carries Neo4j's code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
