"""Figures tell the truth at a glance: square pixels, log axes labelled with whole 1-2-5 numbers, colour
scales dark at the low end, a key on every heat map, colour bars that stay off their neighbours, and the
names a reader uses. Each test reads the properties of the real ``go.Figure`` a plotting function returns."""

from __future__ import annotations

import colorsys
import math
import re

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import pytest
from PIL import Image

from cvviz.architecture import ProfilePoint, compare_blocks
from cvviz.architecture.blocks import PRESETS
from cvviz.explain.attention import WindowLayout
from cvviz.explain.features import JourneyStep
from cvviz.explain.receptive_field import UnitBox
from cvviz.plotting import architecture as arch_plots
from cvviz.plotting import attention as attention_plots
from cvviz.plotting import features as feature_plots
from cvviz.plotting import receptive_field as field_plots
from cvviz.plotting import saliency as saliency_plots
from cvviz.plotting.style import log_axis, log_ticks, square_pixels, wrap

RNG = np.random.default_rng(0)
CROP = RNG.integers(0, 255, (224, 224, 3), dtype=np.uint8)


# --- Helpers that read a figure ------------------------------------------------------------------------


def _axis(figure: go.Figure, ref: str, letter: str):
    """The layout axis a trace's ``xaxis``/``yaxis`` reference ("x", "y2", …) points to."""
    return figure.layout[f"{letter}axis{ref[1:]}"]


def assert_square_pixels(figure: go.Figure) -> int:
    """Every heat map and image sits on a y axis anchored to its OWN x axis, constrained to its domain.
    Returns how many traces were checked."""
    checked = 0
    for trace in figure.data:
        if trace.type not in ("heatmap", "image"):
            continue
        x_ref, y_ref = trace.xaxis or "x", trace.yaxis or "y"
        y_axis = _axis(figure, y_ref, "y")
        assert y_axis.scaleanchor == x_ref, f"{y_ref} anchors to {y_axis.scaleanchor}, not {x_ref}"
        assert y_axis.scaleratio in (None, 1)
        assert y_axis.constrain == "domain" and _axis(figure, x_ref, "x").constrain == "domain"
        checked += 1
    assert checked
    return checked


def _rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        return tuple(float(v) for v in plotly.colors.hex_to_rgb(colour))
    return tuple(float(v) for v in plotly.colors.unlabel_rgb(colour)[:3])


def luminance(colour: str) -> float:
    """WCAG relative luminance of a CSS colour (0 black … 1 white)."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _scale(colorscale) -> list[tuple[float, str]]:
    if isinstance(colorscale, str):
        colorscale = plotly.colors.get_colorscale(colorscale)
    return [(float(position), colour) for position, colour in colorscale]


def _colour_at(colorscale, position: float) -> str:
    stops = _scale(colorscale)
    return min(stops, key=lambda stop: abs(stop[0] - position))[1]


def _keys(figure: go.Figure):
    """(colorscale, colour bar, shows its scale) for every heat map: its own or its colour axis's."""
    for trace in figure.data:
        if trace.type != "heatmap":
            continue
        if trace.coloraxis:
            axis = figure.layout[trace.coloraxis]
            yield axis.colorscale, axis.colorbar, axis.showscale is not False
        else:
            yield trace.colorscale, trace.colorbar, trace.showscale is not False


def assert_keys_and_dark_low_ends(figure: go.Figure, diverging: bool = False) -> None:
    """Every heat map shows a titled colour bar; a sequential scale's lowest colour is darker than its
    middle (a diverging one is symmetric: white-ish in the middle, both ends darker)."""
    keys = list(_keys(figure))
    assert keys
    for colorscale, colorbar, shown in keys:
        assert shown, "a heat map with no colour key"
        # Streamlit's theme swaps "#000001"…"#000040" for its own palette in the browser.
        assert not any(STREAMLIT_PLACEHOLDER.match(colour) for _, colour in _scale(colorscale))
        assert colorbar.title.text, "a colour bar with no title"
        low, middle, high = (luminance(_colour_at(colorscale, p)) for p in (0.0, 0.5, 1.0))
        if diverging:
            assert middle > low and middle > high
        else:
            assert low < middle, f"lowest colour ({low:.2f}) is not darker than the middle ({middle:.2f})"


STREAMLIT_PLACEHOLDER = re.compile(r"^#0000[0-4][0-9]$", re.IGNORECASE)
TICK_TEXT = re.compile(r"^\d{1,3}(,\d{3})*(\.\d+)?$")


def assert_log_axes_readable(figure: go.Figure) -> int:
    """Each log axis labels only 1-2-5 × 10^k values, at least two of them inside its range, each written
    in full ("0.2", "1,000"). Returns how many log axes were checked."""
    checked = 0
    for name in dir(figure.layout):
        if not re.fullmatch(r"[xy]axis\d*", name):
            continue
        axis = figure.layout[name]
        if axis.type != "log":
            continue
        assert axis.tickmode == "array"
        low, high = axis.range
        inside = [v for v in axis.tickvals if 10**low <= v <= 10**high]
        assert len(inside) >= 2, f"{name}: fewer than two labelled ticks in its range"
        for value, text in zip(axis.tickvals, axis.ticktext):
            mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
            assert round(mantissa, 6) in (1, 2, 5), f"{name}: tick {value} is not 1-2-5 × 10^k"
            assert TICK_TEXT.match(text), f"{name}: tick text {text!r} is not a whole number"
            assert float(text.replace(",", "")) == pytest.approx(value)
        checked += 1
    return checked


# --- The helpers themselves --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (7, 224, ("10", "20", "50", "100", "200")),
        (0.3, 3, ("0.5", "1", "2")),
        (0.05, 600, ("0.1", "1", "10", "100")),
        (3, 1280, ("5", "10", "20", "50", "100", "200", "500", "1,000")),
    ],
)
def test_log_ticks_are_1_2_5_or_decades_written_in_full(low, high, expected):
    values, texts = log_ticks(low, high)
    assert texts == expected
    assert all(low <= v <= high for v in values)


def test_log_ticks_thin_out_decades_over_a_wide_range():
    values, texts = log_ticks(1, 1e9)
    assert values[-1] == 1e8 and texts == ("1", "100", "10,000", "1,000,000", "100,000,000")


def test_log_axis_grows_a_narrow_range_to_two_ticks_and_tells_0_3_from_3():
    narrow = log_axis([768, 768])
    assert narrow["ticktext"] == ["500", "1,000"]
    assert 10 ** narrow["range"][0] <= 500 and 10 ** narrow["range"][1] >= 1000
    wide = log_axis([0.3, 3.0])
    assert "0.5" in wide["ticktext"] and "2" in wide["ticktext"]
    assert log_axis([None, 0, -1]) == {"type": "log"}


def test_square_pixels_anchors_each_subplot_to_its_own_x_axis():
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=3)
    for i in range(6):
        figure.add_trace(go.Heatmap(z=RNG.random((7, 7))), i // 3 + 1, i % 3 + 1)
    figure.update_yaxes(scaleanchor="x")  # the mistake: every subplot anchored to the first x axis
    square_pixels(figure)
    assert assert_square_pixels(figure) == 6
    assert figure.layout.yaxis5.scaleanchor == "x5"


def test_wrap_breaks_long_titles_into_short_lines():
    text = "features.1.0: regular, 56×56 tokens in windows of 7×7"
    lines = wrap(text, 24).split("<br>")
    assert len(lines) > 1 and all(len(line) <= 24 for line in lines)
    assert " ".join(lines) == text


# --- Feature maps ------------------------------------------------------------------------------------


def test_channel_grid_is_square_keyed_and_dark_at_the_low_end():
    maps = RNG.normal(size=(20, 7, 7))
    figure = feature_plots.channel_grid_figure(maps, list(range(20)))
    assert assert_square_pixels(figure) == 20
    assert_keys_and_dark_low_ends(figure)
    first = figure.data[0]
    np.testing.assert_allclose(first.customdata, maps[0])  # the hover reads the real value
    assert first.z.min() == 0 and first.z.max() == 1  # each thumbnail spans its own range
    assert figure.layout.yaxis.autorange == "reversed"  # row 0 at the top, as in the image


def test_channel_figure_and_overlay_have_a_key_and_square_pixels():
    channel = RNG.normal(size=(7, 7))
    for figure in (
        feature_plots.channel_figure(channel, "c"),
        feature_plots.channel_overlay_figure(CROP, channel, "over"),
    ):
        assert_square_pixels(figure)
        assert_keys_and_dark_low_ends(figure)
    overlay = feature_plots.channel_overlay_figure(CROP, channel, "over").data[1]
    assert overlay.dx == pytest.approx(224 / 7) and overlay.x0 == pytest.approx(224 / 14)


def test_overlay_image_colours_low_values_darkest():
    crop = np.full((70, 70, 3), 128, dtype=np.uint8)
    ramp = np.linspace(-3.0, 5.0, 49).reshape(7, 7)
    coloured = feature_plots.overlay_image(crop, ramp, alpha=1.0)
    lightness = [
        luminance("rgb({}, {}, {})".format(*coloured[r * 10 + 5, c * 10 + 5]))
        for r in range(7)
        for c in range(7)
    ]
    assert lightness == sorted(lightness) and lightness[0] < 0.05 < lightness[-1]


def test_journey_names_stages_for_a_reader_and_keeps_the_module_in_the_hover():
    steps = [
        JourneyStep("features.0", 3, RNG.random((112, 112)), 32, "stem"),
        JourneyStep("features.3", None, RNG.random((28, 28)), 40, "stage 2"),
        JourneyStep("features.7", 1, RNG.random((7, 7)), 320),
    ]
    figure = feature_plots.journey_figure(steps)
    titles = [a.text for a in figure.layout.annotations]
    assert titles[0].startswith("<b>stem</b>") and titles[1].startswith("<b>stage 2</b>")
    assert titles[2].startswith("<b>features.7</b>")  # no label: the module name
    assert "features.3" in figure.data[1].hovertemplate
    assert assert_square_pixels(figure) == 3
    assert_keys_and_dark_low_ends(figure)


def test_filters_keep_square_pixels():
    from cvviz.explain.features import FirstLayerFilters

    filters = FirstLayerFilters("conv", RNG.random((16, 3, 3, 3)), 3, (1, 1))
    assert assert_square_pixels(feature_plots.filters_figure(filters, "f")) == 16


# --- Attention ---------------------------------------------------------------------------------------


def test_head_grid_is_square_keyed_and_reports_real_weights():
    maps = RNG.random((3, 4, 7, 7))
    figure = attention_plots.head_grid_figure(maps, "grid")
    assert assert_square_pixels(figure) == 12
    assert_keys_and_dark_low_ends(figure)
    last = figure.data[-1]
    np.testing.assert_allclose(last.customdata, maps[2, 3])
    assert last.yaxis == "y12" and figure.layout.yaxis12.scaleanchor == "x12"


def test_attention_overlay_is_square_keyed_and_its_title_fits():
    heat = 0.005 + 0.0005 * RNG.random((14, 14))  # an untrained ViT's nearly uniform attention
    figure = attention_plots.attention_overlay_figure(
        Image.fromarray(CROP), heat, 16, "Relevance for class 281: tabby, tabby cat (rollout)"
    )
    overlay = figure.data[1]
    assert overlay.zmin == 0 and overlay.zmax == pytest.approx(heat.max())  # uniform looks uniform
    assert_square_pixels(figure)
    assert_keys_and_dark_low_ends(figure)
    assert all(len(line) <= 44 for line in figure.layout.title.text.split("<br>"))


def test_window_attention_colour_bars_stay_under_their_own_panel():
    figure = attention_plots.window_attention_figure(RNG.random((49, 49)), RNG.normal(size=(49, 49)), "w")
    assert assert_square_pixels(figure) == 2
    attention, bias = figure.data
    assert_keys_and_dark_low_ends(go.Figure(attention))
    assert_keys_and_dark_low_ends(go.Figure(bias), diverging=True)
    assert bias.zmin == -bias.zmax  # signed data: zero in the middle of the scale
    for trace in figure.data:
        bar = trace.colorbar
        domain = _axis(figure, trace.xaxis, "x").domain
        assert bar.orientation == "h" and bar.y < 0  # under the plots, not beside them
        left, right = bar.x - bar.len / 2, bar.x + bar.len / 2
        assert domain[0] <= left and right <= domain[1], "a colour bar reaches into the next panel"
    for annotation in figure.layout.annotations:
        assert all(len(line) <= 28 for line in annotation.text.split("<br>"))


def test_swin_windows_figure_is_square_and_wraps_a_long_title():
    layout = WindowLayout("features.1.0", (56, 56), (56, 56), (7, 7), (0, 0), 4)
    figure = attention_plots.swin_windows_figure(
        Image.fromarray(CROP), layout, "features.1.0: regular, 56×56 tokens"
    )
    assert_square_pixels(figure)
    assert all(len(line) <= 28 for line in figure.layout.title.text.split("<br>"))


# --- Receptive fields --------------------------------------------------------------------------------


def test_receptive_field_maps_are_square_and_keyed_and_growth_has_readable_log_ticks():
    from cvviz.catalog import get_spec
    from cvviz.explain.receptive_field import leaf_fields, receptive_field_for_spec

    box = UnitBox((-10, -10, 60, 60), (0, 0, 60, 60), 0.2)
    heat = RNG.random((224, 224))
    for figure in (
        field_plots.unit_box_figure(CROP, box, heat, "u"),
        field_plots.heatmap_figure(heat, box, "h"),
    ):
        assert_square_pixels(figure)
        assert_keys_and_dark_low_ends(figure)
    curves = {"AlexNet": leaf_fields(receptive_field_for_spec(get_spec("alexnet")))}
    assert assert_log_axes_readable(field_plots.growth_figure(curves)) == 1


# --- Saliency ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["positive", "negative", "absolute", "signed"])
def test_saliency_views_are_square_keyed_and_only_signed_is_diverging(kind):
    maps = [("Grad-CAM", RNG.normal(size=(224, 224))), ("Saliency", RNG.normal(size=(224, 224)))]
    figure = saliency_plots.saliency_grid_figure(CROP, maps, kind)
    assert assert_square_pixels(figure) == 4  # the crop and the map in each panel
    assert_keys_and_dark_low_ends(figure, diverging=kind == "signed")
    axis = figure.layout.coloraxis
    assert (axis.cmin, axis.cmax) == ((-1.0, 1.0) if kind == "signed" else (0.0, 1.0))
    assert float(np.abs(figure.data[1].z).max()) == pytest.approx(1.0)


def test_sanity_legend_uses_method_display_names():
    from cvviz.explain.saliency import METHODS
    from cvviz.explain.saliency.sanity import SanityResult, SanityStep

    steps = (SanityStep("original", 1.0, 1.0), SanityStep("head", 0.2, 0.3), SanityStep("head", 0.1, 0.1))
    results = [SanityResult(name, 0, steps, ()) for name in ("grad_cam", "integrated_gradients")]
    figure = saliency_plots.sanity_figure(results)
    names = [trace.name for trace in figure.data]
    assert names == [METHODS["grad_cam"].title, METHODS["integrated_gradients"].title]
    assert "_" not in "".join(names)
    single = saliency_plots.sanity_figure(results[:1])
    assert single.layout.showlegend and single.data[0].name == "Grad-CAM"  # one method is named too
    # Two steps that share a name keep their own places on the x axis.
    assert list(figure.data[0].x) == [0, 1, 2] and list(figure.layout.xaxis.ticktext) == [
        "original",
        "head",
        "head",
    ]


# --- Architecture ------------------------------------------------------------------------------------


def test_profile_names_stages_and_has_readable_log_axes():
    points = [
        ProfilePoint("input", 3, 224, 224, None, "image", "input"),
        ProfilePoint("features.1", 16, 112, 112, None, "conv", "stem"),
        ProfilePoint("features.3", 40, 28, 28, None, "conv", "stage 2"),
        ProfilePoint("head", 1280, 7, 7, None, "conv"),
    ]
    figure = arch_plots.profile_figure(points, "t")
    assert list(figure.data[0].x) == ["input", "stem", "stage 2", "head"]
    assert "features.3" in figure.data[0].hovertext[2]
    assert assert_log_axes_readable(figure) == 2


def _hue_degrees(colour: str) -> tuple[float, float]:
    r, g, b = (c / 255 for c in _rgb(colour))
    hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
    return 360 * hue, saturation


def test_block_comparison_is_linear_from_zero_labelled_and_not_red_against_green():
    preset = PRESETS[0]
    costs = compare_blocks(
        [preset.left, preset.right], preset.height, preset.width, preset.c_in, preset.c_out
    )
    figure = arch_plots.block_comparison_figure(costs)
    for name in ("yaxis", "yaxis2"):
        axis = figure.layout[name]
        assert axis.type != "log" and axis.range[0] == 0
    params, macs = figure.data
    assert list(params.y) == [c.params for c in costs] and list(macs.y) == [c.macs for c in costs]
    assert list(params.text) == [f"{c.params:,}" for c in costs]
    assert "three stacked 3×3 convs" in params.customdata[0]
    for colour in params.marker.color:
        hue, saturation = _hue_degrees(colour)
        alarm = hue < 20 or hue > 340 or 90 < hue < 150
        assert not (alarm and saturation > 0.3), f"{colour} reads as an alarm colour"


# --- Compare and story -------------------------------------------------------------------------------


def _rows():
    from cvviz.measure.profiling import profile_models

    return profile_models(["lenet5", "alexnet", "mobilenet_v2", "resnet50", "shufflenet_v2_x1_0", "vit_b_16"])


def test_compare_charts_have_readable_log_axes_and_unclipped_front_labels():
    from dataclasses import replace

    from cvviz.plotting.compare import accuracy_flops_figure, latency_accuracy_figure, params_years_figure

    rows = _rows()
    figure = accuracy_flops_figure(rows)
    assert assert_log_axes_readable(figure) == 1
    front = next(t for t in figure.data if t.name == "Pareto front")
    assert list(front.x) == sorted(front.x)
    assert "left" not in front.textposition[0]  # the cheapest label grows into the plot, not off its left
    assert "right" not in front.textposition[-1]
    assert front.cliponaxis is False
    x_low, x_high = figure.layout.xaxis.range
    assert x_low < math.log10(min(front.x)) and x_high > math.log10(max(front.x))
    y_low, y_high = figure.layout.yaxis.range
    rated = [r.acc1 for r in rows if r.acc1 is not None]
    assert y_low < min(rated) and y_high >= max(rated) + 2
    assert assert_log_axes_readable(params_years_figure(rows)) == 1
    timed = [
        replace(
            r,
            latency_ms=2.0 * (i + 1),
            latency_p10_ms=1.8 * (i + 1),
            latency_p90_ms=2.5 * (i + 1),
            device="cpu",
        )
        for i, r in enumerate(rows)
    ]
    assert assert_log_axes_readable(latency_accuracy_figure(timed)) == 1


def test_timeline_has_readable_log_axis():
    from cvviz.measure.catalog_figures import catalog_summaries
    from cvviz.plotting.story import timeline_figure

    figure = timeline_figure(catalog_summaries())
    assert assert_log_axes_readable(figure) == 1
    assert figure.layout.yaxis.ticktext[0] in ("0.01", "0.1")  # LeNet-5's 0.06 M parameters are on the axis


def test_pick_grid_point_carries_its_row_and_column_and_a_click_reads_back_either_encoding():
    from cvviz.plotting.picking import add_pick_grid, picked_cell

    figure = add_pick_grid(go.Figure(), centres_y=[4.0, 12.0], centres_x=[2.0, 6.0, 10.0])
    pick = figure.data[-1]
    for index, (row, col) in enumerate(np.asarray(pick.customdata).tolist()):
        assert (pick.y[index], pick.x[index]) == ([4.0, 12.0][row], [2.0, 6.0, 10.0][col])
    assert figure.layout.clickmode == "event+select"
    # Streamlit hands a typed customdata array back as an index-keyed dict; a plain list is read too.
    as_dict = {"selection": {"points": [{"x": 10, "y": 12, "customdata": {"0": 1, "1": 2}}]}}
    as_list = {"selection": {"points": [{"x": 2, "y": 4, "customdata": [0, 0]}]}}
    assert picked_cell(as_dict) == (1, 2)
    assert picked_cell(as_list) == (0, 0)
    assert picked_cell({"selection": {"points": []}}) is None
    assert picked_cell(None) is None


def test_prediction_bars_say_untrained_on_a_line_of_its_own_so_a_narrow_column_keeps_it():
    from cvviz.models.inference import Prediction
    from cvviz.plotting.story import prediction_figure

    predictions = [Prediction(index=i, label=f"class {i}", prob=p) for i, p in enumerate((0.6, 0.3, 0.1))]
    trained = prediction_figure(predictions)
    untrained = prediction_figure(predictions, untrained=True)
    assert trained.layout.xaxis.title.text == "probability (%)"
    assert untrained.layout.xaxis.title.text == "probability (%)<br>untrained model, meaningless"
    assert [bar.x for bar in trained.data] == [(10.0, 30.0, 60.0)]  # best on top
