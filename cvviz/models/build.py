"""Building catalog models: the architecture with random weights, on any device, or shape-only on meta."""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cvviz.catalog.schema import ModelSpec


def builder_kwargs(spec: ModelSpec) -> dict:
    """The keyword arguments ``spec.builder`` is called with (never torchvision's own weight download)."""
    kwargs = dict(spec.architecture_kwargs)
    if spec.torchvision_weights is not None:
        kwargs["weights"] = None
    return kwargs


def build_architecture(spec: ModelSpec) -> nn.Module:
    """The model with freshly initialised (random) weights, in eval mode."""
    return spec.builder(**builder_kwargs(spec)).eval()


class _SkipRandomInit(TorchFunctionMode):
    """Skip the random initialisation of parameters, recording which tensors it would have filled.

    On the meta device there are no values to fill, and the meta kernels of ``normal_``/``uniform_`` are
    slow Python (half the time of building the catalog on meta). On a real device the skipped tensors
    are left for the caller to fill (see :func:`build_for_timing`); with ``meta_only`` they are not
    skipped there.
    """

    def __init__(self, meta_only: bool = True) -> None:
        super().__init__()
        self.meta_only = meta_only
        self.skipped: list[torch.Tensor] = []

    _SKIPPED = frozenset(
        {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.erfinv_}
        | {
            getattr(nn.init, name)
            for name in (
                "normal_",
                "uniform_",
                "trunc_normal_",
                "kaiming_normal_",
                "kaiming_uniform_",
                "xavier_normal_",
                "xavier_uniform_",
                "orthogonal_",
            )
        }
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._SKIPPED:
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and (tensor.is_meta or not self.meta_only):
                if not tensor.is_meta:
                    self.skipped.append(tensor)
                return tensor
        return func(*args, **kwargs)


def build_on_meta(spec: ModelSpec) -> nn.Module:
    """The architecture on the meta device: shapes only, no memory and no weights (for counting)."""
    with torch.device("meta"), _SkipRandomInit():
        return build_architecture(spec)


def build_for_timing(spec: ModelSpec, seed: int = 0) -> nn.Module:
    """The architecture with stand-in random weights, built in a fraction of the time of a true random
    initialisation, for timing a forward pass, whose duration does not depend on the values.

    Buffers and constant-initialised parameters are built as usual; what the model would fill at random
    is filled instead from one small seeded block of uniform values scaled to ±1/√fan_in (the bound of
    PyTorch's default layer init), repeated. Drawing a model's worth of random numbers is what makes a
    true initialisation slow (about 2 s for VGG-16 on 2 CPU cores).
    """
    skip = _SkipRandomInit(meta_only=False)
    with skip:
        model = build_architecture(spec)
    block = torch.rand(1 << 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    with torch.no_grad():
        for tensor in {id(t): t for t in skip.skipped}.values():
            fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
            _tile(tensor.view(-1), block)
            tensor.mul_(1.0 / max(fan_in, 1) ** 0.5)
    return model.requires_grad_(False)


def _tile(flat: torch.Tensor, block: torch.Tensor) -> None:
    """Fill ``flat`` with ``block`` repeated (a broadcast copy: nothing the size of ``flat`` is allocated)."""
    whole, size = divmod(flat.numel(), block.numel())
    if whole:
        flat[: whole * block.numel()].view(whole, block.numel()).copy_(block.expand(whole, -1))
    flat[whole * block.numel() :].copy_(block[:size])
