"""Benchmark: feature visualisation of a ResNet-50 layer-4 channel, and 8 channels batched against one at a
time.

Random weights (timing does not depend on them), the model's 224×224 input, decorrelated Fourier image and
the standard random transformations, on the CPU unless ``--device`` says otherwise. A 512-step run is
extrapolated from ``--steps`` measured steps (after a two-step warm-up), since every step costs the same; the
sample-photo comparison at the end is left out of the timing. Prints Markdown rows.

    python -m benchmarks.neurons --steps 16
    python -m benchmarks.neurons --device cuda --steps 512
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from cvviz.catalog import get_spec
from cvviz.explain.neurons import Objective, VisualizationSettings, visualize
from cvviz.explain.saliency import private_copy
from cvviz.models.build import build_architecture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--layer", default="layer4")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    spec = get_spec(args.model)
    device = torch.device(args.device)
    private = private_copy(build_architecture(spec).to(device), spec)
    settings = VisualizationSettings(steps=args.steps, size=args.size)
    objectives = [Objective.channel(args.layer, c) for c in range(args.channels)]

    def run(batch: list[Objective]) -> float:
        start = time.perf_counter()
        visualize(private, spec, batch, settings, compare_with_photos=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device: {args.device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), torch {torch.__version__}, load average {load:.1f}")  # fmt: skip
    size = args.size or spec.input_size
    print(
        f"| {spec.title} `{args.layer}`, {size}×{size} | measured | per 512 steps |\n|---|---|---|",
        flush=True,
    )
    visualize(
        private,
        spec,
        objectives[:1],
        VisualizationSettings(steps=2, size=args.size),
        compare_with_photos=False,
    )
    one = run(objectives[:1])
    print(f"| one channel, {args.steps} steps | {one:.1f} s | {one * 512 / args.steps:.0f} s |", flush=True)
    if args.channels == 1:
        return
    batched = run(objectives)
    print(
        f"| {args.channels} channels batched | {batched:.1f} s | {batched * 512 / args.steps:.0f} s |",
        flush=True,
    )
    alone = sum(run([objective]) for objective in objectives)
    print(f"| {args.channels} channels one at a time | {alone:.1f} s | {alone * 512 / args.steps:.0f} s |")
    print(f"| batching speed-up | {alone / batched:.2f}× | |")


if __name__ == "__main__":
    main()
