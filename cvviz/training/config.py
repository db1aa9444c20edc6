"""A training run's settings, checked when they are made: a bad value is one sentence, before any work."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.models.architectures.options import ACTIVATIONS, NORMS
from cvviz.training.data import DATASETS
from cvviz.training.models import INITS, MODELS

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
"""Plain SGD, SGD with (heavy-ball / Nesterov) momentum 0.9, AdaGrad, RMSProp, Adam and AdamW."""
SCHEDULES = ("constant", "step", "cosine", "onecycle")
"""The learning rate over the run: fixed; ×0.1 after each third of the epochs; cosine decay to 0;
one-cycle (warm up to the learning rate over the first 30% of steps, then anneal)."""
MAX_EPOCHS = 500
MAX_DEPTH = 64


class TrainingConfigError(CvvizError, ValueError):
    """A hyper-parameter that no run can use."""


@dataclass(frozen=True)
class TrainingConfig:
    """Everything a run depends on; the same config and seed give the same metrics on the CPU.

    The defaults train the paper's LeNet-5 on the digits to about 98% test accuracy in a few seconds on
    two CPU cores: SGD with Nesterov momentum and a one-cycle schedule peaking at 0.05, batches of 16,
    dropout 0.1 before the fully connected layers.

    ``activation`` None means the model's own (tanh for LeNet-5, ReLU for its modern variant).
    ``patience`` None turns early stopping off; otherwise the run stops after that many epochs without a
    better validation loss, and the best epoch's weights are kept. ``train_images`` limits the training
    split to its first N images (quick experiments and tests); None uses all of it.
    """

    model: str = "lenet5"
    dataset: str = "digits"
    epochs: int = 12
    batch_size: int = 16
    optimizer: str = "nesterov"
    lr: float = 0.05
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    activation: str | None = None
    norm: str = "none"
    dropout: float = 0.1
    init: str = "default"
    augment: bool = False
    patience: int | None = None
    depth: int = 8
    seed: int = 0
    train_images: int | None = None

    def __post_init__(self) -> None:
        _one_of(N_("model"), self.model, tuple(MODELS))
        _one_of(N_("data set"), self.dataset, DATASETS)
        _one_of(N_("optimiser"), self.optimizer, OPTIMIZERS)
        _one_of(N_("learning-rate schedule"), self.schedule, SCHEDULES)
        _one_of(N_("normalisation"), self.norm, NORMS)
        _one_of(N_("initialisation"), self.init, INITS)
        if self.activation is not None:
            _one_of(N_("activation"), self.activation, ACTIVATIONS)
        _whole(N_("epochs"), self.epochs, 1, MAX_EPOCHS)
        _whole(N_("batch size"), self.batch_size, 1, 65536)
        _whole(N_("depth"), self.depth, 1, MAX_DEPTH)
        if not _finite(self.lr) or self.lr <= 0:
            raise TrainingConfigError(
                _("The learning rate must be a positive number, not {value}.").format(value=self.lr)
            )
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            raise TrainingConfigError(
                _("Weight decay must be zero or positive, not {value}.").format(value=self.weight_decay)
            )
        if not _finite(self.dropout) or not 0 <= self.dropout < 1:
            raise TrainingConfigError(
                _("Dropout must be at least 0 and below 1, not {value}.").format(value=self.dropout)
            )
        if self.patience is not None:
            _whole(N_("patience"), self.patience, 1, MAX_EPOCHS)
        if self.train_images is not None:
            _whole(N_("number of training images"), self.train_images, 1, 10**7)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise TrainingConfigError(
                _("The seed must be a whole number of at least 0, not {value}.").format(value=repr(self.seed))
            )

    @property
    def model_activation(self) -> str:
        """The activation the network is built with."""
        return self.activation or MODELS[self.model].default_activation

    @property
    def catalog_model(self) -> str | None:
        """The catalog model that this run's state_dict loads into and runs exactly as trained (same
        layers, same activation), or None."""
        spec = MODELS[self.model]
        if (
            spec.catalog_name is None
            or self.norm != "none"
            or self.model_activation != spec.default_activation
        ):
            return None
        return spec.catalog_name

    def replace(self, **changes: object) -> TrainingConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """The settings that differ from the defaults, in one line (for legends and tables)."""
        default = TrainingConfig()
        parts = [self.model]
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name != "model" and value != getattr(default, field.name):
                parts.append(f"{field.name}={value}")
        return ", ".join(parts)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _one_of(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TrainingConfigError(
            _("Unknown {what} {value}; choose one of {choices}.").format(
                what=_(what), value=repr(value), choices=", ".join(choices)
            )
        )


def _whole(what: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrainingConfigError(
            _("The {what} must be a whole number from {low} to {high}, not {value}.").format(
                what=_(what), low=low, high=high, value=repr(value)
            )
        )
