"""The training lab's speed: its instrumented loop against a plain hand-written torch loop, the default
digits run to ≥ 97% test accuracy, and one epoch of LeNet-5 on MNIST-shaped data.

Both loops train the same LeNet-5 on the same digits with the lab's default optimiser (SGD with Nesterov
momentum 0.9) and batch size, at a constant learning rate, for the same epochs; the lab's
also evaluates on the validation split after each epoch, records every layer's gradient norm at every
step, histograms weights and activations, and keeps the first layer's filters. Both run torch on one
thread, as the lab does. Samples per second count training images only. Runs alternate between the two
loops and the medians are reported.

The MNIST epoch needs no download: the benchmark writes 60,000 training and 10,000 test images of 28×28
random pixels with random labels as MNIST's IDX files into a temporary folder and loads them through the
lab's own MNIST loader (padded to 32×32, a sixth of the training images kept for validation). A step costs
the same whatever the pixels show, so the seconds are those of real MNIST; the accuracy is chance.

    python -m benchmarks.training [--runs 5] [--epochs 4] [--mnist-epochs 1] [--skip-digits]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from cvviz.training import TrainingConfig, train
from cvviz.training.data import load_digits_dataset, load_mnist_dataset
from cvviz.training.loop import initial_network, one_thread


def plain_loop(config: TrainingConfig, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Seconds for ``config.epochs`` epochs of the simplest correct loop: shuffle, forward, backward, step."""
    model = initial_network(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, nesterov=True)
    generator = torch.Generator().manual_seed(config.seed)
    start = time.perf_counter()
    model.train()
    with one_thread():  # as the lab's loop runs
        _epochs(config, model, optimizer, generator, images, labels)
    return time.perf_counter() - start


def _epochs(config, model, optimizer, generator, images, labels) -> None:
    for _ in range(config.epochs):
        order = torch.randperm(len(labels), generator=generator)
        for first in range(0, len(order), config.batch_size):
            batch = order[first : first + config.batch_size]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def lab_loop(config: TrainingConfig, dataset) -> float:
    start = time.perf_counter()
    train(config, dataset=dataset)
    return time.perf_counter() - start


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 8, array.ndim, *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def mnist_shaped(folder: Path, train_images: int = 60_000, test_images: int = 10_000) -> None:
    """MNIST's four IDX files under ``folder/MNIST/raw``: random 28×28 pixels, random labels."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem, count in (("train", train_images), ("t10k", test_images)):
        _write_idx(raw / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)))
        _write_idx(raw / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, count))


def mnist_epochs(epochs: int) -> None:
    """One (or more) epochs of the default LeNet-5 run on MNIST-shaped data, through the lab's loop."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        mnist_shaped(Path(folder))
        dataset = load_mnist_dataset("mnist", root=folder)
        prepared = time.perf_counter() - started
    print(
        f"MNIST-shaped data (random pixels and labels): {dataset.info.summary} written and loaded in {prepared:.1f} s"
    )
    result = train(TrainingConfig(dataset="mnist", epochs=epochs), dataset=dataset)
    for metrics in result.epochs:
        samples = len(dataset.train) / metrics.seconds
        print(
            f"MNIST epoch {metrics.epoch}: {metrics.seconds:.1f} s ({len(dataset.train):,} training images, "
            f"{samples:,.0f} samples/s, then {len(dataset.val):,} validation images)"
        )
    print(
        f"whole run ({epochs} epoch{'s' if epochs != 1 else ''}, with the test split): {result.seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--mnist-epochs", type=int, default=1, help="epochs on MNIST-shaped data (0: skip)")
    parser.add_argument("--skip-digits", action="store_true", help="only the MNIST-shaped epochs")
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"device: CPU, {os.cpu_count()} cores, torch {torch.__version__}, load average {load}")
    if args.mnist_epochs:
        mnist_epochs(args.mnist_epochs)
    if args.skip_digits:
        return
    dataset = load_digits_dataset()
    config = TrainingConfig(epochs=args.epochs, schedule="constant")
    if config.optimizer != "nesterov":
        raise SystemExit("the plain loop mirrors the default optimiser (Nesterov SGD); update it to match")
    samples = len(dataset.train) * config.epochs
    lab_loop(config, dataset)  # warm-up
    plain_loop(config, dataset.train.images, dataset.train.labels)
    lab, plain = [], []
    for _ in range(args.runs):
        lab.append(samples / lab_loop(config, dataset))
        plain.append(samples / plain_loop(config, dataset.train.images, dataset.train.labels))
    lab_median, plain_median = statistics.median(lab), statistics.median(plain)
    print(f"device: CPU, {os.cpu_count()} cores (both loops on one thread), torch {torch.__version__}")
    print(f"plain loop: {plain_median:,.0f} samples/s (runs: {', '.join(f'{v:,.0f}' for v in plain)})")
    print(f"lab loop:   {lab_median:,.0f} samples/s (runs: {', '.join(f'{v:,.0f}' for v in lab)})")
    print(f"ratio lab/plain: {lab_median / plain_median:.2f} (goal ≥ 0.8)")
    default_times, accuracies = [], []
    for _ in range(3):
        start = time.perf_counter()
        result = train(TrainingConfig(), dataset=dataset)
        default_times.append(time.perf_counter() - start)
        accuracies.append(result.test_acc)
    print(
        f"default digits run ({TrainingConfig().epochs} epochs): median {statistics.median(default_times):.1f} s "
        f"(runs: {', '.join(f'{t:.1f}' for t in default_times)}), test accuracy {100 * accuracies[0]:.2f}%"
    )


if __name__ == "__main__":
    main()
