"""The networks the training lab trains: LeNet-5 (the paper's and a modern variant), an MLP of the same
size, and a plain deep CNN with its residual twin.

LeNet-5 itself is the catalog's (:mod:`cvviz.models.architectures.lenet`), so a run trained here loads
back into ``python -m cvviz predict --model lenet5``. Every network takes (N, 1, 32, 32) and returns
(N, classes) logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cvviz.i18n import N_
from cvviz.models.architectures.lenet import LeNet5
from cvviz.models.architectures.options import activation_slot

INITS = ("default", "xavier", "he", "zeros", "large")
"""PyTorch's default, Xavier/Glorot, He/Kaiming, all zeros, and a normal with std 1 (too large)."""


class MLP(nn.Module):
    """A multi-layer perceptron on the flattened 32×32 image: 1024 → 58 → 32 → classes.

    The hidden widths give 61,668 parameters for 10 classes, within 0.1% of LeNet-5's 61,706, so the
    two differ in structure (local, shared weights) and not in size.
    """

    def __init__(
        self, num_classes: int = 10, *, activation: str = "tanh", norm: str = "none", dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.classifier = nn.Sequential(
            nn.Linear(32 * 32, 58),
            activation_slot(activation, norm=norm, channels=58, spatial=False, dropout=dropout),
            nn.Linear(58, 32),
            activation_slot(activation, norm=norm, channels=32, spatial=False, dropout=dropout),
            nn.Linear(32, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) → (N, num_classes)."""
        return self.classifier(torch.flatten(x, 1))


class Block(nn.Module):
    """One 3×3 convolution → [norm →] activation, on 16 channels; ``residual`` adds its input back
    (He et al. 2016, "Deep residual learning for image recognition"), so the gradient has a path around
    every layer that no activation's derivative shrinks."""

    def __init__(self, channels: int, activation: str, norm: str, residual: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.act = activation_slot(activation, norm=norm, channels=channels)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.conv(x))
        return x + out if self.residual else out


class DeepCNN(nn.Module):
    """A stem (3×3 conv, stride 2: 32×32 → 16×16), ``depth`` blocks of 16 channels, global average pooling
    and a linear classifier. ``residual`` makes it the residual twin: same layers, same parameters."""

    def __init__(
        self,
        num_classes: int = 10,
        *,
        depth: int = 8,
        residual: bool = False,
        activation: str = "relu",
        norm: str = "none",
        dropout: float = 0.0,
        channels: int = 16,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, stride=2, padding=1),
            activation_slot(activation, norm=norm, channels=channels),
        )
        self.blocks = nn.Sequential(*(Block(channels, activation, norm, residual) for _ in range(depth)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) → (N, num_classes)."""
        x = self.pool(self.blocks(self.stem(x)))
        return self.classifier(self.dropout(torch.flatten(x, 1)))


@dataclass(frozen=True)
class TrainableModel:
    """A network the lab offers: its title, the activation it uses by default, what it shows, and how to
    build it from the options (``activation``, ``norm``, ``dropout``, ``depth``)."""

    name: str
    title: str
    default_activation: str
    description: str
    build: Callable[..., nn.Module]
    catalog_name: str | None = None
    takes_depth: bool = False


def _lenet(pooling: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, activation: str, norm: str, dropout: float, depth: int) -> nn.Module:
        return LeNet5(num_classes, activation=activation, pooling=pooling, norm=norm, dropout=dropout)

    return build


def _mlp(num_classes: int, activation: str, norm: str, dropout: float, depth: int) -> nn.Module:
    return MLP(num_classes, activation=activation, norm=norm, dropout=dropout)


def _deep(residual: bool) -> Callable[..., nn.Module]:
    def build(num_classes: int, activation: str, norm: str, dropout: float, depth: int) -> nn.Module:
        return DeepCNN(
            num_classes, depth=depth, residual=residual, activation=activation, norm=norm, dropout=dropout
        )

    return build


MODELS: dict[str, TrainableModel] = {
    model.name: model
    for model in (
        TrainableModel(
            "lenet5", N_("LeNet-5 (1998: tanh, average pooling)"), "tanh",
            N_("The paper's network: two convolutions with subsampling, then three fully connected layers."),
            _lenet("avg"), catalog_name="lenet5",
        ),
        TrainableModel(
            "lenet5_modern", N_("LeNet-5, modern (ReLU, max pooling)"), "relu",
            N_("The same layers with the choices that won later: ReLU and max pooling."),
            _lenet("max"),
        ),
        TrainableModel(
            "mlp", N_("MLP (same parameter count)"), "tanh",
            N_("Fully connected layers on the flattened image: as many weights as LeNet-5, none shared."),
            _mlp,
        ),
        TrainableModel(
            "plain", N_("Deep plain CNN"), "relu",
            N_("A stack of 3×3 convolutions: each layer's gradient is the product of all the layers above."),
            _deep(False), takes_depth=True,
        ),
        TrainableModel(
            "residual", N_("Deep residual CNN"), "relu",
            N_("The plain CNN with each layer's input added to its output: the gradient skips around layers."),
            _deep(True), takes_depth=True,
        ),
    )
}  # fmt: skip


def initialise(model: nn.Module, scheme: str) -> None:
    """Re-initialise every convolution's and linear layer's weights by ``scheme`` (biases to zero, except
    for ``default``, which keeps PyTorch's own initialisation of both).

    ``xavier`` keeps the variance of activations and gradients through tanh/sigmoid layers (Glorot &
    Bengio 2010); ``he`` through ReLU layers (He et al. 2015); ``zeros`` makes every unit of a layer
    identical, so they stay identical (the symmetry that random initialisation breaks); ``large`` draws
    from N(0, 1), which saturates tanh and sigmoid and blows up ReLU networks.
    """
    if scheme not in INITS:
        raise ValueError(f"Unknown initialisation {scheme!r}; choose one of {', '.join(INITS)}.")
    if scheme == "default":
        return
    for module in model.modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        weight = module.weight
        if scheme == "xavier":
            nn.init.xavier_uniform_(weight)
        elif scheme == "he":
            nn.init.kaiming_normal_(weight, nonlinearity="relu")
        elif scheme == "zeros":
            nn.init.zeros_(weight)
        else:
            nn.init.normal_(weight, std=1.0)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The convolutions and linear layers, in order: the "layers" whose gradients and weights are shown."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """The first layer's weights as images (F, H, W): a convolution's kernels, or a linear layer's rows
    reshaped to the square image they weigh."""
    _, first = weighted_layers(model)[0]
    weight = first.weight.detach()
    if weight.ndim == 4:
        return weight[:, 0].clone()
    side = math.isqrt(weight.shape[1])
    return weight.reshape(weight.shape[0], side, side).clone()
