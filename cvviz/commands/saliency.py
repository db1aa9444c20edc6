"""``python -m cvviz saliency IMAGE --method NAME --out FILE.npz``: an attribution map for one image."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._output import terminal_progress
from cvviz.errors import WeightsError

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("saliency", help="which pixels drove the prediction (attribution map)")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--method", default="integrated_gradients", help="attribution method")
    parser.add_argument("--target", type=int, help="ImageNet class index (default: the top-1 prediction)")
    parser.add_argument("--weights", help="a state_dict file for the model (loaded with weights_only=True)")
    parser.add_argument("--untrained", action="store_true", help="use random weights")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", required=True, help="output .npz with `attribution` (H×W) and `target`")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cvviz.images import load_image
    from cvviz.inference import predict, preprocess
    from cvviz.model_cache import ModelCache
    from cvviz.saliency import attribute, get_method

    get_method(args.method)
    spec = get_spec(args.model)
    loaded_image = load_image(args.image)
    cache = ModelCache()
    if args.weights:
        with open(args.weights, "rb") as handle:
            loaded = cache.get(spec.name, "user", device=args.device, user_weights=handle.read())
    elif args.untrained or not spec.pretrained_available:
        print(f"warning: {spec.title} has random weights; its saliency means little.", file=sys.stderr)
        loaded = cache.get(spec.name, "random", device=args.device)
    else:
        try:
            loaded = cache.get(
                spec.name, "pretrained", device=args.device, progress=terminal_progress(spec.name)
            )
        except WeightsError as exc:
            raise WeightsError(f"{exc} Pass --weights PATH, or --untrained for random weights.") from exc
    target = args.target
    if target is None:
        target = predict(loaded, loaded_image.image, topk=1)[0].index
    result = attribute(loaded, spec, preprocess(loaded_image.image, spec), args.method, target)
    np.savez_compressed(args.out, attribution=result.map, target=np.int64(result.target))
    print(f"{args.method} for class {result.target} ({spec.categories[result.target]}) → {args.out}")
    return 0
