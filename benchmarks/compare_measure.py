"""Benchmark: the compare page's "Measure" for its default lineup, as the page runs it.

Run with ``python -m benchmarks.compare_measure [--throughput]``: counts (from the persisted catalog
figures) and then latency at batch 1 for the 13 models the page opens with, warm-up 1, at most 10 runs and
0.4 s per model after 3 runs, in a fresh process with a fresh workbench. Recorded in
``docs/benchmarks.md`` under "Compare page".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LINEUP = (
    "lenet5", "alexnet", "vgg16", "googlenet", "resnet50", "densenet121", "squeezenet1_1", "mobilenet_v2",
    "shufflenet_v2_x1_0", "efficientnet_b0", "vit_b_16", "swin_t", "convnext_tiny",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput", action="store_true", help="also throughput and memory at batch 8")
    args = parser.parse_args()
    import torch

    from cvviz.catalog import list_models
    from cvviz.measure.catalog_figures import catalog_summaries
    from cvviz.measure.profiling import profile_models
    from cvviz.models.workbench import Workbench

    catalog_summaries()
    list_models()  # the registry is loaded in a running app
    start = time.perf_counter()
    profile_models(LINEUP)
    counts = time.perf_counter() - start
    start = time.perf_counter()
    rows = profile_models(LINEUP, measure=True, cache=Workbench(), runs=10, warmup=1,
                          throughput=args.throughput, budget_s=0.4)  # fmt: skip
    measured = time.perf_counter() - start
    print(f"CPU, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; torch {torch.__version__}")
    print(f"counts for {len(LINEUP)} models: {counts * 1000:.0f} ms")
    print(f"measure ({'latency + throughput' if args.throughput else 'latency'}): {measured:.1f} s, "
          f"{sum(r.runs for r in rows)} timed runs")  # fmt: skip
    for row in rows:
        print(f"  {row.model:20s} {row.latency_ms:8.1f} ms  ({row.runs} runs)")


if __name__ == "__main__":
    main()
