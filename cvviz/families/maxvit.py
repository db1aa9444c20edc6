"""MaxViT (Tu et al. 2022): MBConv, local block attention and dilated grid attention in every layer."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.measure.complexity import Complexity


class MaxViT(Family):
    name = "MaxViT"
    receptive_field = "mixed"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                "maxvit_t",
                "MaxViT-T",
                self.name,
                "maxvit",
                ("stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"),
                kind="hybrid",
            )
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        layer_name, layer = first_of_type(model, ("MaxVitLayer",))
        window = layer.layers.window_attention
        grid = layer.layers.grid_attention
        facts = (
            Fact(
                N_("block attention window"), f"{window.p}×{window.p}", "window_attention.p (local windows)"
            ),
            Fact(N_("grid attention grid"), f"{grid.g}×{grid.g}", "grid_attention.g (dilated, global)"),
            Fact(N_("MBConv first"), type(layer.layers[0]).__name__, "layers[0]"),
            Fact(N_("heads"), window.n_heads, "window_attention.n_heads"),
            Fact(N_("params"), numel(layer), "numel() over the layer"),
        )
        return SignatureBlock(
            N_("MaxViT layer: MBConv, block attention, grid attention"),
            layer_name,
            N_(
                "Attention within local windows and across a sparse global grid gives global interaction at linear "
                "cost; an MBConv runs first."
            ),
            facts,
        )

    def sized_kwargs(self, spec: ModelSpec, size: int) -> dict:
        """torchvision's MaxViT is built for one ``input_size`` (it checks every stage's partitions)."""
        return {"input_size": (size, size)}

    def size_step(self, spec: ModelSpec) -> int:
        """The stem and four stages halve the input five times, and every stage is cut into 7×7 windows."""
        return 32 * 7

    def receptive_field_reason(self, spec: ModelSpec) -> str:
        return _(
            "{model} mixes convolutions with self-attention, whose field is a window or the whole image, "
            "so a convolutional receptive field does not describe it."
        ).format(model=spec.title)


FAMILY = MaxViT()
