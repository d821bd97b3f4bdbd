"""Images per second of the CNN encoder (embedding + calibrated probability) vs the pixel logistic regression.

Run: .venv/bin/python bench/bench_images.py [--batch 256] [--repeats 7] [--threads 1]
Uses the latest `images` run in $MEDKG_ARTIFACTS when present, else an untrained one of the same
architecture (same speed). Prints medians over repeats, and the CNN / baseline ratio, all in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from gnn.images.baseline import PixelLogReg
from gnn.images.data import load_split
from gnn.images.model import PneumoniaCNN
from gnn.images.train import forward_all
from gnn.pipeline.calibration import apply_platt
from kg.errors import ConfigError


def _rate(fn, images: np.ndarray, batch: int, repeats: int) -> tuple[float, list[float]]:
    fn(images[:batch])  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(images), batch):
            fn(images[i:i + batch])
        times.append(time.perf_counter() - t0)
    return len(images) / statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    split = load_split()
    images = np.concatenate([split.x_cal, split.x_test])  # tuning + test images
    try:
        from gnn.pipeline.registry import get_family

        enc = get_family("images").load()
        model, mean, std, a, b, source = enc.model, enc.mean, enc.std, enc.a, enc.b, enc.model_run
    except ConfigError:  # no trained model: same architecture, same cost
        model, mean, std, a, b, source = PneumoniaCNN().eval(), 0.57, 0.17, 1.0, 0.0, "untrained (same architecture)"

    def cnn(batch: np.ndarray) -> None:
        with torch.inference_mode():
            _, logits = forward_all(model, batch, mean, std, batch_size=len(batch))
        apply_platt(logits, a, b)

    lr = PixelLogReg().fit(split)
    cnn_rate, cnn_times = _rate(cnn, images, args.batch, args.repeats)
    lr_rate, lr_times = _rate(lr.probabilities, images, args.batch, args.repeats)
    spread = {"cnn_run_seconds": [round(t, 4) for t in cnn_times],
              "logreg_run_seconds": [round(t, 5) for t in lr_times]}
    result = {
        "images": len(images), "batch": args.batch, "repeats": args.repeats, "threads": args.threads, "model": source,
        "cnn_images_per_s_median": round(cnn_rate, 1), "logreg_images_per_s_median": round(lr_rate, 1),
        "cnn_over_logreg_throughput": round(cnn_rate / lr_rate, 4),
        "cnn_ms_per_image": round(1000 / cnn_rate, 3), "logreg_ms_per_image": round(1000 / lr_rate, 4), **spread,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(images)} images, batch {args.batch}, {args.threads} thread(s), median of {args.repeats} runs; "
          f"model: {source}")
    print(f"CNN embed+predict      {cnn_rate:10.1f} images/s  ({1000 / cnn_rate:.3f} ms/image)")
    print(f"LR on pixels (baseline) {lr_rate:9.1f} images/s  ({1000 / lr_rate:.4f} ms/image)")
    print(f"CNN / baseline throughput ratio: {cnn_rate / lr_rate:.4f}")


if __name__ == "__main__":
    main()
