"""Benchmark: Integrated Gradients (50 steps, several ``internal_batch_size``) and Grad-CAM on ResNet-50.

Random weights (timing does not depend on them), one 224×224 image, on the CPU unless ``--device`` says
otherwise. Prints the median wall time of ``--repeats`` runs for each configuration, as Markdown rows.

    python -m benchmarks.saliency --repeats 3
"""

from __future__ import annotations

import argparse
import platform

import torch

from benchmarks.timing import median_seconds
from cvviz.catalog import get_spec
from cvviz.explain.saliency import SaliencyOptions, attribute, private_copy
from cvviz.models.build import build_architecture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="10,25,50")
    args = parser.parse_args()
    spec = get_spec("resnet50")
    device = torch.device(args.device)
    private = private_copy(build_architecture(spec).to(device), spec)
    x = torch.randn(1, 3, 224, 224, device=device)
    print(f"device: {args.device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), torch {torch.__version__}")  # fmt: skip
    print("| method | setting | median (s) |\n|---|---|---|")
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        options = SaliencyOptions(steps=50, internal_batch_size=batch)
        seconds = median_seconds(
            lambda o=options: attribute(private, spec, x, "integrated_gradients", 1, o), args.repeats
        )
        print(f"| Integrated Gradients, 50 steps | internal_batch_size={batch} | {seconds:.2f} |", flush=True)
    seconds = median_seconds(lambda: attribute(private, spec, x, "grad_cam", 1), args.repeats)
    print(f"| Grad-CAM | layer4 | {seconds:.2f} |")


if __name__ == "__main__":
    main()
