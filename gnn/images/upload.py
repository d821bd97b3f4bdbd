"""Turn an uploaded chest X-ray into the model's input: PNG or JPEG of any size (grey, colour, 16-bit) or a
28×28 array (JSON), checked with errors that name the problem. Pixels are never logged."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from gnn.images.data import SIDE, as_images
from kg.errors import InvalidInput

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
IMAGE_TYPES = ("image/png", "image/jpeg", "application/octet-stream")


@dataclass(frozen=True)
class Decoded:
    """A 28×28 uint8 image and what it was made from (format, original size and mode; no pixels)."""

    pixels: np.ndarray
    source: dict[str, Any]


def sniff(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    return None


def _to_grey(im) -> np.ndarray:
    """A float array in [0, 255] whatever the mode (16-bit and float images are stretched to their range)."""
    from PIL import Image, ImageOps

    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        return (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")  # transparent areas composited on black, as a film's background
        background = Image.new("RGBA", im.size, (0, 0, 0, 255))
        im = background.alpha_composite(im)
    return np.asarray(im.convert("L"), dtype=np.float64)


def _resize(grey: np.ndarray) -> np.ndarray:
    """Centre square crop on the short edge, then area-averaged resize to 28×28 (MedMNIST's preprocessing)."""
    from PIL import Image

    h, w = grey.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(np.clip(np.rint(grey[top:top + side, left:left + side]), 0, 255).astype(np.uint8))
    return np.array(square.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.uint8)  # a writable copy


def decode_picture(data: bytes, max_pixels: int) -> Decoded:
    """PNG or JPEG bytes -> 28×28 uint8; InvalidInput for anything else, corrupt data or too many pixels."""
    from PIL import Image, UnidentifiedImageError

    kind = sniff(data)
    if kind is None:
        raise InvalidInput("body: not a PNG or JPEG file (its first bytes match neither format)", field="body")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise InvalidInput(f"body: image too large: {width}×{height} pixels, more than the {max_pixels:,} "
                                   "accepted", field="body")
            if width < 1 or height < 1:
                raise InvalidInput(f"body: empty {kind} image ({width}×{height})", field="body")
            mode = im.mode
            im.load()
            grey = _to_grey(im)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"body: corrupt {kind} file ({exc})", field="body") from exc
    return Decoded(_resize(grey), {"format": kind, "width": width, "height": height, "mode": mode})


def decode_array(data: bytes) -> Decoded:
    """JSON `{"pixels": 28×28 numbers}` (0-255, or 0-1 floats) -> 28×28 uint8."""
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body: not valid JSON ({exc})", field="body") from exc
    if not isinstance(body, dict) or "pixels" not in body:
        raise InvalidInput('body: expected a JSON object {"pixels": [[...28 numbers], ... 28 rows]}', field="pixels")
    try:
        arr = np.asarray(body["pixels"], dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"pixels: not a rectangular array of numbers ({exc})", field="pixels") from exc
    if arr.size == 0:
        raise InvalidInput("pixels: empty array", field="pixels")
    if arr.shape != (SIDE, SIDE):
        raise InvalidInput(f"pixels: expected a 28×28 array, got shape {arr.shape}", field="pixels")
    if arr.max() <= 1.0:
        arr = arr.astype(np.float32)  # as_images scales floats in [0, 1] by 255
    return Decoded(as_images(arr[None], "pixels")[0], {"format": "array", "width": SIDE, "height": SIDE,
                                                       "mode": "L"})


def decode_upload(data: bytes, content_type: str | None, max_bytes: int, max_pixels: int) -> Decoded:
    """The request body as a 28×28 image, by content type (PNG/JPEG are also recognised by their bytes)."""
    if not data:
        raise InvalidInput("body: empty upload", field="body")
    if len(data) > max_bytes:
        raise InvalidInput(f"body: upload too large: {len(data):,} bytes, more than the {max_bytes:,} accepted",
                           field="body")
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return decode_array(data)
    if ctype in IMAGE_TYPES or not ctype:
        return decode_picture(data, max_pixels)
    raise InvalidInput(f"content-type: {ctype!r} is not accepted; send image/png, image/jpeg or application/json "
                       '({"pixels": 28×28})', field="content-type")
