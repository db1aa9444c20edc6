"""Shared fixtures. Tests never reach the network: any non-loopback connection fails loudly.

The suite runs in two worker processes (pytest-xdist, ``-n 2 --dist loadfile``: a test file stays on one
worker, so a module's fixtures, servers and caches stay in one process); each worker's torch takes its
share of the cores, so two workers do not fight over the same ones. ``-n 0`` runs it in one process.

Memory: the suite runs in one process, and the app's shared models (``st.cache_resource``) outlive the
AppTest that loaded them, so the model budget is kept small for tests and every cache is emptied after
each test module; real models are released after use.
"""

from __future__ import annotations

import gc
import http.server
import ipaddress
import os
import socket
import threading

import pytest
import torch

from cvviz.data.images import load_sample

# Before anything builds a workbench (AppTests and the servers the browser tests start inherit it).
os.environ.setdefault("CVVIZ_MODEL_CACHE_MB", "1024")

_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // _workers))

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


@pytest.fixture(autouse=True, scope="module")
def release_shared_models():
    """Empty the app's shared caches (models, results) after each test module."""
    yield
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    gc.collect()


@pytest.fixture
def file_server(tmp_path):
    """Serve ``tmp_path / "www"`` over HTTP on a free loopback port; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
