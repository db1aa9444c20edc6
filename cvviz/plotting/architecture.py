"""Figures for the architecture page: the shape of the network and a block comparison."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.architecture import BlockCost, ProfilePoint
from cvviz.formatting import format_number
from cvviz.i18n import _
from cvviz.plotting.style import log_axis, wrap

# Two calm colours for blocks A and B: neither reads as "good" or "bad".
BLOCK_COLOURS = ("#4C78A8", "#9D9D9D")


def profile_figure(points: Sequence[ProfilePoint], title: str) -> go.Figure:
    """Spatial size (positions per side) and channels (or token width) after each stage, on log axes.

    The x axis names the stages as a reader would ("stem", "stage 1"); the hover adds the module."""
    labels = [p.title for p in points]
    hover = [
        f"<b>{p.title}</b> ({p.name})<br>"
        + f"{format_number(p.channels)} × {format_number(p.height)} × {format_number(p.width)}"
        + (" " + _("({tokens} tokens)").format(tokens=format_number(p.tokens)) if p.tokens else "")
        for p in points
    ]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[p.channels for p in points],
            name=_("channels / width"),
            marker_color="#2E91E5",
            hovertext=hover,
            hoverinfo="text",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[p.height for p in points],
            name=_("resolution (side)"),
            mode="lines+markers",
            marker_color="#E15F99",
            hovertext=hover,
            hoverinfo="text",
        ),
        secondary_y=True,
    )
    fig.update_yaxes(
        title_text=_("channels (log scale)"), secondary_y=False, **log_axis(p.channels for p in points)
    )
    fig.update_yaxes(
        title_text=_("height = width (log scale)"),
        secondary_y=True,
        showgrid=False,
        **log_axis(p.height for p in points),
    )
    fig.update_layout(
        title=title, height=380, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25}
    )
    return fig


def block_comparison_figure(costs: Sequence[BlockCost]) -> go.Figure:
    """Parameters and MACs of blocks side by side: plain bars from zero, so a bar twice as tall is twice
    as many, each labelled with its count."""
    names = [f"{chr(ord('A') + i)}: {c.label}" for i, c in enumerate(costs)]
    colours = [BLOCK_COLOURS[i % len(BLOCK_COLOURS)] for i in range(len(costs))]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("weights (parameters)"), _("multiply-accumulates")))
    for col, values in ((1, [c.params for c in costs]), (2, [c.macs for c in costs])):
        fig.add_trace(
            go.Bar(
                x=[wrap(name, 24) for name in names],
                y=values,
                marker_color=colours,
                text=[format_number(v) for v in values],
                textposition="outside",
                cliponaxis=False,
                customdata=names,
                hovertemplate="%{customdata}<br>%{y:,}<extra></extra>",
                showlegend=False,
            ),
            1,
            col,
        )
        fig.update_yaxes(rangemode="tozero", range=[0, 1.15 * max(values or [1])], row=1, col=col)
    fig.update_yaxes(tickformat=",")
    fig.update_layout(height=340, margin={"t": 40, "b": 30})
    return fig
