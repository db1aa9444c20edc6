"""The transfer lab's speed: feature extraction against a plain batched forward pass of the same backbone,
and a 5-fold linear probe on cached features.

Extraction runs :func:`cvviz.transfer.pooled_features` (preprocessing, batches of 16, a hook capturing the
classifier's input) with an empty cache; the plain pass preprocesses the same images the same way and
calls the model on the same batches with no hook. Runs alternate and the medians are reported. The probe
is :func:`cvviz.transfer.cross_validate_head` on 200 images' features (the bundled shapes, 50 per class),
5 stratified folds plus the final fit on every image, scikit-learn imported beforehand.

    python -m benchmarks.transfer [--model efficientnet_lite0] [--images 64] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from cvviz.models.inference import preprocess
from cvviz.models.workbench import ResultCache, Workbench
from cvviz.transfer import bundled_shapes, cross_validate_head, pooled_features


def plain_forward(loaded, images, batch_size: int = 16) -> float:
    start = time.perf_counter()
    with loaded.exclusive() as model, torch.inference_mode():
        for first in range(0, len(images), batch_size):
            model(torch.cat([preprocess(image, loaded.spec) for image in images[first : first + batch_size]]))
    return time.perf_counter() - start


def extraction(loaded, images) -> float:
    start = time.perf_counter()
    pooled_features(loaded, images, cache=ResultCache())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loaded = Workbench().get(args.model)
    shapes = bundled_shapes(per_class=50)
    images = list(shapes.images[: args.images])
    plain, lab = [], []
    for _ in range(args.runs):
        plain.append(plain_forward(loaded, images))
        lab.append(extraction(loaded, images))
    plain_s, lab_s = statistics.median(plain), statistics.median(lab)
    print(
        f"device: CPU, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"plain batched forward: {len(images) / plain_s:.1f} images/s")
    print(
        f"feature extraction:    {len(images) / lab_s:.1f} images/s ({plain_s / lab_s:.2f}× the plain pass)"
    )
    features = pooled_features(loaded, list(shapes.images), cache=ResultCache()).features
    import sklearn.linear_model  # noqa: F401

    start = time.perf_counter()
    cross_validate_head(features, shapes.labels, shapes.classes, "probe", folds=5)
    print(
        f"5-fold linear probe on {len(features)} images of cached features: {time.perf_counter() - start:.2f} s"
    )


if __name__ == "__main__":
    main()
