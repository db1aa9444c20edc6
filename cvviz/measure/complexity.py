"""Parameters and multiply-accumulates, per layer and in total, counted on the meta device.

Counting runs the model once on ``meta`` tensors under :class:`torch.utils.flop_counter.FlopCounterMode`:
no weights, no memory, a whole catalog in seconds. That counter sees every matrix product torch runs,
including the ones inside fused attention (``scaled_dot_product_attention``), so a ViT's attention
matmuls are counted. Convention: 1 MAC = 2 FLOPs. Not counted: element-wise work (activations,
normalisation, additions, softmax) and pooling, as in torchvision's published ``_ops``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from cvviz.catalog.schema import ModelSpec
from cvviz.hooks import hooks_removed_on_exit
from cvviz.i18n import N_
from cvviz.models.build import build_on_meta

NOT_COUNTED = N_("element-wise operations (activations, normalisation, additions, softmax) and pooling")


@dataclass(frozen=True)
class LayerCost:
    """One module's own cost: what it computes itself, excluding its children's share.

    ``output_shape`` is the (last) output's shape including the batch dimension; ``depth`` is how
    many dots its qualified ``name`` has (0 for top-level children).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    depth: int
    calls: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class Complexity:
    """Whole-model totals and the per-module rows whose own costs add up to them exactly."""

    layers: tuple[LayerCost, ...]
    params: int
    macs: int
    input_shape: tuple[int, ...]

    @property
    def flops(self) -> int:
        return 2 * self.macs


_SHAPE_PRESERVING_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


@contextlib.contextmanager
def _norms_as_identity(model: nn.Module) -> Iterator[None]:
    """On the meta device, run normalisation layers as the identity while counting.

    They keep the shape, hold no matrix product (they count zero MACs either way) and their meta
    kernels are slow Python decompositions: skipping them makes counting the catalog about twice as
    fast with the same totals (see docs/benchmarks.md). Their modules, parameters and hooks are untouched.
    """
    norms = [m for m in model.modules() if isinstance(m, _SHAPE_PRESERVING_NORMS)]
    for module in norms:
        module.forward = _identity
    try:
        yield
    finally:
        for module in norms:
            del module.forward


def _identity(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return x


def _strip_root(counter_name: str) -> str:
    """FlopCounterMode names modules ``RootClass.qualified.name``; keep the qualified name."""
    return counter_name.split(".", 1)[1] if "." in counter_name else ""


def measure_complexity(model: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    """Count ``model``'s parameters and MACs for one input of ``input_shape`` (with batch dimension).

    The model is run on the meta device if its parameters live there, else where they are; nothing is
    learned and no gradients are kept.
    """
    device = next(model.parameters()).device
    shapes: dict[str, tuple[int, ...]] = {}
    calls: dict[str, int] = {}

    def recorder(name: str):
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            tensor = output[0] if isinstance(output, (tuple, list)) and output else output
            if isinstance(tensor, torch.Tensor):
                shapes[name] = tuple(tensor.shape)
            calls[name] = calls.get(name, 0) + 1

        return hook

    modules = dict(model.named_modules())
    counter = FlopCounterMode(display=False)
    shortcut = _norms_as_identity(model) if device.type == "meta" else contextlib.nullcontext()
    with hooks_removed_on_exit([]) as handles:
        for name, module in modules.items():
            if name:
                handles.append(module.register_forward_hook(recorder(name)))
        with torch.no_grad(), shortcut, counter:
            model(torch.zeros(input_shape, device=device))

    totals = {
        _strip_root(key): sum(ops.values()) // 2
        for key, ops in counter.get_flop_counts().items()
        if key != "Global"
    }
    total_macs = counter.get_total_flops() // 2
    rows = []
    for name, module in modules.items():
        if not name:
            continue
        children = [f"{name}.{child}" for child, _ in module.named_children()]
        own_macs = totals.get(name, 0) - sum(totals.get(child, 0) for child in children)
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(
            LayerCost(
                name=name,
                type=type(module).__name__,
                output_shape=shapes.get(name),
                params=own_params,
                macs=own_macs,
                depth=name.count("."),
                calls=calls.get(name, 0),
            )
        )
    root_macs = total_macs - sum(totals.get(child, 0) for child, _ in model.named_children())
    root_params = sum(p.numel() for p in model.parameters(recurse=False))
    if root_macs or root_params:
        rows.insert(0, LayerCost("(model)", type(model).__name__, None, root_params, root_macs, -1, 1))
    return Complexity(
        layers=tuple(rows),
        params=sum(p.numel() for p in model.parameters()),
        macs=total_macs,
        input_shape=tuple(input_shape),
    )


def complexity_for_spec(spec: ModelSpec, batch: int = 1) -> Complexity:
    """Complexity of a catalog model at its native input size, counted on the meta device."""
    return measure_complexity(build_on_meta(spec), (batch, *spec.input_shape))


class _TotalFlops(TorchDispatchMode):
    """Sums torch's own FLOP formulas (``torch.utils.flop_counter.flop_registry``) over every operation
    run inside it: :class:`FlopCounterMode`'s total without its per-module bookkeeping."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def count_totals(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(parameters, MACs) of ``model`` for one input of ``input_shape``: the totals of
    :func:`measure_complexity` at about half the cost (used to count the whole catalog)."""
    device = next(model.parameters()).device
    shortcut = _norms_as_identity(model) if device.type == "meta" else contextlib.nullcontext()
    with torch.no_grad(), shortcut, _TotalFlops() as counter:
        model(torch.zeros(input_shape, device=device))
    return sum(p.numel() for p in model.parameters()), counter.flops // 2
