"""Swin's window attention recomputed from each block's own weights and recorded input: windowed attention
with relative position bias and the shifted-window mask (Liu et al. 2021), or V2's scaled cosine attention
with its continuous position bias MLP (Liu et al. 2022). The tests rebuild each block's real output from
the probabilities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.explain.attention.capture import capture_attention_inputs
from cvviz.explain.attention.vit import require_attention
from cvviz.hooks import resolve_layers
from cvviz.i18n import _


@dataclass(frozen=True)
class WindowLayout:
    """How one Swin block tiles its token grid into windows.

    ``feature_size`` is the block's token grid (rows, cols), ``padded_size`` after padding to whole
    windows, ``window_size`` and ``shift_size`` in tokens (the shift actually applied: zero when a window
    covers the whole map), ``stride`` the input pixels per token side.
    """

    layer_name: str
    feature_size: tuple[int, int]
    padded_size: tuple[int, int]
    window_size: tuple[int, int]
    shift_size: tuple[int, int]
    stride: int

    @property
    def windows(self) -> tuple[int, int]:
        """Windows per column and per row: (rows, cols)."""
        return (self.padded_size[0] // self.window_size[0], self.padded_size[1] // self.window_size[1])

    @property
    def shifted(self) -> bool:
        return any(self.shift_size)

    @property
    def num_windows(self) -> int:
        return self.windows[0] * self.windows[1]

    def window_tokens(self, index: int) -> np.ndarray:
        """(N, 2) (row, col) on the unshifted, padded token grid of window ``index``'s tokens, in the
        window's own row-major order. A shifted window wraps around the map (the cyclic shift)."""
        (pad_h, pad_w), (wh, ww), (sh, sw) = self.padded_size, self.window_size, self.shift_size
        if not 0 <= index < self.num_windows:
            raise ValueError(
                _("Window {index} does not exist; there are {num_windows}.").format(
                    index=index, num_windows=self.num_windows
                )
            )
        top, left = (index // self.windows[1]) * wh, (index % self.windows[1]) * ww
        rows, cols = np.meshgrid(np.arange(top, top + wh), np.arange(left, left + ww), indexing="ij")
        return np.stack([(rows.ravel() + sh) % pad_h, (cols.ravel() + sw) % pad_w], axis=1)


@dataclass(frozen=True)
class WindowAttention:
    """One Swin block's attention for one image.

    ``attn``: (windows, heads, N, N) with N = window rows × cols tokens; windows are numbered row-major
    over the *cyclically shifted* grid (``layout.shift_size``), tokens row-major inside a window.
    ``relative_position_bias``: (heads, N, N), the learned bias added to every window's logits (V2: the
    continuous position bias MLP's output, 16·sigmoid). ``mask``: (windows, N, N), True where a shifted
    window lets query attend key (tokens from different image regions are masked apart).
    """

    attn: np.ndarray
    relative_position_bias: np.ndarray
    mask: np.ndarray
    layout: WindowLayout

    def masked_pairs(self, index: int) -> int:
        """How many query–key pairs of window ``index`` the shifted-window mask separates."""
        return int((~self.mask[index]).sum())


def _is_v2(module: nn.Module) -> bool:
    return hasattr(module, "logit_scale") and hasattr(module, "cpb_mlp")


def swin_layout(module: nn.Module, x: torch.Tensor, name: str = "", stride: int = 1) -> WindowLayout:
    """The window geometry ``module`` uses on input ``x`` (batch, H, W, C), as its forward computes it."""
    _, height, width, _ = x.shape
    wh, ww = (int(s) for s in module.window_size)
    pad_h, pad_w = height + (wh - height % wh) % wh, width + (ww - width % ww) % ww
    sh, sw = (int(s) for s in module.shift_size)
    sh = 0 if wh >= pad_h else sh
    sw = 0 if ww >= pad_w else sw
    return WindowLayout(name, (height, width), (pad_h, pad_w), (wh, ww), (sh, sw), stride)


def swin_shift_mask(layout: WindowLayout) -> torch.Tensor:
    """(windows, N, N) bool: True where the shifted-window mask lets query attend key.

    After the cyclic shift a window can hold tokens from up to four image regions that are not
    neighbours; Swin gives those pairs −100 before the softmax (Liu et al. 2021, Sec. 3.2).
    """
    (pad_h, pad_w), (wh, ww), (sh, sw) = layout.padded_size, layout.window_size, layout.shift_size
    windows = (pad_h // wh) * (pad_w // ww)
    if not (sh or sw):
        return torch.ones(windows, wh * ww, wh * ww, dtype=torch.bool)
    region = torch.zeros(pad_h, pad_w)
    count = 0
    for h in ((0, -wh), (-wh, -sh), (-sh, None)):
        for w in ((0, -ww), (-ww, -sw), (-sw, None)):
            region[h[0] : h[1], w[0] : w[1]] = count
            count += 1
    region = region.view(pad_h // wh, wh, pad_w // ww, ww).permute(0, 2, 1, 3).reshape(windows, wh * ww)
    return region.unsqueeze(1) == region.unsqueeze(2)


def _swin_windows(module: nn.Module, x: torch.Tensor, layout: WindowLayout) -> torch.Tensor:
    """Pad, cyclically shift and partition ``x`` (batch, H, W, C) → (batch·windows, N, C)."""
    (pad_h, pad_w), (wh, ww), (sh, sw) = layout.padded_size, layout.window_size, layout.shift_size
    batch, height, width, channels = x.shape
    x = F.pad(x, (0, 0, 0, pad_w - width, 0, pad_h - height))
    if sh or sw:
        x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
    x = x.view(batch, pad_h // wh, wh, pad_w // ww, ww, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, channels)


def _swin_qkv(module: nn.Module, windows: torch.Tensor):
    bias = module.qkv.bias
    if _is_v2(module) and bias is not None:
        # V2 has no key bias: its forward zeroes the middle third (on a copy; so do we).
        length = bias.numel() // 3
        bias = torch.cat([bias[:length], torch.zeros_like(bias[length : 2 * length]), bias[2 * length :]])
    count, tokens, channels = windows.shape
    heads = module.num_heads
    qkv = F.linear(windows, module.qkv.weight, bias)
    qkv = qkv.reshape(count, tokens, 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def swin_relative_position_bias(module: nn.Module) -> torch.Tensor:
    """The (heads, N, N) bias the module adds to every window's logits (V2: from its CPB MLP)."""
    return module.get_relative_position_bias()[0]


def swin_attention_probs(module: nn.Module, x: torch.Tensor, layout: WindowLayout) -> torch.Tensor:
    """(batch·windows, heads, N, N) attention probabilities of a Swin block on its input ``x``.

    V1: softmax(QKᵀ/√d + B + mask); V2: softmax(τ·cos(Q, K) + B + mask) with τ = exp(min(logit_scale,
    log 100)) per head.
    """
    windows = _swin_windows(module, x, layout)
    q, k, _ = _swin_qkv(module, windows)
    if _is_v2(module):
        logits = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logits = logits * torch.clamp(module.logit_scale, max=math.log(100.0)).exp()
    else:
        logits = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    logits = logits + swin_relative_position_bias(module)
    if layout.shifted:
        mask = swin_shift_mask(layout).to(logits.device)
        per_window = torch.zeros(mask.shape, dtype=logits.dtype, device=logits.device).masked_fill(
            ~mask, -100.0
        )
        count = mask.shape[0]
        logits = (logits.view(-1, count, *logits.shape[1:]) + per_window.unsqueeze(1)).view(logits.shape)
    return torch.softmax(logits, dim=-1)


def swin_output_from_probs(
    module: nn.Module, x: torch.Tensor, layout: WindowLayout, probs: torch.Tensor
) -> torch.Tensor:
    """The block's attention output rebuilt from ``probs``: attn @ V, heads merged, proj, windows
    reversed, shift undone, padding cropped → (batch, H, W, C) like the module's own output."""
    windows = _swin_windows(module, x, layout)
    _, _, v = _swin_qkv(module, windows)
    merged = (probs @ v).transpose(1, 2).flatten(2)
    out = module.proj(merged)
    (pad_h, pad_w), (wh, ww), (sh, sw) = layout.padded_size, layout.window_size, layout.shift_size
    batch, height, width, channels = x.shape
    out = out.view(batch, pad_h // wh, pad_w // ww, wh, ww, channels)
    out = out.permute(0, 1, 3, 2, 4, 5).reshape(batch, pad_h, pad_w, channels)
    if sh or sw:
        out = torch.roll(out, shifts=(sh, sw), dims=(1, 2))
    return out[:, :height, :width, :]


def swin_attention(
    model: nn.Module, batch: torch.Tensor, layer_names: Sequence[str], layer: str
) -> tuple[WindowAttention, tuple[WindowLayout, ...]]:
    """Window attention of block ``layer`` for the first image of ``batch``, plus the window layout of
    every block in ``layer_names`` (one forward pass)."""
    if layer not in layer_names:
        raise ValueError(_("{layer!r} is not one of the model's attention layers.").format(layer=layer))
    modules = resolve_layers(model, layer_names)
    image_height = batch.shape[-2]
    with torch.inference_mode(), capture_attention_inputs(model, layer_names) as inputs:
        model(batch)
        layouts = tuple(
            swin_layout(modules[name], inputs[name], name, stride=image_height // inputs[name].shape[1])
            for name in layer_names
        )
        chosen = next(item for item in layouts if item.layer_name == layer)
        x = inputs[layer][:1]
        probs = swin_attention_probs(modules[layer], x, chosen)
        bias = swin_relative_position_bias(modules[layer])
    result = WindowAttention(
        attn=probs.float().cpu().numpy(),
        relative_position_bias=bias.float().cpu().numpy(),
        mask=swin_shift_mask(chosen).numpy(),
        layout=chosen,
    )
    return result, layouts


def swin_attention_for(
    spec: ModelSpec, model: nn.Module, batch: torch.Tensor, layer: str | None = None
) -> tuple[WindowAttention, tuple[WindowLayout, ...]]:
    """:func:`swin_attention` over the catalog's attention layers (default: the first block)."""
    require_attention(spec, "windows")
    return swin_attention(model, batch, spec.attention_layers, layer or spec.attention_layers[0])
