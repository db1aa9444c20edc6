"""Time cvviz's meta-device counter against fvcore's FlopCountAnalysis on the same models.

Run: ``pip install fvcore`` (not a project dependency) then ``python -m benchmarks.flop_counters
[--models NAME ...]``. cvviz counts on the meta device (no weights, no memory); fvcore traces a real
model with random weights on the CPU, so each side's time includes building its model. Prints per-model
times, both MAC counts, the median per-model ratio and the totals.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from cvviz.catalog import get_spec
from cvviz.device import runtime_summary
from cvviz.measure.complexity import complexity_for_spec
from cvviz.models.build import build_architecture

DEFAULT_MODELS = (
    "alexnet", "vgg16", "googlenet", "inception_v3", "resnet50", "densenet121", "squeezenet1_1",
    "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0", "regnet_y_400mf", "vit_b_16", "swin_t",
    "convnext_tiny",
)  # fmt: skip


def main() -> None:
    from fvcore.nn import FlopCountAnalysis

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    args = parser.parse_args()
    print(f"device: {runtime_summary()}, torch threads: {torch.get_num_threads()}")
    ratios, ours_total, theirs_total = [], 0.0, 0.0
    for name in args.models:
        spec = get_spec(name)
        start = time.perf_counter()
        ours = complexity_for_spec(spec).macs
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        model = build_architecture(spec)
        analysis = FlopCountAnalysis(model, torch.zeros(1, *spec.input_shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        theirs = analysis.total()  # fvcore's "flops" are MACs
        theirs_s = time.perf_counter() - start
        ratios.append(ours_s / theirs_s)
        ours_total, theirs_total = ours_total + ours_s, theirs_total + theirs_s
        print(f"{name:20s} cvviz {ours_s:6.2f} s {ours / 1e9:8.3f} GMACs | fvcore {theirs_s:6.2f} s "
              f"{theirs / 1e9:8.3f} GMACs")  # fmt: skip
    print(f"total: cvviz {ours_total:.1f} s, fvcore {theirs_total:.1f} s; "
          f"median per-model time ratio cvviz/fvcore {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
