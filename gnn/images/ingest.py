"""`medkg images ingest --patient ID (--folder DIR | --npz F.npz)`: score a patient's images and attach them
to the patient in the graph, all in one write transaction (a bad file stops everything before any write)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from kg.cliutil import emit
from kg.errors import InvalidInput

PICTURES = (".png", ".jpg", ".jpeg")


def read_folder(folder: Path, max_bytes: int, max_pixels: int) -> tuple[np.ndarray, list[dict[str, Any]], list[str]]:
    """(N×28×28 images, their sources, file names) of a folder's PNG/JPEG files in name order."""
    from gnn.images.upload import decode_upload

    if not folder.is_dir():
        raise InvalidInput(f"{folder}: not a folder", field="folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICTURES and p.is_file())
    if not files:
        raise InvalidInput(f"{folder}: no .png, .jpg or .jpeg files", field="folder")
    images, sources = [], []
    for path in files:
        try:
            decoded = decode_upload(path.read_bytes(), None, max_bytes, max_pixels)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc}", field="folder") from exc
        images.append(decoded.pixels)
        sources.append({**decoded.source, "file": path.name})
    return np.stack(images), sources, [p.name for p in files]


def ingest(driver, patient_id: str, images: np.ndarray, sources: list[dict[str, Any]], encoder, *,
           database: str | None, store_pixels: bool) -> list[dict[str, Any]]:
    """Score and attach; returns one row per image (id, probability, decision, finding)."""
    from gnn.images.graph import attach_images, ensure_image_schema, image_rows

    prob = encoder.predict_proba(images)
    rows = image_rows(encoder.embed(images), prob, threshold=encoder.threshold, normal_share=encoder.normal_share,
                      model_run=encoder.model_run, sources=sources, pixels=images if store_pixels else None)
    ensure_image_schema(driver, database)
    written = attach_images(driver, patient_id, rows, database)
    return [{"image_id": w["image_id"], "probability": r["props"]["probability"], "decision": r["props"]["decision"],
             "finding": w["finding_id"] if w["shows"] else None} for w, r in zip(written, rows, strict=True)]


def ingest_cli(args: argparse.Namespace) -> int:
    from gnn.images.data import read_npz_images
    from gnn.images.encoder import ImageEncoder
    from gnn.images.family import ImagesFamily
    from kg.db import make_driver
    from kg.settings import get_settings

    s = get_settings()
    if args.folder:
        images, sources, names = read_folder(Path(args.folder), s.medkg_image_max_bytes, s.medkg_image_max_pixels)
    else:
        images = read_npz_images(Path(args.npz), key=args.key)
        if len(images) == 0:
            raise InvalidInput(f"{args.npz}[{args.key!r}]: no images", field=args.key)
        sources = [{"format": "npz", "width": 28, "height": 28, "mode": "L"} for _ in images]
        names = [f"{Path(args.npz).name}[{i}]" for i in range(len(images))]
    encoder = ImageEncoder(ImagesFamily().store().manifest(args.run), normal_share=s.medkg_image_normal_share)
    driver = make_driver(s)
    try:
        rows = ingest(driver, args.patient, images, sources, encoder, database=s.neo4j_database,
                      store_pixels=s.medkg_image_store_pixels)
    finally:
        driver.close()
    result = {"patient": args.patient, "model_run": encoder.model_run, "threshold": encoder.threshold,
              "normal_share": encoder.normal_share, "images": [{"source": n, **r} for n, r in zip(names, rows,
                                                                                               strict=True)]}

    def human(r: dict[str, Any]) -> str:
        lines = [f"attached {len(r['images'])} image(s) to {r['patient']} (model {r['model_run']}, threshold "
                 f"{r['threshold']:.2f} for {r['normal_share']:.0%} normal; probabilities are predictions)"]
        lines += [f"  {i['image_id']}  {i['source']}  p(pneumonia)={i['probability']:.3f}  {i['decision']}"
                  for i in r["images"]]
        return "\n".join(lines)

    emit(result, args.json, human)
    return 0
