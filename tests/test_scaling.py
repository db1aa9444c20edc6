"""How cost grows: the counts at other input sizes and widths against closed forms, an independent counter
and the MobileNet paper; fitted slopes; latency; the CLI and the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from cvviz.catalog import get_spec
from cvviz.cli import main
from cvviz.measure import paper_scaling, scaling
from cvviz.measure.complexity import measure_complexity
from cvviz.models.build import build_on_meta
from cvviz.plotting.scaling import (
    breakdown_figure,
    compound_figure,
    latency_figure,
    macs_scaling_figure,
    memory_figure,
    mobilenet_grid_figure,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def transformer_rows() -> list[scaling.ScalingRow]:
    """ViT-B/16 at 112 and 224 (50 and 197 tokens); Swin-T at 224 and 448, where every stage is whole
    7×7 windows."""
    return scaling.sweep(["vit_b_16"], [112, 224]) + scaling.sweep(["swin_t"], [224, 448])


def test_vit_attention_macs_follow_the_closed_form(transformer_rows):
    model = build_on_meta(get_spec("vit_b_16"))
    layers, width = len(model.encoder.layers), model.hidden_dim
    for row in (r for r in transformer_rows if r.model == "vit_b_16"):
        tokens = (row.size // 16) ** 2 + 1
        assert row.tokens == tokens
        assert row.attention_macs == 2 * layers * tokens**2 * width  # QKᵀ and AV over all heads
        assert row.macs == row.attention_macs + row.conv_macs + row.linear_macs
    assert "interpolated from 14×14 to 7×7" in next(r.note for r in transformer_rows if r.size == 112)


def test_swin_attention_macs_are_window_based(transformer_rows):
    """Every block attends inside 7×7 windows: 2 · tokens · 49 · channels per block, stage by stage."""
    for row in (r for r in transformer_rows if r.model == "swin_t"):
        side = row.size // 4
        expected = sum(
            2 * (side >> stage) ** 2 * 49 * (96 << stage) * depth for stage, depth in enumerate((2, 2, 6, 2))
        )
        assert row.attention_macs == expected
    small, large = (r for r in transformer_rows if r.model == "swin_t")
    assert large.attention_macs / small.attention_macs == large.tokens / small.tokens == 4


def test_fitted_slopes_are_two_for_global_and_one_for_windowed_attention(transformer_rows):
    slopes = {(s.model, s.part): s for s in scaling.fitted_slopes(transformer_rows)}
    assert slopes["vit_b_16", "attention"].slope == pytest.approx(2.0, abs=1e-6)
    assert slopes["swin_t", "attention"].slope == pytest.approx(1.0, abs=1e-6)
    assert slopes["vit_b_16", "attention"].against == "tokens"
    assert 1.0 < slopes["vit_b_16", "total"].slope < 1.5  # the MLPs grow linearly, attention quadratically
    assert scaling.fit_slope([1, 10, 100], [3, 300, 30000]) == pytest.approx(2.0)


@pytest.mark.parametrize(("name", "size", "width"), [("vit_b_16", 224, 1.0), ("mobilenet_v1", 160, 0.5)])
def test_macs_equal_an_independent_count_of_the_same_model(name, size, width):
    spec = scaling.scaled_spec(get_spec(name), size, width)
    counted = measure_complexity(build_on_meta(spec), (1, 3, size, size))  # FlopCounterMode
    row = scaling.cost_at(name, size, width)
    assert (row.macs, row.params) == (counted.macs, counted.params)


def test_mobilenet_v1_matches_the_papers_tables():
    cells = paper_scaling.mobilenet_grid()
    assert len(cells) == 16 and sum(c.published is not None for c in cells) == 7
    for cell in cells:
        if cell.published is not None:  # mult-adds printed to 1M: within 1 % everywhere
            assert abs(cell.macs_error) < 0.01, (cell.width, cell.size, cell.macs)
    reference = next(c for c in cells if (c.width, c.size) == (1.0, 224))
    assert reference.macs == pytest.approx(569e6, rel=0.01)
    assert reference.params == pytest.approx(4.2e6, rel=0.01)
    # ρ changes MACs by ρ² and leaves parameters alone; α shrinks both.
    same_width = [c for c in cells if c.width == 1.0]
    assert len({c.params for c in same_width}) == 1
    assert sorted(c.macs for c in same_width) == [c.macs for c in sorted(same_width, key=lambda c: c.size)]


def test_counting_follows_the_lifetime_of_every_tensor():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
    counts = scaling.count_costs(model, (1, 3, 8, 8))
    # Input (3·64 floats) + conv output (8·64) + ReLU output (8·64) are live at the ReLU; then the first
    # conv's output is freed before the last conv writes its 2·64.
    assert counts.activation_bytes == 4 * (3 * 64 + 8 * 64 + 8 * 64)
    assert counts.elementwise_ops == 8 * 64 + 3 * 64  # the ReLU, and the input made by zeros()
    assert counts.conv_macs == counts.macs == 8 * 64 * 27 + 2 * 64 * 8
    with torch.device("meta"):
        meta = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
    assert scaling.count_costs(meta, (1, 3, 8, 8)) == counts


def test_bad_sizes_and_widths_are_one_sentence():
    with pytest.raises(scaling.ScalingError, match="multiple of 16"):
        scaling.cost_at("vit_b_16", 232)
    with pytest.raises(scaling.ScalingError, match="no width multiplier"):
        scaling.cost_at("resnet50", 224, 0.5)
    with pytest.raises(scaling.ScalingError, match="from 32 to 1024"):
        scaling.cost_at("resnet50", 16)
    with pytest.raises(scaling.ScalingError, match="whole numbers"):
        scaling.parse_sizes("224, big")
    assert scaling.parse_sizes("448 224,224") == (224, 448)


def test_compound_scaling_grows_depth_width_and_resolution_together():
    rows = paper_scaling.compound_scaling(("efficientnet_b0", "efficientnet_b2"))
    assert (rows[0].depth_ratio, rows[0].width_ratio, rows[0].resolution_ratio) == (1.0, 1.0, 1.0)
    smaller, larger = rows
    assert larger.blocks > smaller.blocks and larger.channels > smaller.channels
    assert larger.size > smaller.size and larger.macs > smaller.macs
    assert all(r.acc1 and r.accuracy_source for r in rows)
    with pytest.raises(scaling.ScalingError):
        paper_scaling.compound_scaling(("resnet50",))


def test_latency_is_timed_on_the_model_built_at_each_size():
    rows = scaling.sweep(["mobilenet_v1"], [64, 128], [0.25])
    timed = scaling.latency_job(rows, "cpu", runs=2, budget_s=0.05).run()
    assert [(r.size, r.device) for r in timed] == [(64, "CPU"), (128, "CPU")]
    assert all(r.latency_ms > 0 and r.runs >= 1 and r.error is None for r in timed)
    assert all("meta device" in r.how and "timed forward passes at batch 1 on CPU" in r.how for r in timed)


def test_figures_draw_every_point(transformer_rows):
    slopes = scaling.fitted_slopes(transformer_rows)
    figure = macs_scaling_figure(transformer_rows, slopes)
    assert len(figure.data) == 4  # total and attention for each transformer
    assert any("slope 2.00" in trace.name for trace in figure.data)
    assert len(breakdown_figure(transformer_rows).data[0].x) == len(transformer_rows)
    assert len(memory_figure(transformer_rows).data) == 2
    assert latency_figure(transformer_rows).data == ()  # nothing timed, nothing drawn
    grid = mobilenet_grid_figure(paper_scaling.mobilenet_grid())
    assert "paper 569M" in grid.layout.annotations[0].text
    assert compound_figure(
        [("B", paper_scaling.compound_scaling(("efficientnet_b0", "efficientnet_b2")))]
    ).data


def test_cli_prints_one_json_row_per_point(capsys):
    assert main(["scaling", "mobilenet_v1", "--sizes", "128,160", "--width", "1,0.5", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["width"], r["size"]) for r in records] == [(1.0, 128), (1.0, 160), (0.5, 128), (0.5, 160)]
    assert {"model", "params", "macs", "attention_macs", "activation_bytes"} <= set(records[0])
    assert main(["scaling", "vit_b_16", "--sizes", "100"]) == 2
    assert "multiple of 16" in capsys.readouterr().err


def test_page_sweeps_sizes_and_reads_the_mobilenet_tables():
    at = AppTest.from_file(str(ROOT / "app_pages" / "cost_growth.py"), default_timeout=120)
    at.session_state["cost.models"] = ["ViT-B/16 (vit_b_16)", "MobileNet V1 (mobilenet_v1)"]
    at.session_state["cost.sizes"] = "64, 128"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert any("least-squares fits" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 3  # MACs, their parts, memory (latency once timed)
    at.text_input(key="cost.sizes").set_value("64, 70").run()
    assert any("multiple of 16" in e.value for e in at.error)
    at.segmented_control(key="cost.section").set_value("mobilenet").run()
    assert not at.exception and any("Table 6" in c.value for c in at.caption)
