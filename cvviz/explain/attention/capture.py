"""Recording the inputs of attention modules during a forward pass, with hooks that always go away."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

import torch
from torch import nn

from cvviz.errors import CvvizError
from cvviz.hooks import hooks_removed_on_exit, resolve_layers


class NotATransformerError(CvvizError, ValueError):
    """Attention was asked of a model whose family has no self-attention cvviz can show."""


@contextlib.contextmanager
def capture_attention_inputs(model: nn.Module, names: Iterable[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Record the input (the query, for ``nn.MultiheadAttention``) of each named module during forward
    passes inside the block, detached. The hooks are removed on exit, however the block exits.

    Only calls made by this thread are recorded: a shared model may run another session's forward pass
    (one that does not hold the model's lock) while the hooks are attached.
    """
    modules = resolve_layers(model, names)
    captured: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()

    def recorder(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            if threading.get_ident() == owner:
                captured[name] = args[0].detach()

        return hook

    with hooks_removed_on_exit([]) as handles:
        for name, module in modules.items():
            handles.append(module.register_forward_pre_hook(recorder(name)))
        yield captured
