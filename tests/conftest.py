"""Shared fixtures. Tests never reach the network: any non-loopback connection fails loudly."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import torch

from cvviz.data.images import load_sample

_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address) -> None:
    host = address[0] if isinstance(address, tuple) else address
    try:
        allowed = isinstance(host, str) and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        allowed = False
    if sock.family == socket.AF_UNIX or allowed:
        return _real_connect(sock, address)
    raise OSError(f"tests must not use the network (tried to connect to {address!r})")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def torch_home(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty, private torch cache, so tests neither see nor fill the user's real one."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for variable in ("CVVIZ_WEIGHTS_MIRROR", "CVVIZ_OFFLINE", "CVVIZ_KIOSK"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "torch"


@pytest.fixture(scope="session")
def cat_image():
    return load_sample("cat").image


@pytest.fixture(scope="session")
def coffee_image():
    return load_sample("coffee").image


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)
