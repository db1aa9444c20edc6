"""Tracing a model with :mod:`torch.fx` and reading shapes and axes off the traced graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from cvviz.explain.receptive_field.field import Field, ReceptiveFieldError
from cvviz.i18n import _
from cvviz.models.architectures.efficientnet_lite import Conv2dSame


class Tracer(fx.Tracer):
    """A tracer that keeps ``Conv2dSame`` whole and records which node is each module's output."""

    def __init__(self) -> None:
        super().__init__()
        self.module_outputs: dict[str, fx.Node] = {}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, Conv2dSame) or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        result = super().call_module(m, forward, args, kwargs)
        if isinstance(result, fx.Proxy):
            name = self.path_of_module(m)
            if name:
                self.module_outputs.pop(name, None)  # re-insert: the last call wins and sets the order
                self.module_outputs[name] = result.node
        return result


@dataclass
class Trace:
    graph_module: fx.GraphModule
    module_outputs: dict[str, fx.Node]
    fields: dict[fx.Node, Field | None] = field(default_factory=dict)


def trace(model: nn.Module, input_size: tuple[int, int], channels: int, device) -> Trace:
    tracer = Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:
        raise ReceptiveFieldError(
            _(
                "{model} cannot be traced with torch.fx ({error}), so its receptive fields cannot be computed."
            ).format(model=type(model).__name__, error=type(exc).__name__)
        ) from exc
    gm = fx.GraphModule(tracer.root, graph)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    example = torch.zeros(1, channels, *input_size, device=device, dtype=dtype)
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    return Trace(gm, tracer.module_outputs)


def shape_of(node: object) -> tuple[int, ...] | None:
    if not isinstance(node, fx.Node):
        return None
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(shape) if shape is not None else None


def arg_nodes(node: fx.Node) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n))
    return found


def moved_axes(node: fx.Node, src: fx.Node, f: Field) -> tuple[int, int] | None:
    """Where the spatial axes of ``src`` are in ``node``'s output, or None if they are gone."""
    in_shape, out_shape = shape_of(src), shape_of(node)
    if f.axes is None or in_shape is None or out_shape is None:
        return None
    ah, aw = (a % len(in_shape) for a in f.axes)
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    if name == "permute":
        dims = node.args[1:] if node.op == "call_method" else node.args[1]
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        dims = [d % len(in_shape) for d in dims]
        return (dims.index(ah), dims.index(aw))
    if name in ("transpose", "swapaxes"):
        d0, d1 = (d % len(in_shape) for d in node.args[1:3])
        swap = {d0: d1, d1: d0}
        return (swap.get(ah, ah), swap.get(aw, aw))
    # Element-wise ops and ops on other dims (a Linear on channels-last maps): same rank, same sizes.
    if len(out_shape) == len(in_shape) and (out_shape[ah], out_shape[aw]) == (in_shape[ah], in_shape[aw]):
        return (ah, aw)
    # Reshapes and broadcasting: the spatial axes keep their place counted from the end, if the
    # trailing dims from H onwards are unchanged.
    tail = in_shape[ah:]
    if len(out_shape) >= len(tail) and tuple(out_shape[len(out_shape) - len(tail) :]) == tuple(tail):
        offset = len(out_shape) - len(in_shape)
        return (ah + offset, aw + offset)
    return None


def spatial(shape, axes) -> tuple[int, int] | None:
    if shape is None or axes is None or max(axes) >= len(shape):
        return None
    return (shape[axes[0]], shape[axes[1]])
