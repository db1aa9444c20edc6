"""Figures for the story of the backbones: the timeline and a top-k prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from cvviz.formatting import format_decimal, format_percent
from cvviz.i18n import _
from cvviz.measure.catalog_figures import ModelSummary
from cvviz.plotting.style import log_axis

if TYPE_CHECKING:
    from cvviz.models.inference import Prediction

# One colour per family, stable across every chart (Plotly's qualitative "Dark24" order).
_PALETTE = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86",
    "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
)  # fmt: skip


def family_order(rows: Sequence[object]) -> list[str]:
    """Families in the order the rows first name them (catalog rows come in story order)."""
    return list(dict.fromkeys(row.family for row in rows))


def family_colours(families: Sequence[str]) -> dict[str, str]:
    """One colour per family, by its place in ``families`` (pass the whole story's order for colours that
    stay the same from chart to chart)."""
    return {family: _PALETTE[i % len(_PALETTE)] for i, family in enumerate(families)}


def _hover(row: ModelSummary) -> str:
    if row.acc1 is not None:
        acc = _("{accuracy}% top-1 ({source})").format(
            accuracy=format_decimal(row.acc1, 1), source=row.accuracy_source
        )
    else:
        acc = _("no ImageNet accuracy")
    params = _("{millions}M params").format(millions=format_decimal(row.params / 1e6, 2))
    return (
        f"<b>{row.title}</b> ({row.year})<br>{row.family} · {params}<br>{acc}"
        f"<br><i>{_wrap(_(row.key_idea))}</i>"
    )


def _wrap(text: str, width: int = 60) -> str:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


def timeline_figure(
    rows: Sequence[ModelSummary], y: str = "params", highlight: str | None = None
) -> go.Figure:
    """The story of the backbones: year on x; parameters (log) or published top-1 on y; one trace a family.

    Each point's ``customdata`` is the model's catalog name, so a selection can choose the model.
    """
    if y not in ("params", "acc1"):
        raise ValueError(_("y must be 'params' or 'acc1', not {y!r}").format(y=y))
    families = family_order(rows)
    colours = family_colours(families)
    figure = go.Figure()
    for family in families:
        members = [r for r in rows if r.family == family and (y == "params" or r.acc1 is not None)]
        if not members:
            continue
        figure.add_trace(
            go.Scatter(
                x=[r.year for r in members],
                y=[r.params / 1e6 if y == "params" else r.acc1 for r in members],
                mode="markers",
                name=family,
                marker={
                    "size": [14 if r.name == highlight else 9 for r in members],
                    "color": colours[family],
                    "line": {"width": [3 if r.name == highlight else 0 for r in members], "color": "black"},
                    "opacity": 0.85,
                },
                customdata=[r.name for r in members],
                hovertext=[_hover(r) for r in members],
                hoverinfo="text",
            )
        )
    yaxis = (
        {"title": _("parameters (millions, log scale)"), **log_axis(r.params / 1e6 for r in rows)}
        if y == "params"
        else {"title": _("ImageNet-1K top-1 (%), published"), "type": "linear"}
    )
    figure.update_layout(
        xaxis_title=_("year"),
        yaxis=yaxis,
        legend_title=_("family"),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=430,
        clickmode="event+select",
    )
    return figure


def prediction_figure(predictions: Sequence[Prediction], *, untrained: bool = False) -> go.Figure:
    """Horizontal bars of the top-k class probabilities, best on top."""
    ordered = list(reversed(predictions))
    figure = go.Figure(
        go.Bar(
            x=[100 * p.prob for p in ordered],
            y=[f"{p.label} ({p.index})" for p in ordered],
            orientation="h",
            marker_color="#B0B0B0" if untrained else "#2E91E5",
            text=[format_percent(p.prob, 1) for p in ordered],
            textposition="auto",
        )
    )
    figure.update_layout(
        # Two lines when untrained, so that a narrow column does not cut the warning off.
        xaxis_title=_("probability (%)") + ("<br>" + _("untrained model, meaningless") if untrained else ""),
        xaxis_range=[0, 100],
        # Grow the margins to fit the category labels and the axis title: never clip them.
        xaxis_automargin=True,
        yaxis_automargin=True,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=60 + 45 * len(ordered),
    )
    return figure
