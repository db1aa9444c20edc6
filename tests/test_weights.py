"""Weights: real downloads against a local server, the cache, and safe loading of user state_dicts."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from cvviz.catalog import get_spec
from cvviz.errors import WeightsError, WeightsMismatchError
from cvviz.models.build import build_architecture
from cvviz.models.loading import build_model
from cvviz.models.weights import (
    MIRROR_ENV,
    adapt_torchvision_state_dict,
    cached_weights_path,
    download_file,
    download_weights,
    fit_state_dict,
    hub_checkpoint_dir,
    list_cached_weights,
    load_state_dict_file,
)


def _tiny_state_dict_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save(nn.Linear(3, 2).state_dict(), buffer)
    return buffer.getvalue()


def test_download_file_reports_progress_and_verifies_hash(file_server, tmp_path):
    root, base = file_server
    data = _tiny_state_dict_bytes() * 50
    digest = hashlib.sha256(data).hexdigest()
    (root / f"tiny-{digest[:8]}.pth").write_bytes(data)
    seen = []
    path = download_file(
        f"{base}/tiny-{digest[:8]}.pth",
        tmp_path / "out" / "tiny.pth",
        progress=lambda done, total: seen.append((done, total)),
        sha256_prefix=digest[:8],
    )
    assert path.read_bytes() == data
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))


def test_download_file_hash_mismatch_leaves_nothing_behind(file_server, tmp_path):
    root, base = file_server
    (root / "bad-deadbeef.pth").write_bytes(b"not what the hash says")
    target = tmp_path / "out" / "bad-deadbeef.pth"
    with pytest.raises(WeightsError, match="integrity check"):
        download_file(f"{base}/bad-deadbeef.pth", target, sha256_prefix="deadbeef")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_download_without_network_is_one_sentence(tmp_path):
    with pytest.raises(WeightsError, match="offline") as info:
        download_file("http://127.0.0.1:9/none.pth", tmp_path / "none.pth", timeout=2)
    assert "\n" not in str(info.value)


def test_download_weights_uses_mirror_and_hub_cache(file_server, torch_home, monkeypatch):
    root, base = file_server
    spec = get_spec("squeezenet1_1")
    name = spec.torchvision_weights.url.rsplit("/", 1)[1]
    (root / name).write_bytes(b"x")  # wrong content: the name's hash prefix cannot match
    monkeypatch.setenv(MIRROR_ENV, base)
    with pytest.raises(WeightsError, match="integrity"):
        download_weights(spec)
    assert cached_weights_path(spec) is None


@pytest.mark.parametrize("variable", ["CVVIZ_OFFLINE", "CVVIZ_KIOSK"])
def test_downloads_can_be_switched_off(torch_home, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(WeightsError, match=r"downloads are switched off.*weights fetch resnet18"):
        download_weights(get_spec("resnet18"))


def test_pretrained_weights_load_from_the_hub_cache_offline(torch_home):
    """A checkpoint already in the cache is used without any network (tests block it)."""
    spec = get_spec("squeezenet1_1")
    reference = build_architecture(spec)
    path = hub_checkpoint_dir() / spec.torchvision_weights.url.rsplit("/", 1)[1]
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model, info = build_model(spec, "pretrained")
    assert info.trained and info.kind == "pretrained"
    torch.testing.assert_close(model.state_dict(), reference.state_dict())
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    assert {row.model: row.cached for row in list_cached_weights()}["squeezenet1_1"]


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_published_checkpoints_with_auxiliary_heads_load_into_inference_models(name):
    spec = get_spec(name)
    builder_kwargs = {k: v for k, v in spec.architecture_kwargs.items() if k != "aux_logits"}
    with_aux = spec.builder(weights=None, aux_logits=True, **builder_kwargs)
    model = build_architecture(spec)
    fit_state_dict(model, adapt_torchvision_state_dict(spec, with_aux.state_dict()), spec.title)
    assert model.fc.weight.data_ptr() != with_aux.fc.weight.data_ptr()
    torch.testing.assert_close(model.fc.weight, with_aux.fc.weight)


def test_densenet_legacy_checkpoint_keys_are_renamed():
    spec = get_spec("densenet121")
    model = build_architecture(spec)
    legacy = {
        key.replace("norm1", "norm.1")
        .replace("conv1", "conv.1")
        .replace("norm2", "norm.2")
        .replace("conv2", "conv.2")
        if "denselayer" in key
        else key: value
        for key, value in model.state_dict().items()
        if not key.endswith("num_batches_tracked")  # absent from the published checkpoints
    }
    assert any("norm.1" in key for key in legacy)
    fit_state_dict(build_architecture(spec), adapt_torchvision_state_dict(spec, legacy), spec.title)


def test_user_state_dict_for_the_right_model_loads(tmp_path):
    spec = get_spec("mobilenet_v1")
    reference = build_architecture(spec)
    path = tmp_path / "mine.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    model, info = build_model(spec, "user", user_weights=str(path))
    assert info.kind == "user" and info.trained
    torch.testing.assert_close(model.state_dict(), reference.state_dict())


def test_user_state_dict_for_the_wrong_model_is_one_clear_sentence(tmp_path):
    path = tmp_path / "lenet.pth"
    torch.save(build_architecture(get_spec("lenet5")).state_dict(), path)
    with pytest.raises(WeightsMismatchError, match="do not fit MobileNet V1") as info:
        build_model(get_spec("mobilenet_v1"), "user", user_weights=path.read_bytes())
    assert "\n" not in str(info.value)


def test_shape_mismatch_names_the_tensor():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    state = {"0.weight": torch.zeros(4, 1, 3, 3), "0.bias": torch.zeros(4)}
    with pytest.raises(WeightsMismatchError, match=r"0\.weight: file 4×1×3×3, model 4×3×3×3"):
        fit_state_dict(model, state, "tiny")


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_that_runs_code_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = tmp_path / "evil.pth"
    torch.save({"weight": _RunsCode(marker)}, payload)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="would run code"):
        load_state_dict_file(payload)
    with pytest.raises(WeightsError):
        load_state_dict_file(pickle.dumps(_RunsCode(marker)))
    assert not marker.exists()


@pytest.mark.parametrize("data", [b"", b"garbage bytes", b"PK\x03\x04truncated zip"])
def test_non_checkpoint_files_are_refused(data):
    with pytest.raises(WeightsError):
        load_state_dict_file(data)
