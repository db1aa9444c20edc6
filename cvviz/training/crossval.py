"""K-fold cross-validation: how much a configuration's accuracy depends on which images it was shown."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from cvviz.i18n import _
from cvviz.jobs import Reporter
from cvviz.training.config import TrainingConfig
from cvviz.training.data import Dataset, Split, load_dataset, stratified_folds
from cvviz.training.loop import SPLIT_SEED, train


@dataclass(frozen=True)
class FoldResult:
    """One fold: trained on the other folds, scored on this one (its validation split)."""

    fold: int
    val_loss: float
    val_acc: float
    held_out: int


@dataclass(frozen=True)
class CrossValidation:
    """Every fold's score, and their mean and (population) standard deviation."""

    config: TrainingConfig
    folds: tuple[FoldResult, ...]

    @property
    def mean_acc(self) -> float:
        return float(np.mean([f.val_acc for f in self.folds]))

    @property
    def std_acc(self) -> float:
        return float(np.std([f.val_acc for f in self.folds]))


def cross_validate(
    config: TrainingConfig,
    folds: int,
    reporter: Reporter | None = None,
    *,
    dataset: Dataset | None = None,
) -> CrossValidation:
    """Train ``config`` ``folds`` times on the training and validation images pooled and split into
    stratified folds; the test split is never touched. Each run's validation split is its held-out fold,
    so early stopping (if on) watches that fold."""
    dataset = dataset or load_dataset(config.dataset, seed=SPLIT_SEED)
    pool = Split(
        torch.cat([dataset.train.images, dataset.val.images]),
        torch.cat([dataset.train.labels, dataset.val.labels]),
    )
    splits = stratified_folds(pool.labels.numpy(), folds, config.seed)
    results = []
    for index, (train_idx, held_idx) in enumerate(splits, start=1):
        part = None
        if reporter is not None:
            reporter.update((index - 1) / folds, _("Fold {fold} of {folds}").format(fold=index, folds=folds))
            part = reporter.part((index - 1) / folds, index / folds)
        fold_data = dataclasses.replace(dataset, train=pool.subset(train_idx), val=pool.subset(held_idx))
        run = train(config, part, dataset=fold_data)
        best = run.epochs[run.best_epoch - 1] if config.patience is not None else run.epochs[-1]
        results.append(FoldResult(index, best.val_loss, best.val_acc, len(held_idx)))
    if reporter is not None:
        reporter.update(1.0, _("Cross-validation done"))
    return CrossValidation(config, tuple(results))
