"""Time extracting every stage output of ResNet-50 for one image against a plain forward pass.

Run: ``python -m benchmarks.feature_extraction [--runs N]``. Prints the median of N runs of each and the
ratio (extraction / plain forward): the cost of the hooks plus copying the maps to numpy. Random weights
(timing does not depend on them); not part of the test suite.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.timing import median_seconds
from cvviz.catalog import get_spec
from cvviz.data.images import load_sample
from cvviz.device import runtime_summary
from cvviz.explain.features import extract_features
from cvviz.models.build import build_architecture
from cvviz.models.inference import preprocess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--model", default="resnet50")
    args = parser.parse_args()
    spec = get_spec(args.model)
    model = build_architecture(spec).requires_grad_(False)
    batch = preprocess(load_sample("cat").image, spec)

    def plain() -> None:
        with torch.no_grad():
            model(batch)

    def extract() -> None:
        extract_features(model, batch, spec.stages)

    plain_s = median_seconds(plain, args.runs)
    extract_s = median_seconds(extract, args.runs)
    print(f"device: {runtime_summary()}, torch threads: {torch.get_num_threads()}")
    print(f"{spec.title}, {len(spec.stages)} stage outputs, median of {args.runs} runs")
    print(f"plain forward:      {1000 * plain_s:8.1f} ms")
    print(f"extract all stages: {1000 * extract_s:8.1f} ms")
    print(f"ratio:              {extract_s / plain_s:8.3f}")


if __name__ == "__main__":
    main()
