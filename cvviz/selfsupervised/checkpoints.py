"""The self-supervised backbones cvviz shows, their published checkpoints, and loading them safely.

DINO (Caron et al. 2021) and DeiT (Touvron et al. 2021, the supervised ViT-S that DINO's paper compares
with) publish timm-style Vision Transformers (``blocks.N.attn.qkv`` …). They are the same architecture as
torchvision's :class:`~torchvision.models.VisionTransformer`, so their checkpoints are renamed onto one
(:func:`timm_to_torchvision`) and every attention tool of cvviz works on them unchanged. MAE (He et al.
2022) keeps its own layout, encoder and decoder both (:mod:`cvviz.selfsupervised.mae`).

The checkpoints go through the same weights mechanism as the catalog's classifiers
(:func:`cvviz.models.weights.download_checkpoint`): the torch hub cache, progress, the mirror variable,
the offline rule, ``weights_only`` loading, and keys and shapes checked against the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import torch
import torchvision.models as tvm
from torch import nn

from cvviz.catalog.schema import ModelSpec, Paper, Preprocessing
from cvviz.catalog.torchvision_meta import IMAGENET_CATEGORIES
from cvviz.errors import UnknownModelError, WeightsError
from cvviz.i18n import N_, _
from cvviz.models.weights import (
    CachedWeights,
    ProgressCallback,
    cached_checkpoint_path,
    download_checkpoint,
    downloads_disabled,
    fit_state_dict,
    load_state_dict_file,
)

Method = Literal["dino", "mae", "supervised"]

PAPERS: Mapping[str, Paper] = MappingProxyType(
    {
        "dino": Paper(
            "Emerging Properties in Self-Supervised Vision Transformers",
            "Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin",
            2021,
            "https://arxiv.org/abs/2104.14294",
            N_(
                "A student ViT learns to match a momentum teacher's output on other crops of the same image, "
                "the teacher centred and sharpened so it cannot collapse; no labels are used."
            ),
        ),
        "mae": Paper(
            "Masked Autoencoders Are Scalable Vision Learners",
            "He, Chen, Xie, Li, Dollár, Girshick",
            2022,
            "https://arxiv.org/abs/2111.06377",
            N_(
                "Hide three patches in four (75%), encode only the visible ones, and regress the hidden patches' "
                "pixels with a light decoder."
            ),
        ),
        "deit": Paper(
            "Training data-efficient image transformers & distillation through attention",
            "Touvron, Cord, Douze, Massa, Sablayrolles, Jégou",
            2021,
            "https://arxiv.org/abs/2012.12877",
            N_("A ViT trained on ImageNet-1k alone with strong augmentation, supervised by the labels."),
        ),
    }
)


@dataclass(frozen=True)
class VitShape:
    """The size of a plain ViT: patch side, token width, depth, heads, and the input side it is built for."""

    patch_size: int
    hidden: int
    depth: int
    heads: int
    image_size: int = 224
    mlp_ratio: int = 4

    @property
    def grid(self) -> int:
        """Patches along one side."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid**2


@dataclass(frozen=True)
class SelfSupervisedModel:
    """One published backbone this part of cvviz shows.

    ``method`` is how it was trained (``supervised`` marks the labelled twin DINO is compared with);
    ``num_classes`` is 0 for a backbone without a classifier; ``decoder`` is MAE's decoder (width in
    ``hidden``, its own depth and heads; ``patch_size`` and ``image_size`` as the encoder's).
    """

    name: str
    title: str
    method: Method
    shape: VitShape
    url: str
    paper: Paper
    num_classes: int = 0
    decoder: VitShape | None = None
    resize_size: int = 256
    interpolation: str = "bicubic"

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[1]

    @property
    def spec(self) -> ModelSpec:
        """A catalog-style entry (a torchvision ViT for DINO and DeiT), so that preprocessing and the
        attention tools take it like any catalog model. It is not listed in the catalog."""
        layers = tuple(f"encoder.layers.encoder_layer_{i}" for i in range(self.shape.depth))
        is_vit = self.method != "mae"
        return ModelSpec(
            name=self.name,
            title=self.title,
            family="ViT",
            paper=self.paper,
            kind="vit",
            builder=lambda: build(self),
            preprocessing=Preprocessing(
                resize_size=self.resize_size,
                crop_size=self.shape.image_size,
                interpolation=self.interpolation,
            ),
            stages=("conv_proj", layers[-1]) if is_vit else (),
            categories=IMAGENET_CATEGORIES if self.num_classes else (),
            attention_layers=tuple(f"{layer}.self_attention" for layer in layers) if is_vit else (),
        )


def _fb(path: str) -> str:
    return "https://dl.fbaipublicfiles.com/" + path


VIT_S16 = VitShape(patch_size=16, hidden=384, depth=12, heads=6)
VIT_B16 = VitShape(patch_size=16, hidden=768, depth=12, heads=12)

MODELS: Mapping[str, SelfSupervisedModel] = MappingProxyType(
    {
        model.name: model
        for model in (
            SelfSupervisedModel(
                "dino_vits16",
                "DINO ViT-S/16",
                "dino",
                VIT_S16,
                _fb("dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth"),
                PAPERS["dino"],
            ),
            SelfSupervisedModel(
                "dino_vits8",
                "DINO ViT-S/8",
                "dino",
                VitShape(patch_size=8, hidden=384, depth=12, heads=6),
                _fb("dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth"),
                PAPERS["dino"],
            ),
            SelfSupervisedModel(
                "dino_vitb16",
                "DINO ViT-B/16",
                "dino",
                VIT_B16,
                _fb("dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"),
                PAPERS["dino"],
            ),
            SelfSupervisedModel(
                "mae_vitb16",
                "MAE ViT-B/16",
                "mae",
                VIT_B16,
                _fb("mae/visualize/mae_visualize_vit_base.pth"),
                PAPERS["mae"],
                decoder=VitShape(patch_size=16, hidden=512, depth=8, heads=16),
                resize_size=224,
            ),
            SelfSupervisedModel(
                "deit_s16",
                "DeiT-S/16 (supervised)",
                "supervised",
                VIT_S16,
                _fb("deit/deit_small_patch16_224-cd65a155.pth"),
                PAPERS["deit"],
                num_classes=1000,
            ),
        )
    }
)
"""Every self-supervised backbone (and DINO's supervised twin), by name."""

SUPERVISED_TWIN: Mapping[str, str] = MappingProxyType(
    {"dino_vits16": "deit_s16", "dino_vits8": "deit_s16", "dino_vitb16": "vit_b_16"}
)
"""For each DINO model, a supervised ViT of the same width and depth (DeiT-S as in DINO's paper, the
catalog's ViT-B/16 for the base model): a name here or in the catalog."""


def get_model(name: str, method: Method | None = None) -> SelfSupervisedModel:
    """The entry called ``name`` (of the given ``method`` if one is asked); else one sentence."""
    entry = MODELS.get(name)
    if entry is None or (method is not None and entry.method != method):
        choices = ", ".join(m.name for m in MODELS.values() if method is None or m.method == method)
        raise UnknownModelError(
            _("Unknown self-supervised model {name!r}; choose one of {choices}.").format(
                name=name, choices=choices
            )
        )
    return entry


def list_self_supervised(method: Method | None = None) -> tuple[SelfSupervisedModel, ...]:
    return tuple(m for m in MODELS.values() if method is None or m.method == method)


# --- Architecture and key layout --------------------------------------------------------------------


def build_vit(entry: SelfSupervisedModel) -> tvm.VisionTransformer:
    """torchvision's ViT of the entry's shape, random weights; without classes its head is the identity
    (the output is the normalised [CLS] token, the feature DINO's k-NN reads)."""
    shape = entry.shape
    model = tvm.VisionTransformer(
        image_size=shape.image_size,
        patch_size=shape.patch_size,
        num_layers=shape.depth,
        num_heads=shape.heads,
        hidden_dim=shape.hidden,
        mlp_dim=shape.hidden * shape.mlp_ratio,
        num_classes=max(entry.num_classes, 1),
    )
    if not entry.num_classes:
        model.heads = nn.Identity()
    return model.eval()


_BLOCK = re.compile(r"^blocks\.(\d+)\.(.+)$")
_BLOCK_PARTS = {
    "norm1.weight": "ln_1.weight",
    "norm1.bias": "ln_1.bias",
    "attn.qkv.weight": "self_attention.in_proj_weight",
    "attn.qkv.bias": "self_attention.in_proj_bias",
    "attn.proj.weight": "self_attention.out_proj.weight",
    "attn.proj.bias": "self_attention.out_proj.bias",
    "norm2.weight": "ln_2.weight",
    "norm2.bias": "ln_2.bias",
    "mlp.fc1.weight": "mlp.0.weight",
    "mlp.fc1.bias": "mlp.0.bias",
    "mlp.fc2.weight": "mlp.3.weight",
    "mlp.fc2.bias": "mlp.3.bias",
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
    """Rename a timm-layout ViT state_dict (DINO, DeiT) to torchvision's ``VisionTransformer`` keys.

    The tensors need no change: timm's fused ``qkv`` stacks q, k, v and then heads exactly as
    ``nn.MultiheadAttention.in_proj_weight`` does. Unknown keys keep their names, so the strict load
    that follows names them.
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


# --- Weights ------------------------------------------------------------------------------------------


def cached_path(entry: SelfSupervisedModel) -> Path | None:
    """The entry's checkpoint in the hub cache, if it is there."""
    return cached_checkpoint_path(entry.url)


def fetch(entry: SelfSupervisedModel, progress: ProgressCallback | None = None) -> Path:
    """The entry's checkpoint on disk, downloaded if needed; when it cannot be had, one sentence that
    says how to fetch it."""
    cached = cached_path(entry)
    if cached is not None:
        return cached
    if downloads_disabled():
        raise WeightsError(missing_weights_message(entry))
    try:
        return download_checkpoint(entry.url, entry.name, progress=progress)
    except WeightsError as exc:
        raise WeightsError(
            _("{reason} Fetch them while online with `python -m cvviz weights fetch {name}`.").format(
                reason=exc, name=entry.name
            )
        ) from exc


def missing_weights_message(entry: SelfSupervisedModel) -> str:
    """What to do when the entry's weights are not here: the command that fetches them."""
    return _(
        "The weights of {title} are not on this machine; with random weights these views would mean "
        "nothing. Fetch them while online with `python -m cvviz weights fetch {name}` ({file})."
    ).format(title=entry.title, name=entry.name, file=entry.filename)


def build(entry: SelfSupervisedModel) -> nn.Module:
    """The entry's architecture with random weights (tests and shape checks only)."""
    if entry.method == "mae":
        from cvviz.selfsupervised.mae import MaskedAutoencoder

        return MaskedAutoencoder(entry.shape, entry.decoder or entry.shape).eval()
    return build_vit(entry)


def load_pretrained(
    entry: SelfSupervisedModel,
    source: str | Path | bytes | None = None,
    progress: ProgressCallback | None = None,
) -> nn.Module:
    """The entry's model with its published weights (from ``source``, else the cache or a download),
    keys and shapes checked, in eval mode with gradients off."""
    path = fetch(entry, progress) if source is None else source
    state_dict = load_state_dict_file(path)
    model = build(entry)
    if entry.method != "mae":
        state_dict = timm_to_torchvision(state_dict)
    fit_state_dict(model, state_dict, entry.title)
    return model.eval().requires_grad_(False)


def self_supervised_weights() -> list[CachedWeights]:
    """Each entry's checkpoint state in the hub cache, as ``cvviz weights list`` shows the catalog's."""
    rows = []
    for entry in MODELS.values():
        path = cached_path(entry)
        size = path.stat().st_size if path is not None else None
        rows.append(CachedWeights(entry.name, entry.filename, path is not None, size, path))
    return rows


def require_weights(entry: SelfSupervisedModel) -> Path:
    """The cached checkpoint, or :class:`WeightsError` saying how to fetch it (never a download)."""
    path = cached_path(entry)
    if path is None:
        raise WeightsError(missing_weights_message(entry))
    return path
