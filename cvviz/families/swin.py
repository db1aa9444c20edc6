"""Swin Transformer V1 and V2 (Liu et al. 2021, 2022): self-attention in shifted local windows, with
patch merging building a pyramid."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.layouts import CHANNELS_LAST, GridLayout
from cvviz.measure.complexity import Complexity

PATCH = 4
"""Side of the patches the first stage embeds (torchvision's ``patch_size=[4, 4]`` for every Swin)."""
STAGES = ("features.0", "features.1", "features.3", "features.5", "features.7")


def swin_spec(name: str, title: str, paper: str, depths: tuple[int, ...]) -> ModelSpec:
    """A torchvision Swin; its attention layers are every block's ``attn``, stage by stage."""
    attention = tuple(
        f"features.{2 * stage + 1}.{block}.attn"
        for stage, count in enumerate(depths)
        for block in range(count)
    )
    return torchvision_spec(name, title, "Swin", paper, STAGES, kind="swin", attention_layers=attention)


class Swin(Family):
    name = "Swin"
    attention = "windows"
    receptive_field = "windows"

    def entries(self) -> list[ModelSpec]:
        return [
            swin_spec("swin_t", "Swin-T", "swin", (2, 2, 6, 2)),
            swin_spec("swin_s", "Swin-S", "swin", (2, 2, 18, 2)),
            swin_spec("swin_b", "Swin-B", "swin", (2, 2, 18, 2)),
            swin_spec("swin_v2_t", "Swin V2-T", "swin_v2", (2, 2, 6, 2)),
            swin_spec("swin_v2_s", "Swin V2-S", "swin_v2", (2, 2, 18, 2)),
            swin_spec("swin_v2_b", "Swin V2-B", "swin_v2", (2, 2, 18, 2)),
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, merge = first_of_type(model, ("PatchMerging", "PatchMergingV2"))
        attention = next(m for m in model.modules() if hasattr(m, "window_size") and hasattr(m, "shift_size"))
        patch = model.features[0][0]
        shifts = [tuple(m.shift_size) for m in model.modules() if hasattr(m, "shift_size")][:2]
        facts = (
            Fact(
                N_("patch size"), f"{patch.kernel_size[0]}×{patch.kernel_size[1]}", "features.0.0 kernel_size"
            ),
            Fact(
                N_("window size"),
                f"{attention.window_size[0]}×{attention.window_size[1]}",
                "attn.window_size",
            ),
            Fact(N_("shift of alternate blocks"), str(shifts[-1]), "shift_size of the second block"),
            Fact(
                N_("merge input (4C)"),
                merge.reduction.in_features,
                "reduction.in_features: 2×2 neighbours concatenated",
            ),
            Fact(N_("merge output (2C)"), merge.reduction.out_features, "reduction.out_features"),
            Fact(N_("merge params"), numel(merge), "numel() (linear + norm)"),
        )
        return SignatureBlock(
            N_("Shifted windows and patch merging"),
            name,
            N_(
                "Attention runs inside local windows that shift by half a window in alternate blocks; patch merging "
                "concatenates 2×2 neighbours (4C) and projects to 2C, halving the resolution like a CNN stage."
            ),
            facts,
        )

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The patch embedding, then the four stages."""
        return (_("patch embedding"), *(_("stage {n}").format(n=i) for i in range(1, len(spec.stages))))

    def grid_layout(self, spec: ModelSpec, layer: str) -> GridLayout | None:
        return CHANNELS_LAST if layer.startswith("features.") else None

    def tokens(self, spec: ModelSpec, size: int) -> int:
        """Patch tokens of the first stage: one per 4×4 patch (the patch embedding's stride)."""
        return (size // PATCH) ** 2

    def receptive_field_reason(self, spec: ModelSpec) -> str:
        return _(
            "{model} attends inside local windows; each stage's window, in input pixels, is the window "
            "size in tokens times that stage's token stride. Shifted windows between blocks let fields grow "
            "beyond it."
        ).format(model=spec.title)


FAMILY = Swin()
