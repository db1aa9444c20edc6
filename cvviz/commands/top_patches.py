"""``python -m cvviz top-patches DIR --model NAME --layer LAYER --channel C --k 9 --out patches.png``: the
image patches of a folder that excite one channel most, each cropped to the unit's receptive field."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.i18n import N_, _

ORDER = 43


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("top-patches", help="the patches of a folder that excite a channel most")
    parser.add_argument("folder", help="a folder of images (sub-folders too)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--layer", help="module name (default: the last stage); see `python -m cvviz layers`")
    parser.add_argument("--channel", type=int, required=True, help="channel index")
    parser.add_argument("--k", type=int, default=9, help="how many patches (default 9)")
    parser.add_argument(
        "--limit", type=int, default=2000, help="read at most this many images (default 2000)"
    )
    parser.add_argument(
        "--out", required=True, help="output PNG with the patches side by side, strongest first"
    )
    parser.add_argument("--json", action="store_true", help="print the patches as JSON")
    add_weights_arguments(parser, device_default="auto")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.explain.neurons import from_folder, maxima_job, top_patches, unit_field
    from cvviz.explain.neurons.tiles import tile
    from cvviz.models.workbench import Workbench

    spec = get_spec(args.model)
    layer = args.layer or spec.stages[-1]
    images = from_folder(args.folder, limit=args.limit)
    loaded = load_for_command(spec, args, N_("top patches"))
    maxima = maxima_job(Workbench(), loaded, images, layer).run(None if args.json else _progress)
    if not args.json:
        sys.stderr.write("\n")
    field = unit_field(spec, layer)
    patches = top_patches(maxima, images, spec, args.channel, args.k, field)
    tile([p.pixels for p in patches], cell=96).save(args.out)
    records = [
        {"image": p.name, "activation": p.activation, "unit": list(p.unit), "box": list(p.box)}
        for p in patches
    ]
    if args.json:
        print_json({"model": spec.name, "layer": layer, "channel": args.channel, "patches": records})
        return 0
    print_table(
        [(r["image"], f"{r['activation']:.3f}", f"{r['unit'][0]},{r['unit'][1]}", r["box"]) for r in records],
        (_("image"), _("activation"), _("unit"), _("box (top, left, bottom, right)")),
    )
    size = f"{field.size[0]}×{field.size[1]}" if field is not None else _("the whole image")
    print(
        _("{count} of {total} images; receptive field {size} → {out}").format(
            count=len(patches), total=len(images), size=size, out=args.out
        )
    )
    for name in images.skipped:
        print("warning: " + _("could not read {name}; skipped.").format(name=name), file=sys.stderr)
    return 0


def _progress(fraction: float, message: str) -> None:
    sys.stderr.write(f"\r{100 * fraction:5.1f}% {message[:70]:<70}")
    sys.stderr.flush()
