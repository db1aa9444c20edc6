"""The building-block choices a small network can be varied by: activation and normalisation.

Shared by LeNet-5 and the training lab's own networks, so "ReLU" or "GroupNorm" means the same module
everywhere.
"""

from __future__ import annotations

import math

from torch import nn

from cvviz.i18n import _

ACTIVATIONS = ("sigmoid", "tanh", "relu")
NORMS = ("none", "batch", "layer", "group")


def make_activation(name: str) -> nn.Module:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(
        _("Unknown activation {name!r}; choose one of {value}.").format(
            name=name, value=", ".join(ACTIVATIONS)
        )
    )


def make_norm(kind: str, channels: int, spatial: bool) -> nn.Module | None:
    """A normalisation layer over ``channels`` features, or None for ``"none"``.

    ``spatial`` is True after a convolution (input (N, C, H, W)) and False after a linear layer (N, C).
    Layer normalisation over a feature map normalises all of (C, H, W), which is ``GroupNorm`` with one
    group; group normalisation uses up to 4 groups (Wu & He 2018 use 32 on far wider layers).
    """
    if kind == "none":
        return None
    if kind == "batch":
        return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, 4), channels)
    raise ValueError(
        _("Unknown normalisation {kind!r}; choose one of {value}.").format(kind=kind, value=", ".join(NORMS))
    )


def activation_slot(
    activation: str, *, norm: str = "none", channels: int = 0, spatial: bool = True, dropout: float = 0.0
) -> nn.Module:
    """What follows a convolution or linear layer: [norm →] activation [→ dropout], as one module.

    With neither norm nor dropout it is the bare activation, so a network's parameter names do not
    depend on whether these options are used (a state_dict trained without them loads into the plain
    network).
    """
    norm_layer = make_norm(norm, channels, spatial)
    parts = [m for m in (norm_layer, make_activation(activation)) if m is not None]
    if dropout > 0:
        parts.append(nn.Dropout(dropout))
    return parts[0] if len(parts) == 1 else nn.Sequential(*parts)
