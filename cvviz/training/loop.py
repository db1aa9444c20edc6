"""The training loop, instrumented: per-epoch metrics, per-step gradient norms of every layer, weight and
activation histograms, and the first layer's filters as they change.

One loop serves the app (as a background :class:`cvviz.jobs.Job`, read live through a :class:`RunLog`)
and the CLI (run in the caller's thread). The shape follows torchvision's reference classification
script: one epoch function, evaluation with exact counts, a small log of metrics.

Reproducible: the same :class:`TrainingConfig` gives the same metrics on the CPU. The weights are
initialised and dropout drawn from torch's generator seeded with ``config.seed`` (restored afterwards),
and batches and augmentation from a private generator; two runs in the same process at the same moment
share torch's generator, so only runs that do not overlap are guaranteed identical.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from cvviz.data.digits import DigitSteps, centre_digit_steps, has_ink
from cvviz.errors import CvvizError
from cvviz.hooks import capture_outputs
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.training.config import TrainingConfig, TrainingConfigError
from cvviz.training.data import MEAN, STD, Dataset, Split, load_dataset, normalise
from cvviz.training.models import MODELS, first_layer_filters, initialise, parameter_count, weighted_layers
from cvviz.training.results import (
    EpochMetrics,
    Histogram,
    RunLog,
    TrainingProgress,
    TrainingResult,
)

SPLIT_SEED = 0
"""The digits' train/validation/test split is fixed: runs with different seeds see the same images."""
PROBE_IMAGES = 128
"""Validation images whose activations are histogrammed after each epoch."""
DIVERGENCE_FACTOR = 100.0
"""A loss this many times chance level (ln of the class count) counts as diverged, like a non-finite one."""
LIVE_WEIGHTS_S = 0.5
"""How often, in seconds, a run copies its weights into its log for a live view (and after every epoch)."""
BACKGROUND = float(normalise(torch.tensor(0.0)))
"""A black pixel at the network's input scale: what shifted and rotated images are padded with."""


class _OneThread:
    """Torch's CPU kernels on one thread while any run is inside; the setting before is restored when the
    last run leaves (runs overlap, and the thread count is process-wide).

    A network this small gains nothing from a second thread (its matrices are tiny), and on a machine whose
    other cores are busy two threads waiting for each other make a run several times slower. The app's
    job cap gives each run one core.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._before = 1

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._inside == 0:
                self._before = torch.get_num_threads()
                torch.set_num_threads(1)
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    torch.set_num_threads(self._before)


one_thread = _OneThread()


class TrainingDiverged(CvvizError):
    """The loss became non-finite (or absurdly large): the learning rate is too large for this network."""


def build_network(config: TrainingConfig, num_classes: int = 10) -> nn.Module:
    """The config's network, initialised from torch's generator as it stands (seed it first)."""
    spec = MODELS[config.model]
    model = spec.build(num_classes, config.model_activation, config.norm, config.dropout, config.depth)
    initialise(model, config.init)
    return model


def initial_network(config: TrainingConfig, num_classes: int = 10) -> nn.Module:
    """The network exactly as a run with ``config`` starts (same seed, same initial weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_network(config, num_classes)


def make_optimizer(config: TrainingConfig, parameters) -> torch.optim.Optimizer:
    """The config's optimiser (momentum 0.9 for the momentum variants)."""
    lr, decay = config.lr, config.weight_decay
    name = config.optimizer
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else 0.9
        return torch.optim.SGD(
            parameters, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=decay
        )
    if name == "adagrad":
        return torch.optim.Adagrad(parameters, lr=lr, weight_decay=decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, weight_decay=decay)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)


def make_schedule(
    config: TrainingConfig, optimizer: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule, stepped once per batch (None for a constant rate)."""
    sched = torch.optim.lr_scheduler
    if config.schedule == "step":
        every = steps_per_epoch * max(1, config.epochs // 3)
        return sched.StepLR(optimizer, step_size=every, gamma=0.1)
    if config.schedule == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return sched.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=0.3, cycle_momentum=False
        )
    return None


def batch_order(config: TrainingConfig, count: int, epoch: int) -> torch.Tensor:
    """The order the training images are visited in during ``epoch`` (0-based): a permutation drawn from
    the run's own generator."""
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    return torch.randperm(count, generator=generator)


def batches_of(count: int, batch_size: int) -> list[slice]:
    """Consecutive batches over ``count`` shuffled images; a last batch of a single image is dropped
    (batch normalisation cannot normalise one value), unless it is the only one."""
    batches = [slice(start, start + batch_size) for start in range(0, count, batch_size)]
    if len(batches) > 1 and count - batches[-1].start == 1:
        batches.pop()
    return batches


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image randomly shifted (±3 px), rotated (±12°) and scaled (0.9–1.1×), padded with black."""
    count, _channels, height, width = images.shape
    angle = (torch.rand(count, generator=generator) * 2 - 1) * math.radians(12)
    scale = 0.9 + 0.2 * torch.rand(count, generator=generator)
    shift = (torch.rand(count, 2, generator=generator) * 2 - 1) * 3.0
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, shift[:, 0] * 2 / width], dim=1),
            torch.stack([sin, cos, shift[:, 1] * 2 / height], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images - BACKGROUND, grid, align_corners=False, padding_mode="zeros")
    return moved + BACKGROUND


def shift_images(images: torch.Tensor, right: int, down: int) -> torch.Tensor:
    """``images`` (N, C, H, W) moved ``right`` and ``down`` whole pixels (negative: left, up), padded
    with black."""
    height, width = images.shape[2:]
    padded = F.pad(images, (abs(right),) * 2 + (abs(down),) * 2, value=BACKGROUND)
    top, left = abs(down) - down, abs(right) - right
    return padded[:, :, top : top + height, left : left + width]


def rotate_images(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """``images`` (N, C, H, W) turned ``degrees`` anticlockwise about their centre (bilinear), padded with
    black."""
    angle = torch.tensor(math.radians(degrees))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid maps each output pixel to where it samples the input: the inverse (clockwise) turn, in
    # coordinates whose y axis points down.
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype)
    grid = F.affine_grid(theta.expand(len(images), 2, 3), list(images.shape), align_corners=False)
    turned = F.grid_sample(images - BACKGROUND, grid, align_corners=False, padding_mode="zeros")
    return turned + BACKGROUND


def layer_gradient_norms(layers: list[nn.Module]) -> torch.Tensor:
    """(layers,) L2 norm of each layer's weight gradient as it stands after ``backward``."""
    return torch.stack([torch.linalg.vector_norm(layer.weight.grad) for layer in layers])


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split, batch_size: int = 512) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and the predicted class of every image (N,), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        total_loss, predictions = 0.0, []
        for start in range(0, len(split), batch_size):
            images = split.images[start : start + batch_size]
            labels = split.labels[start : start + batch_size]
            logits = model(images)
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            predictions.append(logits.argmax(dim=1))
    finally:
        model.train(was_training)
    predicted = torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)
    count = max(len(split), 1)
    accuracy = float((predicted == split.labels).sum()) / count
    return total_loss / count, accuracy, predicted.numpy()


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted class."""
    return np.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def _activation_modules(model: nn.Module) -> list[str]:
    kinds = (nn.Sigmoid, nn.Tanh, nn.ReLU)
    return [name for name, module in model.named_modules() if isinstance(module, kinds)]


@torch.inference_mode()
def _histograms(model: nn.Module, probe: torch.Tensor) -> tuple[dict, dict]:
    weights = {name: Histogram.of(layer.weight) for name, layer in weighted_layers(model)}
    was_training = model.training
    model.eval()
    try:
        with capture_outputs(model, _activation_modules(model)) as outputs:
            model(probe)
    finally:
        model.train(was_training)
    return weights, {name: Histogram.of(value) for name, value in outputs.items()}


class _Silent(Reporter):
    def __init__(self) -> None:
        super().__init__(threading.Event())


EPOCH_SNAPSHOTS = 12
"""At most this many epochs' weights are kept per run (besides the initialisation), spread evenly."""


def snapshot_epochs(epochs: int, count: int = EPOCH_SNAPSHOTS) -> frozenset[int]:
    """The epochs (1…``epochs``) whose weights a run keeps: ``count`` spread evenly, the last included."""
    if epochs <= count:
        return frozenset(range(1, epochs + 1))
    return frozenset(round(epochs * (i + 1) / count) for i in range(count))


def train(
    config: TrainingConfig,
    reporter: Reporter | None = None,
    *,
    dataset: Dataset | None = None,
    log: RunLog | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> TrainingResult:
    """Train ``config``'s network on its data set and return the result.

    ``reporter`` receives progress after every step (and stops the run when its job is cancelled); when
    its job's time is up the run ends at the next step as if it had run its last epoch, keeping what it
    has learned (the result is marked ``time_limited``). ``log`` is filled as the run goes, for a live
    view; ``on_epoch`` is called with each epoch's metrics. Raises :class:`TrainingDiverged` when the loss
    stops being finite.
    """
    reporter = reporter or _Silent()
    reporter.stops_itself()
    log = log or RunLog()
    started = time.perf_counter()
    reporter.update(0.0, _("Loading the data…"))
    dataset = dataset or load_dataset(config.dataset, seed=SPLIT_SEED)
    train_split = dataset.train
    if config.train_images is not None:
        train_split = train_split.subset(np.arange(min(config.train_images, len(train_split))))
    classes = len(dataset.info.classes)
    steps_per_epoch = len(batches_of(len(train_split), config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    limit = DIVERGENCE_FACTOR * math.log(classes)
    probe = dataset.val.images[:PROBE_IMAGES]

    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_network(config, classes)
        layer_names, layers = zip(*weighted_layers(model))
        optimizer = make_optimizer(config, model.parameters())
        schedule = make_schedule(config, optimizer, total_steps, steps_per_epoch)
        augmenter = torch.Generator().manual_seed(config.seed + 7_919)
        weight_hist, act_hist = _histograms(model, probe)
        filters = [first_layer_filters(model).numpy()]
        keep_epochs = snapshot_epochs(config.epochs)
        states = [(0, _copy_weights(model))]
        log._start(
            TrainingProgress(
                config=config,
                info=dataset.info,
                layers=tuple(layer_names),
                parameters=parameter_count(model),
                total_steps=total_steps,
                filters=filters[0],
                weight_histograms=weight_hist,
                activation_histograms=act_hist,
                weights=_copy_weights(model),
            )
        )
        history: list[EpochMetrics] = []
        best_loss, best_epoch, best_state = math.inf, 0, None
        stopped_early = time_limited = False
        step = 0
        weights_copied = time.perf_counter()
        model.train()
        for epoch in range(config.epochs):
            epoch_started = time.perf_counter()
            order = batch_order(config, len(train_split), epoch)
            loss_sum, correct, seen = 0.0, 0, 0
            norms = torch.empty(steps_per_epoch, len(layers))
            done = 0
            for index, where in enumerate(batches_of(len(order), config.batch_size)):
                if reporter.time_up:
                    time_limited = True
                    break
                batch = order[where]
                images, labels = train_split.images[batch], train_split.labels[batch]
                if config.augment:
                    images = augment(images, augmenter)
                logits = model(images)
                loss = F.cross_entropy(logits, labels)
                value = loss.detach().item()
                step += 1
                if not math.isfinite(value) or value > limit:
                    raise TrainingDiverged(
                        _("training diverged at step {step}: try a smaller learning rate.").format(step=step)
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norms[index] = layer_gradient_norms(layers)
                optimizer.step()
                if schedule is not None:
                    schedule.step()
                loss_sum += value * len(batch)
                seen += len(batch)
                done = index + 1
                correct += int((logits.argmax(dim=1) == labels).sum())
                if time.perf_counter() - weights_copied >= LIVE_WEIGHTS_S:
                    log._update(weights=_copy_weights(model), weights_step=step)
                    weights_copied = time.perf_counter()
                reporter.update(
                    step / total_steps,
                    _("Epoch {epoch} of {epochs}, step {step}").format(
                        epoch=epoch + 1, epochs=config.epochs, step=step
                    ),
                )
            if seen == 0:  # the time ran out before this epoch's first step
                break
            log._add_norms(norms[:done].numpy())
            val_loss, val_acc = evaluate(model, dataset.val)[:2]
            metrics = EpochMetrics(
                epoch=epoch + 1,
                train_loss=loss_sum / seen,
                train_acc=correct / seen,
                val_loss=val_loss,
                val_acc=val_acc,
                seconds=time.perf_counter() - epoch_started,
                lr=optimizer.param_groups[0]["lr"],
            )
            history.append(metrics)
            weight_hist, act_hist = _histograms(model, probe)
            filters.append(first_layer_filters(model).numpy())
            if epoch + 1 in keep_epochs:
                states.append((epoch + 1, _copy_weights(model)))
            log._update(
                epochs=tuple(history),
                filters=filters[-1],
                weight_histograms=weight_hist,
                activation_histograms=act_hist,
                weights=_copy_weights(model),
                weights_step=step,
            )
            if on_epoch is not None:
                on_epoch(metrics)
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif config.patience is not None and epoch + 1 - best_epoch >= config.patience:
                stopped_early = True
                break
            if time_limited:
                break
        if history and states[-1][0] != history[-1].epoch:  # stopped early or in time: keep where it ended
            states.append((history[-1].epoch, _copy_weights(model)))
        if config.patience is not None and best_state is not None:
            model.load_state_dict(best_state)

    reporter.update(1.0, _("Testing…"))
    with one_thread():
        test_loss, test_acc, predicted = evaluate(model, dataset.test)
    progress = log.snapshot()
    assert progress is not None
    return TrainingResult(
        progress=progress,
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        best_epoch=best_epoch,
        stopped_early=stopped_early,
        test_loss=test_loss,
        test_acc=test_acc,
        confusion=confusion_matrix(dataset.test.labels.numpy(), predicted, classes),
        test_predictions=predicted,
        filter_history=np.stack(filters),
        seconds=time.perf_counter() - started,
        time_limited=time_limited,
        epoch_states=tuple(states),
    )


def _copy_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def network_with(config: TrainingConfig, classes: int, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """``config``'s network loaded with ``state_dict``, in eval mode."""
    with torch.random.fork_rng(devices=[]):  # building draws initial weights; leave torch's generator be
        model = build_network(config, classes)
    model.load_state_dict(state_dict)
    return model.eval()


def network_from_result(result: TrainingResult, epoch: int | None = None) -> nn.Module:
    """The trained network, rebuilt and loaded with the run's kept weights, in eval mode; with ``epoch``
    (one of :attr:`TrainingResult.snapshot_epochs`, 0 for the initialisation) as it was after that epoch."""
    if epoch is None:
        return network_with(result.config, len(result.progress.info.classes), result.state_dict)
    states = dict(result.epoch_states)
    if epoch not in states:
        raise TrainingConfigError(
            _("This run kept the weights of epochs {value}, not of epoch {epoch}.").format(
                value=", ".join(str(e) for e in states), epoch=epoch
            )
        )
    return network_with(result.config, len(result.progress.info.classes), states[epoch])


def network_from_progress(progress: TrainingProgress) -> nn.Module | None:
    """The network of a run in progress as it was after step ``progress.weights_step`` (None before the
    run has built it)."""
    if progress.weights is None:
        return None
    return network_with(progress.config, len(progress.info.classes), progress.weights)


@dataclass(frozen=True)
class LiveTraining:
    """A run as a background job, with the log its page reads while it trains."""

    job: Job[TrainingResult]
    log: RunLog


def training_job(config: TrainingConfig, dataset: Dataset | None = None) -> LiveTraining:
    """A :class:`Job` that trains ``config`` (start it, or run it here); read its progress from ``log``."""
    log = RunLog()
    title = _("Training {network}").format(network=_(MODELS[config.model].title))
    job = Job(title, lambda reporter: train(config, reporter, dataset=dataset, log=log))
    return LiveTraining(job, log)


def confusion_examples(
    result: TrainingResult, dataset: Dataset, true: int, predicted: int, limit: int = 24
) -> np.ndarray:
    """Up to ``limit`` test images (K, 32, 32), pixels in [0, 1], of class ``true`` that the run
    predicted as ``predicted``: one cell of the confusion matrix, shown."""
    labels = dataset.test.labels.numpy()
    chosen = np.flatnonzero((labels == true) & (result.test_predictions == predicted))[:limit]
    pixels = dataset.test.images[torch.as_tensor(chosen, dtype=torch.long), 0] * STD + MEAN
    return pixels.clamp(0, 1).numpy()


@dataclass(frozen=True)
class DigitReading:
    """A run's reading of one picture of a digit: the preprocessing steps (see
    :class:`cvviz.data.digits.DigitSteps`) and the probability of each class (classes,)."""

    steps: DigitSteps
    probabilities: np.ndarray

    @property
    def best(self) -> int:
        return int(np.argmax(self.probabilities))


class EmptyDrawingError(CvvizError, ValueError):
    """A drawing or photo with no ink to read."""


def digit_steps(image: Image.Image | np.ndarray) -> DigitSteps:
    """Every step of the MNIST preparation of ``image`` (see :func:`cvviz.data.digits.centre_digit_steps`);
    a picture with no ink is refused in one sentence.

    ``image`` may be a photo (dark ink on paper is inverted), a drawing canvas's RGBA pixels (H, W, 4),
    or a grayscale array (H, W).
    """
    image = _grayscale(image)
    if not has_ink(image):
        raise EmptyDrawingError(_("There is nothing drawn: draw a digit or upload a photo of one."))
    return centre_digit_steps(image)


def read_digit(network: TrainingResult | nn.Module, image: Image.Image | np.ndarray) -> DigitReading:
    """Prepare ``image`` as the training digits were (:func:`digit_steps`) and classify it with a finished
    run's network, or with a network as it trains (:func:`network_from_progress`)."""
    steps = digit_steps(image)
    pixels = normalise(torch.as_tensor(steps.padded, dtype=torch.float32))[None, None]
    model = network_from_result(network) if isinstance(network, TrainingResult) else network
    with one_thread(), torch.inference_mode():
        probabilities = model(pixels).softmax(dim=1)[0].numpy()
    return DigitReading(steps, probabilities)


def _grayscale(image: Image.Image | np.ndarray) -> Image.Image | np.ndarray:
    """A colour or RGBA array (H, W, 3 or 4), as a drawing canvas returns, as a grayscale PIL image
    (transparent pixels count as white paper); anything else unchanged."""
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] in (3, 4):
        pixels = np.asarray(image, dtype=np.uint8)
        picture = Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB")
        if picture.mode == "RGBA":
            paper = Image.new("RGBA", picture.size, (255, 255, 255, 255))
            picture = Image.alpha_composite(paper, picture)
        return picture.convert("L")
    return image
