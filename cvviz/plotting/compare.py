"""Figures comparing backbones: accuracy against FLOPs (with the Pareto front), latency against accuracy,
and parameters over the years. Built from :class:`cvviz.measure.profiling.ProfileRow`; they compute nothing."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from cvviz.formatting import format_decimal
from cvviz.i18n import _
from cvviz.measure.profiling import ProfileRow, pareto_front
from cvviz.plotting.story import family_colours, family_order
from cvviz.plotting.style import log_axis

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 460}


def _hover(row: ProfileRow) -> str:
    if row.acc1 is not None:
        acc = _("{accuracy}% top-1 (published)").format(accuracy=format_decimal(row.acc1, 1))
    else:
        acc = _("no ImageNet accuracy")
    latency = ""
    if row.latency_ms is not None:
        latency = "<br>" + _("{ms} ms at batch 1 ({device})").format(
            ms=format_decimal(row.latency_ms, 2), device=row.device
        )
    params = _("{millions}M params").format(millions=format_decimal(row.params / 1e6, 2))
    return (
        f"<b>{row.title}</b> ({row.year})<br>{params} · {format_decimal(row.flops / 1e9, 2)} GFLOPs"
        f"<br>{acc}{latency}"
    )


def _by_family(rows: Sequence[ProfileRow], families: Sequence[str] | None):
    """(family, its rows, its colour) in story order; ``families`` is the whole story's order (default:
    the rows' own)."""
    order = list(families) if families else family_order(rows)
    colours = family_colours(order)
    for family in order:
        members = [r for r in rows if r.family == family]
        if members:
            yield family, members, colours[family]


def _bubble(params: int) -> float:
    """Marker diameter growing with the square root of the parameter count (area ∝ parameters)."""
    return 6 + 4 * math.sqrt(params / 1e6)


def accuracy_flops_figure(rows: Sequence[ProfileRow], families: Sequence[str] | None = None) -> go.Figure:
    """Published top-1 against GFLOPs (log x); bubble area ∝ parameters; the Pareto front as a line.

    Models without a published top-1 are left out (they have nothing to place on the y axis).
    """
    rated = [r for r in rows if r.acc1 is not None]
    figure = go.Figure()
    for family, members, colour in _by_family(rated, families):
        figure.add_trace(
            go.Scatter(
                x=[r.flops / 1e9 for r in members],
                y=[r.acc1 for r in members],
                mode="markers",
                name=family,
                marker={
                    "size": [_bubble(r.params) for r in members],
                    "color": colour,
                    "opacity": 0.7,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=[r.model for r in members],
                hovertext=[_hover(r) for r in members],
                hoverinfo="text",
            )
        )
    front = [rated[i] for i in pareto_front([(r.flops, r.acc1) for r in rated])]
    front.sort(key=lambda r: r.flops)
    if front:
        figure.add_trace(
            go.Scatter(
                x=[r.flops / 1e9 for r in front],
                y=[r.acc1 for r in front],
                mode="lines+markers+text",
                name=_("Pareto front"),
                line={"color": "black", "dash": "dash", "width": 1.5},
                marker={"symbol": "circle-open", "size": 10, "color": "black"},
                text=[r.title for r in front],
                textposition=_front_label_positions(len(front)),
                textfont={"size": 11},
                cliponaxis=False,
                hoverinfo="skip",
            )
        )
    accuracies = [r.acc1 for r in rated]
    low, high = (min(accuracies), max(accuracies)) if accuracies else (0.0, 100.0)
    headroom = max(2.0, 0.08 * (high - low))
    figure.update_layout(
        title=_("Accuracy against compute (bubble area ∝ parameters)"),
        xaxis={
            "title": _("GFLOPs per image at the native input size (log scale)"),
            **log_axis((r.flops / 1e9 for r in rated), padding=0.12),
        },
        yaxis={"title": _("ImageNet-1K top-1 (%), published"), "range": [low - headroom, high + headroom]},
        **_LAYOUT,
        legend_title=_("family"),
    )
    return figure


def _front_label_positions(count: int) -> list[str]:
    """Where each Pareto-front label goes, cheapest model first: below and to the right of the rising
    line, so no label runs off the left edge; the last (most accurate) one above and to the left, so it
    does not run off the right edge."""
    return ["bottom right"] * (count - 1) + ["top left"] if count > 1 else ["top center"] * count


def latency_accuracy_figure(rows: Sequence[ProfileRow], families: Sequence[str] | None = None) -> go.Figure:
    """Measured batch-1 latency (median, with p10–p90 error bars) against published top-1."""
    timed = [r for r in rows if r.latency_ms is not None and r.acc1 is not None]
    figure = go.Figure()
    for family, members, colour in _by_family(timed, families):
        figure.add_trace(
            go.Scatter(
                x=[r.latency_ms for r in members],
                y=[r.acc1 for r in members],
                mode="markers",
                name=family,
                marker={"size": 11, "color": colour},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r.latency_p90_ms - r.latency_ms for r in members],
                    "arrayminus": [r.latency_ms - r.latency_p10_ms for r in members],
                },
                customdata=[r.model for r in members],
                hovertext=[_hover(r) for r in members],
                hoverinfo="text",
            )
        )
    device = timed[0].device if timed else "—"
    figure.update_layout(
        title=_("Latency against accuracy ({device})").format(device=device),
        xaxis={
            "title": _("latency at batch 1, median ms (bars: p10–p90; log scale)"),
            **log_axis([r.latency_p10_ms for r in timed] + [r.latency_p90_ms for r in timed]),
        },
        yaxis_title=_("ImageNet-1K top-1 (%), published"),
        **_LAYOUT,
        legend_title=_("family"),
    )
    return figure


def params_years_figure(rows: Sequence[ProfileRow], families: Sequence[str] | None = None) -> go.Figure:
    """Parameters (log scale) against the year the architecture was published."""
    figure = go.Figure()
    for family, members, colour in _by_family(rows, families):
        figure.add_trace(
            go.Scatter(
                x=[r.year for r in members],
                y=[r.params / 1e6 for r in members],
                mode="markers",
                name=family,
                marker={"size": 11, "color": colour},
                customdata=[r.model for r in members],
                hovertext=[_hover(r) for r in members],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        title=_("Parameters over the years"),
        xaxis_title=_("year"),
        yaxis={"title": _("parameters (millions, log scale)"), **log_axis(r.params / 1e6 for r in rows)},
        **_LAYOUT,
        legend_title=_("family"),
    )
    return figure
