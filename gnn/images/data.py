"""PneumoniaMNIST loading, input checking, de-duplication and the split that mimics new patients.

The source file has a `train` part (normal class undersampled to 10 %) and a `val` part (natural mix, about
26 % normal). Exact duplicates (same pixels) are removed first, across both parts; the `val` images are the
test (patients the model never saw in any form), and the `train` images are split into a fitting part and a
tuning part (calibration, decision threshold, test-time-augmentation choice).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.errors import InvalidInput, SourceDataError
from kg.settings import get_settings

SIDE = 28
SPLIT_SEED = 20240707
TUNE_FRACTION = 0.20


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
    """Images (N×28×28 uint8) and labels (N, 1 = pneumonia): fit, tune (`cal`) and test parts."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_cal: np.ndarray
    y_cal: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dedup: dict[str, int] = field(default_factory=dict)

    def sizes(self) -> dict[str, dict[str, int]]:
        out = {}
        for name in ("train", "cal", "test"):
            y = getattr(self, f"y_{name}")
            out[name] = {"n": len(y), "normal": int((y == 0).sum()), "pneumonia": int((y == 1).sum())}
        return out


def load_parts(data_dir: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The source's `train` and `val` parts as (N×28×28 uint8 images, N labels with 1 = pneumonia)."""
    path = dataset_path(data_dir)
    if not path.is_file():
        raise SourceDataError(f"{path}: PneumoniaMNIST file not found (set MEDKG_DATA_DIR)")
    out = {}
    with np.load(path) as npz:
        for part in ("train", "val"):
            for k in (f"{part}_images", f"{part}_labels"):
                if k not in npz.files:
                    raise SourceDataError(f"{path}: key {k!r} missing; keys found: {list(npz.files)}")
            out[part] = (as_images(npz[f"{part}_images"], f"{path}[{part}_images]"),
                         npz[f"{part}_labels"].reshape(-1).astype(np.int64))
    return out


def load_pool(data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All labelled images of the source file (its train and val parts, concatenated)."""
    parts = load_parts(data_dir)
    return (np.concatenate([parts["train"][0], parts["val"][0]]),
            np.concatenate([parts["train"][1], parts["val"][1]]))


def pixel_hashes(x: np.ndarray) -> list[str]:
    """sha1 of each image's bytes: equal hashes are exact duplicates."""
    return [hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest() for img in x]


def first_occurrences(hashes: list[str], exclude: set[str] = frozenset()) -> np.ndarray:
    """Indices of the first image of each hash, leaving out hashes in `exclude`."""
    seen = set(exclude)
    keep = []
    for i, h in enumerate(hashes):
        if h not in seen:
            seen.add(h)
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def stratified_halves(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held) index arrays: `fraction` of each class held, with a fixed seed."""
    rng = np.random.default_rng(seed)
    held, rest = [], []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n = round(len(idx) * fraction)
        held.append(idx[:n])
        rest.append(idx[n:])
    return np.sort(np.concatenate(rest)), np.sort(np.concatenate(held))


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


def make_split(parts: dict[str, tuple[np.ndarray, np.ndarray]], seed: int = SPLIT_SEED,
               tune_fraction: float = TUNE_FRACTION, limit: int = 0) -> Split:
    """De-duplicate, keep `val` apart as the test, split `train` into fit and tune (stratified, fixed seed).

    Test images are de-duplicated among themselves; a training image whose pixels also occur in the test, or
    earlier in training, is dropped. `limit` (quick checks, tests) subsamples both parts after that.
    """
    (xt, yt), (xv, yv) = parts["train"], parts["val"]
    hv, ht = pixel_hashes(xv), pixel_hashes(xt)
    keep_v = first_occurrences(hv)
    keep_t_self = first_occurrences(ht)
    keep_t = first_occurrences(ht, exclude=set(hv))
    dedup = {"source_train": len(yt), "source_val": len(yv),
             "duplicates_within_val": len(yv) - len(keep_v),
             "duplicates_within_train": len(yt) - len(keep_t_self),
             "train_images_also_in_val": len(keep_t_self) - len(keep_t)}
    xt, yt, xv, yv = xt[keep_t], yt[keep_t], xv[keep_v], yv[keep_v]
    if limit:
        xt, yt = subsample(xt, yt, limit, seed)
        xv, yv = subsample(xv, yv, max(limit // 4, 20), seed)
    fit, tune = stratified_halves(yt, tune_fraction, seed)
    return Split(xt[fit], yt[fit], xt[tune], yt[tune], xv, yv, dedup)


def load_split(data_dir: Path | None = None, limit: int = 0) -> Split:
    """The documented split (seed SPLIT_SEED): de-duplicated; fit 80 % / tune 20 % of train; test = val."""
    return make_split(load_parts(data_dir), limit=limit)
