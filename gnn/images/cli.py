"""`medkg images ...`: the old spellings `images train|evaluate|predict` (aliases of `medkg train|evaluate|predict
images`, printing the new form once) and `images ingest` (a patient's images into the graph)."""

from __future__ import annotations

import argparse

from kg.cliutil import add_json_flag


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg images ...`."""
    from gnn.pipeline.cli import _add_common, _evaluate, _predict, _train, alias
    from gnn.pipeline.registry import get_family

    p = sub.add_parser("images", help="chest X-ray images: ingest for a patient (train/evaluate/predict: aliases)",
                       description="Chest X-ray images. Training, evaluation and prediction are `medkg train|"
                                   "evaluate|predict images`; the spellings below are kept as aliases.")
    isub = p.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    fam = get_family("images")
    for verb, maker in (("train", _train), ("evaluate", _evaluate), ("predict", _predict)):
        a = isub.add_parser(verb, help=f"alias of `medkg {verb} images`")
        _add_common(a, verb)
        fam.add_arguments(verb, a)
        a.set_defaults(func=alias(maker("images"), f"images {verb}", f"{verb} images"))

    g = isub.add_parser("ingest", help="run the model on a folder of PNG/JPEG files or an .npz and attach the "
                                       "images to a patient in the graph",
                        description="Each image becomes an Image node linked to the patient (HAS_IMAGE), with its "
                                    "embedding, probability and model run; one write transaction per image.")
    g.add_argument("--patient", required=True, help="pseudonymous patient id (P-...)")
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--folder", help="a folder of .png/.jpg/.jpeg files (read in name order)")
    src.add_argument("--npz", help="an .npz holding N×28×28 images under --key")
    g.add_argument("--key", default="test_images", help="array name in the .npz (default test_images)")
    g.add_argument("--run", default=None, help="a model run name or folder (default: the latest run)")
    add_json_flag(g)
    g.set_defaults(func=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    from gnn.images.ingest import ingest_cli

    return ingest_cli(args)
