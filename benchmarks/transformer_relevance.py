"""Benchmark: transformer relevance (Chefer et al. 2021) against attention rollout on the deletion curve.

For each bundled sample photo, both maps of a ViT's top-1 class, then the deletion curve of each (the most
salient pixels set to black first, 20 steps; Petsiuk et al. 2018): the lower area under the class
probability wins. Needs the model's pretrained weights in the torch hub cache (``python -m cvviz weights
fetch NAME`` fetches them): a random ViT's classification head starts at zero, so its relevance is flat and
the comparison would say nothing; ``--untrained`` runs it anyway, to check the script. Prints Markdown rows.

    python -m benchmarks.transformer_relevance --model vit_b_16
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import torch

from cvviz.catalog import get_spec
from cvviz.data.images import load_sample, sample_images
from cvviz.explain.saliency import attribute, private_copy
from cvviz.explain.saliency.faithfulness import perturbation_curve
from cvviz.models.inference import predict, preprocess
from cvviz.models.weights import cached_weights_path
from cvviz.models.workbench import Workbench

METHODS = ("attention_rollout", "transformer_relevance")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="vit_b_16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--untrained", action="store_true", help="random weights (checks the script only)")
    args = parser.parse_args()
    spec = get_spec(args.model)
    if not args.untrained and cached_weights_path(spec) is None:
        print(
            f"error: no cached pretrained weights for {args.model}; "
            f"run `python -m cvviz weights fetch {args.model}` first.",
            file=sys.stderr,
        )
        return 2
    loaded = Workbench().get(spec.name, "random" if args.untrained else "pretrained", device=args.device)
    private = private_copy(loaded)
    print(f"{spec.title}, {'random' if args.untrained else 'pretrained'} weights; device: {args.device} "
          f"({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), "
          f"torch {torch.__version__}")  # fmt: skip
    print("| photo | class | rollout deletion AUC | relevance deletion AUC | lower (wins) | seconds |")
    print("|---|---|---|---|---|---|")
    wins = dict.fromkeys(METHODS, 0)
    for sample in sample_images():
        image = load_sample(sample.name).image
        target = predict(loaded, image, topk=1)[0]
        x = preprocess(image, spec)
        start = time.perf_counter()
        aucs = {}
        for method in METHODS:
            attr_map = attribute(private, spec, x, method, target.index).map
            aucs[method] = perturbation_curve(
                loaded, spec, x, attr_map, target.index, "deletion", steps=args.steps
            ).auc
        gap = aucs["attention_rollout"] - aucs["transformer_relevance"]
        winner = "tie" if abs(gap) < 0.005 else min(METHODS, key=aucs.get)
        wins[winner] = wins.get(winner, 0) + 1
        print(f"| {sample.name} | {target.label} | {aucs['attention_rollout']:.3f} | "
              f"{aucs['transformer_relevance']:.3f} | {winner} | {time.perf_counter() - start:.1f} |",
              flush=True)  # fmt: skip
    print(f"\nwins: rollout {wins['attention_rollout']}, relevance {wins['transformer_relevance']}, "
          f"ties (within 0.005) {wins.get('tie', 0)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
