"""Atomic artefact writes: temp file in the same directory, fsync, `os.replace`; clear errors naming the path.

A reader never sees a half-written file: either the previous artefact or the complete new one. Several
files that belong together (weights + config + vocabulary) go through one `ArtefactBatch`: every file is
written and fsynced first, and only then are all of them renamed into place, so a disk or permission error
while writing leaves the previous model untouched.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from kg.errors import MedKGError

Writer = Callable[[IO[bytes]], None]


class ArtefactWriteError(MedKGError):
    """An artefact could not be written (permission, disk full, not a directory); names the path."""

    def __init__(self, path: Path, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        super().__init__(f"cannot write artefact {path}: {reason} (errno {exc.errno}); the previous "
                         "artefact, if any, is unchanged")
        self.path = path
        self.errno = exc.errno


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stage(path: Path, write: Writer) -> Path:
    """Write `path`'s new content to a fsynced temp file beside it; return the temp path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ArtefactWriteError(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArtefactWriteError(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _commit(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArtefactWriteError(path, exc) from exc
    _fsync_dir(path.parent)


def atomic_write(path: Path, write: Writer) -> Path:
    """Replace `path` atomically with what `write(fh)` writes to a binary file handle."""
    path = Path(path)
    _commit(_stage(path, write), path)
    return path


def _bytes_writer(data: bytes) -> Writer:
    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


def _torch_writer(obj: Any) -> Writer:
    import torch

    return lambda fh: torch.save(obj, fh)


def _npz_writer(compressed: bool, arrays: dict[str, Any]) -> Writer:
    import numpy as np

    def write(fh: IO[bytes]) -> None:
        buf = io.BytesIO()  # numpy wants a seekable file; the artefacts are small
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
        fh.write(buf.getvalue())

    return write


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, _bytes_writer(data))


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, _bytes_writer(text.encode("utf-8")))


def write_json(path: Path, obj: Any, **dumps: Any) -> Path:
    return write_text(path, json.dumps(obj, **dumps))


def save_npz(path: Path, compressed: bool = True, **arrays: Any) -> Path:
    """`np.savez[_compressed](path, **arrays)`, atomically (the name is kept as given)."""
    return atomic_write(path, _npz_writer(compressed, arrays))


class ArtefactBatch:
    """Files replaced together: `with ArtefactBatch() as out: out.torch(...); out.json(...)`.

    Each file is staged (written, fsynced) as it is added; on a clean exit all are renamed into place,
    on any error every staged file is removed and no artefact is replaced.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def __enter__(self) -> ArtefactBatch:
        return self

    def add(self, path: Path, write: Writer) -> Path:
        path = Path(path)
        self._staged.append((_stage(path, write), path))
        return path

    def bytes(self, path: Path, data: bytes) -> Path:
        return self.add(path, _bytes_writer(data))

    def text(self, path: Path, text: str) -> Path:
        return self.add(path, _bytes_writer(text.encode("utf-8")))

    def json(self, path: Path, obj: Any, **dumps: Any) -> Path:
        return self.text(path, json.dumps(obj, **dumps))

    def torch(self, path: Path, obj: Any) -> Path:
        return self.add(path, _torch_writer(obj))

    def npz(self, path: Path, compressed: bool = True, **arrays: Any) -> Path:
        return self.add(path, _npz_writer(compressed, arrays))

    def _discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            while self._staged:
                tmp, path = self._staged[0]
                _commit(tmp, path)
                self._staged.pop(0)
        finally:
            self._discard()
