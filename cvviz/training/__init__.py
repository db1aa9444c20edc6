"""The training lab: train small networks on digits on the CPU and watch them learn.

* :mod:`.data` — the digits (bundled), MNIST and Fashion-MNIST, with fixed stratified splits;
* :mod:`.models` — LeNet-5 (the catalog's), an MLP of the same size, deep plain and residual CNNs;
* :mod:`.config` — a run's hyper-parameters, checked when made;
* :mod:`.loop` — the instrumented training loop, as a job the app and the CLI both drive;
* :mod:`.crossval`, :mod:`.experiments` — K-fold cross-validation, vanishing gradients, shift and
  rotation robustness;
* :mod:`.timing` — how long a run or an experiment will take, from a training step timed here.
"""

from cvviz.training.config import OPTIMIZERS, SCHEDULES, TrainingConfig, TrainingConfigError
from cvviz.training.data import DATASETS, DatasetInfo, load_dataset
from cvviz.training.loop import (
    EpochMetrics,
    LiveTraining,
    RunLog,
    TrainingDiverged,
    TrainingProgress,
    TrainingResult,
    train,
    training_job,
)
from cvviz.training.models import INITS, MODELS

__all__ = [
    "DATASETS",
    "INITS",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULES",
    "DatasetInfo",
    "EpochMetrics",
    "LiveTraining",
    "RunLog",
    "TrainingConfig",
    "TrainingConfigError",
    "TrainingDiverged",
    "TrainingProgress",
    "TrainingResult",
    "load_dataset",
    "train",
    "training_job",
]
