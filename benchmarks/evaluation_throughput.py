"""Benchmark: evaluation from JPEG files (decode, resize, crop, normalise in DataLoader workers, then the
model) against the model's bare forward throughput on already-prepared tensors, on the same device.

Run with ``python -m benchmarks.evaluation_throughput [--model resnet50] [--images 96] [--batch 16]
[--workers 0 1 2] [--device auto]``. The images are generated: 500×375 JPEGs (the size of a typical
ImageNet validation photo) of smooth random colour fields, in four class folders, written to a temporary
folder. The model has stand-in random weights (the time of a forward pass does not depend on them). The
ratio evaluation / bare forward is how busy the loader keeps the model (1.0: the loader never makes it
wait). Recorded in ``docs/benchmarks.md`` under "Evaluation throughput".
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def write_jpegs(folder: Path, count: int) -> list[tuple[str, int]]:
    """``count`` 500×375 JPEGs in four class folders; returns (path, class) pairs."""
    rng = np.random.default_rng(0)
    items = []
    for number in range(count):
        label = [1, 281, 948, 500][number % 4]
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        coarse = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((500, 375), Image.Resampling.BICUBIC)
        path = folder / str(label) / f"{number}.jpg"
        image.save(path, quality=90)
        items.append((str(path), label))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from cvviz.catalog import get_spec
    from cvviz.device import describe_device, resolve_device
    from cvviz.measure.evaluation import count_correct
    from cvviz.models.build import build_for_timing
    from cvviz.models.loading import WeightsInfo
    from cvviz.models.workbench import LoadedModel

    spec = get_spec(args.model)
    device = resolve_device(args.device)
    model = build_for_timing(spec).eval().to(device)
    loaded = LoadedModel(spec, model, WeightsInfo("random", "stand-in"), device, 0)
    print(f"{spec.title} on {describe_device(device)}, {torch.get_num_threads()} torch threads, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; batch {args.batch}")  # fmt: skip

    # Bare forward: prepared tensors already on the device, same batch size, same number of images.
    batch = torch.randn(args.batch, *spec.input_shape, device=device)
    with torch.inference_mode():
        model(batch)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        done = 0
        while done < args.images:
            model(batch).topk(5, dim=1)
            done += args.batch
        if device.type == "cuda":
            torch.cuda.synchronize()
    forward = done / (time.perf_counter() - start)
    print(f"bare forward                      {forward:8.1f} images/s")

    with tempfile.TemporaryDirectory() as folder:
        items = write_jpegs(Path(folder), args.images)
        count_correct(loaded, items[: args.batch], batch_size=args.batch)  # warm-up (decoder, allocator)
        for workers in args.workers:
            start = time.perf_counter()
            count_correct(loaded, items, batch_size=args.batch, workers=workers)
            rate = len(items) / (time.perf_counter() - start)
            print(f"evaluation from JPEG, {workers} workers  {rate:8.1f} images/s   "
                  f"{100 * rate / forward:5.1f}% of bare forward")  # fmt: skip


if __name__ == "__main__":
    main()
