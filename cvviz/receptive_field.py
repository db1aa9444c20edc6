"""Receptive fields: the exact theoretical field of every layer of a CNN, and the effective field.

**Theoretical field** (Araujo, Norris, Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019). Per axis, a layer has a size ``r``, an effective stride (jump) ``S`` and an effective
padding ``P``: the unit at output index ``i`` sees input pixels ``[i*S - P, i*S - P + r - 1]``. The model
is traced with :mod:`torch.fx` and, for every node, the interval ``[start, end]`` relative to ``i*S`` is
propagated along *every* path; where paths merge (residual add, inception/dense concatenation, gating
multiply) the intervals are united (min start, max end), which is what makes the answer right for
multi-path graphs. TF-"SAME" padding (EfficientNet-Lite's ``Conv2dSame``) is asymmetric and is computed
from the traced input size. What cannot be exact is marked ``exact=False`` with the reason (global pooling,
squeeze-and-excitation gates, non-divisible adaptive pooling, merged paths with unequal strides).

**Effective field** (Luo, Li, Urtasun, Zemel, "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", NeurIPS 2016): the gradient of one unit with respect to the input image.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from cvviz.architectures.efficientnet_lite import Conv2dSame, _same_padding
from cvviz.catalog import ModelSpec
from cvviz.errors import CvvizError
from cvviz.hooks import capture_outputs, resolve_layers


class ReceptiveFieldError(CvvizError, ValueError):
    """The receptive field cannot be computed for this model or layer (said in one sentence)."""


@dataclass(frozen=True)
class LayerField:
    """The theoretical receptive field of one module's (N, C, H, W) output, per axis (h, w).

    Unit ``(i, j)`` covers input rows ``[i*stride[0] - padding[0], … + size[0] - 1]`` and likewise columns.
    ``exact`` is False when the number is a bound or a stand-in (``note`` says why); ``global_context`` is
    True when every unit also depends on the whole image (global pooling, squeeze-and-excitation gates).
    ``output_size`` is the layer's (H, W) for the traced input size.
    """

    layer: str
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    exact: bool
    note: str = ""
    global_context: bool = False
    output_size: tuple[int, int] = (0, 0)


# --- Field propagation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A node's field: its spatial axes and, per axis, the covered interval and the jump."""

    axes: tuple[int, int] | None  # which dims of the node's tensor are (H, W); None once they are gone
    start: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)
    jump: tuple[int, int] = (1, 1)
    local: bool = True  # the interval above is meaningful
    global_context: bool = False
    exact: bool = True
    notes: tuple[str, ...] = ()

    def noted(self, note: str, *, exact: bool | None = None) -> _Field:
        notes = self.notes if note in self.notes else (*self.notes, note)
        return replace(self, notes=notes, exact=self.exact if exact is None else exact)


def _pair(value: object) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def _window(f: _Field, kernel, stride, pad_before, dilation=(1, 1)) -> _Field:
    """Compose a sliding window (kernel, stride, padding before, dilation) onto the field ``f``."""
    k, s, p, d = _pair(kernel), _pair(stride), _pair(pad_before), _pair(dilation)
    start = tuple(f.start[a] - p[a] * f.jump[a] for a in range(2))
    end = tuple(f.end[a] + (d[a] * (k[a] - 1) - p[a]) * f.jump[a] for a in range(2))
    jump = tuple(f.jump[a] * s[a] for a in range(2))
    return replace(f, start=start, end=end, jump=jump)


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        # "same": PyTorch pads total // 2 before, the rest after.
        return tuple((conv.dilation[a] * (conv.kernel_size[a] - 1)) // 2 for a in range(2))
    return _pair(conv.padding)


_GLOBAL_NOTE = "global pooling: every unit sees the whole image"
_SE_NOTE = "also sees the whole image through a global-pooling gate (squeeze-and-excitation); size is the convolutional path"

_ACTIVATION_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
)
_ACTIVATION_FUNCTIONS = {
    F.relu,
    F.relu_,
    torch.relu,
    torch.relu_,
    F.relu6,
    F.leaky_relu,
    F.elu,
    F.selu,
    F.gelu,
    F.silu,
    F.mish,
    F.hardswish,
    F.hardsigmoid,
    torch.sigmoid,
    F.sigmoid,
    torch.tanh,
    F.tanh,
}


class _Tracer(fx.Tracer):
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
class _Trace:
    graph_module: fx.GraphModule
    module_outputs: dict[str, fx.Node]
    fields: dict[fx.Node, _Field | None] = field(default_factory=dict)


def _trace(model: nn.Module, input_size: tuple[int, int], channels: int, device) -> _Trace:
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:
        raise ReceptiveFieldError(
            f"{type(model).__name__} cannot be traced with torch.fx ({type(exc).__name__}), so its receptive "
            "fields cannot be computed."
        ) from exc
    gm = fx.GraphModule(tracer.root, graph)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    example = torch.zeros(1, channels, *input_size, device=device, dtype=dtype)
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    return _Trace(gm, tracer.module_outputs)


def _shape(node: object) -> tuple[int, ...] | None:
    if not isinstance(node, fx.Node):
        return None
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(shape) if shape is not None else None


def _arg_nodes(node: fx.Node) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n))
    return found


def _union(fields: Sequence[_Field]) -> _Field:
    """Merge paths: min start, max end; strides must agree for the merge to be exact."""
    local = [f for f in fields if f.local]
    notes = tuple(dict.fromkeys(n for f in fields for n in f.notes))
    exact = all(f.exact for f in fields)
    glob = any(f.global_context for f in fields)
    if not local:
        return _Field(axes=fields[0].axes, local=False, global_context=True, exact=False, notes=notes)
    jumps = {f.jump for f in local}
    merged = _Field(
        axes=local[0].axes,
        start=tuple(min(f.start[a] for f in local) for a in range(2)),
        end=tuple(max(f.end[a] for f in local) for a in range(2)),
        jump=local[0].jump,
        global_context=glob,
        exact=exact,
        notes=notes,
    )
    if len(jumps) > 1:
        merged = merged.noted("paths with different strides merge; the field is a bound", exact=False)
    return merged


def _global(f: _Field | None, axes) -> _Field:
    notes = f.notes if f is not None else ()
    return _Field(axes=axes, local=False, global_context=True, exact=False, notes=notes).noted(_GLOBAL_NOTE)


def _moved_axes(node: fx.Node, src: fx.Node, f: _Field) -> tuple[int, int] | None:
    """Where the spatial axes of ``src`` are in ``node``'s output, or None if they are gone."""
    in_shape, out_shape = _shape(src), _shape(node)
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


def _spatial(shape, axes) -> tuple[int, int] | None:
    if shape is None or axes is None or max(axes) >= len(shape):
        return None
    return (shape[axes[0]], shape[axes[1]])


def _propagate(trace: _Trace) -> None:
    modules = dict(trace.graph_module.named_modules())
    fields = trace.fields
    for node in trace.graph_module.graph.nodes:
        if node.op == "placeholder":
            shape = _shape(node)
            fields[node] = (
                _Field(axes=(len(shape) - 2, len(shape) - 1)) if shape and len(shape) >= 3 else None
            )
            continue
        if node.op in ("get_attr", "output"):
            fields[node] = None
            continue
        inputs = [n for n in _arg_nodes(node) if fields.get(n) is not None]
        if not inputs:
            fields[node] = None
            continue
        fields[node] = _node_field(node, inputs, fields, modules)


def _node_field(node: fx.Node, inputs: list[fx.Node], fields, modules) -> _Field | None:
    src = inputs[0]
    f = fields[src]
    out_shape = _shape(node)
    target = node.target
    module = modules.get(target) if node.op == "call_module" else None
    in_spatial = _spatial(_shape(src), f.axes)

    # Sliding windows: convolutions and pooling.
    if isinstance(module, Conv2dSame):
        pads = [_same_padding(in_spatial[a], module.kernel_size[a], module.stride[a])[0] for a in range(2)]
        return _window(f, module.kernel_size, module.stride, pads, module.dilation)
    if isinstance(module, nn.Conv2d):
        out = _window(f, module.kernel_size, module.stride, _conv_padding(module), module.dilation)
        if module.padding_mode != "zeros" and any(_conv_padding(module)):
            out = out.noted(f"{module.padding_mode} padding wraps or mirrors the border", exact=False)
        return out
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        dilation = getattr(module, "dilation", 1)
        out = _window(f, module.kernel_size, module.stride or module.kernel_size, module.padding, dilation)
        return (
            out.noted("ceil_mode: the last unit's window may run past the padded input")
            if module.ceil_mode
            else out
        )
    if node.op == "call_function" and target in (
        F.max_pool2d,
        F.avg_pool2d,
        torch.max_pool2d,
    ):
        names = ("input", "kernel_size", "stride", "padding")
        bound = dict(zip(names, node.args))
        bound.update(node.kwargs)
        stride = bound.get("stride") or bound["kernel_size"]
        dilation = node.kwargs.get(
            "dilation",
            node.args[4] if target in (F.max_pool2d, torch.max_pool2d) and len(node.args) > 4 else 1,
        )
        return _window(f, bound["kernel_size"], stride, bound.get("padding", 0), dilation)
    if node.op == "call_function" and target is F.pad:
        pad = list(node.args[1] if len(node.args) > 1 else node.kwargs["pad"])
        rank = len(_shape(src))
        # F.pad lists (before, after) pairs from the last dim backwards.
        before = {rank - 1 - k: pad[2 * k] for k in range(len(pad) // 2)}
        return _window(f, 1, 1, tuple(before.get(a, 0) for a in f.axes))

    # Adaptive pooling and reductions.
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) or (
        node.op == "call_function" and target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d)
    ):
        out_spatial = _spatial(out_shape, f.axes)
        if out_spatial == in_spatial:
            return f
        if out_spatial == (1, 1):
            return _global(f, f.axes)
        if all(in_spatial[a] % out_spatial[a] == 0 for a in range(2)):
            kernel = tuple(in_spatial[a] // out_spatial[a] for a in range(2))
            return _window(f, kernel, kernel, 0)
        return _global(f, f.axes)
    name = target if node.op == "call_method" else getattr(target, "__name__", "")
    if name in ("mean", "sum", "amax", "max", "amin", "min", "std", "var") and f.axes is not None:
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        if dims is None:
            return _global(f, None)
        dims = {d % len(_shape(src)) for d in ((dims,) if isinstance(dims, int) else dims)}
        if dims & set(f.axes):
            return _global(
                f, f.axes if out_shape is not None and len(out_shape) == len(_shape(src)) else None
            )
        return replace(f, axes=_moved_axes(node, src, f))
    if isinstance(module, (nn.GroupNorm, nn.InstanceNorm2d)) or (
        node.op == "call_function" and target in (F.group_norm, F.instance_norm)
    ):
        return replace(f, global_context=True).noted(
            "normalisation statistics pool over the image", exact=False
        )

    # Everything else keeps the spatial field: element-wise ops, activations, normalisation over channels,
    # concatenation along channels, reshapes that leave H and W alone (channel shuffle), chunk/getitem.
    meta = node.meta.get("tensor_meta")
    if meta is None:  # sizes, ints: not a feature map
        return None
    if out_shape is None:  # tuples of tensors (chunk, split): pass the field on unchanged
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        split = _union([fields[n] for n in inputs])
        rank = len(_shape(src) or ())
        if isinstance(dim, int) and rank and f.axes is not None and dim % rank in f.axes:
            return _global(split.noted(f"{name} splits the image", exact=False), f.axes)
        return split
    merged: list[_Field] = []
    out_axes = None
    for n in inputs:
        g = fields[n]
        axes = _moved_axes(node, n, g)
        spatial = _spatial(_shape(n), g.axes)
        if _shape(n) is None and g.axes is not None:  # an item of a chunk/split: same layout
            merged.append(g)
            out_axes = out_axes or g.axes
        elif len(out_shape) < 3:
            merged.append(replace(g, axes=None))  # flattened: no longer spatial
        elif axes is not None and _spatial(out_shape, axes) == spatial:
            merged.append(replace(g, axes=axes))
            out_axes = out_axes or axes
        elif spatial is not None and spatial == (1, 1) and not g.local:
            merged.append(g.noted(_SE_NOTE) if g.global_context else g)  # a broadcast global gate
        elif g.axes is None:
            merged.append(g)
        else:
            merged.append(
                g.noted(f"{name or node.op} changes the spatial size in an unknown way", exact=False)
            )
            merged[-1] = _global(merged[-1], None)
    out = _union(merged)
    if out.local and out_axes is None:
        out = replace(out, axes=None)
    elif out_axes is not None:
        out = replace(out, axes=out_axes)
    if out.global_context and out.local and _SE_NOTE not in out.notes and any(not m.local for m in merged):
        out = out.noted(_SE_NOTE)
    if out.global_context:
        out = replace(out, exact=False)
    if isinstance(module, nn.LayerNorm) and out.axes is not None:
        covered = set(range(len(out_shape) - len(module.normalized_shape), len(out_shape)))
        if covered & set(out.axes):
            out = replace(out, global_context=True).noted("layer norm pools over the image", exact=False)
    return out


def _layer_field(
    name: str, f: _Field, input_size: tuple[int, int], output_size: tuple[int, int]
) -> LayerField:
    if not f.local:
        note = "; ".join(f.notes) or _GLOBAL_NOTE
        return LayerField(name, tuple(input_size), tuple(input_size), (0, 0), False, note, True, output_size)
    size = tuple(f.end[a] - f.start[a] + 1 for a in range(2))
    padding = tuple(-f.start[a] for a in range(2))
    notes = [n for n in f.notes if not (n == _GLOBAL_NOTE and _SE_NOTE in f.notes)]
    note = "; ".join(notes)
    return LayerField(name, size, tuple(f.jump), padding, f.exact, note, f.global_context, output_size)


def receptive_fields(
    model: nn.Module, input_size: int | tuple[int, int], channels: int | None = None
) -> list[LayerField]:
    """The theoretical receptive field of every module whose output is an (N, C, H, W) map, in forward order.

    ``model`` may live on the meta device (no weights are needed). ``input_size`` is the (H, W) traced, which
    matters only for TF-"SAME" padding and adaptive pooling.
    """
    size = _pair(input_size)
    if channels is None:
        first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        channels = first.in_channels if first is not None else 3
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    trace = _trace(model, size, channels, device)
    _propagate(trace)
    out = []
    for name, node in trace.module_outputs.items():
        f = trace.fields.get(node)
        shape = _shape(node)
        if f is None or shape is None or len(shape) != 4 or f.axes != (2, 3):
            continue
        out.append(_layer_field(name, f, size, (shape[2], shape[3])))
    return out


def _require_cnn(spec: ModelSpec) -> None:
    if spec.kind == "vit":
        raise ReceptiveFieldError(
            f"{spec.title} is a Vision Transformer: after its first self-attention every token sees the whole "
            "image, so its receptive field is global."
        )
    if spec.kind != "cnn":
        raise ReceptiveFieldError(
            f"{spec.title} uses self-attention, whose receptive field is a window or the whole image rather than "
            "a convolutional field; see its attention windows instead."
        )


def receptive_field_for_spec(spec: ModelSpec, input_size: int | None = None) -> list[LayerField]:
    """:func:`receptive_fields` of a catalog CNN, built on the meta device at its own input size by default."""
    from cvviz.models import build_on_meta

    _require_cnn(spec)
    return receptive_fields(build_on_meta(spec), input_size or spec.input_size, spec.preprocessing.channels)


@dataclass(frozen=True)
class SwinWindow:
    """One Swin stage's attention window: in tokens, and in input pixels (tokens × the stage's stride)."""

    stage: int
    layer: str
    token_stride: int
    window_tokens: tuple[int, int]
    window_pixels: tuple[int, int]
    shift_tokens: tuple[int, int]


def swin_window_fields(spec: ModelSpec) -> list[SwinWindow]:
    """Swin's window per stage in input pixels, read from the built model (patch size, windows, merges)."""
    from torchvision.models.swin_transformer import PatchMerging, PatchMergingV2, SwinTransformerBlock

    from cvviz.models import build_on_meta

    if spec.kind != "swin":
        raise ReceptiveFieldError(f"{spec.title} is not a Swin Transformer.")
    model = build_on_meta(spec)
    stride, stage, windows = 1, 0, []
    for name, module in model.features.named_children():
        conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
        if conv is not None:
            stride *= conv.stride[0]
        elif isinstance(module, (PatchMerging, PatchMergingV2)):
            stride *= 2  # a patch merge concatenates each 2×2 neighbourhood of tokens
        else:
            block = next((m for m in module.modules() if isinstance(m, SwinTransformerBlock)), None)
            if block is not None:
                window = _pair(block.attn.window_size)
                shifts = [b.attn.shift_size for b in module.modules() if isinstance(b, SwinTransformerBlock)]
                shift = _pair(max(shifts, key=lambda s: tuple(s)))
                windows.append(
                    SwinWindow(
                        stage,
                        f"features.{name}",
                        stride,
                        window,
                        (window[0] * stride, window[1] * stride),
                        shift,
                    )
                )
                stage += 1
    return windows


# --- Boxes -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitBox:
    """The input pixels one unit sees: (top, left, bottom, right), inclusive.

    ``box`` is unclipped (it may reach into the padding); ``clipped`` is its part inside the image (None if
    none is); ``padding_fraction`` is the share of the box's area that lies in the padding.
    """

    box: tuple[int, int, int, int]
    clipped: tuple[int, int, int, int] | None
    padding_fraction: float


def unit_box(f: LayerField, i: int, j: int, input_size: int | tuple[int, int]) -> UnitBox:
    """The box of unit (i, j) of a layer with field ``f`` on an input of ``input_size``."""
    height, width = _pair(input_size)
    top = i * f.stride[0] - f.padding[0]
    left = j * f.stride[1] - f.padding[1]
    bottom, right = top + f.size[0] - 1, left + f.size[1] - 1
    ct, cl, cb, cr = max(top, 0), max(left, 0), min(bottom, height - 1), min(right, width - 1)
    inside = max(cb - ct + 1, 0) * max(cr - cl + 1, 0)
    clipped = (ct, cl, cb, cr) if inside else None
    return UnitBox((top, left, bottom, right), clipped, 1.0 - inside / (f.size[0] * f.size[1]))


# --- Effective receptive field -----------------------------------------------------------------------------


def _unit_gradient(
    model: nn.Module, layer: str, batch: torch.Tensor, position: tuple[int, int]
) -> torch.Tensor:
    """|d(sum over channels of unit ``position``)/d input| summed over channels: (N, H, W)."""
    resolve_layers(model, [layer])
    inputs = batch.detach().clone().requires_grad_(True)
    with torch.enable_grad(), capture_outputs(model, [layer], detach=False) as captured:
        model(inputs)
        out = captured.get(layer)
        if out is None or out.dim() != 4:
            raise ReceptiveFieldError(f"Layer {layer!r} does not output a (N, C, H, W) feature map.")
        i, j = position
        if not (0 <= i < out.shape[2] and 0 <= j < out.shape[3]):
            raise ReceptiveFieldError(
                f"Unit ({i}, {j}) is outside layer {layer!r}'s {out.shape[2]}×{out.shape[3]} map."
            )
        (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), inputs)
    return grad.abs().sum(dim=1)


def effective_receptive_field(
    model: nn.Module, layer: str, image: torch.Tensor, position: tuple[int, int]
) -> np.ndarray:
    """Luo et al.'s effective field of unit ``position`` of ``layer`` for a (1, C, H, W) input: (H, W) |grad|.

    The model's parameters need not require gradients; nothing (hooks, ``.grad``) is left on the model.
    """
    return _unit_gradient(model, layer, image, position)[0].float().cpu().numpy()


def average_effective_receptive_field(
    model: nn.Module,
    layer: str,
    input_shape: tuple[int, int, int],
    position: tuple[int, int],
    samples: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """The effective field averaged over ``samples`` standard-normal inputs of ``input_shape`` (C, H, W): (H, W)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randn(samples, *input_shape, generator=generator).to(device=device, dtype=dtype)
    return _unit_gradient(model, layer, batch, position).mean(dim=0).float().cpu().numpy()


__all__ = [
    "LayerField",
    "ReceptiveFieldError",
    "SwinWindow",
    "UnitBox",
    "average_effective_receptive_field",
    "effective_receptive_field",
    "leaf_fields",
    "receptive_field_for_spec",
    "receptive_fields",
    "receptive_fields_by_name",
    "swin_window_fields",
    "unit_box",
]


@functools.lru_cache(maxsize=64)
def receptive_fields_by_name(name: str, input_size: int | None = None) -> tuple[LayerField, ...]:
    """:func:`receptive_field_for_spec` of the catalog model ``name``, cached (the app asks repeatedly)."""
    from cvviz.catalog import get_spec

    return tuple(receptive_field_for_spec(get_spec(name), input_size))


def leaf_fields(fields: Sequence[LayerField]) -> list[LayerField]:
    """The fields of modules with no listed sub-module (one entry per operation, for depth plots)."""
    names = [f.layer for f in fields]
    return [f for f in fields if not any(other.startswith(f"{f.layer}.") for other in names)]
