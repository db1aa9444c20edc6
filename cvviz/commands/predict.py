"""``python -m cvviz predict IMAGE``: the top-k classes for an image."""

from __future__ import annotations

import argparse

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.formatting import format_percent
from cvviz.i18n import N_, _

ORDER = 20


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("predict", help="top-k prediction for an image")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--topk", type=int, default=5, help="how many classes (default 5)")
    add_weights_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.data.images import load_image
    from cvviz.models.inference import predict

    spec = get_spec(args.model, task="classification")
    loaded_image = load_image(args.image)
    loaded = load_for_command(spec, args, N_("predictions"))
    predictions = predict(loaded, loaded_image.image, topk=args.topk)
    if args.json:
        print_json([{"index": p.index, "label": p.label, "prob": p.prob} for p in predictions])
    else:
        print_table(
            [(p.index, p.label, format_percent(p.prob, 2)) for p in predictions],
            (_("index"), _("label"), _("probability")),
        )
    return 0
