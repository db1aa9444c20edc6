"""Helpers shared by the early CNN families (LeNet, AlexNet): the large first filters they are known for."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers
from cvviz.catalog.schema import ModelSpec
from cvviz.i18n import N_


def large_first_filters(spec: ModelSpec, model: nn.Module) -> SignatureBlock:
    """The first convolution's large kernel and big stride, and how many 3×3s would see as far."""
    name, conv = conv_layers(model)[0]
    k, stride = conv.kernel_size[0], conv.stride[0]
    facts = (
        Fact(N_("kernel"), f"{k}×{k}", f"{name}.kernel_size"),
        Fact(N_("stride"), stride, f"{name}.stride"),
        Fact(N_("filters"), conv.out_channels, f"{name}.out_channels"),
        Fact(N_("input channels"), conv.in_channels, f"{name}.in_channels"),
        Fact(N_("weights"), conv.weight.numel(), f"{k}·{k}·{conv.in_channels}·{conv.out_channels}"),
        Fact(
            N_("stacked 3×3 layers for the same view"),
            (k - 1) // 2,
            f"n 3×3 convs see 1 + 2n pixels; 1 + 2n = {k}",
        ),
    )
    return SignatureBlock(
        N_("Large first-layer filters"),
        name,
        N_(
            "Early CNNs looked at the image through large kernels with a big stride; later designs replace "
            "them with stacks of small ones."
        ),
        facts,
    )
