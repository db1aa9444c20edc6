"""A private copy of a shared model: safe to hook, randomise and backpropagate through.

Every attribution runs on such a copy, so the shared, cached model never gets a hook, a ``.grad`` or a
changed flag, whatever happens.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.hooks import hooks_removed_on_exit

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


# Activations Captum's DeepLift and Guided Backprop hook per module: each must run once per forward pass.
_HOOKED_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LeakyReLU)


class _PerCallModules(nn.Module):
    """Stands in for one activation module that a model calls several times per forward pass.

    Holds one copy per call and uses them in turn, so hook-based methods that keep per-module state
    (DeepLift, Guided Backprop) see each call as its own module.
    """

    def __init__(self, module: nn.Module, calls: int) -> None:
        super().__init__()
        self.copies = nn.ModuleList(copy.deepcopy(module) for _ in range(calls))
        self.calls = calls
        self._next = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        module = self.copies[self._next]
        self._next = (self._next + 1) % self.calls
        return module(x)


def set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule called ``name`` (``"layer4.2"``) by ``module``."""
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


@dataclass(eq=False)
class SaliencyModel:
    """A private copy of a model, safe to hook, randomise and backpropagate through.

    In-place activations are made out-of-place and activations called several times per pass are
    unshared (once an example input is seen), which Guided Backprop and DeepLift need. ``spec`` is None
    for models outside the catalog (tests); ``device`` is where the copy lives.
    """

    model: nn.Module
    spec: ModelSpec | None
    device: torch.device
    _unshared: bool = field(default=False, repr=False)

    def unshare_activations(self, example: torch.Tensor) -> None:
        """Give every reused activation module one copy per call (counted on ``example``)."""
        if self._unshared:
            for module in self.model.modules():
                if isinstance(module, _PerCallModules):
                    module._next = 0
            return
        calls: dict[str, int] = {}
        with hooks_removed_on_exit([]) as handles:
            for name, module in self.model.named_modules():
                if isinstance(module, _HOOKED_ACTIVATIONS):

                    def count(_m, _i, _o, name=name) -> None:
                        calls[name] = calls.get(name, 0) + 1

                    handles.append(module.register_forward_hook(count))
            with torch.no_grad():
                self.model(example)
        for name, n in calls.items():
            if n > 1:
                set_submodule(self.model, name, _PerCallModules(self.model.get_submodule(name), n))
        self._unshared = True


def private_copy(loaded_or_model: LoadedModel | nn.Module, spec: ModelSpec | None = None) -> SaliencyModel:
    """A :class:`SaliencyModel` deep-copied from a shared ``LoadedModel`` (under its lock) or a module.

    The shared model is only read: the copy gets its own parameters, has every hook dropped (a copy taken
    while another thread had hooks attached would otherwise inherit them), and turns in-place
    activations out-of-place.
    """
    if isinstance(loaded_or_model, SaliencyModel):
        return loaded_or_model
    if isinstance(loaded_or_model, nn.Module):
        model = copy.deepcopy(loaded_or_model)
        device = next(model.parameters(), torch.empty(0)).device
    else:
        with loaded_or_model.exclusive() as shared:
            model = copy.deepcopy(shared)
        spec = spec or loaded_or_model.spec
        device = loaded_or_model.device
    for module in model.modules():
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
        module._backward_hooks.clear()
        getattr(module, "_backward_pre_hooks", {}).clear()
        if getattr(module, "inplace", False):
            module.inplace = False
    model.eval().requires_grad_(False)
    return SaliencyModel(model, spec, device)
