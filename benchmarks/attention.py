"""Time recording every layer's attention of a ViT for one image against a plain forward pass.

Run: ``python -m benchmarks.attention [--model vit_b_16] [--runs N]``. Prints the median of N runs of each
and the ratio (all layers' attention / plain forward): the cost of the pre-hooks plus recomputing
softmax(QKᵀ/√d) for every layer and copying it to numpy. Random weights (timing does not depend on
them); not part of the test suite.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.timing import median_seconds
from cvviz.catalog import get_spec
from cvviz.data.images import load_sample
from cvviz.device import runtime_summary
from cvviz.explain.attention import vit_attention_for
from cvviz.models.build import build_architecture
from cvviz.models.inference import preprocess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--model", default="vit_b_16")
    args = parser.parse_args()
    spec = get_spec(args.model)
    model = build_architecture(spec).requires_grad_(False)
    batch = preprocess(load_sample("cat").image, spec)

    def plain() -> None:
        with torch.inference_mode():
            model(batch)

    plain_s = median_seconds(plain, args.runs)
    attention_s = median_seconds(lambda: vit_attention_for(spec, model, batch), args.runs)
    print(f"device: {runtime_summary()}, torch threads: {torch.get_num_threads()}")
    print(f"{spec.title}, {len(spec.attention_layers)} attention layers, median of {args.runs} runs")
    print(f"plain forward:        {1000 * plain_s:8.1f} ms")
    print(f"all layers' attention: {1000 * attention_s:8.1f} ms")
    print(f"ratio:                {attention_s / plain_s:8.3f}")


if __name__ == "__main__":
    main()
