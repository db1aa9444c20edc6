"""The self-supervised backbones as the catalog lists them (task ``self_supervised``), and the sentence
that says how to fetch their weights: without them these views would mean nothing, so they are never
shown with random weights."""

from __future__ import annotations

from cvviz.catalog import SELF_SUPERVISED, ModelSpec, Pretraining, get_spec, list_self_supervised
from cvviz.errors import UnknownModelError
from cvviz.i18n import _
from cvviz.models.weights import cached_weights_path, weights_filename


def self_supervised_spec(
    name: str, pretraining: Pretraining | None = None, exclude: Pretraining | None = None
) -> ModelSpec:
    """The catalog entry ``name`` of the self-supervised task, pretrained as asked (``pretraining``, and
    not ``exclude``); else one sentence naming those that fit."""
    spec = get_spec(name, task=SELF_SUPERVISED)
    if (pretraining is not None and spec.pretraining != pretraining) or spec.pretraining == exclude:
        fitting = [
            s.name for s in list_self_supervised(pretraining) if exclude is None or s.pretraining != exclude
        ]
        raise UnknownModelError(
            _("Unknown self-supervised model {name!r}; choose one of {choices}.").format(
                name=spec.name, choices=", ".join(fitting)
            )
        )
    return spec


def missing_weights_message(spec: ModelSpec) -> str:
    """What to do when the spec's weights are not here: the command that fetches them."""
    return _(
        "The weights of {title} are not on this machine; with random weights these views would mean "
        "nothing. Fetch them while online with `python -m cvviz weights fetch {name}` ({file})."
    ).format(title=spec.title, name=spec.name, file=weights_filename(spec))


def weights_cached(spec: ModelSpec) -> bool:
    """Whether the spec's published checkpoint is in the hub cache (views use it without a download)."""
    return cached_weights_path(spec) is not None
