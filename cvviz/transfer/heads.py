"""New heads on frozen features: a linear probe and a small MLP, scored by stratified K-fold.

* **Linear probe** — multinomial logistic regression (scikit-learn's ``LogisticRegression``, L2, lbfgs) on
  the standardised pooled features, the standard measure of how linearly separable a backbone makes new
  classes (Kornblith et al., "Do Better ImageNet Models Transfer Better?", 2019).
* **MLP head** — one hidden layer of :data:`MLP_HIDDEN` ReLU units with dropout, trained full-batch with
  Adam in PyTorch on the same standardised features.

Both come out as a :class:`Head` — a ``torch.nn.Module`` mapping pooled features (B, D) to class logits
(B, K), the standardisation folded in — so they export as one state_dict and run after the backbone.
Scoring fits the standardisation and the head on the training folds only: the held-out fold never
influences its own prediction (shuffled labels score near chance; see the tests).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.jobs import Reporter
from cvviz.training.data import stratified_folds

HeadMode = Literal["probe", "mlp"]
HEAD_MODES: tuple[str, ...] = ("probe", "mlp")
MODE_TITLES = {"probe": N_("Linear probe"), "mlp": N_("MLP head"), "finetune": N_("Fine-tuning")}
MLP_HIDDEN = 256
MLP_STEPS = 150
MLP_LR = 3e-3
MLP_DROPOUT = 0.2
PROBE_C = 1.0
PROBE_MAX_ITER = 2000
PROBE_TOL = 1e-3  # half the lbfgs iterations of scikit-learn's 1e-4, the same held-out accuracy


class TransferSettingsError(CvvizError, ValueError):
    """Settings that cannot run (an unknown mode, too many folds for the images)."""


class Head(nn.Module):
    """Class logits from pooled features: ``layers((x - mean) / std)``; ``mean``/``std`` have shape (D,).

    ``hidden`` is 0 for a linear head (``layers`` is one ``nn.Linear``), else the width of the MLP's one
    hidden layer.
    """

    def __init__(self, dim: int, classes: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = hidden
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        if hidden:
            self.layers = nn.Sequential(
                nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, classes)
            )
        else:
            self.layers = nn.Sequential(nn.Linear(dim, classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers((features - self.mean) / self.std)


def _standardise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    return mean, np.where(std > 1e-6, std, 1.0)


def fit_head(features: np.ndarray, labels: np.ndarray, classes: int, mode: HeadMode, seed: int = 0) -> Head:
    """A head trained on ``features`` (N, D) with ``labels`` (N,) in 0…``classes`` − 1, in eval mode."""
    if mode not in HEAD_MODES:
        raise TransferSettingsError(
            _("Unknown head {mode!r}; expected one of {modes}.").format(
                mode=mode, modes=", ".join(HEAD_MODES)
            )
        )
    mean, std = _standardise(features)
    scaled = (features - mean) / std
    head = Head(features.shape[1], classes, MLP_HIDDEN if mode == "mlp" else 0, MLP_DROPOUT)
    head.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    head.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    if mode == "probe":
        _fit_probe(head.layers[0], scaled, labels, classes, seed)
    else:
        _fit_mlp(head, torch.as_tensor(features, dtype=torch.float32), labels, seed)
    return head.eval().requires_grad_(False)


def _fit_probe(linear: nn.Linear, scaled: np.ndarray, labels: np.ndarray, classes: int, seed: int) -> None:
    """Logistic regression with scikit-learn, copied into ``linear`` (K logits; a two-class fit's one
    score becomes the logits (0, z), which give the same softmax)."""
    from sklearn.linear_model import LogisticRegression

    present = np.unique(labels)
    weight = np.zeros((classes, scaled.shape[1]), dtype=np.float32)
    bias = np.full(classes, -1e4, dtype=np.float32)  # a class absent from training is never predicted
    if len(present) == 1:
        bias[present[0]] = 0.0
    else:
        model = LogisticRegression(C=PROBE_C, max_iter=PROBE_MAX_ITER, tol=PROBE_TOL, random_state=seed)
        model.fit(scaled, labels)
        if len(present) == 2:
            weight[present[1]], bias[present[1]], bias[present[0]] = model.coef_[0], model.intercept_[0], 0.0
        else:
            weight[present], bias[present] = model.coef_, model.intercept_
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(weight))
        linear.bias.copy_(torch.as_tensor(bias))


def _fit_mlp(head: Head, features: torch.Tensor, labels: np.ndarray, seed: int) -> None:
    target = torch.as_tensor(labels, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in head.layers:
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        head.train()
        optimiser = torch.optim.Adam(head.layers.parameters(), lr=MLP_LR, weight_decay=1e-4)
        for _step in range(MLP_STEPS):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(head(features), target)
            loss.backward()
            optimiser.step()
    head.eval()


def predict_head(head: nn.Module, features: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ``head`` for ``features`` (N, D)."""
    with torch.no_grad():
        return head(torch.as_tensor(features, dtype=torch.float32)).softmax(dim=1).numpy()


@dataclass(frozen=True, eq=False)
class TransferResult:
    """How well a backbone's features (or its fine-tuned copy) learn the classes.

    ``fold_acc`` are the held-out accuracies of the K folds; ``predicted`` (N,) is every image's class as
    predicted by the fold that held it out (out-of-fold), from which ``confusion`` (K, K; rows true,
    columns predicted) and ``per_class`` come. ``head`` is trained on every image (for export and live
    prediction); ``model`` holds the fine-tuned network when ``mode`` is ``finetune``. ``seconds`` is the
    training and scoring time (features already extracted are not counted).
    """

    model_name: str
    mode: str
    classes: tuple[str, ...]
    labels: np.ndarray
    fold_acc: tuple[float, ...]
    predicted: np.ndarray
    seconds: float
    head: nn.Module
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def folds(self) -> int:
        return len(self.fold_acc)

    @property
    def acc_mean(self) -> float:
        return float(np.mean(self.fold_acc))

    @property
    def acc_std(self) -> float:
        return float(np.std(self.fold_acc))

    @property
    def confusion(self) -> np.ndarray:
        size = len(self.classes)
        matrix = np.zeros((size, size), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.predicted), 1)
        return matrix

    @property
    def per_class(self) -> dict[str, float]:
        """Out-of-fold accuracy of each class."""
        matrix = self.confusion
        totals = matrix.sum(axis=1)
        return {
            name: float(matrix[i, i] / totals[i]) if totals[i] else 0.0 for i, name in enumerate(self.classes)
        }

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the images of class ``true`` predicted as ``predicted`` (a confusion-matrix cell)."""
        return np.flatnonzero((self.labels == true) & (self.predicted == predicted))

    def as_dict(self) -> dict:
        """The JSON the CLI prints: model, mode, classes, folds, acc_mean, acc_std, per_class, seconds."""
        return {
            "model": self.model_name,
            "mode": self.mode,
            "classes": list(self.classes),
            "folds": self.folds,
            "acc_mean": self.acc_mean,
            "acc_std": self.acc_std,
            "per_class": self.per_class,
            "seconds": self.seconds,
        }


def cross_validate_head(
    features: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    mode: HeadMode,
    folds: int = 5,
    seed: int = 0,
    *,
    model_name: str = "",
    reporter: Reporter | None = None,
) -> TransferResult:
    """Score ``mode`` by stratified ``folds``-fold cross-validation on ``features`` (N, D), then fit the
    head on every image. Each fold's standardisation and head see only its training images. The folds
    are the training lab's (:func:`cvviz.training.data.stratified_folds`)."""
    import sklearn.linear_model  # noqa: F401  (imported before the clock starts: slow the first time)

    start = time.perf_counter()
    splits = stratified_folds(labels, folds, seed)
    predicted = np.full(len(labels), -1, dtype=np.int64)
    accuracies = []
    for index, (train, held) in enumerate(splits):
        if reporter is not None:
            reporter.update(
                index / (folds + 1), _("Fold {fold} of {folds}").format(fold=index + 1, folds=folds)
            )
        head = fit_head(features[train], labels[train], len(classes), mode, seed)
        guess = predict_head(head, features[held]).argmax(axis=1)
        predicted[held] = guess
        accuracies.append(float((guess == labels[held]).mean()))
    if reporter is not None:
        reporter.update(folds / (folds + 1), _("Training the head on every image"))
    final = fit_head(features, labels, len(classes), mode, seed)
    return TransferResult(
        model_name, mode, tuple(classes), labels.copy(), tuple(accuracies), predicted,
        time.perf_counter() - start, final, seed,
    )  # fmt: skip
