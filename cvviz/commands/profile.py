"""``python -m cvviz profile MODEL… | --all``: parameters, FLOPs, published accuracy and live timing."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog import get_spec, list_models
from cvviz.commands._output import print_records, print_table
from cvviz.errors import CvvizError
from cvviz.i18n import _

ORDER = 30


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("profile", help="compare parameters, FLOPs, accuracy and latency")
    parser.add_argument("names", nargs="*", help="catalog names")
    parser.add_argument("--all", action="store_true", help="every catalog model")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    parser.add_argument("--batch", type=int, default=8, help="batch size for throughput (default 8)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs at batch 1 (default 20)")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"), help="default fp32")
    parser.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    parser.add_argument("--no-latency", action="store_true", help="count only; do not run the models")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--csv", action="store_true", help="print CSV")
    parser.set_defaults(run=run)


def _progress(done: int, total: int, name: str) -> None:
    if name:
        sys.stderr.write(f"\r[{done + 1}/{total}] {name:<30}")
    else:
        sys.stderr.write("\r" + " " * 40 + "\r")
    sys.stderr.flush()


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    from cvviz.device import resolve_device
    from cvviz.measure.complexity import NOT_COUNTED
    from cvviz.measure.profiling import FLOPS_NOTE, profile_models, translate_row_note

    if args.all:
        names = [spec.name for spec in list_models()]
    elif args.names:
        names = [get_spec(name).name for name in args.names]
    else:
        raise CvvizError(_("Name at least one model, or pass --all."))
    if args.batch < 1 or args.runs < 1:
        raise CvvizError(_("--batch and --runs must be at least 1."))
    measure = not args.no_latency
    device = resolve_device(args.device)  # refuse an absent GPU even when only counting
    rows = profile_models(
        names,
        measure=measure,
        device=device,
        dtype=args.dtype,
        channels_last=args.channels_last,
        batch=args.batch,
        runs=args.runs,
        progress=_progress if sys.stderr.isatty() else None,
    )
    records = [row.to_record() for row in rows]
    if not print_records(records, args.json, args.csv):
        print_table(
            [
                (
                    r.model,
                    f"{r.params / 1e6:.2f}M",
                    f"{r.flops / 1e9:.2f}",
                    _number(r.acc1, 1),
                    _number(r.latency_ms),
                    _number(r.throughput, 1),
                    _number(r.tflops, 3),
                    r.error or "",
                )
                for r in rows
            ],
            ("model", "params", "GFLOPs", "top-1 %", "ms (b=1)", "img/s", "TFLOP/s", "error"),
        )
        print(_(FLOPS_NOTE).format(what=_(NOT_COUNTED)))
        print(_("Top-1 is the published figure, not measured here."))
        for r in rows:
            if r.note:
                print(f"{r.model}: {translate_row_note(r.note)}")
        if measure and rows:
            print(
                _("Measured on {device}, {dtype}, batch {batch} for throughput.").format(
                    device=rows[0].device, dtype=args.dtype, batch=args.batch
                )
            )
    return 0
