"""Feature extraction: exact outputs, one forward pass, no hooks left, every layout as (C, H, W)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from cvviz.catalog import family_names, get_spec, list_models
from cvviz.explain.features import (
    capture_chw,
    channel_order,
    extract_features,
    first_layer_filters,
    journey,
)
from cvviz.hooks import UnknownLayerError, count_hooks
from cvviz.layouts import layout_of, normalised_shape, to_chw
from cvviz.models.build import build_architecture, build_on_meta
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return build_architecture(get_spec("resnet18")).requires_grad_(False)


def test_extract_features_equals_a_manual_forward(resnet18):
    x = torch.randn(1, 3, 64, 64)
    features = extract_features(resnet18, x, ["layer1", "layer2"])
    m = resnet18
    with torch.no_grad():
        stem = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        layer1 = m.layer1(stem)
        layer2 = m.layer2(layer1)
    np.testing.assert_allclose(features["layer1"].maps, layer1[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features["layer2"].maps, layer2[0].numpy(), rtol=1e-5, atol=1e-6)
    assert features["layer2"].kind == "conv" and features["layer2"].maps.shape == (128, 8, 8)


def test_extract_features_runs_exactly_one_forward_pass_and_removes_hooks(resnet18):
    calls = []
    handle = resnet18.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        before = count_hooks(resnet18)
        extract_features(
            resnet18, torch.randn(1, 3, 32, 32), ["relu", "layer1", "layer2", "layer3", "layer4"]
        )
        assert len(calls) == 1
        assert count_hooks(resnet18) == before
    finally:
        handle.remove()
    assert count_hooks(resnet18) == 0


def test_extract_features_unknown_layer_raises_and_leaves_no_hooks(resnet18):
    with pytest.raises(UnknownLayerError):
        extract_features(resnet18, torch.randn(1, 3, 32, 32), ["layer1", "nope"])
    assert count_hooks(resnet18) == 0


def test_extract_features_holds_the_shared_models_lock():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    loaded = LoadedModel(get_spec("resnet18"), model, WeightsInfo("random", "r"), torch.device("cpu"), 0)
    held = []
    model[1].register_forward_hook(lambda *args: held.append(loaded._lock._is_owned()))
    extract_features(loaded, torch.randn(1, 3, 8, 8), ["1"])
    assert held == [True]


def test_to_chw_drops_the_class_token_and_lays_patches_on_a_grid():
    tokens = torch.arange(1 * 5 * 3, dtype=torch.float32).reshape(1, 5, 3)  # class token + 2×2 patches, D=3
    chw, kind = to_chw(tokens)
    assert kind == "tokens+cls" and chw.shape == (3, 2, 2)
    assert torch.equal(chw[:, 0, 1], tokens[0, 2])  # patch 1 (row 0, col 1) is token 2
    assert torch.equal(chw[:, 1, 0], tokens[0, 3])


def test_to_chw_permutes_channels_last_maps():
    nhwc = torch.randn(1, 7, 7, 96)
    chw, kind = to_chw(nhwc)
    assert kind == "nhwc" and torch.equal(chw, nhwc[0].permute(2, 0, 1))
    assert layout_of((1, 96, 7, 7)) == "conv"
    assert normalised_shape((1, 768)) == (768, 1, 1)


# One model per family (plus each transformer layout) keeps this under a few seconds per model; set
# CVVIZ_FULL_CATALOG=1 to run it over every catalog entry.
_FIRST_OF_FAMILY = [list_models(family)[0].name for family in family_names()]
_MODELS = (
    [spec.name for spec in list_models()]
    if os.environ.get("CVVIZ_FULL_CATALOG")
    else sorted({*_FIRST_OF_FAMILY, "swin_v2_t", "mobilenet_v1", "efficientnet_lite0"})
)


@pytest.mark.parametrize("name", _MODELS)
def test_stage_outputs_normalise_to_chw_for_catalog_models(name):
    spec = get_spec(name)
    model = build_on_meta(spec)
    outputs = capture_chw(model, torch.zeros(1, *spec.input_shape, device="meta"), list(spec.stages))
    assert list(outputs) == list(spec.stages)
    for stage, (chw, _kind, shape) in outputs.items():
        assert chw.dim() == 3, (stage, shape)
        assert tuple(chw.shape) == normalised_shape(shape)
        assert chw.shape[1] == chw.shape[2], (stage, shape)  # square input → square maps
    assert count_hooks(model) == 0


def test_channel_order_sorts_by_the_chosen_statistic():
    maps = np.zeros((3, 2, 2), dtype=np.float32)
    maps[0] = [[0, 0], [0, 10]]  # mean 2.5, max 10, high variance
    maps[1] = [[3, 3], [3, 3]]  # mean 3, max 3, no variance
    maps[2] = [[1, 1], [1, 2]]
    assert channel_order(maps, "mean").tolist() == [1, 0, 2]
    assert channel_order(maps, "max").tolist() == [0, 1, 2]
    assert channel_order(maps, "variance")[0] == 0


def test_journey_picks_the_highest_mean_channel_per_stage(resnet18):
    features = extract_features(resnet18, torch.randn(1, 3, 64, 64), ["layer1", "layer4"])
    steps = journey(features, ["layer1", "layer4"])
    assert [s.layer for s in steps] == ["layer1", "layer4"]
    for step in steps:
        maps = features[step.layer].maps
        assert step.channel == int(maps.mean(axis=(1, 2)).argmax())
    assert [s.title for s in steps] == ["layer1", "layer4"]  # no names given: the modules
    named = journey(features, ["layer1", "layer4"], labels=("stage 1", "stage 4"))
    assert [(s.title, s.layer) for s in named] == [("stage 1", "layer1"), ("stage 4", "layer4")]


def test_first_layer_filters_are_normalised_per_filter(resnet18):
    filters = first_layer_filters(resnet18)
    assert filters.layer == "conv1" and filters.images.shape == (64, 7, 7, 3)
    flat = filters.images.reshape(64, -1)
    np.testing.assert_allclose(flat.min(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(flat.max(axis=1), 1.0, atol=1e-6)


# --- CLI: python -m cvviz features ---------------------------------------------------------------------


def _cat_path() -> str:
    from cvviz.data.images import sample_images

    return str(sample_images()[0].path)


def test_cli_features_untrained_writes_the_activation_array(tmp_path, capsys, torch_home):
    from cvviz.cli import main

    out = tmp_path / "f.npz"
    assert (
        main(
            [
                "features",
                _cat_path(),
                "--model",
                "squeezenet1_1",
                "--layer",
                "features.4",
                "--untrained",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    saved = np.load(out)
    assert saved["features"].shape == (128, 55, 55) and str(saved["layer"]) == "features.4"
    assert "untrained" in capsys.readouterr().err


def test_cli_features_with_weights_file_matches_the_library(tmp_path, torch_home, cat_image):
    from cvviz.cli import main
    from cvviz.models.inference import preprocess

    spec = get_spec("squeezenet1_1")
    model = build_architecture(spec).requires_grad_(False)
    weights = tmp_path / "sq.pth"
    torch.save(model.state_dict(), weights)
    out = tmp_path / "f.npz"
    args = ["features", _cat_path(), "--model", spec.name, "--layer", "features.7", "--weights", str(weights)]
    assert main([*args, "--out", str(out)]) == 0
    expected = extract_features(model, preprocess(cat_image, spec), ["features.7"])["features.7"].maps
    np.testing.assert_allclose(np.load(out)["features"], expected, rtol=1e-5, atol=1e-6)


def test_cli_features_without_pretrained_weights_is_one_error_line_suggesting_untrained(capsys, torch_home):
    from cvviz.cli import main

    assert main(["features", _cat_path(), "--model", "squeezenet1_1", "--layer", "features.4"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--untrained" in lines[0]


def test_cli_features_unknown_layer_is_one_error_line(capsys, torch_home):
    from cvviz.cli import main

    assert main(["features", _cat_path(), "--model", "lenet5", "--layer", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: The model has no layer called 'nope'."


def test_journey_mean_of_channels_averages_every_channel(resnet18):
    features = extract_features(resnet18, torch.randn(1, 3, 64, 64), ["layer2"])
    (step,) = journey(features, ["layer2"], "mean of channels")
    assert step.channel is None and step.channels == 128
    np.testing.assert_allclose(step.map, features["layer2"].maps.mean(axis=0), rtol=1e-6)
    with pytest.raises(ValueError):
        journey(features, ["layer2"], "median")
