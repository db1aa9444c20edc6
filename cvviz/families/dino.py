"""DINO (Caron et al. 2021) and DINOv2 (Oquab et al. 2023): Vision Transformers pretrained without labels,
whose last layer's [CLS] attention finds the objects of an image; and DeiT-S (Touvron et al. 2021), the
ViT of the same size trained on ImageNet's labels that DINO's paper compares them with.

The authors publish timm-style ViTs (``blocks.N.attn.qkv`` …), the same architecture as torchvision's
``VisionTransformer``: their checkpoints are renamed onto one when loaded (:func:`timm_to_torchvision`),
so every attention tool of cvviz works on them. DINOv2 adds layer scale
(:mod:`cvviz.models.architectures.layer_scale_vit`) and is published for 518×518 inputs (37×37 patches of
14 px): its position embeddings are interpolated to the entry's 224×224 (16×16 patches) when it is
loaded, the way DINOv2's own code interpolates them at run time (:func:`dinov2_to_torchvision`).

The entries are listed under the ``self_supervised`` task, not among the classifiers: DINO's backbones
have no classifier, and DeiT-S, which has ImageNet's, is here as DINO's supervised twin (its note says
so), so the views and contract tests over every classifier do not carry it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType

import torch

from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelSpec, Preprocessing, Pretraining, PublishedCheckpoint
from cvviz.catalog.torchvision_meta import IMAGENET_CATEGORIES
from cvviz.families.vit import ViT
from cvviz.i18n import N_
from cvviz.models.architectures.layer_scale_vit import vision_transformer

FAMILY_NAME = "DINO"


def _fb(path: str) -> str:
    return "https://dl.fbaipublicfiles.com/" + path


# --- Key layout ---------------------------------------------------------------------------------------

_BLOCK = re.compile(r"^blocks\.(\d+)\.(.+)$")
_BLOCK_PARTS = {
    "norm1.weight": "ln_1.weight",
    "norm1.bias": "ln_1.bias",
    "attn.qkv.weight": "self_attention.in_proj_weight",
    "attn.qkv.bias": "self_attention.in_proj_bias",
    "attn.proj.weight": "self_attention.out_proj.weight",
    "attn.proj.bias": "self_attention.out_proj.bias",
    "ls1.gamma": "ls1.gamma",
    "norm2.weight": "ln_2.weight",
    "norm2.bias": "ln_2.bias",
    "mlp.fc1.weight": "mlp.0.weight",
    "mlp.fc1.bias": "mlp.0.bias",
    "mlp.fc2.weight": "mlp.3.weight",
    "mlp.fc2.bias": "mlp.3.bias",
    "ls2.gamma": "ls2.gamma",
}
_TOP = {
    "cls_token": "class_token",
    "pos_embed": "encoder.pos_embedding",
    "patch_embed.proj.weight": "conv_proj.weight",
    "patch_embed.proj.bias": "conv_proj.bias",
    "norm.weight": "encoder.ln.weight",
    "norm.bias": "encoder.ln.bias",
    "head.weight": "heads.head.weight",
    "head.bias": "heads.head.bias",
}


def timm_to_torchvision(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a timm-layout ViT state_dict (DINO, DINOv2, DeiT) to torchvision's ``VisionTransformer`` keys.

    The tensors need no change: timm's fused ``qkv`` stacks q, k, v and then heads exactly as
    ``nn.MultiheadAttention.in_proj_weight`` does. Keys already in torchvision's layout, and unknown keys,
    keep their names, so the strict load that follows names anything that does not fit.
    """
    renamed = {}
    for key, value in state_dict.items():
        match = _BLOCK.match(key)
        if match and match.group(2) in _BLOCK_PARTS:
            key = f"encoder.layers.encoder_layer_{match.group(1)}.{_BLOCK_PARTS[match.group(2)]}"
        else:
            key = _TOP.get(key, key)
        renamed[key] = value
    return renamed


def interpolate_position_embedding(position: torch.Tensor, grid: int, offset: float = 0.1) -> torch.Tensor:
    """(1, 1 + g², D) position embeddings, the [CLS] one first, for a grid×grid patch grid instead of g×g.

    The patch embeddings are resampled bicubically as DINOv2's ``interpolate_pos_encoding`` does (scale
    factor (grid + ``offset``) / g, no antialiasing); the [CLS] embedding is kept. Returned unchanged when
    the grid already fits.
    """
    tokens, dim = position.shape[1] - 1, position.shape[2]
    source = math.isqrt(tokens)
    if source * source != tokens:
        raise ValueError(f"{tokens} patch position embeddings do not form a square grid")
    if source == grid:
        return position
    patches = position[:, 1:].float().reshape(1, source, source, dim).permute(0, 3, 1, 2)
    scale = (grid + offset) / source
    resized = torch.nn.functional.interpolate(
        patches, scale_factor=(scale, scale), mode="bicubic", antialias=False
    )
    if resized.shape[-2:] != (grid, grid):
        raise ValueError(f"interpolation gave {tuple(resized.shape[-2:])} patches, not {grid}×{grid}")
    resized = resized.permute(0, 2, 3, 1).reshape(1, grid * grid, dim).to(position.dtype)
    return torch.cat([position[:, :1], resized], dim=1)


def dinov2_to_torchvision(state_dict: Mapping[str, torch.Tensor], grid: int) -> dict[str, torch.Tensor]:
    """A DINOv2 checkpoint (timm layout with layer scale, ``mask_token``, 37×37 position embeddings) as
    the entry's torchvision ViT takes it: renamed, the training-only ``mask_token`` (iBOT's masked-patch
    stand-in) dropped, and the position embeddings interpolated to ``grid``×``grid`` patches."""
    renamed = timm_to_torchvision({k: v for k, v in state_dict.items() if k != "mask_token"})
    key = "encoder.pos_embedding"
    if key in renamed and renamed[key].dim() == 3:
        renamed[key] = interpolate_position_embedding(renamed[key], grid)
    return renamed


# --- Entries ------------------------------------------------------------------------------------------


def dino_spec(
    name: str,
    title: str,
    paper: str,
    url: str,
    *,
    patch_size: int,
    hidden_dim: int,
    depth: int,
    heads: int,
    pretraining: Pretraining = "dino",
    num_classes: int = 0,
    layer_scale: bool = False,
    image_size: int = 224,
    resize_size: int = 256,
    notes: str = "",
) -> ModelSpec:
    """A ViT entry with the authors' checkpoint: stages are the patch embedding and every quarter of the
    encoder; without ``num_classes`` it has no classifier (its output is the normalised [CLS] token)."""
    layers = tuple(f"encoder.layers.encoder_layer_{i}" for i in range(depth))
    quarters = dict.fromkeys(layers[max(i * depth // 4 - 1, 0)] for i in (1, 2, 3, 4))
    grid = image_size // patch_size
    adapt = partial(dinov2_to_torchvision, grid=grid) if layer_scale else timm_to_torchvision
    return ModelSpec(
        name=name,
        title=title,
        family=FAMILY_NAME,
        paper=PAPERS[paper],
        kind="vit",
        builder=vision_transformer,
        preprocessing=Preprocessing(resize_size=resize_size, crop_size=image_size, interpolation="bicubic"),
        stages=("conv_proj", *quarters),
        categories=IMAGENET_CATEGORIES if num_classes else (),
        checkpoint=PublishedCheckpoint(url, adapt),
        architecture_kwargs=MappingProxyType(
            {
                "image_size": image_size,
                "patch_size": patch_size,
                "num_layers": depth,
                "num_heads": heads,
                "hidden_dim": hidden_dim,
                "mlp_dim": 4 * hidden_dim,
                "num_classes": num_classes,
                "layer_scale": layer_scale,
            }
        ),
        attention_layers=tuple(f"{layer}.self_attention" for layer in layers),
        task="self_supervised",
        pretraining=pretraining,
        notes=notes,
    )


SMALL = {"hidden_dim": 384, "depth": 12, "heads": 6}
BASE = {"hidden_dim": 768, "depth": 12, "heads": 12}

SUPERVISED_TWINS: Mapping[str, str] = MappingProxyType(
    {
        "dino_vits16": "deit_s16",
        "dino_vits8": "deit_s16",
        "dino_vitb16": "vit_b_16",
        "dinov2_vits14": "deit_s16",
    }
)
"""For each self-supervised ViT, a supervised ViT of the same width and depth (DeiT-S as in DINO's paper,
the catalog's ViT-B/16 for the base model)."""


class Dino(ViT):
    name = FAMILY_NAME
    shape_note = N_(
        "A ViT trained without labels: the same flat column of blocks as a supervised ViT, only the "
        "objective differs."
    )

    def entries(self) -> list[ModelSpec]:
        return [
            dino_spec(
                "dino_vits16",
                "DINO ViT-S/16",
                "dino",
                _fb("dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth"),
                patch_size=16,
                **SMALL,
            ),
            dino_spec(
                "dino_vits8",
                "DINO ViT-S/8",
                "dino",
                _fb("dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth"),
                patch_size=8,
                **SMALL,
            ),
            dino_spec(
                "dino_vitb16",
                "DINO ViT-B/16",
                "dino",
                _fb("dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"),
                patch_size=16,
                **BASE,
            ),
            dino_spec(
                "dinov2_vits14",
                "DINOv2 ViT-S/14",
                "dinov2",
                _fb("dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth"),
                patch_size=14,
                layer_scale=True,
                notes=N_(
                    "Published for 518×518 inputs; cvviz runs it at 224×224, its position embeddings "
                    "interpolated from 37×37 to 16×16 patches."
                ),
                **SMALL,
            ),
            dino_spec(
                "deit_s16",
                "DeiT-S/16 (supervised)",
                "deit",
                _fb("deit/deit_small_patch16_224-cd65a155.pth"),
                patch_size=16,
                pretraining="supervised",
                num_classes=1000,
                notes=N_(
                    "An ImageNet classifier, listed with the self-supervised ViTs as the supervised twin "
                    "DINO's paper compares them with."
                ),
                **SMALL,
            ),
        ]

    def supervised_twin(self, spec: ModelSpec) -> str | None:
        """The catalog name of a supervised ViT of the same size as ``spec`` (None for a supervised one)."""
        return SUPERVISED_TWINS.get(spec.name) if spec.pretraining != "supervised" else None


FAMILY = Dino()
