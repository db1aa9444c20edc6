"""The detection lab: the grid detector or the U-Net trained on synthetic digit scenes, as a job the app and
the CLI both drive, scored after every epoch on the held-out scenes (mAP@0.5 or mIoU).

Reproducible like the training lab's loop: the weights are initialised from torch's generator seeded with
``config.seed`` (restored afterwards), the training scenes and their order come from generators seeded from
it, and the held-out scenes are always the same, so the same config gives the same metrics on the CPU.
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import torch
from torch import nn

from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.jobs import Job, Reporter
from cvviz.models.weights import read_lab_file
from cvviz.tasks.grid_detector import (
    DEFAULT_IOU,
    EVAL_SCORE,
    GridDetector,
    GridOutputs,
    detection_loss,
    postprocess,
    predict,
)
from cvviz.tasks.metrics import mean_average_precision, mean_iou
from cvviz.tasks.synthetic import (
    CLASSES,
    SEGMENT_CLASSES,
    Scene,
    held_out_scenes,
    make_scenes,
    stack_images,
    stack_semantic,
)
from cvviz.tasks.unet import UNet, segmentation_loss
from cvviz.training.loop import batches_of, one_thread

TASKS = {
    "detect": N_("Grid detector (one stage, S×S cells)"),
    "segment": N_("U-Net (a class for every pixel)"),
}
"""The two tasks, with the model that learns each."""
METRIC = {"detect": "map50", "segment": "miou"}
"""The held-out score each task reports."""
DEFAULT_EPOCHS = {"detect": 8, "segment": 5}
DEFAULT_LR = {"detect": 4e-3, "segment": 5e-3}
DEFAULT_BATCH = {"detect": 32, "segment": 16}
MIOU_FLOOR = 0.5
"""The held-out mIoU every default U-Net run must reach (seeds 0–2 gave 0.541–0.766, docs/benchmarks.md);
``benchmarks/task_lab.py`` checks it."""
MAX_EPOCHS = 200
DIVERGENCE_LIMIT = 1e6
EVAL_BATCH = 100
BACKGROUND_WEIGHT = 0.1
"""The U-Net's cross-entropy weight of a background pixel (a digit's pixel weighs 1)."""
DICE_WEIGHT = 1.0
"""The weight of the U-Net's soft Dice term beside its cross-entropy (see :func:`segmentation_loss`)."""


class TaskConfigError(CvvizError, ValueError):
    """A setting that no run of the detection lab can use."""


class TaskDiverged(CvvizError):
    """The loss became non-finite or absurdly large: the learning rate is too large."""


class CheckpointError(CvvizError, ValueError):
    """A file that is not a model saved by the detection lab (or does not fit the model it names)."""


@dataclass(frozen=True)
class TaskConfig:
    """Everything a run depends on. ``epochs``, ``batch_size`` (scenes per step) and ``lr`` None mean the
    task's defaults; ``scenes`` is the number of training scenes (made with ``seed``). ``unet_stride`` is
    how many pixels (per side) the U-Net averages into one before its first level (:class:`UNet`); files
    saved before it existed were trained at full resolution and read back with 1."""

    task: str = "detect"
    epochs: int | None = None
    scenes: int = 1000
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    unet_stride: int = 2

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise TaskConfigError(
                _("Unknown task {name!r}; choose one of {names}.").format(
                    name=self.task, names=", ".join(TASKS)
                )
            )
        if self.epochs is not None:
            _whole(_("number of epochs"), self.epochs, 1, MAX_EPOCHS)
        _whole(_("number of training scenes"), self.scenes, 2, 100_000)
        if self.batch_size is not None:
            _whole(_("batch size"), self.batch_size, 2, 1024)
        if self.lr is not None and (
            isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr)
        ):
            raise TaskConfigError(
                _("The learning rate must be a positive number, not {value}.").format(value=self.lr)
            )
        if self.lr is not None and self.lr <= 0:
            raise TaskConfigError(
                _("The learning rate must be a positive number, not {value}.").format(value=self.lr)
            )
        _whole(_("seed"), self.seed, 0, 2**31 - 1)
        if self.unet_stride not in (1, 2):
            raise TaskConfigError(_("The settings saved with that model are not valid."))

    @property
    def epoch_count(self) -> int:
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.task]

    @property
    def batch(self) -> int:
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH[self.task]

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.task]

    @property
    def metric(self) -> str:
        """``"map50"`` (detection) or ``"miou"`` (segmentation)."""
        return METRIC[self.task]

    def as_dict(self) -> dict[str, object]:
        """Plain values only (saved beside the weights; reads back with ``weights_only=True``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TaskConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def _whole(what: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TaskConfigError(
            _("The {what} must be a whole number from {low} to {high}, not {value!r}.").format(
                what=what, low=low, high=high, value=value
            )
        )


def build_model(task: str, unet_stride: int = 2) -> nn.Module:
    """The task's network, initialised from torch's generator as it stands (seed it first)."""
    if task == "detect":
        return GridDetector(classes=len(CLASSES))
    return UNet(classes=len(SEGMENT_CLASSES), stride=unet_stride)


@dataclass(frozen=True)
class TaskEpoch:
    """One epoch: its mean training ``loss`` (per image) and the held-out score, ``map50`` (detection) or
    ``miou`` (segmentation)."""

    epoch: int
    seconds: float
    loss: float
    map50: float | None = None
    miou: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The CLI's JSON line for the epoch."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}

    @property
    def score(self) -> float:
        return self.map50 if self.map50 is not None else float(self.miou if self.miou is not None else "nan")


@dataclass(frozen=True)
class TaskProgress:
    """What a run has recorded so far (a consistent snapshot, safe to read while it trains)."""

    config: TaskConfig
    parameters: int
    total_steps: int
    epochs: tuple[TaskEpoch, ...] = ()


class TaskLog:
    """The live record of a run: the worker thread writes, any other thread reads :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: TaskProgress | None = None

    def _start(self, progress: TaskProgress) -> None:
        with self._lock:
            self._progress = progress

    def _add_epoch(self, epoch: TaskEpoch) -> None:
        with self._lock:
            assert self._progress is not None
            self._progress = dataclasses.replace(self._progress, epochs=(*self._progress.epochs, epoch))

    def snapshot(self) -> TaskProgress | None:
        with self._lock:
            return self._progress


@dataclass(frozen=True)
class TaskResult:
    """A finished run: its progress, the trained weights and how long it took."""

    progress: TaskProgress
    state_dict: dict[str, torch.Tensor]
    seconds: float

    @property
    def config(self) -> TaskConfig:
        return self.progress.config

    @property
    def epochs(self) -> tuple[TaskEpoch, ...]:
        return self.progress.epochs

    @property
    def score(self) -> float:
        """The last epoch's held-out mAP@0.5 or mIoU."""
        return self.epochs[-1].score

    def final_dict(self) -> dict[str, object]:
        """The CLI's last JSON line."""
        return {
            "task": self.config.task,
            self.config.metric: self.score,
            "seconds": self.seconds,
            "parameters": self.progress.parameters,
        }

    def checkpoint(self) -> dict[str, object]:
        """The settings (plain values) and the weights, for ``torch.save``; :func:`load_checkpoint` reads it
        back with ``weights_only=True``."""
        return {"kind": "cvviz.task", "config": self.config.as_dict(), "state_dict": self.state_dict}

    def checkpoint_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(self.checkpoint(), buffer)
        return buffer.getvalue()


def _targets(scenes: tuple[Scene, ...] | list[Scene]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(scene.boxes, scene.labels) for scene in scenes]


def detector_outputs(model: GridDetector, scenes: tuple[Scene, ...]) -> GridOutputs:
    """The detector's decoded grids for ``scenes``, in batches (one pass over the network)."""
    parts = [
        predict(model, torch.as_tensor(stack_images(scenes[start : start + EVAL_BATCH])))
        for start in range(0, len(scenes), EVAL_BATCH)
    ]
    return GridOutputs(
        np.concatenate([part.boxes for part in parts]),
        np.concatenate([part.objectness for part in parts]),
        np.concatenate([part.class_probs for part in parts]),
        parts[0].image_size,
    )


def detection_map(
    outputs: GridOutputs,
    scenes: tuple[Scene, ...],
    score_threshold: float = EVAL_SCORE,
    iou_threshold: float = DEFAULT_IOU,
) -> float:
    """mAP@0.5 of the detections (after ``score_threshold`` and NMS at ``iou_threshold``) over ``scenes``."""
    found = [postprocess(outputs, index, score_threshold, iou_threshold) for index in range(len(scenes))]
    predictions = [(d.boxes, d.scores, d.labels) for d in found]
    return mean_average_precision(predictions, _targets(scenes)).map50


@torch.inference_mode()
def segment(model: UNet, scenes: tuple[Scene, ...]) -> np.ndarray:
    """The U-Net's label maps (N, H, W) int64 for ``scenes`` (eval mode, restored after)."""
    was_training = model.training
    model.eval()
    try:
        maps = [
            model(torch.as_tensor(stack_images(scenes[start : start + EVAL_BATCH]))).argmax(dim=1).numpy()
            for start in range(0, len(scenes), EVAL_BATCH)
        ]
    finally:
        model.train(was_training)
    return np.concatenate(maps)


class _Silent(Reporter):
    def __init__(self) -> None:
        super().__init__(threading.Event())


def _score(model: nn.Module, task: str, held_out: tuple[Scene, ...]) -> dict[str, float]:
    if task == "detect":
        assert isinstance(model, GridDetector)
        return {"map50": detection_map(detector_outputs(model, held_out), held_out)}
    assert isinstance(model, UNet)
    predicted = segment(model, held_out)
    return {"miou": mean_iou(predicted, stack_semantic(held_out), len(SEGMENT_CLASSES)).miou}


def train(
    config: TaskConfig,
    reporter: Reporter | None = None,
    *,
    log: TaskLog | None = None,
    on_epoch: Callable[[TaskEpoch], None] | None = None,
    held_out: tuple[Scene, ...] | None = None,
) -> TaskResult:
    """Train ``config``'s model on synthetic scenes and score it on ``held_out`` (default: the standard
    held-out scenes) after every epoch. Raises :class:`TaskDiverged` when the loss stops being finite."""
    reporter = reporter or _Silent()
    log = log or TaskLog()
    started = time.perf_counter()
    reporter.update(0.0, _("Making the scenes…"))
    scenes = make_scenes(config.scenes, config.seed)
    held_out = held_out if held_out is not None else held_out_scenes()
    images = torch.as_tensor(stack_images(scenes))
    semantic = torch.as_tensor(stack_semantic(scenes)) if config.task == "segment" else None
    targets = _targets(scenes)
    batches = batches_of(len(scenes), config.batch)
    epochs = config.epoch_count
    total_steps = len(batches) * epochs

    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config.task, config.unet_stride)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.learning_rate,
            total_steps=total_steps,
            pct_start=0.2,
            cycle_momentum=False,
        )
        log._start(TaskProgress(config, sum(p.numel() for p in model.parameters()), total_steps))
        model.train()
        step = 0
        for epoch in range(epochs):
            epoch_started = time.perf_counter()
            order = torch.randperm(
                len(scenes), generator=torch.Generator().manual_seed(config.seed * 7_919 + epoch)
            )
            total, seen = 0.0, 0
            for where in batches:
                chosen = order[where]
                step += 1
                output = model(images[chosen])
                if config.task == "detect":
                    loss = detection_loss(output, [targets[i] for i in chosen.tolist()], images.shape[-1])
                else:
                    assert semantic is not None
                    loss = segmentation_loss(output, semantic[chosen], BACKGROUND_WEIGHT, DICE_WEIGHT)
                value = loss.item()
                if not math.isfinite(value) or abs(value) > DIVERGENCE_LIMIT:
                    raise TaskDiverged(
                        _("Training diverged at step {step}: try a smaller learning rate.").format(step=step)
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += value * len(chosen)
                seen += len(chosen)
                reporter.update(
                    step / total_steps,
                    _("Epoch {epoch} of {epochs}, step {step}").format(
                        epoch=epoch + 1, epochs=epochs, step=step
                    ),
                )
            reporter.update(step / total_steps, _("Scoring the held-out scenes…"))
            metrics = TaskEpoch(
                epoch=epoch + 1,
                seconds=time.perf_counter() - epoch_started,
                loss=total / seen,
                **_score(model, config.task, held_out),
            )
            log._add_epoch(metrics)
            if on_epoch is not None:
                on_epoch(metrics)
    progress = log.snapshot()
    assert progress is not None
    return TaskResult(
        progress=progress,
        state_dict={key: value.detach().clone() for key, value in model.state_dict().items()},
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class LiveTask:
    """A training job and the log it fills as it runs."""

    job: Job[TaskResult]
    log: TaskLog


ESTIMATE_S = {"detect": 40.0, "segment": 50.0}
"""About how long a default run takes on one core (its CPU time, see docs/benchmarks.md)."""


def task_job(config: TaskConfig) -> LiveTask:
    """A :class:`Job` that trains ``config`` (start it, or run it here); read its progress from ``log``."""
    log = TaskLog()
    title = _("Training the {model}").format(model=_(TASKS[config.task]))
    job = Job(title, lambda reporter: train(config, reporter, log=log), estimate_s=ESTIMATE_S[config.task])
    return LiveTask(job, log)


@dataclass(frozen=True)
class SavedTaskModel:
    """A model read back from a file: its settings and weights."""

    config: TaskConfig
    state_dict: dict[str, torch.Tensor]


def model_from_result(result: TaskResult | SavedTaskModel) -> nn.Module:
    """The trained network, rebuilt and loaded with the run's (or the file's) weights, in eval mode."""
    model = build_model(result.config.task, result.config.unet_stride)
    try:
        model.load_state_dict(result.state_dict)
    except RuntimeError as exc:
        raise CheckpointError(
            _("The weights do not fit the {model}.").format(model=_(TASKS[result.config.task]))
        ) from exc
    return model.eval()


def load_checkpoint(source: str | BinaryIO) -> SavedTaskModel:
    """A model saved by the detection lab (:meth:`TaskResult.checkpoint`), read with ``weights_only=True``
    so that a file that would run code is refused; its weights are checked against the model it names."""
    settings, state_dict = read_lab_file(
        source,
        "cvviz.task",
        _("That file is not a model saved by the detection lab ({reason})."),
        _("That file is not a model saved by the detection lab (save one with train-task)."),
        CheckpointError,
    )
    settings.setdefault("unet_stride", 1)  # saved before the U-Net halved its input
    try:
        config = TaskConfig.from_dict(settings)
    except (TaskConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(_("The settings saved with that model are not valid.")) from exc
    saved_model = SavedTaskModel(config, state_dict)
    model_from_result(saved_model)  # refuses weights that do not fit
    return saved_model
