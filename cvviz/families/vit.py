"""Vision Transformer (Dosovitskiy et al. 2020): patch embedding, a class token and global self-attention."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.layouts import TOKENS_WITH_CLASS, GridLayout
from cvviz.measure.complexity import Complexity
from cvviz.models.build import build_on_meta


def vit_spec(name: str, title: str, depth: int, weights: str = "DEFAULT") -> ModelSpec:
    """A torchvision ViT: stages are the patch embedding and every quarter of the encoder."""
    import torchvision.models as tvm

    layers = tuple(f"encoder.layers.encoder_layer_{i}" for i in range(depth))
    quarter = depth // 4
    stages = ("conv_proj", *tuple(layers[i * quarter - 1] for i in (1, 2, 3)), layers[-1])
    enum = tvm.get_model_weights(name)
    chosen = enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    return torchvision_spec(
        name,
        title,
        "ViT",
        "vit",
        stages,
        kind="vit",
        weights=weights,
        architecture_kwargs={"image_size": chosen.meta["min_size"][0]},
        attention_layers=tuple(f"{layer}.self_attention" for layer in layers),
    )


class ViT(Family):
    name = "ViT"
    attention = "global"
    receptive_field = "global"
    shape_note = N_(
        "A ViT is a flat column: after the patch embedding every layer keeps the same tokens and width."
    )

    def entries(self) -> list[ModelSpec]:
        return [
            vit_spec("vit_b_16", "ViT-B/16", 12),
            vit_spec("vit_b_32", "ViT-B/32", 12),
            vit_spec("vit_l_16", "ViT-L/16", 24),
            vit_spec("vit_l_32", "ViT-L/32", 24),
            # The default ViT-H/14 weights are fine-tuned at 518×518; the linear-probe weights run at 224.
            vit_spec("vit_h_14", "ViT-H/14", 32, weights="IMAGENET1K_SWAG_LINEAR_V1"),
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        conv = model.conv_proj
        patch = conv.kernel_size[0]
        size = spec.input_size
        patches = (size // patch) ** 2
        facts = (
            Fact(N_("patch size"), f"{patch}×{patch}", "conv_proj.kernel_size (stride equal)"),
            Fact(N_("patches"), patches, f"({size}/{patch})²"),
            Fact(N_("embedding width"), conv.out_channels, "conv_proj.out_channels"),
            Fact(N_("patch embedding params"), numel(conv), f"{patch}·{patch}·3·D + D"),
            Fact(
                N_("class token"), tuple(model.class_token.shape)[-1], "class_token width (one extra token)"
            ),
            Fact(
                N_("tokens"),
                model.encoder.pos_embedding.shape[1],
                "encoder.pos_embedding.shape[1] = patches + 1",
            ),
            Fact(
                N_("position embedding params"), model.encoder.pos_embedding.numel(), "pos_embedding.numel()"
            ),
        )
        return SignatureBlock(
            N_("Patch embedding"),
            "conv_proj",
            N_(
                "The image is cut into patches, each linearly embedded (a strided conv), a learned class token is "
                "prepended and position embeddings added; the Transformer sees a sequence of tokens."
            ),
            facts,
        )

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The patch embedding, then encoder layers counted from 1 ("layer 3" is encoder_layer_2)."""
        return ("patch embedding", *(f"layer {int(s.rsplit('_', 1)[1]) + 1}" for s in spec.stages[1:]))

    def cam_layer(self, spec: ModelSpec) -> str:
        """The last block's ``ln_1``: the last block's output reaches the classifier only through the class
        token, so the patch tokens' gradients there are zero; its input still mixes in via attention."""
        return f"{spec.stages[-1]}.ln_1"

    def grid_layout(self, spec: ModelSpec, layer: str) -> GridLayout | None:
        return TOKENS_WITH_CLASS if layer.startswith("encoder.layers") else None

    def sized_kwargs(self, spec: ModelSpec, size: int) -> dict:
        """torchvision's ViT is built for one ``image_size``: its position embedding holds one vector per
        patch of that size (plus the class token)."""
        return {"image_size": size}

    def size_step(self, spec: ModelSpec) -> int:
        return _patch_size(spec)

    def size_note(self, spec: ModelSpec, size: int) -> str:
        if size == spec.input_size:
            return ""
        patch = _patch_size(spec)
        return _(
            "position embeddings interpolated from {native}×{native} to {grid}×{grid} patches (the model is "
            "built for {size}×{size}; torchvision's interpolate_embeddings does the same to trained weights)"
        ).format(native=spec.input_size // patch, grid=size // patch, size=size)

    def tokens(self, spec: ModelSpec, size: int) -> int:
        """The patches of a size×size input plus the class token."""
        return (size // _patch_size(spec)) ** 2 + 1

    def receptive_field_reason(self, spec: ModelSpec) -> str:
        return _(
            "{model} is a Vision Transformer: after its first self-attention every token attends to every "
            "patch, so its receptive field is global, the whole image."
        ).format(model=spec.title)


_PATCH_SIZES: dict[str, int] = {}


def _patch_size(spec: ModelSpec) -> int:
    """The side of a patch: the builder's ``patch_size`` where the entry passes one, else read from the
    patch embedding's kernel (built on meta, once per model)."""
    if "patch_size" in spec.architecture_kwargs:
        return int(spec.architecture_kwargs["patch_size"])
    if spec.name not in _PATCH_SIZES:
        _PATCH_SIZES[spec.name] = int(build_on_meta(spec).conv_proj.kernel_size[0])
    return _PATCH_SIZES[spec.name]


FAMILY = ViT()
