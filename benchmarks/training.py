"""The training lab's speed: its instrumented loop against a plain hand-written torch loop, and the default
digits run to ≥ 97% test accuracy.

Both loops train the same LeNet-5 on the same digits with the lab's default optimiser (SGD with Nesterov
momentum 0.9) and batch size, at a constant learning rate, for the same epochs; the lab's
also evaluates on the validation split after each epoch, records every layer's gradient norm at every
step, histograms weights and activations, and keeps the first layer's filters. Both run torch on one
thread, as the lab does. Samples per second count training images only. Runs alternate between the two
loops and the medians are reported.

    python -m benchmarks.training [--runs 5] [--epochs 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.nn import functional as F

from cvviz.training import TrainingConfig, train
from cvviz.training.data import load_digits_dataset
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
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
