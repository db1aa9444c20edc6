"""Swin's attention window per stage, in input pixels: the receptive-field view of a windowed transformer."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.explain.receptive_field.field import ReceptiveFieldError, pair
from cvviz.i18n import _
from cvviz.models.build import build_on_meta


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

    if get_family(spec).receptive_field != "windows":
        raise ReceptiveFieldError(_("{title} is not a Swin Transformer.").format(title=spec.title))
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
                window = pair(block.attn.window_size)
                shifts = [b.attn.shift_size for b in module.modules() if isinstance(b, SwinTransformerBlock)]
                shift = pair(max(shifts, key=lambda s: tuple(s)))
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
