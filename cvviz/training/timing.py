"""How long the lab's work will take, from a measured step: said before a run or an experiment starts.

A run's time is nearly all training steps (forward, backward, update on one batch) and evaluation forward
passes, so one measured step of the config's network and one measured forward pass give every estimate:
a run, K-fold cross-validation, a search, the vanishing-gradient profile and the shift-robustness sweep.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from cvviz.training.config import TrainingConfig
from cvviz.training.data import Dataset
from cvviz.training.loop import (
    PROBE_IMAGES,
    batches_of,
    initial_network,
    network_from_result,
    one_thread,
)
from cvviz.training.results import TrainingResult

FORWARD_IMAGES = 256
"""Images in the measured evaluation forward pass."""
MEASURED_BATCH = 32
"""The largest batch a step is timed on."""


@dataclass(frozen=True)
class StepTiming:
    """Measured on this machine: seconds for one training step on a batch of ``batch_size`` images
    (forward and backward) and for the forward pass of one image at evaluation."""

    batch_size: int
    train_step_s: float
    forward_image_s: float


def timing_config(config: TrainingConfig) -> TrainingConfig:
    """``config`` with every setting that does not change a step's cost set to the default: runs that
    differ only in those share one measurement."""
    default = TrainingConfig()
    return config.replace(
        lr=default.lr,
        schedule=default.schedule,
        weight_decay=default.weight_decay,
        init=default.init,
        epochs=1,
        patience=None,
        seed=0,
        train_images=None,
    )


def measure_step(config: TrainingConfig, dataset: Dataset, steps: int = 3) -> StepTiming:
    """Time ``steps`` forward and backward passes of ``config``'s network (after one untimed warm-up; the
    median counts) and
    one forward pass over up to :data:`FORWARD_IMAGES` validation images, on one thread as runs train.

    Batches above :data:`MEASURED_BATCH` images are timed at that size and scaled (a step's cost grows
    with the batch), so that measuring a deep network stays quick. The optimiser's update, a few percent
    of a step for these small networks, is left out: building the first optimiser of a process imports
    machinery that takes seconds, which the run pays, not the estimate.
    """
    size = min(config.batch_size, MEASURED_BATCH)
    images, labels = dataset.train.images, dataset.train.labels
    index = torch.arange(size) % len(labels)
    batch, targets = images[index], labels[index]
    probe = dataset.val.images[:FORWARD_IMAGES]
    with one_thread():
        model = initial_network(config, len(dataset.info.classes))
        model.train()
        times = []
        for _ in range(steps + 1):
            started = time.perf_counter()
            F.cross_entropy(model(batch), targets).backward()
            times.append(time.perf_counter() - started)
        # The median timed step: the first backward pass of a process, or one busy moment, says little.
        train_step_s = statistics.median(times[1:]) * config.batch_size / size
        forward_image_s = _forward_image_s(model, probe)
    return StepTiming(config.batch_size, train_step_s, forward_image_s)


def _forward_image_s(model: torch.nn.Module, images: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        model(images[:8])  # warm-up
        started = time.perf_counter()
        model(images)
    return (time.perf_counter() - started) / max(len(images), 1)


def run_seconds(
    config: TrainingConfig, dataset: Dataset, timing: StepTiming, train_images: int | None = None
) -> float:
    """A training run of ``config`` on ``dataset`` (or on ``train_images`` training images): its steps,
    validation and histogram probe after every epoch, and the test at the end."""
    count = train_images if train_images is not None else len(dataset.train)
    if config.train_images is not None:
        count = min(count, config.train_images)
    steps = len(batches_of(count, config.batch_size)) * config.epochs
    per_epoch = len(dataset.val) + min(PROBE_IMAGES, len(dataset.val))
    forwards = config.epochs * per_epoch + len(dataset.test)
    return steps * timing.train_step_s + forwards * timing.forward_image_s


def cross_validation_seconds(
    config: TrainingConfig, dataset: Dataset, timing: StepTiming, folds: int
) -> float:
    """``folds`` runs, each on the pooled training and validation images less one fold."""
    pool = len(dataset.train) + len(dataset.val)
    return folds * run_seconds(config, dataset, timing, train_images=pool - pool // folds)


def gradient_profile_seconds(timing: StepTiming, steps: int, networks: int = 2) -> float:
    """``networks`` networks, each ``steps`` updates and one more backward pass."""
    return networks * (steps + 1) * timing.train_step_s


def robustness_seconds(result: TrainingResult, dataset: Dataset, positions: int) -> float:
    """The test split read at ``positions`` shifts and rotations by ``result``'s network (its forward pass
    timed here on a few images)."""
    with one_thread():
        per_image = _forward_image_s(network_from_result(result), dataset.test.images[:64])
    return positions * len(dataset.test) * per_image
