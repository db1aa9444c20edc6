"""How each operation changes a receptive field: a table of rules, tried in order, one per kind of operation.

A rule sees one traced node (:class:`Op`) and returns the field of its output. Sliding windows
(convolutions, pooling, padding) grow it; adaptive pooling and reductions over the image make it global;
normalisations that pool over the image add global context; everything else (element-wise operations,
activations, channel concatenation, reshapes that keep H and W) passes it on, merging paths by union.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import fx, nn

from cvviz.explain.receptive_field.field import (
    CEIL_NOTE,
    PADDING_NOTE,
    RESIZE_NOTE,
    SE_NOTE,
    SPLIT_NOTE,
    STATISTICS_NOTE,
    Field,
    global_field,
    union,
    window,
)
from cvviz.explain.receptive_field.graph import moved_axes, shape_of, spatial
from cvviz.models.architectures.efficientnet_lite import Conv2dSame, _same_padding


@dataclass(frozen=True)
class Op:
    """One traced node with what the rules need: its first spatial input's field ``f``, every input node
    with a field, the fields so far, and the module it calls (None for functions and methods)."""

    node: fx.Node
    inputs: list[fx.Node]
    fields: dict
    module: nn.Module | None

    @property
    def f(self) -> Field:
        return self.fields[self.inputs[0]]

    @property
    def name(self) -> str:
        return (
            self.node.target if self.node.op == "call_method" else getattr(self.node.target, "__name__", "")
        )

    def calls(self, *functions) -> bool:
        return self.node.op == "call_function" and self.node.target in functions

    @property
    def in_spatial(self) -> tuple[int, int] | None:
        return spatial(shape_of(self.inputs[0]), self.f.axes)


@dataclass(frozen=True)
class Rule:
    """``applies(op)`` says whether the rule is the one for ``op``; ``field(op)`` gives its output's field."""

    name: str
    applies: Callable[[Op], bool]
    field: Callable[[Op], Field | None]


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        # "same": PyTorch pads total // 2 before, the rest after.
        return tuple((conv.dilation[a] * (conv.kernel_size[a] - 1)) // 2 for a in range(2))
    return (int(conv.padding[0]), int(conv.padding[-1]))


def _conv_same(op: Op) -> Field:
    """TF-"SAME" padding (EfficientNet-Lite) is asymmetric and depends on the traced input size."""
    module = op.module
    pads = [_same_padding(op.in_spatial[a], module.kernel_size[a], module.stride[a])[0] for a in range(2)]
    return window(op.f, module.kernel_size, module.stride, pads, module.dilation)


def _conv(op: Op) -> Field:
    module = op.module
    out = window(op.f, module.kernel_size, module.stride, _conv_padding(module), module.dilation)
    if module.padding_mode != "zeros" and any(_conv_padding(module)):
        out = out.noted(PADDING_NOTE.format(mode=module.padding_mode), exact=False)
    return out


def _pool(op: Op) -> Field:
    module = op.module
    dilation = getattr(module, "dilation", 1)
    out = window(op.f, module.kernel_size, module.stride or module.kernel_size, module.padding, dilation)
    return out.noted(CEIL_NOTE) if module.ceil_mode else out


def _pool_function(op: Op) -> Field:
    node = op.node
    bound = dict(zip(("input", "kernel_size", "stride", "padding"), node.args))
    bound.update(node.kwargs)
    stride = bound.get("stride") or bound["kernel_size"]
    max_pool = node.target in (F.max_pool2d, torch.max_pool2d)
    dilation = node.kwargs.get("dilation", node.args[4] if max_pool and len(node.args) > 4 else 1)
    return window(op.f, bound["kernel_size"], stride, bound.get("padding", 0), dilation)


def _pad(op: Op) -> Field:
    node = op.node
    pad = list(node.args[1] if len(node.args) > 1 else node.kwargs["pad"])
    rank = len(shape_of(op.inputs[0]))
    before = {rank - 1 - k: pad[2 * k] for k in range(len(pad) // 2)}  # (before, after) pairs, last dim first
    return window(op.f, 1, 1, tuple(before.get(a, 0) for a in op.f.axes))


def _adaptive_pool(op: Op) -> Field:
    out_spatial = spatial(shape_of(op.node), op.f.axes)
    in_spatial = op.in_spatial
    if out_spatial == in_spatial:
        return op.f
    if out_spatial == (1, 1):
        return global_field(op.f, op.f.axes)
    if all(in_spatial[a] % out_spatial[a] == 0 for a in range(2)):
        kernel = tuple(in_spatial[a] // out_spatial[a] for a in range(2))
        return window(op.f, kernel, kernel, 0)
    return global_field(op.f, op.f.axes)


_REDUCTIONS = ("mean", "sum", "amax", "max", "amin", "min", "std", "var")


def _reduction(op: Op) -> Field:
    node, f = op.node, op.f
    dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    if dims is None:
        return global_field(f, None)
    rank = len(shape_of(op.inputs[0]))
    dims = {d % rank for d in ((dims,) if isinstance(dims, int) else dims)}
    if dims & set(f.axes):
        out_shape = shape_of(node)
        return global_field(f, f.axes if out_shape is not None and len(out_shape) == rank else None)
    return replace(f, axes=moved_axes(node, op.inputs[0], f))


def _image_statistics(op: Op) -> Field:
    return replace(op.f, global_context=True).noted(STATISTICS_NOTE, exact=False)


def _split(op: Op) -> Field:
    """Tuples of tensors (chunk, split): the field passes on unchanged unless the image itself is split."""
    node, f = op.node, op.f
    dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
    merged = union([op.fields[n] for n in op.inputs])
    rank = len(shape_of(op.inputs[0]) or ())
    if isinstance(dim, int) and rank and f.axes is not None and dim % rank in f.axes:
        return global_field(merged.noted(SPLIT_NOTE.format(op=op.name), exact=False), f.axes)
    return merged


def _pass_through(op: Op) -> Field:
    """Element-wise ops, activations, normalisation over channels, channel concatenation, reshapes that
    leave H and W alone (channel shuffle), chunk items: the union of the inputs' fields, axes followed."""
    node, out_shape = op.node, shape_of(op.node)
    merged: list[Field] = []
    out_axes = None
    for n in op.inputs:
        g = op.fields[n]
        axes = moved_axes(node, n, g)
        in_spatial = spatial(shape_of(n), g.axes)
        if shape_of(n) is None and g.axes is not None:  # an item of a chunk/split: same layout
            merged.append(g)
            out_axes = out_axes or g.axes
        elif len(out_shape) < 3:
            merged.append(replace(g, axes=None))  # flattened: no longer spatial
        elif axes is not None and spatial(out_shape, axes) == in_spatial:
            merged.append(replace(g, axes=axes))
            out_axes = out_axes or axes
        elif in_spatial is not None and in_spatial == (1, 1) and not g.local:
            merged.append(g.noted(SE_NOTE) if g.global_context else g)  # a broadcast global gate
        elif g.axes is None:
            merged.append(g)
        else:
            changed = g.noted(RESIZE_NOTE.format(op=op.name or node.op), exact=False)
            merged.append(global_field(changed, None))
    out = union(merged)
    if out.local and out_axes is None:
        out = replace(out, axes=None)
    elif out_axes is not None:
        out = replace(out, axes=out_axes)
    if out.global_context and out.local and SE_NOTE not in out.notes and any(not m.local for m in merged):
        out = out.noted(SE_NOTE)
    if out.global_context:
        out = replace(out, exact=False)
    if isinstance(op.module, nn.LayerNorm) and out.axes is not None:
        covered = set(range(len(out_shape) - len(op.module.normalized_shape), len(out_shape)))
        if covered & set(out.axes):
            out = replace(out, global_context=True).noted("layer norm pools over the image", exact=False)
    return out


RULES: tuple[Rule, ...] = (
    Rule("TF-SAME convolution", lambda op: isinstance(op.module, Conv2dSame), _conv_same),
    Rule("convolution", lambda op: isinstance(op.module, nn.Conv2d), _conv),
    Rule("pooling", lambda op: isinstance(op.module, (nn.MaxPool2d, nn.AvgPool2d)), _pool),
    Rule(
        "pooling function", lambda op: op.calls(F.max_pool2d, F.avg_pool2d, torch.max_pool2d), _pool_function
    ),
    Rule("padding", lambda op: op.calls(F.pad), _pad),
    Rule(
        "adaptive pooling",
        lambda op: (
            isinstance(op.module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
            or op.calls(F.adaptive_avg_pool2d, F.adaptive_max_pool2d)
        ),
        _adaptive_pool,
    ),
    Rule("reduction", lambda op: op.name in _REDUCTIONS and op.f.axes is not None, _reduction),
    Rule(
        "normalisation over the image",
        lambda op: (
            isinstance(op.module, (nn.GroupNorm, nn.InstanceNorm2d))
            or op.calls(F.group_norm, F.instance_norm)
        ),
        _image_statistics,
    ),
    Rule("not a feature map", lambda op: op.node.meta.get("tensor_meta") is None, lambda op: None),
    Rule("split into several tensors", lambda op: shape_of(op.node) is None, _split),
    Rule("element-wise, concatenation, reshape", lambda op: True, _pass_through),
)


def node_field(op: Op) -> Field | None:
    """The field of ``op``'s output, by the first rule of :data:`RULES` that applies."""
    for rule in RULES:
        if rule.applies(op):
            return rule.field(op)
    raise AssertionError("the last rule applies to every operation")
