"""The exact theoretical receptive field of every layer of a CNN.

Per axis a layer has a size ``r``, an effective stride (jump) ``S`` and an effective padding ``P``: the
unit at output index ``i`` sees input pixels ``[i*S - P, i*S - P + r - 1]``. The model is traced with
:mod:`torch.fx` and, for every node, the interval ``[start, end]`` relative to ``i*S`` is propagated along
*every* path by the rules of :mod:`.rules`; where paths merge (residual add, inception/dense
concatenation, gating multiply) the intervals are united, which is what makes the answer right for
multi-path graphs. What cannot be exact is marked ``exact=False`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.explain.receptive_field.field import (
    GLOBAL_NOTE,
    SE_NOTE,
    Field,
    LayerField,
    ReceptiveFieldError,
    pair,
)
from cvviz.explain.receptive_field.graph import Trace, arg_nodes, shape_of, trace
from cvviz.explain.receptive_field.rules import Op, node_field
from cvviz.models.build import build_on_meta


def _propagate(traced: Trace) -> None:
    modules = dict(traced.graph_module.named_modules())
    fields = traced.fields
    for node in traced.graph_module.graph.nodes:
        if node.op == "placeholder":
            shape = shape_of(node)
            fields[node] = Field(axes=(len(shape) - 2, len(shape) - 1)) if shape and len(shape) >= 3 else None
            continue
        if node.op in ("get_attr", "output"):
            fields[node] = None
            continue
        inputs = [n for n in arg_nodes(node) if fields.get(n) is not None]
        if not inputs:
            fields[node] = None
            continue
        module = modules.get(node.target) if node.op == "call_module" else None
        fields[node] = node_field(Op(node, inputs, fields, module))


def _layer_field(
    name: str, f: Field, input_size: tuple[int, int], output_size: tuple[int, int]
) -> LayerField:
    if not f.local:
        note = "; ".join(f.notes) or GLOBAL_NOTE
        return LayerField(name, tuple(input_size), tuple(input_size), (0, 0), False, note, True, output_size)
    size = tuple(f.end[a] - f.start[a] + 1 for a in range(2))
    padding = tuple(-f.start[a] for a in range(2))
    notes = [n for n in f.notes if not (n == GLOBAL_NOTE and SE_NOTE in f.notes)]
    note = "; ".join(notes)
    return LayerField(name, size, tuple(f.jump), padding, f.exact, note, f.global_context, output_size)


def receptive_fields(
    model: nn.Module, input_size: int | tuple[int, int], channels: int | None = None
) -> list[LayerField]:
    """The theoretical receptive field of every module whose output is an (N, C, H, W) map, in forward order.

    ``model`` may live on the meta device (no weights are needed). ``input_size`` is the (H, W) traced, which
    matters only for TF-"SAME" padding and adaptive pooling.
    """
    size = pair(input_size)
    if channels is None:
        first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        channels = first.in_channels if first is not None else 3
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    traced = trace(model, size, channels, device)
    _propagate(traced)
    out = []
    for name, node in traced.module_outputs.items():
        f = traced.fields.get(node)
        shape = shape_of(node)
        if f is None or shape is None or len(shape) != 4 or f.axes != (2, 3):
            continue
        out.append(_layer_field(name, f, size, (shape[2], shape[3])))
    return out


def require_convolutional(spec: ModelSpec) -> None:
    """Raise the family's one-sentence reason when a convolutional field does not describe ``spec``."""
    family = get_family(spec)
    if family.receptive_field != "convolutional":
        raise ReceptiveFieldError(family.receptive_field_reason(spec))


def receptive_field_for_spec(spec: ModelSpec, input_size: int | None = None) -> list[LayerField]:
    """:func:`receptive_fields` of a catalog CNN, built on the meta device at its own input size by default."""
    require_convolutional(spec)
    return receptive_fields(build_on_meta(spec), input_size or spec.input_size, spec.preprocessing.channels)


def leaf_fields(fields: Sequence[LayerField]) -> list[LayerField]:
    """The fields of modules with no listed sub-module (one entry per operation, for depth plots)."""
    names = [f.layer for f in fields]
    return [f for f in fields if not any(other.startswith(f"{f.layer}.") for other in names)]
