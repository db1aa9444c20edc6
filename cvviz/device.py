"""Choosing the device: the GPU when there is one, else the CPU."""

from __future__ import annotations

import torch

from cvviz.i18n import _


def default_device() -> torch.device:
    """CUDA when available, otherwise the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` → :func:`default_device`; otherwise the named device, if it exists here."""
    if name is None or name == "auto":
        return default_device()
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from cvviz.errors import DeviceError

        raise DeviceError(_("CUDA was requested but no GPU is available on this machine."))
    return device


def describe_device(device: torch.device) -> str:
    """A human label such as ``"CPU"`` or ``"CUDA: NVIDIA H100 80GB HBM3"``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return device.type.upper()


def runtime_summary(device: torch.device | None = None) -> str:
    """One line for the UI: the device in use and the torch version, e.g. ``"CPU · torch 2.14.1"``."""
    device = device or default_device()
    return f"{describe_device(device)} · torch {torch.__version__.split('+')[0]}"
