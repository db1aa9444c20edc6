"""``python -m cvviz weights fetch|list``: pre-fetch pretrained weights for offline use, and see the cache."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import get_spec, list_models
from cvviz.commands._output import EXIT_ERROR, print_json, print_table, terminal_progress
from cvviz.errors import CvvizError, WeightsError
from cvviz.formatting import format_decimal
from cvviz.i18n import _

ORDER = 90


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("weights", help="pre-fetch or list pretrained weights")
    subcommands = parser.add_subparsers(dest="weights_command", required=True, parser_class=type(parser))
    fetch = subcommands.add_parser("fetch", help="download weights into the torch cache")
    fetch.add_argument("names", nargs="*", help="catalog names")
    fetch.add_argument(
        "--all",
        action="store_true",
        help="every model with pretrained weights, task and self-supervised models too",
    )
    fetch.set_defaults(run=run_fetch)
    listing = subcommands.add_parser("list", help="what is cached, and sizes")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    from cvviz.models.weights import list_cached_weights

    rows = list_cached_weights()
    if args.json:
        print_json(
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
    print_table(
        [
            (
                r.model,
                _("yes") if r.cached else _("no"),
                f"{format_decimal(r.size_bytes / 2**20, 1)} MB" if r.size_bytes else "",
                r.filename,
            )
            for r in rows
        ],
        (_("model"), _("cached"), _("size"), _("file")),
    )
    cached = [r for r in rows if r.cached]
    total = sum(r.size_bytes or 0 for r in cached)
    print(
        _("{cached} of {total} cached, {gigabytes} GB").format(
            cached=len(cached), total=len(rows), gigabytes=format_decimal(total / 2**30, 2)
        )
    )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from cvviz.models.weights import download_weights

    if args.all:
        # Packaged weights need no download.
        specs = [s for s in list_models(task=None) if s.pretrained_available and s.packaged_weights is None]
    elif args.names:
        specs = [get_spec(name) for name in args.names]
    else:
        raise CvvizError(_("Name at least one model, or pass --all."))
    failures = 0
    for spec in specs:
        if spec.packaged_weights:
            print(_("{model}: weights ship with the installed package").format(model=spec.name))
            continue
        if not spec.pretrained_available:
            print(_("{model}: no pretrained weights exist").format(model=spec.name), file=sys.stderr)
            continue
        try:
            path = download_weights(spec, progress=terminal_progress(spec.name))
        except WeightsError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(f"{spec.name}: {path}")
    return EXIT_ERROR if failures else 0
