"""What a training run leaves: per-epoch metrics, histograms, live progress and the finished result.

Plain data, read by the page, the CLI and the experiments; :class:`RunLog` is the thread-safe live view
the training loop writes and the page reads while a run is going.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from cvviz.training.config import TrainingConfig
from cvviz.training.data import DatasetInfo

HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch: mean training loss and accuracy over its batches (as trained, with dropout and
    augmentation), validation loss and accuracy after it, its wall-clock seconds and its last learning
    rate."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    lr: float

    def as_dict(self) -> dict[str, float | int]:
        """The CLI's JSON line for the epoch."""
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_acc": self.train_acc,
            "val_loss": self.val_loss,
            "val_acc": self.val_acc,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Histogram:
    """Counts (B,) of values between bin edges (B + 1,)."""

    edges: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: torch.Tensor) -> Histogram:
        counts, edges = np.histogram(values.detach().float().numpy().ravel(), bins=HISTOGRAM_BINS)
        return cls(edges, counts)


@dataclass(frozen=True)
class TrainingProgress:
    """What a run has recorded so far (a consistent snapshot, safe to read while it trains).

    ``gradient_norms`` is (steps, layers): the L2 norm of each layer's weight gradient at every step,
    named by ``layers``; ``filters`` the first layer's weights (F, H, W) after the latest epoch (before
    the first, the initial ones); histograms are per layer, from the latest epoch. ``weights`` is a copy
    of the network's state_dict as it was after step ``weights_step`` (refreshed a few times a second and
    after every epoch), so the page can read a drawing with the network as it trains.
    """

    config: TrainingConfig
    info: DatasetInfo
    layers: tuple[str, ...]
    parameters: int
    total_steps: int
    epochs: tuple[EpochMetrics, ...] = ()
    gradient_norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    filters: np.ndarray | None = None
    weight_histograms: dict[str, Histogram] = field(default_factory=dict)
    activation_histograms: dict[str, Histogram] = field(default_factory=dict)
    weights: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    weights_step: int = 0

    @property
    def steps(self) -> int:
        return int(self.gradient_norms.shape[0])


@dataclass(frozen=True)
class TrainingResult:
    """A finished run: everything :class:`TrainingProgress` holds, plus the test split's verdict.

    ``state_dict`` is the kept weights (the best epoch's when early stopping was on); ``confusion`` is
    (classes, classes) counts, rows the true class, columns the predicted one; ``test_predictions`` (N,)
    the predicted class of every test image; ``filter_history`` the first layer's weights at
    initialisation and after each epoch, (epochs + 1, F, H, W). ``time_limited`` says the run was
    ended by its job's time limit (the last epoch may be partial); its weights are the ones it had then.
    ``epoch_states`` is (epoch, weights) for the initialisation (epoch 0) and up to
    :data:`cvviz.training.loop.EPOCH_SNAPSHOTS` epochs spread over the run, its last epoch included: the
    lab's networks are small, so the same unit can be looked at as the run learned it.
    """

    progress: TrainingProgress
    state_dict: dict[str, torch.Tensor]
    best_epoch: int
    stopped_early: bool
    test_loss: float
    test_acc: float
    confusion: np.ndarray
    test_predictions: np.ndarray
    filter_history: np.ndarray
    seconds: float
    time_limited: bool = False
    epoch_states: tuple[tuple[int, dict[str, torch.Tensor]], ...] = field(default=(), repr=False)

    @property
    def snapshot_epochs(self) -> tuple[int, ...]:
        """The epochs whose weights :attr:`epoch_states` keeps (0: the initialisation)."""
        return tuple(epoch for epoch, _ in self.epoch_states)

    @property
    def config(self) -> TrainingConfig:
        return self.progress.config

    @property
    def epochs(self) -> tuple[EpochMetrics, ...]:
        return self.progress.epochs

    def final_dict(self) -> dict[str, object]:
        """The CLI's last JSON line."""
        return {
            "test_loss": self.test_loss,
            "test_acc": self.test_acc,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "time_limited": self.time_limited,
            "seconds": self.seconds,
        }

    def state_dict_bytes(self) -> bytes:
        """The kept weights as a ``torch.save`` file (loads with ``weights_only=True``)."""
        buffer = io.BytesIO()
        torch.save(self.state_dict, buffer)
        return buffer.getvalue()


class RunLog:
    """The live record of a run: the worker thread writes, any other thread reads :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: TrainingProgress | None = None
        self._norm_rows: list[np.ndarray] = []

    def _start(self, progress: TrainingProgress) -> None:
        with self._lock:
            self._progress = progress
            self._norm_rows = []

    def _add_norms(self, rows: np.ndarray) -> None:
        with self._lock:
            self._norm_rows.append(rows)

    def _update(self, **changes: object) -> None:
        with self._lock:
            assert self._progress is not None
            self._progress = dataclasses.replace(self._progress, **changes)

    def snapshot(self) -> TrainingProgress | None:
        """The run so far, or None before it has started."""
        with self._lock:
            if self._progress is None:
                return None
            rows = [r for r in self._norm_rows if len(r)]
            norms = np.concatenate(rows) if rows else np.zeros((0, len(self._progress.layers)))
            return dataclasses.replace(self._progress, gradient_norms=norms)
