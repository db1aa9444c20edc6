"""Architecture analysis: layer grouping sums, network profiles and block calculator presets, each checked
against numbers derived independently here. Signature blocks are tested with their families."""

from __future__ import annotations

import pytest
from torch import nn

from cvviz.architecture import (
    BLOCK_INPUTS,
    PRESETS,
    BlockChoice,
    block_cost,
    comparison_sentence,
    group_layers,
    max_depth,
    network_profile,
    ratio_phrase,
)
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


# --- Container rows ---------------------------------------------------------------------------------


def test_container_rows_carry_their_subtree_totals_and_rows_still_add_up(resnet18_complexity):
    c = resnet18_complexity
    model = build_on_meta(get_spec("resnet18"))
    modules = dict(model.named_modules())
    deepest = max_depth(c)
    groups = group_layers(c, deepest)
    by_name = {g.name: g for g in groups}
    assert sum(g.params for g in groups) == c.params and sum(g.macs for g in groups) == c.macs
    layer1 = by_name["layer1"]
    assert layer1.container and layer1.params == 0  # a container's own share is nothing…
    assert layer1.total_params == sum(p.numel() for p in modules["layer1"].parameters())  # …its subtree all
    assert layer1.total_macs == 4 * 3 * 3 * 64 * 64 * 56 * 56
    assert layer1.total_members == len(list(modules["layer1"].modules()))
    assert layer1.rows_below == len(list(modules["layer1"].modules())) - 1
    for group in groups:
        module = modules.get(group.name)
        if module is None:
            continue
        assert group.total_params == sum(p.numel() for p in module.parameters()), group.name
        assert group.container == bool(list(module.children())), group.name
        if not group.container:
            assert (group.total_params, group.total_macs) == (group.params, group.macs)
    # Grouped to depth 0 nothing lies below a row: totals are the rows' own numbers.
    assert all(not g.container and g.total_params == g.params for g in group_layers(c, 0))


def test_swin_layer_shapes_read_channels_first_with_a_channels_last_mark():
    from cvviz.layouts import shape_text

    shapes = {row.name: row.output_shape for row in complexity_for_spec(get_spec("swin_t")).layers}
    assert shapes["features.1"] == (1, 56, 56, 96)
    assert shape_text(shapes["features.1"]) == "96×56×56 (channels-last)"
    assert shape_text(shapes["features.0.0"]) == "96×56×56"  # the patch embedding's conv is channels first
    vit = {row.name: row.output_shape for row in complexity_for_spec(get_spec("vit_b_16")).layers}
    assert shape_text(vit["encoder.layers.encoder_layer_0"]) == "197 tokens × 768"
    resnet = {row.name: row.output_shape for row in complexity_for_spec(get_spec("resnet18")).layers}
    assert shape_text(resnet["layer1"]) == "64×56×56" and shape_text(resnet["fc"]) == "1,000"
    assert shape_text(None) == "—"


# --- Stage names ------------------------------------------------------------------------------------


def test_every_catalog_model_names_each_stage_once_and_the_profile_uses_the_names():
    from cvviz.catalog import get_family, list_models

    for spec in list_models():
        labels = get_family(spec).stage_labels(spec)
        assert len(labels) == len(spec.stages) and len(set(labels)) == len(labels), spec.name
        assert not any("." in label for label in labels), f"{spec.name}: a module path as label"
    vit = get_spec("vit_b_16")
    points = network_profile(vit, complexity_for_spec(vit), get_family(vit).stage_labels(vit))
    assert [p.title for p in points] == [
        "input",
        "patch embedding",
        "layer 3",
        "layer 6",
        "layer 9",
        "layer 12",
    ]
    assert points[-1].name == "encoder.layers.encoder_layer_11"
    resnet = get_spec("resnet18")
    titles = [
        p.title
        for p in network_profile(resnet, complexity_for_spec(resnet), get_family(resnet).stage_labels(resnet))
    ]
    assert titles == ["input", "stem", "stage 1", "stage 2", "stage 3", "stage 4"]


# --- Block calculator: settings, labels and words ----------------------------------------------------


SETTINGS = {"k": (3, 5), "n": (2, 3), "mid": (16, 32), "groups": (2, 4)}


@pytest.mark.parametrize("kind", list(BLOCK_INPUTS))
def test_only_the_settings_a_block_is_built_from_change_it_and_its_label(kind):
    def cost(**settings):
        return block_cost(BlockChoice(kind, **settings), 8, 8, 64, 64)

    base = {name: values[0] for name, values in SETTINGS.items()}
    reference = cost(**base)
    for name, (_, other) in SETTINGS.items():
        changed = cost(**{**base, name: other})
        if name in BLOCK_INPUTS[kind]:
            assert changed.label != reference.label, f"{kind}: the label ignores {name}"
            assert (changed.params, changed.macs) != (reference.params, reference.macs), f"{kind}: {name}"
        else:
            assert changed.label == reference.label, f"{kind}: the label shows {name}, which does nothing"
            assert (changed.params, changed.macs) == (reference.params, reference.macs), f"{kind}: {name}"


def test_labels_say_what_was_set():
    assert BlockChoice("stack3x3", n=3).label() == "three stacked 3×3 convs"
    assert BlockChoice("stack3x3", n=1).label() == "one 3×3 conv"
    assert BlockChoice("standard", k=7).label() == "one 7×7 conv"
    assert "16 channels" in block_cost(BlockChoice("reduce", k=5), 8, 8, 64, 64).label  # C_out // 4


def test_comparison_sentence_from_the_presets_real_counts():
    bottleneck, plain = _both(_preset("bottleneck"))
    assert round(plain.params / bottleneck.params) == 17
    assert "17× fewer weights" in comparison_sentence(bottleneck, plain)
    assert "17× more weights" in comparison_sentence(plain, bottleneck)
    stack, single = _both(_preset("7×7"))
    assert (
        f"{49 / 27:.1f}× fewer weights"
        in comparison_sentence(stack, single)
        == (
            "Against block B (one 7×7 conv), block A (three stacked 3×3 convs) needs 1.8× fewer weights and "
            "1.8× fewer multiplications."
        )
    )
    reduced, direct = _both(_preset("GoogLeNet"))
    assert f"{120_422_400 / 12_443_648:.1f}× fewer multiplications" in comparison_sentence(reduced, direct)
    assert ratio_phrase(100, 100, "weights") == "as many weights"
    assert ratio_phrase(104, 100, "weights") == "4% more weights"
    assert ratio_phrase(1_000, 47, "weights") == "21× more weights"


def test_every_preset_compares_two_different_blocks():
    for preset in PRESETS:
        left, right = _both(preset)
        assert left.label != right.label and (left.params, left.macs) != (right.params, right.macs)


def test_architecture_page_opens_on_a_classic_comparison_with_readable_tables():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "app_pages" / "architecture.py"), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="arch.preset").value == PRESETS[0].title
    assert any("1.8× fewer weights" in m.value for m in at.markdown)
    assert not any("1.000×" in m.value for m in at.markdown)
    tables = [frame.value for frame in at.dataframe]  # layer table, block facts, …, the calculator's
    layers = tables[0]
    containers = layers[layers["type"].str.endswith("(container)")]
    assert len(containers) and (containers["params"] > 0).all()
    assert (
        layers["output shape"]
        .str.fullmatch(r"[\d,]+(×[\d,]+)*( \(channels-last\))?|[\d,]+ tokens × [\d,]+|—")
        .all()
    )
    assert "None" not in tables[1].to_string()
    calculator = tables[-1]
    assert list(calculator["block"]) == ["A: three stacked 3×3 convs", "B: one 7×7 conv"]
