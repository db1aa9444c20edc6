"""``python -m cvviz rf MODEL``: the theoretical receptive field of every layer of a catalog CNN."""

from __future__ import annotations

import argparse

from cvviz.catalog import get_spec
from cvviz.commands._output import print_json, print_table
from cvviz.i18n import _

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("rf", help="receptive field of every layer of a CNN")
    parser.add_argument("model", help="catalog name")
    parser.add_argument("--input-size", type=int, help="input height and width (default: the model's own)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _compact(pair: tuple[int, int]) -> int | list[int]:
    """One number when both axes agree, else [h, w]."""
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def run(args: argparse.Namespace) -> int:
    from cvviz.explain.receptive_field import receptive_field_for_spec

    fields = receptive_field_for_spec(get_spec(args.model, task="classification"), args.input_size)
    rows = [
        {
            "layer": f.layer,
            "size": _compact(f.size),
            "stride": _compact(f.stride),
            "padding": _compact(f.padding),
            "exact": f.exact,
        }
        for f in fields
    ]
    if args.json:
        print_json(rows)
    else:
        print_table(
            [
                (r["layer"], r["size"], r["stride"], r["padding"], _("yes") if r["exact"] else _("no"))
                for r in rows
            ],
            (_("layer"), _("size"), _("stride"), _("padding"), _("exact")),
        )
    return 0
