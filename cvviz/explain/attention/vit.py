"""A ViT's attention: softmax(QKᵀ/√d) recomputed from each ``nn.MultiheadAttention``'s own weights and its
recorded input (Vaswani et al. 2017; Dosovitskiy et al. 2020), and its gradient for class-specific rollout.

torchvision's ViT calls ``nn.MultiheadAttention`` with ``need_weights=False``, so the probabilities are not
returned; the tests prove the recomputation is the real thing: ``attn @ V`` followed by the module's output
projection reproduces the module's actual output.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.explain.attention.capture import NotATransformerError, capture_attention_inputs
from cvviz.hooks import hooks_removed_on_exit, resolve_layers
from cvviz.i18n import _


@dataclass(frozen=True)
class AttentionMaps:
    """A ViT's attention probabilities for one image, every layer and head.

    ``attn`` has shape (layers, heads, tokens, tokens); token 0 is the class token, then the patches in
    row-major order over ``grid`` (rows, cols). Row ``q`` of a map is where query token ``q`` attends; it
    sums to 1. ``patch_size`` is the side of one patch in input pixels.
    """

    attn: np.ndarray
    grid: tuple[int, int]
    layer_names: tuple[str, ...]
    patch_size: int

    @property
    def num_layers(self) -> int:
        return self.attn.shape[0]

    @property
    def num_heads(self) -> int:
        return self.attn.shape[1]

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens before the patches (1: the class token)."""
        return self.attn.shape[-1] - self.grid[0] * self.grid[1]

    def class_token_maps(self) -> np.ndarray:
        """Where the class token attends, as images: (layers, heads, rows, cols)."""
        return self.query_maps(None)

    def query_maps(self, patch: tuple[int, int] | None) -> np.ndarray:
        """Where one query attends, over the patch grid: (layers, heads, rows, cols).

        ``patch`` is a (row, col) of the patch grid; ``None`` is the class token.
        """
        query = 0 if patch is None else self.num_prefix_tokens + patch[0] * self.grid[1] + patch[1]
        rows = self.attn[:, :, query, self.num_prefix_tokens :]
        return rows.reshape(self.num_layers, self.num_heads, *self.grid)

    def head_map(self, layer: int, head: int | None, patch: tuple[int, int] | None = None) -> np.ndarray:
        """One query's attention over the patch grid, (rows, cols), for one head or (``head=None``) the
        mean over heads; ``patch`` as in :meth:`query_maps`."""
        maps = self.query_maps(patch)[layer]
        return maps.mean(axis=0) if head is None else maps[head]


def _mha_projections(module: nn.MultiheadAttention, x: torch.Tensor):
    """Q, K, V of a self-attention call, each (batch, heads, tokens, head_dim)."""
    if not module._qkv_same_embed_dim or module.in_proj_weight is None:
        raise ValueError(_("Only self-attention with a packed in_proj_weight is supported."))
    if not module.batch_first:
        x = x.transpose(0, 1)
    batch, tokens, dim = x.shape
    heads = module.num_heads
    qkv = F.linear(x, module.in_proj_weight, module.in_proj_bias)
    qkv = qkv.reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def mha_attention_probs(module: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """softmax(QKᵀ/√d) of ``module`` applied to ``x`` as self-attention: (batch, heads, tokens, tokens).

    ``x`` is the module's query input, in its own layout (batch first or not).
    """
    q, k, _ = _mha_projections(module, x)
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)


def mha_output_from_probs(
    module: nn.MultiheadAttention, x: torch.Tensor, probs: torch.Tensor
) -> torch.Tensor:
    """The module's attention output rebuilt from ``probs``: attn @ V, heads merged, out_proj."""
    _, _, v = _mha_projections(module, x)
    merged = (probs @ v).transpose(1, 2).flatten(2)
    out = F.linear(merged, module.out_proj.weight, module.out_proj.bias)
    return out if module.batch_first else out.transpose(0, 1)


def require_attention(spec: ModelSpec, view: str) -> None:
    """Raise one sentence unless ``spec``'s family has attention of the given view (global/windows)."""
    family = get_family(spec)
    if family.attention is None or not spec.attention_layers:
        raise NotATransformerError(
            _("{title} has no self-attention cvviz can show; choose a ViT or Swin model.").format(
                title=spec.title
            )
        )
    if family.attention != view:
        expected = (
            "a Vision Transformer (global attention)" if view == "global" else "a Swin Transformer (windows)"
        )
        raise NotATransformerError(
            _("{title} is not {expected}.").format(title=spec.title, expected=expected)
        )


def vit_patch_size(model: nn.Module) -> int:
    """Side of one patch in pixels (torchvision ``VisionTransformer.patch_size``)."""
    return int(model.patch_size)


def vit_attention(model: nn.Module, batch: torch.Tensor, layer_names: Sequence[str]) -> AttentionMaps:
    """Every layer's attention probabilities for the first image of ``batch`` (1, 3, H, W).

    Runs one forward pass with pre-hooks on ``layer_names`` (a ViT's ``spec.attention_layers``) and
    recomputes each module's softmax(QKᵀ/√d) from its captured input.
    """
    modules = resolve_layers(model, layer_names)
    with torch.inference_mode(), capture_attention_inputs(model, layer_names) as inputs:
        model(batch)
        maps = [mha_attention_probs(modules[name], inputs[name])[0] for name in layer_names]
    attn = torch.stack(maps).float().cpu().numpy()
    patch = vit_patch_size(model)
    grid = (batch.shape[-2] // patch, batch.shape[-1] // patch)
    return AttentionMaps(attn=attn, grid=grid, layer_names=tuple(layer_names), patch_size=patch)


def vit_attention_for(spec: ModelSpec, model: nn.Module, batch: torch.Tensor) -> AttentionMaps:
    """:func:`vit_attention` over the catalog's attention layers; a non-ViT raises one sentence."""
    require_attention(spec, "global")
    return vit_attention(model, batch, spec.attention_layers)


@dataclass(frozen=True)
class AttentionGradients:
    """Attention probabilities and the gradient of one class logit with respect to them.

    ``attn`` and ``grad``: (layers, heads, tokens, tokens); ``target`` is the class index differentiated.
    """

    maps: AttentionMaps
    grad: np.ndarray
    target: int

    @property
    def vanishes(self) -> bool:
        """Whether the logit does not depend on any attention weight (every gradient is exactly 0), so a
        gradient-weighted rollout has nothing to weight and comes out flat."""
        return not np.any(self.grad)


@contextlib.contextmanager
def _recomputed_attention(model: nn.Module, names: Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Make each named MultiheadAttention's output flow through recomputed probabilities.

    A forward hook replaces the module's output by ``out_proj((P + δ) @ V)`` where P is recomputed from
    the module's input and δ a zero tensor that requires grad: numerically the same output, but ``δ.grad``
    after ``backward`` is ∂y/∂P. Yields ``{name: (P, δ)}``. Other threads' calls pass through untouched;
    hooks are removed on exit.
    """
    modules = resolve_layers(model, names)
    record: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    owner = threading.get_ident()

    def replacer(name: str):
        def hook(module: nn.Module, args: tuple, output: object):
            if threading.get_ident() != owner:
                return None  # another thread's forward pass: leave it untouched
            x = args[0]
            probs = mha_attention_probs(module, x)
            delta = torch.zeros_like(probs, requires_grad=True)
            record[name] = (probs.detach(), delta)
            return (mha_output_from_probs(module, x, probs + delta), None)

        return hook

    with hooks_removed_on_exit([]) as handles:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(replacer(name)))
        yield record


def vit_attention_gradients(
    model: nn.Module, batch: torch.Tensor, layer_names: Sequence[str], target: int | None = None
) -> AttentionGradients:
    """Attention probabilities and ∂logit_target/∂attention for the first image of ``batch``.

    ``target`` defaults to the predicted class. The model's parameters stay frozen; only the zero
    offsets added to the recomputed probabilities take gradients (see :func:`_recomputed_attention`).
    """
    with torch.enable_grad(), _recomputed_attention(model, layer_names) as record:
        logits = model(batch)
        chosen = int(logits[0].argmax()) if target is None else int(target)
        logits[0, chosen].backward()
        probs = torch.stack([record[name][0][0] for name in layer_names])
        grads = torch.stack([record[name][1].grad[0] for name in layer_names])
    patch = vit_patch_size(model)
    maps = AttentionMaps(
        attn=probs.float().cpu().numpy(),
        grid=(batch.shape[-2] // patch, batch.shape[-1] // patch),
        layer_names=tuple(layer_names),
        patch_size=patch,
    )
    return AttentionGradients(maps=maps, grad=grads.float().cpu().numpy(), target=chosen)
