"""The shared model cache: one copy per key, eval mode, no gradients, bounded by a memory budget."""

from __future__ import annotations

import json
import os
import threading
import time
from unittest import mock

import pytest

from cvviz.errors import UnknownModelError
from cvviz.models import workbench as workbench_module
from cvviz.models.workbench import Workbench, model_nbytes


def test_cache_returns_one_shared_copy_per_key():
    cache = Workbench(budget_bytes=10**9)
    first = cache.get("lenet5", "random")
    assert cache.get("lenet5", "random") is first
    with first.exclusive() as model:
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())
        assert first.nbytes == model_nbytes(model) == 61706 * 4


def test_cache_evicts_least_recently_used_beyond_budget():
    lenet_bytes = 61706 * 4
    cache = Workbench(budget_bytes=lenet_bytes * 2)
    cache.get("lenet5", "random", device="cpu")
    cache.get("squeezenet1_1", "random", device="cpu")  # ~4.9 MB: over budget, lenet goes
    assert [key[0] for key in cache.cached_keys()] == ["squeezenet1_1"]
    cache.get("lenet5", "random", device="cpu")
    assert [key[0] for key in cache.cached_keys()] == ["lenet5"], "the newest stays even alone over budget"


def test_cache_loads_once_under_concurrent_requests():
    cache = Workbench(budget_bytes=10**9)
    calls = []
    real_build = workbench_module.build_model
    start = threading.Barrier(4)

    def slow_counting_build(*args, **kwargs):
        calls.append(args[0].name)
        time.sleep(0.3)  # every other thread asks while this one builds
        return real_build(*args, **kwargs)

    def request() -> None:
        start.wait()  # all four ask at once: without the loading lock each would build its own copy
        results.append(cache.get("lenet5", "random"))

    results = []
    with mock.patch.object(workbench_module, "build_model", slow_counting_build):
        threads = [threading.Thread(target=request) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert calls == ["lenet5"]
    assert all(result is results[0] for result in results)
    stats = cache.stats()  # what a load test reads from outside a server (CVVIZ_WORKBENCH_STATS)
    assert list(stats.builds.values()) == [1] and stats.requests == 4


def test_stats_count_builds_and_requests_and_are_written_where_the_environment_says(monkeypatch, tmp_path):
    written = tmp_path / "workbench.json"
    monkeypatch.setenv(workbench_module.STATS_ENV, str(written))
    lenet_bytes = 61706 * 4
    cache = Workbench(budget_bytes=lenet_bytes * 2)
    cache.get("lenet5", "random", device="cpu")
    cache.get("lenet5", "random", device="cpu")
    cache.get("squeezenet1_1", "random", device="cpu")  # over budget: lenet goes
    cache.get("lenet5", "random", device="cpu")  # built again, a second copy over time, never two at once
    stats = cache.stats()
    assert stats.builds == {"lenet5/random/cpu": 2, "squeezenet1_1/random/cpu": 1} and stats.requests == 4
    assert stats.cached == ("lenet5/random/cpu",) and stats.model_bytes == lenet_bytes
    assert json.loads(written.read_text()) == stats.as_dict() | {"pid": os.getpid()}
    assert [p.name for p in tmp_path.iterdir()] == ["workbench.json"]  # no partial file left beside it


def test_cache_unknown_model_raises():
    with pytest.raises(UnknownModelError):
        Workbench().get("resnet5000")


def test_cache_budget_reads_environment(monkeypatch):
    monkeypatch.setenv("CVVIZ_MODEL_CACHE_MB", "2")
    assert Workbench().budget_bytes == 2 * 1024 * 1024


class _FullGpu:
    """Stands in for a CUDA device with no free memory: moving a model there always fails."""

    def __init__(self, monkeypatch):
        import torch

        monkeypatch.setattr(workbench_module, "resolve_device", lambda device: torch.device("cuda"))
        monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)

        def no_room(self, *args, **kwargs):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")

        monkeypatch.setattr(torch.nn.Module, "to", no_room)


def test_gpu_out_of_memory_on_automatic_device_falls_back_to_cpu(monkeypatch):
    _FullGpu(monkeypatch)
    loaded = Workbench(budget_bytes=10**9).get("lenet5", "random")
    assert loaded.device.type == "cpu"
    assert "does not have enough free memory for LeNet-5" in loaded.note and "CPU instead" in loaded.note


def test_gpu_out_of_memory_on_requested_gpu_is_one_sentence(monkeypatch):
    from cvviz.errors import DeviceError

    _FullGpu(monkeypatch)
    with pytest.raises(DeviceError, match=r"^The GPU does not have enough free memory for LeNet-5\.$"):
        Workbench(budget_bytes=10**9).get("lenet5", "random", device="cuda")
