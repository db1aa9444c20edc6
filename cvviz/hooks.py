"""Forward hooks as context managers that always remove themselves (also on error).

Every piece of cvviz that attaches hooks to a model goes through here, so a shared model never keeps a
hook after the work that needed it, and captured tensors are detached copies of what the model produced.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from cvviz.errors import CvvizError
from cvviz.i18n import _


class UnknownLayerError(CvvizError, ValueError):
    """A layer name that is not a module of the model."""


def resolve_layers(model: nn.Module, names: Iterable[str]) -> dict[str, nn.Module]:
    """Map qualified names (``"layer3.1.conv2"``) to modules; unknown names raise one sentence."""
    modules = dict(model.named_modules())
    resolved = {}
    for name in names:
        if name not in modules:
            raise UnknownLayerError(_("The model has no layer called {name!r}.").format(name=name))
        resolved[name] = modules[name]
    return resolved


@contextlib.contextmanager
def hooks_removed_on_exit(handles: list[RemovableHandle]) -> Iterator[list[RemovableHandle]]:
    """Yield ``handles`` (to be appended to) and remove every one of them on exit, however it exits."""
    try:
        yield handles
    finally:
        for handle in handles:
            handle.remove()
        handles.clear()


def _first_tensor(output: object) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


@contextlib.contextmanager
def capture_outputs(
    model: nn.Module, names: Iterable[str], *, detach: bool = True
) -> Iterator[dict[str, torch.Tensor]]:
    """Record each named module's output during forward passes inside the ``with`` block.

    Yields a dict filled as the model runs: ``{name: output}`` (the last call's output if a module runs
    more than once; the first tensor of a tuple output). Outputs are detached unless ``detach=False``.
    Only forward passes run by the calling thread are recorded, so another session using the same
    shared model at the same moment cannot slip its tensors in.
    """
    modules = resolve_layers(model, names)
    captured: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()

    def recorder(name: str) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if threading.get_ident() != owner:
                return
            tensor = _first_tensor(output)
            if tensor is not None:
                captured[name] = tensor.detach() if detach else tensor

        return hook

    with hooks_removed_on_exit([]) as handles:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(recorder(name)))
        yield captured


def count_hooks(model: nn.Module) -> int:
    """How many forward/backward hooks are attached anywhere in ``model`` (for leak checks)."""
    total = 0
    for module in model.modules():
        total += len(module._forward_hooks) + len(module._forward_pre_hooks)
        total += len(module._backward_hooks) + len(getattr(module, "_backward_pre_hooks", {}))
    return total


@contextlib.contextmanager
def before_each_forward(model: nn.Module, callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback()`` before every forward pass of ``model`` that this thread runs inside the block.

    Work that loops over batches inside a library (Score-CAM, Ablation-CAM) is stopped part-way this way:
    a callback that raises (a cancelled job's :class:`cvviz.jobs.Cancelled`) ends the loop before the next
    batch. The hook is removed on exit, however the block exits.
    """
    owner = threading.get_ident()

    def hook(module: nn.Module, args: tuple) -> None:
        if threading.get_ident() == owner:
            callback()

    with hooks_removed_on_exit([model.register_forward_pre_hook(hook)]):
        yield
