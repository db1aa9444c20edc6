"""Architecture analysis: layer grouping sums, network profiles, block calculator presets and signature
blocks, each checked against numbers derived independently here."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cvviz.architecture import (
    PRESETS,
    BlockChoice,
    block_cost,
    compound_scaling_table,
    group_layers,
    max_depth,
    network_profile,
    signature_block,
)
from cvviz.catalog import get_spec
from cvviz.complexity import complexity_for_spec, measure_complexity
from cvviz.models import build_on_meta


@pytest.fixture(scope="module")
def resnet18_complexity():
    return complexity_for_spec(get_spec("resnet18"))


def test_group_layers_totals_equal_the_whole_model_at_every_depth(resnet18_complexity):
    c = resnet18_complexity
    for depth in range(max_depth(c) + 1):
        groups = group_layers(c, depth)
        assert sum(g.params for g in groups) == c.params == 11_689_512
        assert sum(g.macs for g in groups) == c.macs
        assert sum(g.mac_share for g in groups) == pytest.approx(1.0)


def test_group_layers_sums_each_groups_members(resnet18_complexity):
    groups = {g.name: g for g in group_layers(resnet18_complexity, 0)}
    layer1 = build_on_meta(get_spec("resnet18")).layer1
    assert groups["layer1"].params == sum(p.numel() for p in layer1.parameters())
    assert groups["layer1"].output_shape == (1, 64, 56, 56)
    # layer1: four 3×3 64→64 convs at 56×56, nothing else multiplies.
    assert groups["layer1"].macs == 4 * 3 * 3 * 64 * 64 * 56 * 56
    assert groups["fc"].macs == 512 * 1000


def test_group_layers_on_a_tiny_model():
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.ReLU()), nn.Flatten(), nn.Linear(8, 3)
    )
    c = measure_complexity(model, (1, 1, 4, 4))
    top = {g.name: g for g in group_layers(c, 0)}
    assert top["0"].params == 18 and top["0"].macs == 18 * 4 and top["0"].members == 3
    assert top["2"].params == 27 and top["2"].macs == 24


def test_network_profile_shows_a_cnn_pyramid_and_a_vit_column_and_reads_swin_as_nhwc():
    resnet = network_profile(get_spec("resnet18"), complexity_for_spec(get_spec("resnet18")))
    assert [(p.channels, p.height) for p in resnet] == [
        (3, 224),
        (64, 112),
        (64, 56),
        (128, 28),
        (256, 14),
        (512, 7),
    ]
    vit = network_profile(get_spec("vit_b_16"), complexity_for_spec(get_spec("vit_b_16")))
    assert {(p.channels, p.height) for p in vit[1:]} == {(768, 14)}
    assert [p.tokens for p in vit[2:]] == [197] * 4
    swin = network_profile(get_spec("swin_t"), complexity_for_spec(get_spec("swin_t")))
    assert [(p.channels, p.height) for p in swin[1:]] == [(96, 56), (96, 56), (192, 28), (384, 14), (768, 7)]


def _preset(word: str):
    return next(p for p in PRESETS if word in p.title)


def _both(preset):
    args = (preset.height, preset.width, preset.c_in, preset.c_out)
    return block_cost(preset.left, *args), block_cost(preset.right, *args)


def test_preset_three_3x3_vs_one_7x7_is_27_vs_49_per_channel_pair():
    preset = _preset("7×7")
    stack, single = _both(preset)
    c = preset.c_in
    assert stack.params == 27 * c * c and single.params == 49 * c * c
    assert stack.macs == 27 * c * c * 56 * 56 and single.macs == 49 * c * c * 56 * 56


def test_preset_resnet_bottleneck_at_256_channels():
    bottleneck, plain = _both(_preset("bottleneck"))
    assert bottleneck.params == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert plain.params == 2 * 9 * 256 * 256 == 1_179_648
    assert bottleneck.macs == 69_632 * 56 * 56


def test_preset_depthwise_separable_ratio_is_one_over_c_out_plus_one_ninth():
    preset = _preset("Depthwise")
    separable, standard = _both(preset)
    assert separable.params == 9 * preset.c_in + preset.c_in * preset.c_out
    assert standard.params == 9 * preset.c_in * preset.c_out
    assert separable.macs / standard.macs == pytest.approx(1 / preset.c_out + 1 / 9)


def test_preset_googlenet_reduction_before_5x5():
    reduced, direct = _both(_preset("GoogLeNet"))
    assert direct.params == 5 * 5 * 192 * 32 == 153_600
    assert direct.macs == 28 * 28 * 153_600 == 120_422_400
    assert reduced.params == 192 * 16 + 5 * 5 * 16 * 32 == 15_872
    assert reduced.macs == 28 * 28 * 15_872 == 12_443_648


def test_block_calculator_fire_and_grouped_blocks():
    fire = block_cost(BlockChoice("fire", mid=16), 8, 8, 96, 128)
    assert fire.params == 96 * 16 + 16 * 64 + 9 * 16 * 64
    assert fire.output_shape == (1, 128, 8, 8)
    grouped = block_cost(BlockChoice("grouped", k=3, groups=4), 8, 8, 64, 64)
    assert grouped.params == 9 * 64 * 64 // 4
    with pytest.raises(ValueError):
        block_cost(BlockChoice("grouped", groups=3), 8, 8, 64, 64)


def _signature(name: str, complexity=None):
    spec = get_spec(name)
    return signature_block(spec, build_on_meta(spec), complexity)


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
    table = compound_scaling_table()
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


def test_cli_layers_json_lists_every_module_with_costs(capsys):
    import json

    from cvviz.cli import main

    assert main(["layers", "resnet18", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name", "type", "output_shape", "params", "macs"} <= set(rows[0])
    by_name = {row["name"]: row for row in rows}
    assert by_name["conv1"] == {**by_name["conv1"], "type": "Conv2d", "output_shape": [1, 64, 112, 112]}
    assert (
        by_name["conv1"]["params"] == 7 * 7 * 3 * 64
        and by_name["conv1"]["macs"] == 7 * 7 * 3 * 64 * 112 * 112
    )
    assert sum(row["params"] for row in rows) == 11_689_512


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
