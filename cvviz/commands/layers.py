"""``python -m cvviz layers MODEL``: every module with its output shape, parameters and MACs."""

from __future__ import annotations

import argparse

from cvviz.commands._output import print_json, print_table
from cvviz.formatting import format_number
from cvviz.i18n import _

ORDER = 30


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("layers", help="layer table: output shapes, parameters and MACs")
    parser.add_argument("model", help="catalog name (see `python -m cvviz models`)")
    parser.add_argument(
        "--depth", type=int, default=None, help="group rows to this depth (default: every module)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.architecture import group_layers, max_depth
    from cvviz.catalog import get_spec
    from cvviz.measure.complexity import complexity_for_spec
    from cvviz.tasks.parts import task_complexity

    spec = get_spec(args.model)
    complexity = complexity_for_spec(spec) if spec.task == "classification" else task_complexity(spec)
    depth = max_depth(complexity) if args.depth is None else max(0, args.depth)
    rows = [
        {
            "name": g.name,
            "type": g.type,
            "output_shape": list(g.output_shape) if g.output_shape else None,
            "params": g.params,
            "macs": g.macs,
            "flops": g.flops,
            "mac_share": g.mac_share,
        }
        for g in group_layers(complexity, depth)
    ]
    if args.json:
        print_json(rows)
    else:
        print_table(
            [
                (
                    r["name"],
                    r["type"],
                    "×".join(map(str, r["output_shape"] or [])) or "-",
                    format_number(r["params"]),
                    format_number(r["macs"]),
                )
                for r in rows
            ],
            (_("name"), _("type"), _("output"), _("params"), "MACs"),
        )
        print(
            _("total: {params} parameters, {macs} MACs").format(
                params=format_number(complexity.params), macs=format_number(complexity.macs)
            )
        )
    return 0
