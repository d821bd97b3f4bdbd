"""`medkg images train | predict | evaluate`: the PneumoniaMNIST CNN encoder (torch imported lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kg.cliutil import add_json_flag, emit, table


def _model_dir(args: argparse.Namespace) -> Path:
    from gnn.images.artifacts import default_model_dir

    return Path(args.model_dir) if args.model_dir else default_model_dir()


def _metrics_rows(metrics: dict) -> list[tuple]:
    keys = ("auroc", "accuracy", "balanced_accuracy", "accuracy_at_0.5")
    return [(name, *(f"{metrics[name]['test'][k]:.4f}" for k in keys)) for name in ("cnn", "logreg")]


def cmd_train(args: argparse.Namespace) -> int:
    from gnn.images.artifacts import save_run
    from gnn.images.baseline import evaluate_baseline
    from gnn.images.data import load_split, stratified_split, subsample
    from gnn.images.train import TrainConfig, evaluate_trained, train_model

    split = load_split()
    if args.limit:
        split = stratified_split(*subsample(split.x_train, split.y_train, args.limit, seed=args.seed), seed=args.seed)
    trained = train_model(split, TrainConfig(epochs=args.epochs, seed=args.seed))
    metrics = {"cnn": evaluate_trained(trained, split), "logreg": evaluate_baseline(split, seed=args.seed)}
    out = save_run(_model_dir(args), trained, metrics, split.sizes())
    result = {"model_dir": str(out), "seed": args.seed, "epochs": args.epochs, "seconds": round(trained.seconds, 1),
              "threshold": trained.threshold, "split": split.sizes(),
              "test": {"cnn": metrics["cnn"]["test"], "logreg": metrics["logreg"]["test"]}}

    def human(r: dict) -> str:
        return (f"trained CNN (seed {r['seed']}, {r['epochs']} epochs, {r['seconds']} s) -> {r['model_dir']}\n"
                f"decision threshold (chosen on calibration part): {r['threshold']:.4f}\n"
                f"test part ({r['split']['test']['n']} images):\n"
                + table(_metrics_rows(metrics), ("model", "AUROC", "accuracy", "balanced acc", "acc@0.5")))

    emit(result, args.json, human)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from gnn.images.data import read_npz_images
    from gnn.images.encoder import ImageEncoder, write_predictions

    images = read_npz_images(Path(args.input), key=args.key)
    encoder = ImageEncoder(_model_dir(args))
    prob = encoder.predict_proba(images)
    write_predictions(Path(args.output), prob)
    result = {"input": args.input, "output": args.output, "n": len(prob), "model_run": encoder.model_run,
              "threshold": encoder.threshold,
              "predicted_pneumonia": int((prob >= encoder.threshold).sum())}
    emit(result, args.json, lambda r: (f"wrote {r['n']} probabilities to {r['output']} (model {r['model_run']}; "
                                       f"{r['predicted_pneumonia']} at or above threshold {r['threshold']:.4f})"))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gnn.images.evaluate import evaluate_seeds, save_evaluation

    result = evaluate_seeds(args.seeds, args.epochs)
    result["saved_to"] = str(save_evaluation(result, _model_dir(args)))

    def human(r: dict) -> str:
        s = r["summary"]
        keys = ("auroc", "accuracy", "balanced_accuracy", "accuracy_at_0.5")
        rows = [(name, *(f"{s[name][k]['mean']:.4f} ± {s[name][k]['sd']:.4f}" for k in keys))
                for name in ("cnn", "logreg")]
        return (f"test part: {r['split']['test']['n']} images ({r['split']['test']['normal']} normal), "
                f"seeds {r['seeds']}, {r['epochs']} epochs; mean ± sd\n"
                + table(rows, ("model", "AUROC", "accuracy", "balanced acc", "acc@0.5"))
                + f"\nsaved to {r['saved_to']}")

    emit(result, args.json, human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `medkg images ...`."""
    p = sub.add_parser("images", help="chest X-ray (PneumoniaMNIST) CNN encoder: train, predict, evaluate",
                       description="Train and use the CNN image encoder (128-d embedding + pneumonia probability).")
    isub = p.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    model_dir_help = "model directory (default $MEDKG_ARTIFACTS/images)"

    t = isub.add_parser("train", help="train the default model and save it under artifacts/images/")
    t.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--limit", type=int, default=0, help="train on a random stratified N-image subset (quick checks)")
    t.add_argument("--model-dir", help=model_dir_help)
    add_json_flag(t)
    t.set_defaults(func=cmd_train)

    pr = isub.add_parser("predict", help="write index<TAB>probability of pneumonia for the images of an .npz")
    pr.add_argument("--input", required=True, help="an .npz holding `test_images` (N×28×28 uint8, or ×1, or float)")
    pr.add_argument("--output", required=True, help="the TSV to write (header `index<TAB>probability`)")
    pr.add_argument("--key", default="test_images", help="array name in the .npz (default test_images)")
    pr.add_argument("--model-dir", help=model_dir_help)
    add_json_flag(pr)
    pr.set_defaults(func=cmd_predict)

    e = isub.add_parser("evaluate", help="CNN vs pixel logistic regression over several seeds on the held-out part")
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    e.add_argument("--epochs", type=int, default=20, help="training epochs per seed (default 20)")
    e.add_argument("--model-dir", help="where evaluation.json is written (default $MEDKG_ARTIFACTS/images)")
    add_json_flag(e)
    e.set_defaults(func=cmd_evaluate)
