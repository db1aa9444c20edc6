"""``python -m cvviz predict IMAGE``: the top-k classes for an image."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._output import print_json, print_table, terminal_progress
from cvviz.errors import WeightsError

ORDER = 20


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("predict", help="top-k prediction for an image")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--weights", help="a state_dict file for the model (loaded with weights_only=True)")
    parser.add_argument("--untrained", action="store_true", help="use random weights")
    parser.add_argument("--topk", type=int, default=5, help="how many classes (default 5)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.images import load_image
    from cvviz.inference import predict
    from cvviz.model_cache import ModelCache

    spec = get_spec(args.model)
    loaded_image = load_image(args.image)
    cache = ModelCache()
    if args.weights:
        with open(args.weights, "rb") as handle:
            loaded = cache.get(spec.name, "user", device=args.device, user_weights=handle.read())
    elif args.untrained or not spec.pretrained_available:
        print(f"warning: {spec.title} has random weights; its predictions mean nothing.", file=sys.stderr)
        loaded = cache.get(spec.name, "random", device=args.device)
    else:
        try:
            loaded = cache.get(
                spec.name,
                "pretrained",
                device=args.device,
                progress=terminal_progress(f"Downloading {spec.name}"),
            )
        except WeightsError as exc:
            raise WeightsError(
                f"{exc} Fetch them while online with `python -m cvviz weights fetch {spec.name}`, "
                "pass --weights PATH, or --untrained for random weights."
            ) from exc
    predictions = predict(loaded, loaded_image.image, topk=args.topk)
    if args.json:
        print_json([{"index": p.index, "label": p.label, "prob": p.prob} for p in predictions])
    else:
        print_table(
            [(p.index, p.label, f"{100 * p.prob:.2f}%") for p in predictions], ("index", "label", "prob")
        )
    return 0
