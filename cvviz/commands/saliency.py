"""``python -m cvviz saliency IMAGE --method NAME --out FILE.npz``: an attribution map for one image."""

from __future__ import annotations

import argparse

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.i18n import N_

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("saliency", help="which pixels drove the prediction (attribution map)")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--method", default="integrated_gradients", help="attribution method")
    parser.add_argument("--target", type=int, help="ImageNet class index (default: the top-1 prediction)")
    add_weights_arguments(parser)
    parser.add_argument("--out", required=True, help="output .npz with `attribution` (H×W) and `target`")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import numpy as np

    from cvviz.data.images import load_image
    from cvviz.explain.saliency import attribute, get_method
    from cvviz.jobs import Job
    from cvviz.models.inference import predict, preprocess

    method = get_method(args.method)
    spec = get_spec(args.model, task="classification")
    loaded_image = load_image(args.image)
    loaded = load_for_command(spec, args, N_("saliency maps"))
    target = args.target
    if target is None:
        target = predict(loaded, loaded_image.image, topk=1)[0].index
    tensor = preprocess(loaded_image.image, spec)
    if method.per_channel:  # one forward pass per batch of channels: say how far it has got
        job = Job(
            method.title,
            lambda reporter: attribute(loaded, spec, tensor, args.method, target, reporter=reporter),
        )
        result = job.run(_progress)
        sys.stderr.write("\n")
    else:
        result = attribute(loaded, spec, tensor, args.method, target)
    np.savez_compressed(args.out, attribution=result.map, target=np.int64(result.target))
    print(f"{args.method} for class {result.target} ({spec.categories[result.target]}) → {args.out}")
    return 0


def _progress(fraction: float, message: str) -> None:
    import sys

    sys.stderr.write(f"\r{100 * fraction:5.1f}% {message[:70]:<70}")
    sys.stderr.flush()
