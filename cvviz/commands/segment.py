"""``python -m cvviz segment IMAGE --model NAME``: a semantic segmentation model's class for every pixel."""

from __future__ import annotations

import argparse

from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.formatting import format_percent
from cvviz.i18n import N_, _

ORDER = 22


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("segment", help="a class for every pixel, from a segmentation model")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default="deeplabv3_resnet50", help="a segmentation model's catalog name")
    parser.add_argument("--out", help="write the class map as a PNG (pixel value = class index)")
    add_weights_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON: each class's pixel share")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from cvviz.catalog import get_spec
    from cvviz.data.images import load_image
    from cvviz.tasks.pipeline import run_task

    spec = get_spec(args.model, task="semantic_segmentation")
    image = load_image(args.image).image
    loaded = load_for_command(spec, args, N_("class maps"))
    with loaded.exclusive() as model:
        result = run_task(spec, model, image)
    labels = result.semantic.labels
    if args.out:
        Image.fromarray(labels.astype(np.uint8), mode="L").save(args.out, format="PNG")
    rows = [
        {"label": spec.categories[i], "label_index": i, "pixels": n, "share": n / labels.size}
        for i, n in result.semantic.class_pixels()
    ]
    if args.json:
        print_json(
            {
                "model": spec.name,
                "size": list(labels.shape),
                "output_stride": result.semantic.output_stride,
                "classes": rows,
            }
        )
    else:
        print_table(
            [(r["label"], r["pixels"], format_percent(r["share"], 1)) for r in rows],
            (_("class"), _("pixels"), _("share")),
        )
        print(
            _("head output {shape} at stride {stride}, upsampled {how} to {height}×{width}").format(
                shape="×".join(map(str, result.semantic.output_shape)),
                stride=result.semantic.output_stride,
                how=result.semantic.upsampling,
                height=labels.shape[0],
                width=labels.shape[1],
            )
        )
    return 0
