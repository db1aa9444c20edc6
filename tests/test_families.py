"""Family plug-ins: every family answers for its own models (entries, Grad-CAM layer and layout, receptive
field, attention) and its signature block is found in the real model and measured on it."""

from __future__ import annotations

import pytest
import torch

from cvviz.catalog import family_names, get_family, get_spec, list_models
from cvviz.families import FAMILIES
from cvviz.models.build import build_on_meta


def _signature(name: str, complexity=None):
    spec = get_spec(name)
    return get_family(spec).signature(spec, build_on_meta(spec), complexity)


def test_signature_vgg_two_3x3_vs_5x5():
    block = _signature("vgg16")
    assert block.module_name == "features.0" and block.fact("channels") == 64
    assert block.fact("weights of two 3×3") == 2 * 9 * 64 * 64
    assert block.fact("weights of one 5×5") == 25 * 64 * 64
    assert block.fact("saving") == pytest.approx(1 - 18 / 25, abs=1e-4)


def test_signature_resnet_bottleneck():
    block = _signature("resnet50")
    assert block.module_name == "layer1.0" and block.fact("block type") == "Bottleneck"
    assert block.fact("conv2: 3×3 64→64") == 9 * 64 * 64
    assert block.fact("block conv weights") == 64 * 64 + 9 * 64 * 64 + 64 * 256
    assert block.fact("bottleneck 1×1→3×3→1×1 at 256 ch") == 69_632
    assert block.fact("two 3×3 at 256 ch") == 1_179_648


def test_signature_inception_branches():
    block = _signature("googlenet")
    assert block.module_name == "inception3a" and block.fact("output channels") == 64 + 128 + 32 + 32
    params = {row[0]: row[2] for row in block.table}
    bn = lambda c: 2 * c  # noqa: E731 — BatchNorm weight and bias
    assert params["branch1"] == 192 * 64 + bn(64)
    assert params["branch3"] == 192 * 16 + bn(16) + 9 * 16 * 32 + bn(32)
    macs = {row[0]: row[3] for row in block.table}
    assert macs["branch2"] == 28 * 28 * (192 * 96 + 9 * 96 * 128)


def test_signature_densenet_growth():
    block = _signature("densenet121")
    assert block.fact("growth rate k") == 32 and block.fact("layers in block 1") == 6
    assert block.fact("block output channels") == 64 + 6 * 32
    assert [row[1] for row in block.table] == [64, 96, 128, 160, 192, 224, 256]
    assert block.fact("transition compression") == 0.5


def test_signature_squeezenet_fire():
    block = _signature("squeezenet1_0")
    assert (block.fact("squeeze 1×1"), block.fact("expand 1×1"), block.fact("expand 3×3")) == (16, 64, 64)
    assert block.fact("params") == (96 * 16 + 16) + (16 * 64 + 64) + (9 * 16 * 64 + 64)


def test_signature_mobilenet_separable_and_inverted_residual():
    v1 = _signature("mobilenet_v1")
    assert v1.fact("depthwise + pointwise weights") == 9 * 32 + 32 * 64
    assert v1.fact("cost ratio") == pytest.approx(1 / 64 + 1 / 9, abs=1e-4)
    v2 = _signature("mobilenet_v2")
    assert v2.module_name == "features.2" and v2.fact("expand ratio") == 6.0
    assert v2.fact("cost ratio") == pytest.approx((9 * 96 + 96 * 24) / (9 * 96 * 24), abs=1e-4)


def test_signature_shufflenet_permutation():
    block = _signature("shufflenet_v2_x1_0")
    assert block.fact("output channels") == 116
    permutation = [row[1] for row in block.table]
    x = torch.arange(116).reshape(1, 116, 1, 1)
    from torchvision.models.shufflenetv2 import channel_shuffle

    assert permutation == channel_shuffle(x, 2).flatten().tolist()


def test_signature_efficientnet_compound_scaling():
    block = _signature("efficientnet_b0")
    assert block.fact("expand ratio") == 6.0 and block.fact("squeeze-excitation") is True
    table = block.table
    assert [row[4] for row in table] == [224, 240, 288, 300, 380, 456, 528, 600]
    assert table[0][1:4] == (32, 1280, 16)  # B0: stem 32, head 1280, 16 MBConv blocks (Tan & Le, Table 1)
    assert table[7][1] == 64 and table[7][2] == 2560
    assert [row[3] for row in table] == sorted(row[3] for row in table)


def test_signature_vit_patch_embedding():
    block = _signature("vit_b_16")
    assert block.fact("patches") == (224 // 16) ** 2 == 196
    assert block.fact("tokens") == 197 and block.fact("embedding width") == 768
    assert block.fact("patch embedding params") == 16 * 16 * 3 * 768 + 768
    assert block.fact("position embedding params") == 197 * 768


def test_signature_swin_patch_merging_and_windows():
    block = _signature("swin_t")
    assert block.module_name == "features.2" and block.fact("window size") == "7×7"
    assert block.fact("merge input (4C)") == 4 * 96 and block.fact("merge output (2C)") == 2 * 96
    assert block.fact("merge params") == 384 * 192 + 2 * 384


def test_signature_alexnet_large_first_filters():
    block = _signature("alexnet")
    assert block.fact("kernel") == "11×11" and block.fact("stride") == 4
    assert block.fact("weights") == 11 * 11 * 3 * 64
    assert block.fact("stacked 3×3 layers for the same view") == 5  # 1 + 2·5 = 11


def test_signature_convnext_block():
    block = _signature("convnext_tiny")
    assert block.module_name == "features.1.0" and block.fact("depthwise kernel") == "7×7"
    assert block.fact("expansion") == 4
    c = 96
    dw, norm, up, down, scale = 49 * c + c, 2 * c, c * 4 * c + 4 * c, 4 * c * c + c, c
    assert block.fact("params") == dw + norm + up + down + scale


def test_signature_maxvit_block_and_grid_attention():
    block = _signature("maxvit_t")
    assert block.fact("block attention window") == "7×7" and block.fact("grid attention grid") == "7×7"
    assert block.fact("MBConv first") == "MBConv"


def test_signature_efficientnet_lite_scaling_is_read_from_the_three_lite_models():
    block = _signature("efficientnet_lite1")
    assert block.fact("squeeze-excitation") is False
    assert [row[0] for row in block.table] == [
        "EfficientNet-Lite0",
        "EfficientNet-Lite1",
        "EfficientNet-Lite2",
    ]
    assert [row[4] for row in block.table] == [224, 240, 260]
    # Lite keeps the stem (32) and head (1280) fixed and scales depth: 16 → 21 → 21 MBConv blocks.
    assert [row[1:4] for row in block.table] == [(32, 1280, 16), (32, 1280, 21), (32, 1280, 21)]


def test_signature_regnet_table_is_the_design_space_rule_and_matches_the_model():
    spec = get_spec("regnet_y_400mf")
    model = build_on_meta(spec)
    block = get_family(spec).signature(spec, model)
    widths = [row[1] for row in block.table]
    depths = [row[2] for row in block.table]
    built = [model.trunk_output.get_submodule(f"block{i + 1}") for i in range(len(widths))]
    assert depths == [len(list(stage.children())) for stage in built]
    assert sum(depths) == block.fact("depth d") == 16
    convs = [[m for m in stage.modules() if isinstance(m, torch.nn.Conv2d)] for stage in built]
    assert widths == [stage_convs[-1].out_channels for stage_convs in convs]


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_800mf"])
def test_regnet_adapter_builds_what_torchvision_builds(name):
    import torchvision.models as tvm

    ours = get_spec(name).builder(num_classes=1000)
    theirs = tvm.get_model_builder(name)(weights=None)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }


def test_registry_collects_every_family_in_story_order():
    assert family_names(None) == tuple(family.name for family in FAMILIES)
    assert [spec.family for spec in list_models()] == sorted(
        (spec.family for spec in list_models()), key=family_names().index
    )
    for family in FAMILIES:
        assert all(spec.family == family.name for spec in family.entries())


@pytest.mark.parametrize("name", [list_models(family)[0].name for family in family_names()])
def test_family_default_cam_layer_exists_and_its_layout_gives_a_grid(name):
    spec = get_spec(name)
    family = get_family(spec)
    model = build_on_meta(spec)
    layer = family.cam_layer(spec)
    modules = dict(model.named_modules())
    assert layer in modules
    from cvviz.hooks import capture_outputs

    with capture_outputs(model, [layer]) as captured, torch.no_grad():
        model(torch.zeros(1, *spec.input_shape, device="meta"))
    output = captured[layer]
    layout = family.grid_layout(spec, layer)
    grid = layout.to_grid(output) if layout else output
    assert grid.dim() == 4 and grid.shape[-1] == grid.shape[-2] > 1
    if layout is not None:
        assert layout.from_grid(grid, output).shape == output.shape


def test_families_that_are_not_convolutional_say_why_in_one_sentence():
    for family in FAMILIES:
        spec = family.entries()[0]
        reason = family.receptive_field_reason(spec)
        if family.receptive_field == "convolutional":
            assert reason == ""
        else:
            assert reason.endswith(".") and spec.title in reason and "\n" not in reason


def test_only_transformer_families_offer_attention_and_they_list_attention_layers():
    for family in FAMILIES:
        for spec in family.entries():
            assert bool(spec.attention_layers) == (family.attention is not None), spec.name
