"""``python -m cvviz generate``: new digits, or an interpolation, from a model saved by generate-train."""

from __future__ import annotations

import argparse

from cvviz.errors import CvvizError

ORDER = 56


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate", help="digits from a VAE or GAN saved by generate-train, as a PNG"
    )
    add = parser.add_argument
    add("--model", required=True, help="a model saved by `generate-train --out`")
    add("--n", type=int, default=16, help="how many new digits (default 16)")
    add("--interpolate", type=int, nargs=2, metavar=("I", "J"),
        help="instead: the path between test digits I and J (autoencoders) or noise seeds I and J (GAN)")  # fmt: skip
    add("--steps", type=int, default=8, help="images along the interpolation (default 8)")
    add("--linear", action="store_true", help="GAN: a straight path through the noise, not a spherical one")
    add("--seed", type=int, default=0, help="random seed of the new digits")
    add("--out", required=True, help="where to save the picture (.png)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import math

    from PIL import Image

    from cvviz.generative.explore import interpolate_digits, interpolate_noise, samples, tile_digits
    from cvviz.generative.loop import load_checkpoint
    from cvviz.i18n import _
    from cvviz.training.data import load_dataset
    from cvviz.training.loop import SPLIT_SEED

    result = load_checkpoint(args.model)
    config = result.config
    if args.interpolate is not None:
        if not 2 <= args.steps <= 64:
            raise CvvizError(
                _("The number of steps must be from 2 to 64, not {value}.").format(value=args.steps)
            )
        first, second = args.interpolate
        if config.model == "gan":
            images = interpolate_noise(result, first, second, args.steps, spherical=not args.linear)
        else:
            images = interpolate_digits(
                result, load_dataset("digits", seed=SPLIT_SEED), first, second, args.steps
            )
        columns = args.steps
    else:
        if not 1 <= args.n <= 1024:
            raise CvvizError(
                _("The number of digits must be from 1 to 1024, not {value}.").format(value=args.n)
            )
        images = samples(result, args.n, args.seed)
        columns = math.ceil(math.sqrt(args.n))
    try:
        Image.fromarray(tile_digits(images, columns)).save(args.out, format="PNG")
    except (OSError, ValueError) as exc:
        raise CvvizError(
            _("Could not save the picture to {path}: {reason}.").format(path=args.out, reason=exc)
        ) from exc
    print(_("{count} digits saved to {path}").format(count=len(images), path=args.out))
    return 0
