"""``python -m cvviz features IMAGE --model NAME --layer LAYER``: one layer's activations for an image."""

from __future__ import annotations

import argparse

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_table
from cvviz.i18n import N_

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("features", help="a layer's feature maps for an image (C×H×W)")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--layer", help="module name (default: the last stage); see `python -m cvviz layers`")
    parser.add_argument("--out", help="write the activations to this .npz file under the key 'features'")
    add_weights_arguments(parser, device_default="cpu")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cvviz.data.images import load_image
    from cvviz.explain.features import channel_order, extract_features
    from cvviz.models.inference import preprocess

    spec = get_spec(args.model, task="classification")
    layer = args.layer or spec.stages[-1]
    loaded_image = load_image(args.image)
    loaded = load_for_command(spec, args, N_("features"))
    feature = extract_features(loaded, preprocess(loaded_image.image, spec), [layer])[layer]
    maps = feature.maps
    if args.out:
        np.savez_compressed(args.out, features=maps, layer=layer, model=spec.name, kind=feature.kind)
        print(f"wrote {maps.shape[0]}×{maps.shape[1]}×{maps.shape[2]} ({feature.kind}) to {args.out}")
        return 0
    top = channel_order(maps, "mean")[:5]
    print(
        f"{spec.name} {layer}: {maps.shape[0]} channels of {maps.shape[1]}×{maps.shape[2]} ({feature.kind})"
    )
    print_table(
        [(int(c), f"{maps[c].mean():.4f}", f"{maps[c].max():.4f}") for c in top], ("channel", "mean", "max")
    )
    return 0
