"""Benchmark: count parameters and FLOPs for the whole catalog on the meta device, and time it.

Run with ``python -m benchmarks.profile_catalog``; prints the device, total and slowest models, as recorded
in ``docs/benchmarks.md`` under "Profiling".
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cvviz.catalog import list_models
from cvviz.complexity import complexity_for_spec


def main() -> None:
    specs = list_models()
    timings = []
    start = time.perf_counter()
    for spec in specs:
        begin = time.perf_counter()
        complexity_for_spec(spec)
        timings.append((time.perf_counter() - begin, spec.name))
    total = time.perf_counter() - start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"device: CPU ({platform.processor() or platform.machine()}), {os.cpu_count()} cores, load {load:.1f}"
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"counted {len(specs)} models (params + MACs, meta device) in {total:.1f} s")
    print("slowest: " + ", ".join(f"{name} {seconds:.2f} s" for seconds, name in sorted(timings)[-5:][::-1]))


if __name__ == "__main__":
    main()
