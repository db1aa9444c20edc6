"""``python -m cvviz models``: the catalog."""

from __future__ import annotations

import argparse
import dataclasses

from cvviz.commands._output import print_json, print_table
from cvviz.formatting import format_decimal
from cvviz.i18n import _

ORDER = 10


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("models", help="list the model catalog")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.measure.catalog_figures import catalog_summaries

    rows = [dataclasses.asdict(row) for row in catalog_summaries()]
    if args.json:
        print_json(rows)
    else:
        print_table(
            [
                (
                    r["name"],
                    r["family"],
                    r["year"],
                    f"{format_decimal(r['params'] / 1e6, 1)}M",
                    r["input_size"],
                    r["acc1"] or "-",
                    _("yes") if r["pretrained_available"] else _("no"),
                )
                for r in rows
            ],
            (_("name"), _("family"), _("year"), _("params"), _("input"), _("top-1 %"), _("pretrained")),
        )
    return 0
