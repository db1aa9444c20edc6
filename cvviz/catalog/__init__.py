"""The model catalog: the single source of truth for which backbones cvviz knows and what they are.

* :mod:`.schema` — what an entry is (``ModelSpec``, ``Preprocessing``, ``Paper``, …);
* :mod:`.papers` — the papers' prose, as data;
* :mod:`.registry` — which models exist, collected from the family plug-ins in :mod:`cvviz.families`;
* :mod:`.torchvision_meta` — entries for torchvision builders, read from their ``Weights`` enums.

One persisted row per model (size, accuracy, story), for views that must draw before torch is
imported, is in :mod:`cvviz.measure.catalog_figures`.

Every other part of cvviz (the app, the CLI, the docs and the tests) iterates this catalog instead of
keeping its own table. Metadata that torchvision publishes is read from its ``Weights`` enums.
"""

from cvviz.catalog.registry import (
    CATALOG,
    DEFAULT_MODEL,
    SELF_SUPERVISED,
    family_names,
    get_family,
    get_spec,
    list_models,
    list_self_supervised,
    list_task_models,
)
from cvviz.catalog.schema import (
    HEAD_TASKS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PRETRAINING_LABELS,
    TASK_LABELS,
    ModelKind,
    ModelSpec,
    PackagedWeights,
    Paper,
    Preprocessing,
    Pretraining,
    PublishedAccuracy,
    PublishedCheckpoint,
    PublishedMetric,
    Task,
)

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "HEAD_TASKS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PRETRAINING_LABELS",
    "SELF_SUPERVISED",
    "TASK_LABELS",
    "ModelKind",
    "ModelSpec",
    "PackagedWeights",
    "Paper",
    "Preprocessing",
    "Pretraining",
    "PublishedAccuracy",
    "PublishedCheckpoint",
    "PublishedMetric",
    "Task",
    "family_names",
    "get_family",
    "get_spec",
    "list_models",
    "list_self_supervised",
    "list_task_models",
]
