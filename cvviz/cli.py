"""The command line: ``python -m cvviz COMMAND``, a first-class interface over the same library as the app.

Errors exit with status 2 and print one line, ``error: <sentence>``, on stderr; never a traceback
(set ``CVVIZ_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from cvviz.catalog import DEFAULT_MODEL, get_spec, list_models
from cvviz.errors import CvvizError, WeightsError

EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error:`` line, like every other cvviz error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see `{self.prog} --help`)\n")


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _print_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    cells = [[str(c) for c in header]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def terminal_progress(label: str) -> Callable[[int, int | None], None]:
    """A download progress bar drawn on stderr."""

    def update(done: int, total: int | None) -> None:
        mb = done / 2**20
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"\r{label} [{bar}] {mb:6.1f}/{total / 2**20:.1f} MB"
        else:
            text = f"\r{label} {mb:6.1f} MB"
        sys.stderr.write(text)
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update


# --- models -----------------------------------------------------------------------------------------


def _cmd_models(args: argparse.Namespace) -> int:
    from cvviz.summary import model_summaries

    rows = [dataclasses.asdict(row) for row in model_summaries()]
    if args.json:
        _print_json(rows)
    else:
        _print_table(
            [
                (
                    r["name"],
                    r["family"],
                    r["year"],
                    f"{r['params'] / 1e6:.1f}M",
                    r["input_size"],
                    r["acc1"] or "-",
                    "yes" if r["pretrained_available"] else "no",
                )
                for r in rows
            ],
            ("name", "family", "year", "params", "input", "top-1 %", "pretrained"),
        )
    return 0


# --- predict ----------------------------------------------------------------------------------------


def _cmd_predict(args: argparse.Namespace) -> int:
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
        _print_json([{"index": p.index, "label": p.label, "prob": p.prob} for p in predictions])
    else:
        _print_table(
            [(p.index, p.label, f"{100 * p.prob:.2f}%") for p in predictions], ("index", "label", "prob")
        )
    return 0


# --- weights ----------------------------------------------------------------------------------------


def _cmd_weights_list(args: argparse.Namespace) -> int:
    from cvviz.weights import list_cached_weights

    rows = list_cached_weights()
    if args.json:
        _print_json(
            [
                {
                    "model": r.model,
                    "file": r.filename,
                    "cached": r.cached,
                    "size_bytes": r.size_bytes,
                    "path": str(r.path) if r.path else None,
                }
                for r in rows
            ]
        )
        return 0
    _print_table(
        [
            (
                r.model,
                "yes" if r.cached else "no",
                f"{r.size_bytes / 2**20:.1f} MB" if r.size_bytes else "",
                r.filename,
            )
            for r in rows
        ],
        ("model", "cached", "size", "file"),
    )
    cached = [r for r in rows if r.cached]
    total = sum(r.size_bytes or 0 for r in cached)
    print(f"{len(cached)} of {len(rows)} cached, {total / 2**30:.2f} GB")
    return 0


def _cmd_weights_fetch(args: argparse.Namespace) -> int:
    from cvviz.weights import download_weights

    if args.all:
        specs = [spec for spec in list_models() if spec.torchvision_weights is not None]
    elif args.names:
        specs = [get_spec(name) for name in args.names]
    else:
        raise CvvizError("Name at least one model, or pass --all.")
    failures = 0
    for spec in specs:
        if spec.packaged_weights:
            print(f"{spec.name}: weights ship with the installed package")
            continue
        if spec.torchvision_weights is None:
            print(f"{spec.name}: no pretrained weights exist", file=sys.stderr)
            continue
        try:
            path = download_weights(spec, progress=terminal_progress(spec.name))
        except WeightsError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(f"{spec.name}: {path}")
    return EXIT_ERROR if failures else 0


# --- entry point ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m cvviz", description="Explore computer-vision backbones.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    models = commands.add_parser("models", help="list the model catalog")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(run=_cmd_models)

    predict = commands.add_parser("predict", help="top-k prediction for an image")
    predict.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    predict.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog name (default {DEFAULT_MODEL})")
    predict.add_argument("--weights", help="a state_dict file for the model (loaded with weights_only=True)")
    predict.add_argument("--untrained", action="store_true", help="use random weights")
    predict.add_argument("--topk", type=int, default=5, help="how many classes (default 5)")
    predict.add_argument("--device", default="auto", help="auto, cpu or cuda")
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.set_defaults(run=_cmd_predict)

    weights = commands.add_parser("weights", help="pre-fetch or list pretrained weights")
    weights_commands = weights.add_subparsers(dest="weights_command", required=True, parser_class=_Parser)
    fetch = weights_commands.add_parser("fetch", help="download weights into the torch cache")
    fetch.add_argument("names", nargs="*", help="catalog names")
    fetch.add_argument("--all", action="store_true", help="every model with pretrained weights")
    fetch.set_defaults(run=_cmd_weights_fetch)
    listing = weights_commands.add_parser("list", help="what is cached, and sizes")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_cmd_weights_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CvvizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("CVVIZ_DEBUG"):
            raise
        print(
            f"error: unexpected failure ({type(exc).__name__}: {exc}); set CVVIZ_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return EXIT_ERROR
