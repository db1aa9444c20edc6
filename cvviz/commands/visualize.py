"""``python -m cvviz visualize --model NAME --layer LAYER --channel C --out unit.png``: the image that
excites a unit most, optimised from noise (feature visualisation)."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _

ORDER = 42


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("visualize", help="optimise an image that excites a channel or class")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    parser.add_argument("--layer", help="module name (default: the last stage); see `python -m cvviz layers`")
    parser.add_argument(
        "--channel", help="channel index, or several separated by commas (optimised together)"
    )
    parser.add_argument(
        "--class", dest="klass", type=int, help="a class logit to maximise instead of a channel"
    )
    parser.add_argument("--steps", type=int, default=512, help="optimisation steps (default 512)")
    parser.add_argument("--size", type=int, help="image side in pixels (default: the model's input size)")
    parser.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting noise and transformations")
    parser.add_argument("--no-transforms", action="store_true", help="no random jitter, scale and rotation")
    parser.add_argument(
        "--pixels", action="store_true", help="optimise pixels, not decorrelated Fourier space"
    )
    parser.add_argument("--out", required=True, help="output PNG (several channels: side by side)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    add_weights_arguments(parser, device_default="auto")
    parser.set_defaults(run=run)


def _channels(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CvvizError(
            _("--channel takes channel numbers separated by commas, not {text!r}.").format(text=text)
        ) from exc


def run(args: argparse.Namespace) -> int:
    from cvviz.explain.neurons import Objective, VisualizationSettings, visualization_job
    from cvviz.explain.neurons.tiles import tile
    from cvviz.models.workbench import Workbench

    if (args.channel is None) == (args.klass is None):
        raise CvvizError(_("Give either --channel or --class."))
    spec = get_spec(args.model)
    settings = VisualizationSettings(
        steps=args.steps,
        size=args.size,
        lr=args.lr,
        fft=not args.pixels,
        decorrelate=not args.pixels,
        transforms=not args.no_transforms,
        seed=args.seed,
    )
    settings.check()
    if args.klass is not None:
        objectives = [Objective.logit(args.klass)]
    else:
        layer = args.layer or spec.stages[-1]
        objectives = [Objective.channel(layer, c) for c in _channels(args.channel)]
    loaded = load_for_command(spec, args, N_("feature visualisations"))
    job = visualization_job(Workbench(), loaded, objectives, settings)
    results = job.run(None if args.json else _progress)
    if not args.json:
        sys.stderr.write("\n")
    tile([r.image for r in results], cell=settings.size or spec.input_size).save(args.out)
    records = [
        {
            "objective": r.objective.label,
            "activation": r.activation,
            "photo_activation": r.photo_activation,
            "truth_ratio": r.truth_ratio,
            "seconds": r.seconds,
        }
        for r in results
    ]
    if args.json:
        print_json({"model": spec.name, "steps": settings.steps, "out": args.out, "results": records})
        return 0
    print_table(
        [
            (
                r["objective"],
                f"{r['activation']:.3f}",
                f"{r['photo_activation']:.3f}",
                "—" if r["truth_ratio"] is None else f"{r['truth_ratio']:.1f}×",
            )
            for r in records
        ],
        (_("objective"), _("optimised"), _("best photo"), _("ratio")),
    )
    print(
        _("{count} images in {seconds} s → {out}").format(
            count=len(results), seconds=f"{results[0].seconds:.1f}", out=args.out
        )
    )
    return 0


def _progress(fraction: float, message: str) -> None:
    sys.stderr.write(f"\r{100 * fraction:5.1f}% {message[:70]:<70}")
    sys.stderr.flush()
