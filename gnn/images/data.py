"""PneumoniaMNIST loading, input checking and the fixed stratified train / calibration / test split."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg.errors import InvalidInput, SourceDataError
from kg.settings import get_settings

SIDE = 28
SPLIT_SEED = 20240707
CAL_FRACTION = 0.15
TEST_FRACTION = 0.20


def dataset_path(data_dir: Path | None = None) -> Path:
    return (data_dir or get_settings().medkg_data_dir) / "medmnist" / "pneumoniamnist.npz"


def as_images(array: np.ndarray, where: str) -> np.ndarray:
    """Check and convert an image array to N×28×28 uint8.

    Accepts N×28×28, N×28×28×1 or N×1×28×28, uint8 or float (floats in [0, 1] are scaled by 255,
    floats in [0, 255] are kept). `where` names the file and key in error messages.
    """
    arr = np.asarray(array)
    shape = tuple(arr.shape)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[1:] != (SIDE, SIDE):
        raise InvalidInput(f"{where}: expected images of shape N×28×28 (or N×28×28×1), got shape {shape}",
                           field=where)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "fiub":
        raise InvalidInput(f"{where}: expected numeric pixels, got dtype {arr.dtype}", field=where)
    arr = arr.astype(np.float64)
    if arr.size and not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise InvalidInput(f"{where}: image {bad} has a non-finite pixel (NaN or inf)", field=where)
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if lo < 0 or hi > 255:
        raise InvalidInput(f"{where}: pixel values must lie in [0, 1] or [0, 255], got range [{lo:g}, {hi:g}]",
                           field=where)
    if np.asarray(array).dtype.kind == "f" and hi <= 1.0:
        arr = arr * 255.0
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def read_npz_images(path: Path, key: str = "test_images") -> np.ndarray:
    """Read `key` from an .npz file as N×28×28 uint8, with errors naming the file, key and shape."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", field="input")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            if key not in keys:
                raise InvalidInput(f"{path}: no key {key!r} in the npz; keys found: {keys or 'none'}", field=key)
            raw = npz[key]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable .npz file ({exc})", field="input") from exc
    return as_images(raw, f"{path}[{key!r}]")


@dataclass(frozen=True)
class Split:
    """Images (N×28×28 uint8) and labels (N, 1 = pneumonia) of the three parts."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_cal: np.ndarray
    y_cal: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def sizes(self) -> dict[str, dict[str, int]]:
        out = {}
        for name in ("train", "cal", "test"):
            y = getattr(self, f"y_{name}")
            out[name] = {"n": len(y), "normal": int((y == 0).sum()), "pneumonia": int((y == 1).sum())}
        return out


def load_pool(data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All labelled images of the source file (its train and val splits, concatenated)."""
    path = dataset_path(data_dir)
    if not path.is_file():
        raise SourceDataError(f"{path}: PneumoniaMNIST file not found (set MEDKG_DATA_DIR)")
    with np.load(path) as npz:
        xs, ys = [], []
        for part in ("train", "val"):
            for k in (f"{part}_images", f"{part}_labels"):
                if k not in npz.files:
                    raise SourceDataError(f"{path}: key {k!r} missing; keys found: {list(npz.files)}")
            xs.append(as_images(npz[f"{part}_images"], f"{path}[{part}_images]"))
            ys.append(npz[f"{part}_labels"].reshape(-1).astype(np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def stratified_split(x: np.ndarray, y: np.ndarray, seed: int = SPLIT_SEED, cal_fraction: float = CAL_FRACTION,
                     test_fraction: float = TEST_FRACTION) -> Split:
    """Split per class with a fixed seed: test and calibration fractions of each class, the rest train."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "cal": [], "test": []}
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_test = round(len(idx) * test_fraction)
        n_cal = round(len(idx) * cal_fraction)
        parts["test"].append(idx[:n_test])
        parts["cal"].append(idx[n_test:n_test + n_cal])
        parts["train"].append(idx[n_test + n_cal:])
    sel = {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
    return Split(x[sel["train"]], y[sel["train"]], x[sel["cal"]], y[sel["cal"]], x[sel["test"]], y[sel["test"]])


def subsample(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random, class-stratified subset of about n images (at least 10 per class when available)."""
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        k = min(len(idx), max(10, round(n * len(idx) / len(y))))
        keep.append(rng.choice(idx, size=k, replace=False))
    sel = np.sort(np.concatenate(keep))
    return x[sel], y[sel]


def load_split(data_dir: Path | None = None) -> Split:
    """The documented split of the pooled PneumoniaMNIST data (seed SPLIT_SEED, 65 / 15 / 20 %)."""
    return stratified_split(*load_pool(data_dir))
