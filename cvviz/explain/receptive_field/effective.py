"""The effective receptive field (Luo, Li, Urtasun, Zemel, "Understanding the Effective Receptive Field in
Deep Convolutional Neural Networks", NeurIPS 2016): the gradient of one unit with respect to the input."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cvviz.explain.receptive_field.field import ReceptiveFieldError
from cvviz.hooks import capture_outputs, resolve_layers
from cvviz.i18n import _


def _unit_gradient(
    model: nn.Module, layer: str, batch: torch.Tensor, position: tuple[int, int]
) -> torch.Tensor:
    """|d(sum over channels of unit ``position``)/d input| summed over channels: (N, H, W)."""
    resolve_layers(model, [layer])
    inputs = batch.detach().clone().requires_grad_(True)
    with torch.enable_grad(), capture_outputs(model, [layer], detach=False) as captured:
        model(inputs)
        out = captured.get(layer)
        if out is None or out.dim() != 4:
            raise ReceptiveFieldError(
                _("Layer {layer!r} does not output a (N, C, H, W) feature map.").format(layer=layer)
            )
        i, j = position
        if not (0 <= i < out.shape[2] and 0 <= j < out.shape[3]):
            raise ReceptiveFieldError(
                _("Unit ({i}, {j}) is outside layer {layer!r}'s {value}×{value2} map.").format(
                    i=i, j=j, layer=layer, value=out.shape[2], value2=out.shape[3]
                )
            )
        (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), inputs)
    return grad.abs().sum(dim=1)


def effective_receptive_field(
    model: nn.Module, layer: str, image: torch.Tensor, position: tuple[int, int]
) -> np.ndarray:
    """Luo et al.'s effective field of unit ``position`` of ``layer`` for a (1, C, H, W) input: (H, W) |grad|.

    The model's parameters need not require gradients; nothing (hooks, ``.grad``) is left on the model.
    """
    return _unit_gradient(model, layer, image, position)[0].float().cpu().numpy()


def average_effective_receptive_field(
    model: nn.Module,
    layer: str,
    input_shape: tuple[int, int, int],
    position: tuple[int, int],
    samples: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """The effective field averaged over ``samples`` standard-normal inputs of ``input_shape`` (C, H, W): (H, W)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randn(samples, *input_shape, generator=generator).to(device=device, dtype=dtype)
    return _unit_gradient(model, layer, batch, position).mean(dim=0).float().cpu().numpy()
