"""The registry: which models exist. It collects every family plug-in's entries, once, on first use.

Like torchvision's ``list_models``/``get_model``: unknown names raise one sentence, duplicates are refused.
Reading the registry imports the family modules (and with them torchvision); code that must stay light
(the first page's timeline) reads the persisted index in :mod:`cvviz.catalog.index` instead.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from cvviz.catalog.schema import HEAD_TASKS, TASK_LABELS, ModelSpec, Pretraining, Task
from cvviz.errors import UnknownModelError
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.families.base import Family

DEFAULT_MODEL = "efficientnet_lite0"

_lock = threading.Lock()
_specs: dict[str, ModelSpec] = {}
_families: dict[str, Family] = {}


def _loaded() -> tuple[dict[str, ModelSpec], dict[str, Family]]:
    if not _families:
        with _lock:
            if not _families:
                from cvviz.families import FAMILIES

                specs: dict[str, ModelSpec] = {}
                for family in FAMILIES:
                    for spec in family.entries():
                        if spec.name in specs:
                            raise ValueError(_("Duplicate catalog entry {name!r}").format(name=spec.name))
                        if spec.family != family.name:
                            raise ValueError(
                                _("{name!r} is listed by {name2} but names {family!r}").format(
                                    name=spec.name, name2=family.name, family=spec.family
                                )
                            )
                        specs[spec.name] = spec
                _specs.update(specs)
                _families.update({family.name: family for family in FAMILIES})
    return _specs, _families


class _Catalog(Mapping[str, ModelSpec]):
    """A read-only mapping of every catalog model by name, loaded on first use."""

    def __getitem__(self, name: str) -> ModelSpec:
        return _loaded()[0][name]

    def __iter__(self) -> Iterator[str]:
        return iter(_loaded()[0])

    def __len__(self) -> int:
        return len(_loaded()[0])


CATALOG: Mapping[str, ModelSpec] = _Catalog()


CLASSIFICATION: Task = "classification"


def _matches(spec: ModelSpec, task: Task | tuple[Task, ...] | None) -> bool:
    if task is None:
        return True
    return spec.task in ((task,) if isinstance(task, str) else task)


def family_names(task: Task | tuple[Task, ...] | None = CLASSIFICATION) -> tuple[str, ...]:
    """Family names in the order of the story the app tells: those with a model of ``task`` (classifiers
    by default, like :func:`list_models`; None for every family)."""
    specs = _loaded()[0].values()
    return tuple(name for name in _loaded()[1] if any(s.family == name and _matches(s, task) for s in specs))


def get_family(name_or_spec: str | ModelSpec) -> Family:
    """The plug-in for a family name or for a catalog entry's family."""
    name = name_or_spec.family if isinstance(name_or_spec, ModelSpec) else name_or_spec
    families = _loaded()[1]
    if name not in families:
        raise UnknownModelError(
            _("Unknown model family {name!r}; families: {value}.").format(
                name=name, value=", ".join(families)
            )
        )
    return families[name]


def list_models(
    family: str | None = None,
    *,
    task: Task | tuple[Task, ...] | None = CLASSIFICATION,
    pretraining: Pretraining | None = None,
) -> tuple[ModelSpec, ...]:
    """Catalog entries in story order (by family, then as listed), optionally one family only.

    ``task`` is the one rule for which models a view may offer: classifiers by default (every view that
    explains a backbone's prediction — saliency, compare, receptive fields — needs an ImageNet
    classifier), a task or tuple of tasks, or None for every entry (weights, the catalog listing).
    ``pretraining`` keeps the models whose weights were learned that way (``dino``, ``mae`` …).
    """
    specs = _loaded()[0].values()
    return tuple(
        spec
        for spec in specs
        if (family is None or spec.family == family)
        and _matches(spec, task)
        and (pretraining is None or spec.pretraining == pretraining)
    )


def list_task_models() -> tuple[ModelSpec, ...]:
    """The models with a task head (detection, instance and semantic segmentation, keypoints)."""
    return list_models(task=HEAD_TASKS)


SELF_SUPERVISED: Task = "self_supervised"


def list_self_supervised(pretraining: Pretraining | None = None) -> tuple[ModelSpec, ...]:
    """The backbones shown for their self-supervised features (and the supervised twin they are compared
    with), optionally only those pretrained one way."""
    return list_models(task=SELF_SUPERVISED, pretraining=pretraining)


def get_spec(name: str, *, task: Task | tuple[Task, ...] | None = None) -> ModelSpec:
    """The catalog entry called ``name``; an unknown name raises :class:`UnknownModelError`, and so does a
    model of another ``task`` than the caller needs (a detector asked to classify), in one sentence
    naming models that fit."""
    specs = _loaded()[0]
    try:
        spec = specs[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), specs.keys(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownModelError(
            _("Unknown model {name!r}{hint}; `python -m cvviz models` lists the catalog.").format(
                name=name, hint=hint
            )
        ) from None
    if task is not None and not _matches(spec, task):
        tasks = (task,) if isinstance(task, str) else task
        fitting = ", ".join(s.name for s in list_models(task=task)[:3])
        raise UnknownModelError(
            _("{name} is a {task} model, not a {wanted} model; try {fitting}.").format(
                name=spec.name,
                task=_(TASK_LABELS[spec.task]),
                wanted=" / ".join(_(TASK_LABELS[t]) for t in tasks),
                fitting=fitting,
            )
        )
    return spec
