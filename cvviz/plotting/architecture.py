"""Figures for the architecture page: the shape of the network and a block comparison."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.architecture import BlockCost, ProfilePoint


def profile_figure(points: Sequence[ProfilePoint], title: str) -> go.Figure:
    """Spatial size (positions per side) and channels (or token width) after each stage, on log axes."""
    names = [p.name for p in points]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=names,
            y=[p.channels for p in points],
            name="channels / width",
            marker_color="#2E91E5",
            hovertext=[
                f"{p.channels} × {p.height} × {p.width}" + (f" ({p.tokens} tokens)" if p.tokens else "")
                for p in points
            ],
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[p.height for p in points],
            name="resolution (side)",
            mode="lines+markers",
            marker_color="#E15F99",
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="channels", type="log", secondary_y=False)
    fig.update_yaxes(title_text="height = width", type="log", secondary_y=True)
    fig.update_layout(
        title=title, height=380, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25}
    )
    return fig


def block_comparison_figure(costs: Sequence[BlockCost]) -> go.Figure:
    """Parameters and MACs of blocks side by side (log scale)."""
    labels = [c.label for c in costs]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("parameters", "multiply-accumulates"))
    fig.add_trace(
        go.Bar(x=labels, y=[c.params for c in costs], marker_color="#1CA71C", showlegend=False), 1, 1
    )
    fig.add_trace(go.Bar(x=labels, y=[c.macs for c in costs], marker_color="#FB0D0D", showlegend=False), 1, 2)
    fig.update_yaxes(type="log")
    fig.update_layout(height=320, margin={"t": 40, "b": 30})
    return fig
