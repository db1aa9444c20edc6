"""``python -m cvviz transfer DATA_DIR``: teach a pretrained backbone the classes of a folder or zip
(ImageFolder layout: ``class_name/image.jpg``) and report its stratified K-fold accuracy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.errors import CvvizError

ORDER = 55
BUNDLED = "shapes"


def register(commands: argparse._SubParsersAction) -> None:
    from cvviz.transfer.finetune import FinetuneSettings
    from cvviz.transfer.lab import MODES

    default = FinetuneSettings()
    parser = commands.add_parser(
        "transfer",
        help="teach a backbone your classes: linear probe, MLP head or fine-tuning, K-fold scored",
        description="DATA_DIR is a folder or a .zip laid out as class_name/image.jpg, or 'shapes' for the "
        "bundled set of drawn shapes. With --head and --predict, a saved head reads one image instead.",
    )
    add = parser.add_argument
    add("data", nargs="?", metavar="DATA_DIR", help="folder or .zip of class folders, or 'shapes' (bundled)")
    add("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    add("--mode", default="probe", choices=MODES, help="probe (default), mlp or finetune")
    add("--folds", type=int, default=5, help="stratified K-fold cross-validation (default 5)")
    add("--epochs", type=int, default=default.epochs, help=f"fine-tuning epochs (default {default.epochs})")
    add(
        "--stages",
        type=int,
        default=default.stages,
        help=f"last stages fine-tuned (default {default.stages})",
    )
    add(
        "--lr",
        type=float,
        default=default.lr,
        help=f"fine-tuned stages' learning rate (default {default.lr:g})",
    )
    add("--head-lr", type=float, default=default.head_lr, help=f"head's learning rate when fine-tuning (default {default.head_lr:g})")  # fmt: skip
    add("--seed", type=int, default=0, help="random seed of the folds and the training (default 0)")
    add("--out", help="save the trained head (or fine-tuned network) state_dict here, its JSON beside it")
    add("--head", help="a head saved with --out (its .json beside it): read --predict IMAGE with it")
    add("--predict", metavar="IMAGE", help="with --head: the image to classify")
    add_weights_arguments(parser)
    add("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.head or args.predict:
        return _predict(args)
    if not args.data:
        raise CvvizError("Name a DATA_DIR (a folder or .zip of class folders, or 'shapes').")
    from cvviz.transfer.data import bundled_shapes, check_minimum, from_folder, from_zip
    from cvviz.transfer.finetune import FinetuneSettings
    from cvviz.transfer.lab import export_head, transfer_job

    if args.data == BUNDLED and not Path(args.data).exists():
        data = bundled_shapes()
    elif Path(args.data).is_file():
        data = from_zip(args.data)
    else:
        data = from_folder(args.data)
    check_minimum(data)
    settings = None
    if args.mode == "finetune":
        settings = FinetuneSettings(
            stages=args.stages, epochs=args.epochs, lr=args.lr, head_lr=args.head_lr, folds=args.folds,
            seed=args.seed,
        )  # fmt: skip
    spec = get_spec(args.model, task="classification")
    loaded = load_for_command(spec, args, "features")
    if not args.json:
        print(data.description)
        for note in data.notes:
            print(f"note: {note}", file=sys.stderr)
    job = transfer_job(loaded, data, args.mode, folds=args.folds, seed=args.seed, settings=settings)
    run_ = job.run(None if args.json else _progress)
    if not args.json:
        sys.stderr.write("\n")
    result = run_.result
    if args.out:
        state, meta = export_head(result, run_.features.dim)
        out = Path(args.out)
        try:
            out.write_bytes(state)
            out.with_suffix(".json").write_text(json.dumps(meta, indent=2))
        except OSError as exc:
            raise CvvizError(f"Could not save the head to {args.out}: {exc.strerror or exc}.") from exc
    if args.json:
        print_json(result.as_dict())
        return 0
    print(
        f"{spec.title}, {args.mode}: {args.folds}-fold accuracy {100 * result.acc_mean:.1f}% "
        f"± {100 * result.acc_std:.1f}% ({result.seconds:.1f} s)"
    )
    print_table(
        [(name, f"{100 * acc:.1f}%") for name, acc in result.per_class.items()], ("class", "accuracy")
    )
    if args.out:
        print(f"saved {args.out} and {Path(args.out).with_suffix('.json')}")
    return 0


def _progress(fraction: float, message: str) -> None:
    sys.stderr.write(f"\r{100 * fraction:5.1f}% {message[:70]:<70}")
    sys.stderr.flush()


def _predict(args: argparse.Namespace) -> int:
    from cvviz.data.images import load_image
    from cvviz.transfer.lab import load_head, predict_with_head

    if not (args.head and args.predict):
        raise CvvizError("--head and --predict go together: a saved head and the image it should read.")
    meta_path = Path(args.head).with_suffix(".json")
    try:
        meta = meta_path.read_text()
        state = Path(args.head).read_bytes()
    except OSError as exc:
        raise CvvizError(
            f"Could not read the head {args.head} and its {meta_path.name}: {exc.strerror or exc}."
        ) from exc
    try:
        model_name = json.loads(meta)["model"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CvvizError(f"{meta_path.name} is not a head description cvviz wrote.") from exc
    loaded = load_for_command(get_spec(str(model_name), task="classification"), args, "features")
    head = load_head(state, meta, loaded)
    probabilities = predict_with_head(loaded, head, load_image(args.predict).image)
    ranked = sorted(zip(head.classes, probabilities.tolist()), key=lambda pair: -pair[1])
    if args.json:
        print_json([{"label": label, "prob": prob} for label, prob in ranked])
    else:
        print_table([(label, f"{100 * prob:.2f}%") for label, prob in ranked], ("label", "prob"))
    return 0
