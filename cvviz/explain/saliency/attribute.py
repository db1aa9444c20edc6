"""The one entry point: run any attribution method on any catalog model (CNN, ViT, Swin, hybrid)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.explain.saliency.base import Attribution, SaliencyError, SaliencyOptions
from cvviz.explain.saliency.methods import get_method
from cvviz.explain.saliency.private_model import SaliencyModel, private_copy
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.jobs import Reporter
    from cvviz.models.workbench import LoadedModel


def load_attribution_library() -> None:
    """Import Captum now (over a second the first time in a process), so that timing a map times the
    map itself and an estimate made from it is not inflated by the import."""
    import captum.attr  # noqa: F401


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Captum warns about things cvviz already handles (input requires_grad, hooks being set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def attribute(
    loaded_or_model: LoadedModel | nn.Module | SaliencyModel,
    spec: ModelSpec | None,
    image_tensor: torch.Tensor,
    method: str,
    target: int,
    options: SaliencyOptions | None = None,
    *,
    reporter: Reporter | None = None,
) -> Attribution:
    """Attribute the ``target`` logit to the pixels of ``image_tensor`` (1, C, H, W, preprocessed).

    Works on a private copy (pass a :class:`SaliencyModel` from :func:`private_copy` to reuse one across
    methods); the caller's model and tensor are never touched. Gradients are enabled explicitly, so this
    works inside ``torch.no_grad()`` too. The returned map has the model's input resolution.

    With a job's ``reporter`` the method reports its progress where it knows it (the per-channel CAMs)
    and stops before its next forward pass once the job is cancelled, raising :class:`cvviz.jobs.Cancelled`.
    """
    chosen = get_method(method)
    options = options or SaliencyOptions()
    private = private_copy(loaded_or_model, spec)
    spec = private.spec
    num_classes = spec.num_classes if spec is not None else None
    if not isinstance(target, (int, np.integer)) or target < 0 or (num_classes and target >= num_classes):
        limit = f" 0–{num_classes - 1}" if num_classes else " a non-negative index"
        raise SaliencyError(
            _("Target class {target!r} is out of range; use{limit}.").format(target=target, limit=limit)
        )
    target = int(target)
    dtype = next(private.model.parameters()).dtype
    x = image_tensor.detach().to(private.device, dtype).clone().requires_grad_(True)
    if x.dim() != 4 or x.shape[0] != 1:
        raise SaliencyError(
            _("Expected one image of shape (1, C, H, W), got {value}.").format(
                value=tuple(image_tensor.shape)
            )
        )
    with torch.enable_grad(), _quiet():
        try:
            if reporter is None:
                result, layer = chosen.run(private, x, target, options)
            else:
                result, layer = chosen.run_reported(private, x, target, options, reporter)
        except IndexError as exc:
            raise SaliencyError(
                _("Target class {target} is out of range for this model.").format(target=target)
            ) from exc
    raw = result.detach()[0].float().cpu().numpy()
    return Attribution(
        map=raw.sum(axis=0).astype(np.float32),
        method=method,
        target=target,
        raw=None if chosen.layer_map else raw.astype(np.float32),
        layer=layer,
    )
