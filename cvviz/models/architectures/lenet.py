"""LeNet-5, the convolutional network that read handwritten digits.

LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document recognition",
Proceedings of the IEEE, 1998.

The layers keep the paper's names (C1, S2, C3, S4, C5, F6) in comments. Three simplifications, all
common in modern re-implementations, give the classic count of 61,706 parameters:

* C3 connects every one of its 16 maps to all 6 S2 maps (2,416 parameters); the paper's Table I wires
  each map to only 3, 4 or 6 of them (1,516 parameters) to break symmetry and save computation.
* S2 and S4 are plain 2×2 average pools; the paper's subsampling layers also learn one scale and one
  bias per map (12 + 32 parameters) and squash the result.
* The output layer is linear; the paper's Euclidean RBF units compare F6 with fixed digit templates.

Activations are plain ``tanh`` (the paper scales it: ``1.7159 * tanh(2/3 * a)``).

The training lab varies the activation, the pooling (``"max"`` with ReLU is the modern variant), a
normalisation before each activation and dropout before the two fully connected layers; the defaults are
the paper's. The options never move the convolutions and linear layers (``features.0``, ``features.3``,
``features.6``, ``classifier.0``, ``classifier.2``), so a state_dict trained without normalisation loads
into the plain network.
"""

from __future__ import annotations

import torch
from torch import nn

from cvviz.i18n import _
from cvviz.models.architectures.options import activation_slot

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5 for 1×32×32 grayscale input.

    ``features`` maps (N, 1, 32, 32) → (N, 120, 1, 1):
    C1 conv 5×5 → (N, 6, 28, 28), S2 pool → 14×14, C3 conv 5×5 → (N, 16, 10, 10), S4 pool → 5×5,
    C5 conv 5×5 → (N, 120, 1, 1). ``classifier`` maps the flattened (N, 120) through F6 (84 units) to
    (N, num_classes) logits.
    """

    def __init__(
        self,
        num_classes: int = 10,
        *,
        activation: str = "tanh",
        pooling: str = "avg",
        norm: str = "none",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if pooling not in ("avg", "max"):
            raise ValueError(_("Unknown pooling {pooling!r}; choose avg or max.").format(pooling=pooling))
        pool = nn.AvgPool2d if pooling == "avg" else nn.MaxPool2d

        def after(channels: int, spatial: bool = True, drop: float = 0.0) -> nn.Module:
            return activation_slot(activation, norm=norm, channels=channels, spatial=spatial, dropout=drop)

        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5),  # C1
            after(6),
            pool(kernel_size=2, stride=2),  # S2
            nn.Conv2d(6, 16, kernel_size=5),  # C3
            after(16),
            pool(kernel_size=2, stride=2),  # S4
            nn.Conv2d(16, 120, kernel_size=5),  # C5: a convolution whose output happens to be 1×1
            after(120, drop=dropout),
        )
        self.classifier = nn.Sequential(
            nn.Linear(120, 84),  # F6
            after(84, spatial=False, drop=dropout),
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) images → (N, num_classes) logits."""
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def lenet5(num_classes: int = 10, **options: object) -> LeNet5:
    """LeNet-5 with randomly initialised weights (no pretrained weights exist for it); ``options`` are
    :class:`LeNet5`'s keyword arguments."""
    return LeNet5(num_classes=num_classes, **options)
