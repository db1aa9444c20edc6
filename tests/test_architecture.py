"""Architecture analysis: layer grouping sums, network profiles and block calculator presets, each checked
against numbers derived independently here. Signature blocks are tested with their families."""

from __future__ import annotations

import pytest
from torch import nn

from cvviz.architecture import PRESETS, BlockChoice, block_cost, group_layers, max_depth, network_profile
from cvviz.catalog import get_spec
from cvviz.measure.complexity import complexity_for_spec, measure_complexity
from cvviz.models.build import build_on_meta


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
