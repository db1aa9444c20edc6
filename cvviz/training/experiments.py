"""Two classic demonstrations, measured: vanishing gradients in deep plain networks (and how residual
connections avoid them), and how well a CNN and an MLP tolerate a digit moved by a few pixels or turned."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from cvviz.i18n import _
from cvviz.jobs import Reporter
from cvviz.training.config import TrainingConfig
from cvviz.training.data import Dataset, Split, load_dataset
from cvviz.training.loop import (
    SPLIT_SEED,
    TrainingResult,
    batch_order,
    build_network,
    evaluate,
    layer_gradient_norms,
    make_optimizer,
    network_from_result,
    one_thread,
    rotate_images,
    shift_images,
)
from cvviz.training.models import weighted_layers


@dataclass(frozen=True)
class GradientDepthProfile:
    """Per-layer weight-gradient norms of one network, input side first: ``at_init`` (layers,) on the
    first batch before any update, ``after`` (layers,) on the batch after ``steps`` updates."""

    model: str
    layers: tuple[str, ...]
    at_init: np.ndarray
    after: np.ndarray
    steps: int


def gradient_depth_profile(
    config: TrainingConfig, steps: int = 20, dataset: Dataset | None = None
) -> GradientDepthProfile:
    """Train ``config``'s network for ``steps`` batches, recording every layer's gradient norm at the first
    and the last step.

    In a plain stack the gradient reaching layer k is a product of one factor per layer above it; with
    sigmoid (derivative at most 0.25) that product shrinks geometrically towards the input. A residual
    block's identity path adds 1 to each factor, so the gradient reaches the input intact.
    """
    dataset = dataset or load_dataset(config.dataset, seed=SPLIT_SEED)
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_network(config, len(dataset.info.classes))
        names, layers = zip(*weighted_layers(model))
        optimizer = make_optimizer(config, model.parameters())
        order = batch_order(config, len(dataset.train), 0)
        model.train()
        first = last = None
        for step in range(steps + 1):
            batch = order[(step * config.batch_size) % len(order) :][: config.batch_size]
            loss = F.cross_entropy(model(dataset.train.images[batch]), dataset.train.labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norms = layer_gradient_norms(list(layers)).numpy()
            if step == 0:
                first = norms
            last = norms
            if step < steps:
                optimizer.step()
    return GradientDepthProfile(config.model, tuple(names), first, last, steps)


SHIFTS = range(-8, 9)
"""The shifts, in pixels, a trained network is read at (horizontally, then vertically)."""
ANGLES = range(-60, 61, 10)
"""The rotations, in degrees anticlockwise, a trained network is read at."""
POSITIONS = 2 * len(SHIFTS) + len(ANGLES)
"""How many times :func:`shift_robustness` reads the test split."""


@dataclass(frozen=True)
class ShiftRobustness:
    """Test accuracy of one trained network with every test image moved: by each of ``shifts`` pixels
    horizontally (``horizontal``) and vertically (``vertical``), each (len(shifts),), and turned by each
    of ``angles`` degrees (``rotated``, (len(angles),))."""

    label: str
    shifts: np.ndarray
    horizontal: np.ndarray
    vertical: np.ndarray
    angles: np.ndarray
    rotated: np.ndarray


def shift_robustness(
    result: TrainingResult,
    shifts: range = SHIFTS,
    dataset: Dataset | None = None,
    reporter: Reporter | None = None,
    angles: range = ANGLES,
) -> ShiftRobustness:
    """Accuracy on the test split against a horizontal and a vertical shift of −8…+8 pixels, and against
    a rotation of −60…+60°.

    LeNet's shared convolution weights respond to a stroke wherever it is and pooling forgives a pixel or
    two; an MLP has a separate weight for every pixel, so a shifted digit meets weights it never trained.
    Neither is built to forgive a rotation: both fall off as the digit turns.
    """
    dataset = dataset or load_dataset(result.config.dataset, seed=SPLIT_SEED)
    model = network_from_result(result)
    test = dataset.test
    across, down, turned = [], [], []
    values, degrees = list(shifts), list(angles)
    total = 2 * len(values) + len(degrees)
    with one_thread():
        for index, shift in enumerate(values):
            if reporter is not None:
                reporter.update(
                    index / len(values) * 2 * len(values) / total,
                    _("Shift {shift} px").format(shift=f"{shift:+d}"),
                )
            across.append(evaluate(model, Split(shift_images(test.images, shift, 0), test.labels))[1])
            down.append(evaluate(model, Split(shift_images(test.images, 0, shift), test.labels))[1])
        for index, angle in enumerate(degrees):
            if reporter is not None:
                reporter.update(
                    (2 * len(values) + index) / total, _("Rotation {angle}°").format(angle=f"{angle:+d}")
                )
            turned.append(evaluate(model, Split(rotate_images(test.images, angle), test.labels))[1])
    return ShiftRobustness(
        result.config.describe(),
        np.array(values),
        np.array(across),
        np.array(down),
        np.array(degrees),
        np.array(turned),
    )
