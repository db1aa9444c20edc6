"""The generative lab's speed on the digits: an epoch of each model, the seconds until the VAE's
reconstruction error falls to a target, and the seconds until the GAN's class-histogram entropy reaches
2.0 nats.

Every run is the lab's own loop (``cvviz.generative.train``) with the model's default settings (code
size, batch, learning rate) on the 1,077 training digits, on one torch thread as the lab runs. An epoch's
seconds are those the loop records: its training steps, then the validation reconstructions
(autoencoders) or the digit classifier reading 500 generated digits (GAN); a whole run adds the test
split's reconstructions (autoencoders). The seconds to a target add up
the epochs until the first whose validation MSE per pixel (VAE) or entropy (GAN) reaches it; the GAN's
digit classifier is trained once per process beforehand and its seconds are reported on their own.
Medians over ``--runs`` runs with seeds 0, 1, …

    python -m benchmarks.generative [--runs 3] [--epochs 20] [--vae-mse 0.010] [--entropy 2.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from cvviz.generative import MODELS, GenerativeConfig, train
from cvviz.generative.loop import digit_judge
from cvviz.training.data import load_digits_dataset


def seconds_to(epochs, reached) -> float | None:
    """Seconds of the epochs up to and including the first one where ``reached(epoch)``; None if none."""
    total = 0.0
    for metrics in epochs:
        total += metrics.seconds
        if reached(metrics):
            return total
    return None


def _figure(values: list[float | None], unit: str = " s", digits: int = 1) -> str:
    reached = [value for value in values if value is not None]
    runs = ", ".join("—" if value is None else f"{value:.{digits}f}" for value in values)
    if len(reached) < len(values):
        return f"not reached in {len(values) - len(reached)} of {len(values)} runs (runs: {runs})"
    return f"{statistics.median(reached):.{digits}f}{unit} (runs: {runs})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--vae-mse", type=float, default=0.010, help="the VAE's target MSE per pixel")
    parser.add_argument("--entropy", type=float, default=2.0, help="the GAN's target entropy (nats)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"device: CPU, {os.cpu_count()} cores (the lab's loop on one thread), torch {torch.__version__}")
    print(f"load average at the start: {load}")
    dataset = load_digits_dataset()
    print(f"digits: {len(dataset.train):,} training, {len(dataset.val):,} validation images")
    if "gan" in args.models:
        started = time.perf_counter()
        digit_judge()
        print(f"GAN's digit classifier trained once in {time.perf_counter() - started:.1f} s")
    for name in args.models:
        epoch_seconds, whole, targets, finals = [], [], [], []
        for seed in range(args.runs):
            config = GenerativeConfig(model=name, epochs=args.epochs, seed=seed)
            result = train(config, dataset=dataset)
            epoch_seconds.append(statistics.median(m.seconds for m in result.epochs))
            whole.append(result.seconds)
            if name == "gan":
                targets.append(seconds_to(result.epochs, lambda m: m.entropy >= args.entropy))
                finals.append(result.epochs[-1].entropy)
            else:
                targets.append(seconds_to(result.epochs, lambda m: m.val_mse <= args.vae_mse))
                finals.append(result.test_mse)
        config = GenerativeConfig(model=name)
        print(
            f"{name} ({config.describe()}, batch {config.batch}): epoch {_figure(epoch_seconds, digits=2)}; "
            f"whole {args.epochs}-epoch run {_figure(whole)}"
        )
        if name == "gan":
            print(f"  seconds to entropy ≥ {args.entropy} nats: {_figure(targets)}")
            print(f"  entropy after {args.epochs} epochs: {_figure(finals, ' nats', 2)}")
        else:
            print(f"  test MSE per pixel after {args.epochs} epochs: {_figure(finals, '', 4)}")
            if name == "vae":
                print(f"  seconds to validation MSE ≤ {args.vae_mse} per pixel: {_figure(targets)}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at the end: {load}")


if __name__ == "__main__":
    main()
