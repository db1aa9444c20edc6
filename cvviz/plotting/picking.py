"""Click-to-pick on a figure: an invisible grid of points, one per choice, each carrying what it picks.

Plotly reports clicks on points, not on images or heat maps, so a figure that lets a visitor pick a
receptive-field unit or an attention query patch gets one transparent marker per choice at its centre;
``customdata`` holds the choice (row, column), which the page reads back from the selection event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from cvviz.i18n import _


def add_pick_grid(
    figure: go.Figure,
    centres_y: Sequence[float],
    centres_x: Sequence[float],
    *,
    marker_px: float = 12.0,
    hover: str = "row %{customdata[0]}, column %{customdata[1]}",
    texts: np.ndarray | None = None,
) -> go.Figure:
    """Add a clickable, invisible point at each (row y, column x) centre, in the figure's pixel
    coordinates; the point for row ``r`` and column ``c`` carries ``customdata`` [r, c]. ``texts``
    (rows, columns), when given, is each point's ``%{text}`` for ``hover``."""
    rows, cols = np.meshgrid(np.arange(len(centres_y)), np.arange(len(centres_x)), indexing="ij")
    figure.add_trace(
        go.Scatter(
            x=np.asarray(centres_x, dtype=float)[cols.ravel()],
            y=np.asarray(centres_y, dtype=float)[rows.ravel()],
            mode="markers",
            marker={"size": marker_px, "color": "rgba(0,0,0,0)"},
            customdata=np.stack([rows.ravel(), cols.ravel()], axis=1),
            text=None if texts is None else np.asarray(texts).ravel().tolist(),
            hovertemplate=hover + "<extra>" + _("click to pick") + "</extra>",
            showlegend=False,
            name="pick",
        )
    )
    figure.update_layout(clickmode="event+select", dragmode=False)
    return figure


def picked_cell(state: Mapping | None) -> tuple[int, int] | None:
    """The (row, column) of the last clicked pick point in a chart's selection state, if any."""
    if not state:
        return None
    points = (state.get("selection") or {}).get("points") or []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, Mapping):  # a typed array reaches Python as {"0": r, "1": c}
            data = [data.get("0", data.get(0)), data.get("1", data.get(1))]
        if isinstance(data, (list, tuple)) and len(data) >= 2 and None not in data[:2]:
            return int(data[0]), int(data[1])
    return None
