"""``python -m cvviz scaling MODEL… --sizes 224,320,448``: how parameters, MACs (attention apart), activation
memory and, with ``--latency``, latency grow with the input size and width multiplier; ``--mobilenet-grid``
and ``--compound`` print MobileNet V1's α × ρ grid beside the paper and EfficientNet's compound scaling."""

from __future__ import annotations

import argparse
import sys

from cvviz.commands._output import print_records, print_table
from cvviz.errors import CvvizError
from cvviz.i18n import _

ORDER = 35


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "scaling", help="how cost grows with input size and width (MACs, attention, memory, latency)"
    )
    parser.add_argument(
        "names", nargs="*", help="catalog names (default: ViT-B/16, Swin-T, ResNet-50, ConvNeXt-T)"
    )
    parser.add_argument(
        "--sizes", default="224,320,448,640", help="input sizes in pixels (default 224,320,448,640)"
    )
    parser.add_argument("--width", default="1.0", help="width multipliers, e.g. 1.0,0.5 (MobileNets only)")
    parser.add_argument("--latency", action="store_true", help="also time each point at batch 1")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="for --latency")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per point (default 10)")
    tables = parser.add_mutually_exclusive_group()
    tables.add_argument(
        "--mobilenet-grid", action="store_true", help="MobileNet V1 width α × resolution ρ beside the paper"
    )
    tables.add_argument(
        "--compound", action="store_true", help="EfficientNet B0–B7 and Lite0–2: depth, width, resolution"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--csv", action="store_true", help="print CSV")
    parser.set_defaults(run=run)


def _terminal_progress(fraction: float, message: str) -> None:
    sys.stderr.write(f"\r{100 * fraction:5.1f}% {message:<60}")
    if fraction >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from cvviz.measure import scaling

    if args.mobilenet_grid:
        return _mobilenet(args, scaling)
    if args.compound:
        return _compound(args, scaling)
    names = args.names or list(scaling.INPUT_SWEEP_MODELS)
    sizes = scaling.parse_sizes(args.sizes)
    widths = scaling.parse_widths(args.width)
    if args.runs < 1:
        raise CvvizError(_("--runs must be at least 1."))
    rows = scaling.sweep(names, sizes, widths)
    if args.latency:
        job = scaling.latency_job(rows, args.device, runs=args.runs)
        rows = job.run(_terminal_progress if sys.stderr.isatty() else None)
    if print_records([row.to_record() for row in rows], args.json, args.csv):
        return 0
    header = ["model", "size", "width", "tokens", "params", "GMACs", "attention", "conv", "linear", "act. MB"]
    if args.latency:
        header += ["ms (b=1)", "error"]
    table = []
    for r in rows:
        cells = [
            r.model, r.size, f"{r.width:g}", r.tokens or "-", f"{r.params / 1e6:.2f}M", f"{r.macs / 1e9:.3f}",
            f"{r.attention_macs / 1e9:.3f}", f"{r.conv_macs / 1e9:.3f}", f"{r.linear_macs / 1e9:.3f}",
            f"{r.activation_bytes / 2**20:.1f}",
        ]  # fmt: skip
        if args.latency:
            cells += ["-" if r.latency_ms is None else f"{r.latency_ms:.2f}", r.error or ""]
        table.append(cells)
    print_table(table, header)
    for slope in scaling.fitted_slopes(rows):
        print(
            _("{title} (α={width:g}): {part} MACs ∝ {against}^{slope:.2f} over {points} sizes").format(
                title=slope.title,
                width=slope.width,
                part=slope.part,
                against=slope.against,
                slope=slope.slope,
                points=slope.points,
            )
        )
    for note in dict.fromkeys(f"{r.title} at {r.size}: {r.note}" for r in rows if r.note):
        print(note)
    print(_(scaling.MACS_HOW))
    print(_(scaling.ATTENTION_HOW))
    print(_(scaling.MEMORY_HOW))
    if args.latency and rows:
        print(_(scaling.LATENCY_HOW).format(device=rows[0].device))
    return 0


def _mobilenet(args: argparse.Namespace, paper_scaling) -> int:
    cells = paper_scaling.mobilenet_grid()
    records = [
        {
            "width": c.width,
            "size": c.size,
            "params": c.params,
            "macs": c.macs,
            "paper_params": None if c.published is None else c.published.params,
            "paper_macs": None if c.published is None else c.published.macs,
            "paper_top1": None if c.published is None else c.published.top1,
        }
        for c in cells
    ]
    if print_records(records, args.json, args.csv):
        return 0

    def paper(value: float | None, scale: float = 1e6) -> str:
        return "-" if value is None else f"{value / scale:.1f}M"

    print_table(
        [
            (
                f"{c.width:g}",
                c.size,
                f"{c.macs / 1e6:.1f}M",
                paper(c.published and c.published.macs),
                f"{c.params / 1e6:.2f}M",
                paper(c.published and c.published.params),
                "-" if c.published is None else f"{c.published.top1:.1f}",
            )
            for c in cells
        ],
        ("α", "size", "mult-adds", "paper", "params", "paper", "paper top-1 %"),
    )
    print(_("Counted on MobileNet V1 built at each width and size (meta device). Paper: {source}.").format(
        source=paper_scaling.MOBILENET_SOURCE
    ))  # fmt: skip
    return 0


def _compound(args: argparse.Namespace, paper_scaling) -> int:
    rows = paper_scaling.compound_scaling(paper_scaling.EFFICIENTNET_B) + paper_scaling.compound_scaling(
        paper_scaling.EFFICIENTNET_LITE
    )
    if print_records([row.to_record() for row in rows], args.json, args.csv):
        return 0
    print_table(
        [
            (
                r.model,
                r.blocks,
                f"{r.depth_ratio:.2f}",
                r.channels,
                f"{r.width_ratio:.2f}",
                r.size,
                f"{r.resolution_ratio:.2f}",
                f"{r.params / 1e6:.2f}M",
                f"{r.macs / 1e9:.2f}",
                "-" if r.acc1 is None else f"{r.acc1:.1f}",
            )
            for r in rows
        ],
        ("model", "blocks", "×depth", "channels", "×width", "size", "×res.", "params", "GMACs", "top-1 %"),
    )
    print(_("Depth, width and resolution read from each model built on meta; ratios to B0 and to Lite0."))
    for source in dict.fromkeys(r.accuracy_source for r in rows if r.accuracy_source):
        print(_("Top-1 (published): {source}").format(source=source))
    return 0
