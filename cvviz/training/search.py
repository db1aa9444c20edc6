"""Hyper-parameter search over learning rate × weight decay, with the same budget of runs for each method:
a grid, random search (Bergstra & Bengio 2012) and Bayesian search with optuna's TPE (Bergstra et al. 2011).

Every trial is a full training run scored by its best validation accuracy; the test split is never used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.jobs import Reporter
from cvviz.training.config import TrainingConfig
from cvviz.training.data import Dataset
from cvviz.training.loop import TrainingDiverged, train

METHODS = ("grid", "random", "tpe")
LR_RANGE = (1e-4, 1e-1)
DECAY_RANGE = (1e-6, 1e-2)


@dataclass(frozen=True)
class Trial:
    """One run of the search: its settings and its best validation accuracy (0 when it diverged)."""

    method: str
    number: int
    lr: float
    weight_decay: float
    val_acc: float
    diverged: bool = False


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def grid_points(budget: int) -> list[tuple[float, float]]:
    """About ``budget`` (lr, weight decay) pairs on a log-spaced grid, as square as the budget allows."""
    side_lr = max(1, math.ceil(math.sqrt(budget)))
    side_decay = max(1, budget // side_lr)
    lrs = np.geomspace(*LR_RANGE, side_lr)
    decays = np.geomspace(*DECAY_RANGE, side_decay)
    return [(float(lr), float(decay)) for lr in lrs for decay in decays][:budget]


def search(
    config: TrainingConfig,
    method: str,
    budget: int,
    reporter: Reporter | None = None,
    *,
    dataset: Dataset | None = None,
) -> list[Trial]:
    """``budget`` training runs of ``config`` with learning rate and weight decay chosen by ``method``."""
    if method not in METHODS:
        raise CvvizError(
            _("Unknown search method {method}; choose one of {choices}.").format(
                method=repr(method), choices=", ".join(METHODS)
            )
        )
    if budget < 1:
        raise CvvizError(
            _("A search needs a budget of at least one run, not {budget}.").format(budget=budget)
        )
    trials: list[Trial] = []

    def score(lr: float, decay: float) -> float:
        part = None
        if reporter is not None:
            done = len(trials)
            reporter.update(
                done / budget,
                _("{method}: run {run} of {budget}").format(method=method, run=done + 1, budget=budget),
            )
            part = reporter.part(done / budget, (done + 1) / budget)
        try:
            result = train(config.replace(lr=lr, weight_decay=decay), part, dataset=dataset)
        except TrainingDiverged:
            trials.append(Trial(method, len(trials) + 1, lr, decay, 0.0, diverged=True))
            return 0.0
        accuracy = max(m.val_acc for m in result.epochs)
        trials.append(Trial(method, len(trials) + 1, lr, decay, accuracy))
        return accuracy

    if method == "grid":
        for lr, decay in grid_points(budget):
            score(lr, decay)
    elif method == "random":
        rng = np.random.default_rng(config.seed)
        for _run in range(budget):
            score(_log_uniform(rng, *LR_RANGE), _log_uniform(rng, *DECAY_RANGE))
    else:
        _tpe(config.seed, budget, score)
    return trials


def _tpe(seed: int, budget: int, score: Callable[[float, float], float]) -> None:
    try:
        import optuna
    except ImportError as exc:
        raise CvvizError(_("Bayesian search needs optuna: `pip install optuna`.")) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(4, budget))
    )
    study.optimize(
        lambda trial: score(
            trial.suggest_float("lr", *LR_RANGE, log=True),
            trial.suggest_float("weight_decay", *DECAY_RANGE, log=True),
        ),
        n_trials=budget,
    )
