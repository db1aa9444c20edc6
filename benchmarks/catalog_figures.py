"""Benchmark: parameters and MACs for the whole catalog, cold (counted) and warm (read back from disk).

Run with ``python -m benchmarks.catalog_figures [--repeats N]``. Cold: a fresh cache folder, so
:func:`cvviz.measure.catalog_figures.catalog_summaries` counts every model on the meta device in worker
processes and persists the rows; warm: the same call with the rows on disk. Also times the per-layer
counter (``complexity_for_spec``, one process) that the catalog was counted with before, for the ratio.
Results are recorded in ``docs/benchmarks.md`` under "Catalog figures".
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-layer", action="store_true", help="also time the per-layer counter once")
    args = parser.parse_args()

    import torch

    from cvviz.catalog import list_models
    from cvviz.measure import catalog_figures

    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            os.environ[catalog_figures.CACHE_ENV] = folder
            cold.append(_timed(catalog_figures.catalog_summaries))
            warm.append(_timed(catalog_figures.catalog_summaries))
    load = os.getloadavg()[0]
    print(
        f"device: CPU ({platform.machine()}), {os.cpu_count()} cores, load {load:.1f}; torch {torch.__version__}"
    )
    print(f"{len(list_models())} models, {args.repeats} repeats")
    print(
        f"cold (count + persist): median {statistics.median(cold):.1f} s  (runs: {', '.join(f'{t:.1f}' for t in cold)})"
    )
    print(f"warm (read back):       median {statistics.median(warm) * 1000:.0f} ms")
    if args.per_layer:
        from cvviz.measure.complexity import complexity_for_spec

        serial = _timed(lambda: [complexity_for_spec(spec) for spec in list_models()])
        print(
            f"per-layer counter, one process: {serial:.1f} s ({serial / statistics.median(cold):.1f}× the cold time)"
        )


if __name__ == "__main__":
    main()
