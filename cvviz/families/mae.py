"""Masked autoencoders (He et al. 2022): a ViT encoder that sees only the visible quarter of an image's
patches and a light decoder that regresses the hidden patches' pixels, both from the authors' checkpoint.

The model (:class:`cvviz.models.architectures.mae.MaskedAutoencoder`) keeps the authors' parameter names,
so the published file loads as it is. It runs on an image *and* a mask of hidden patches, not on an
image alone, so the views that run a classifier never offer it; it is listed under the
``self_supervised`` task.
"""

from __future__ import annotations

from types import MappingProxyType

from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelSpec, Preprocessing, PublishedCheckpoint
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.models.architectures.mae import MaskedAutoencoder, VitShape

FAMILY_NAME = "MAE"


def mae_spec(
    name: str, title: str, url: str, encoder: VitShape, decoder: VitShape, resize_size: int | None = None
) -> ModelSpec:
    """An MAE entry (encoder and decoder) with the authors' checkpoint, whose keys need no renaming."""
    return ModelSpec(
        name=name,
        title=title,
        family=FAMILY_NAME,
        paper=PAPERS["mae"],
        kind="vit",
        builder=MaskedAutoencoder,
        preprocessing=Preprocessing(
            resize_size=resize_size or encoder.image_size,
            crop_size=encoder.image_size,
            interpolation="bicubic",
        ),
        stages=(),
        categories=(),
        checkpoint=PublishedCheckpoint(url, dict),
        architecture_kwargs=MappingProxyType({"encoder": encoder, "decoder": decoder}),
        task="self_supervised",
        pretraining="mae",
    )


class Mae(Family):
    name = FAMILY_NAME
    receptive_field = "global"
    shape_note = N_(
        "An encoder ViT sees only the visible patches; a narrower, shallower decoder rebuilds every patch's "
        "pixels from them."
    )

    def entries(self) -> list[ModelSpec]:
        return [
            mae_spec(
                "mae_vitb16",
                "MAE ViT-B/16",
                "https://dl.fbaipublicfiles.com/mae/visualize/mae_visualize_vit_base.pth",
                encoder=VitShape(patch_size=16, hidden=768, depth=12, heads=12),
                decoder=VitShape(patch_size=16, hidden=512, depth=8, heads=16),
            )
        ]

    def encoder_shape(self, spec: ModelSpec) -> VitShape:
        """The encoder's patch size, width, depth, heads and input side (its patch grid: ``.grid``)."""
        return spec.architecture_kwargs["encoder"]

    def size_step(self, spec: ModelSpec) -> int:
        return self.encoder_shape(spec).patch_size

    def tokens(self, spec: ModelSpec, size: int) -> int:
        """The patches of a size×size input plus the class token (the encoder sees the visible ones only)."""
        return (size // self.size_step(spec)) ** 2 + 1

    def receptive_field_reason(self, spec: ModelSpec) -> str:
        return _(
            "{model} is a Vision Transformer: after its first self-attention every token attends to every "
            "patch, so its receptive field is global, the whole image."
        ).format(model=spec.title)


FAMILY = Mae()
