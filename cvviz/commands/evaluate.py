"""``python -m cvviz evaluate DIR --models NAME… | --all``: top-1/top-5 on a labelled folder, resumable.

Runs on one process, or on several started by ``torchrun`` (one per GPU, on one or many nodes), each
evaluating its shard of the images; rank 0 prints and writes the results.
"""

from __future__ import annotations

import argparse
import json
import sys

from cvviz.catalog import get_spec
from cvviz.commands._models import read_weights_file
from cvviz.commands._output import EXIT_ERROR, terminal_progress
from cvviz.errors import CvvizError
from cvviz.i18n import _

ORDER = 35


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate", help="measure top-1/top-5 on an ImageNet-style folder (resumable, torchrun-ready)"
    )
    add = parser.add_argument
    add("folder", help="one sub-folder per class (WordNet ids with LOC_synset_mapping.txt, indices or names)")
    models = parser.add_mutually_exclusive_group(required=True)
    models.add_argument("--models", nargs="+", metavar="NAME", help="catalog names")
    models.add_argument("--all", action="store_true", help="every catalog classifier with trained weights")
    add("--batch", type=int, default=64, help="images per forward pass (default 64)")
    add("--workers", type=int, default=4, help="DataLoader worker processes decoding JPEGs (default 4)")
    add("--limit", type=int, help="a seeded random choice of this many images (default: all)")
    add("--out", help="results CSV, appended to and resumed from (default: the cache's evaluation.csv)")
    add("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    add("--weights", help="a state_dict file for the one model named (loaded with weights_only=True)")
    add("--json", action="store_true", help="one JSON object per model")
    parser.set_defaults(run=run)


def _download_progress(name: str):
    return terminal_progress(_("Downloading {name}").format(name=name))


def run(args: argparse.Namespace) -> int:
    from cvviz.device import resolve_device
    from cvviz.measure.distributed import init_distributed
    from cvviz.measure.evaluation import catalog_evaluation_job, evaluable_models
    from cvviz.measure.evaluation_results import default_results_path

    names = (
        evaluable_models()
        if args.all
        else [get_spec(name, task="classification").name for name in args.models]
    )
    resolve_device(args.device)  # refuse an absent GPU before anything starts
    user_weights = read_weights_file(args.weights) if args.weights else None
    out = args.out or default_results_path()
    ranks = init_distributed(args.device)
    try:
        shown = {"line": False}

        def progress(fraction: float, message: str) -> None:
            if ranks.main and not args.json:
                sys.stderr.write(f"\r{100 * fraction:5.1f}%  {message:<60.60}")
                sys.stderr.flush()
                shown["line"] = True

        def on_model(name: str, record, error: str | None) -> None:
            if shown["line"]:
                sys.stderr.write("\r" + " " * 68 + "\r")
            if args.json:
                data = {"model": name, "error": error}
                if record is not None:
                    data.update(
                        images=record.images, top1=record.top1, top5=record.top5, skipped=record.skipped,
                        device=record.device, processes=record.processes, seconds=record.seconds,
                        measured_at=record.measured_at,
                    )  # fmt: skip
                print(json.dumps(data), flush=True)
            elif error is not None:
                print(_("{name}: {error}").format(name=name, error=error), file=sys.stderr, flush=True)
            else:
                print(
                    _("{name}: top-1 {top1:.2f}%  top-5 {top5:.2f}%  on {images} images ({when})").format(
                        name=name, top1=record.top1, top5=record.top5, images=record.images,
                        when=record.measured_at,
                    ),
                    flush=True,
                )  # fmt: skip

        job = catalog_evaluation_job(
            names, args.folder, out, batch_size=args.batch, workers=args.workers, limit=args.limit,
            device=args.device, user_weights=user_weights, distributed=ranks,
            download_progress=_download_progress, on_model=on_model,
        )  # fmt: skip
        summary = job.run(progress)
    finally:
        ranks.close()
    if ranks.main and not args.json:
        if summary.resumed:
            print(
                _("{count} already in {out}, not redone: {names}").format(
                    count=len(summary.resumed), out=out, names=", ".join(summary.resumed)
                )
            )
        print(_("Results: {out}").format(out=out))
    if summary.errors and not summary.measured and not summary.resumed:
        raise CvvizError(summary.errors[0][1])
    return EXIT_ERROR if summary.errors else 0
