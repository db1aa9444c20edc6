"""Figures of how cost grows: MACs, their parts, activation memory and latency against input size (log–log,
with the fitted slopes), MobileNet's width × resolution grid beside the paper, and EfficientNet's compound
scaling. Built from :mod:`cvviz.measure.scaling` results; they compute nothing."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.colors
import plotly.graph_objects as go

from cvviz.i18n import N_, _
from cvviz.measure.paper_scaling import CompoundRow, GridCell
from cvviz.measure.scaling import ScalingRow, Slope
from cvviz.plotting.style import CIVIDIS, colourbar, log_axis

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "height": 480}
_PALETTE = plotly.colors.qualitative.D3
AGAINST = {"tokens": N_("tokens"), "pixels": N_("pixels")}
PART_COLOURS = {"attention": "#d62728", "conv": "#1f77b4", "linear": "#2ca02c"}


def _models(rows: Sequence[ScalingRow]) -> list[tuple[str, float]]:
    """(model, width) in the order they first appear."""
    seen: list[tuple[str, float]] = []
    for row in rows:
        if (row.model, row.width) not in seen:
            seen.append((row.model, row.width))
    return seen


def _label(row: ScalingRow) -> str:
    return row.title if row.width == 1.0 else f"{row.title} α={row.width:g}"


def _slope_text(slopes: Sequence[Slope], model: str, width: float, part: str) -> str:
    for slope in slopes:
        if (slope.model, slope.width, slope.part) == (model, width, part):
            return _(" — slope {slope:.2f} vs {against}").format(
                slope=slope.slope, against=_(AGAINST[slope.against])
            )
    return ""


def _hover(row: ScalingRow) -> str:
    tokens = _("<br>{tokens:,} tokens").format(tokens=row.tokens) if row.tokens else ""
    note = f"<br><i>{row.note}</i>" if row.note else ""
    note += f"<br><i>{row.how}</i>" if row.how else ""
    return _(
        "<b>{label}</b> at {size}×{size}{tokens}<br>{gmacs:.2f} GMACs: attention {att:.2f}, convolutions "
        "{conv:.2f}, linear {lin:.2f}<br>{params:.2f}M parameters · peak activations {mb:.1f} MB{note}"
    ).format(
        label=_label(row),
        size=row.size,
        tokens=tokens,
        gmacs=row.macs / 1e9,
        att=row.attention_macs / 1e9,
        conv=row.conv_macs / 1e9,
        lin=row.linear_macs / 1e9,
        params=row.params / 1e6,
        mb=row.activation_bytes / 2**20,
        note=note,
    )


def _pixel_axis(rows: Sequence[ScalingRow]) -> dict:
    return {
        "title": _("input pixels, H × W (log scale)"),
        **log_axis([r.pixels for r in rows], padding=0.1),
    }


def macs_scaling_figure(rows: Sequence[ScalingRow], slopes: Sequence[Slope] = ()) -> go.Figure:
    """Total MACs (solid) and attention MACs (dashed, transformers only) against input pixels, log–log; the
    legend carries each fitted slope (against tokens for transformers, pixels for CNNs)."""
    figure = go.Figure()
    shown: list[float] = []
    for index, (model, width) in enumerate(_models(rows)):
        members = sorted((r for r in rows if (r.model, r.width) == (model, width)), key=lambda r: r.size)
        colour = _PALETTE[index % len(_PALETTE)]
        label = _label(members[0])
        parts = [("total", [r.macs for r in members], "solid", _("{label} total"))]
        if all(r.attention_macs > 0 for r in members):
            parts.append(("attention", [r.attention_macs for r in members], "dash", _("{label} attention")))
        for part, values, dash, name in parts:
            shown += [v / 1e9 for v in values]
            figure.add_trace(
                go.Scatter(
                    x=[r.pixels for r in members],
                    y=[v / 1e9 for v in values],
                    mode="lines+markers",
                    name=name.format(label=label) + _slope_text(slopes, model, width, part),
                    line={"color": colour, "dash": dash},
                    marker={"symbol": "circle" if part == "total" else "diamond", "size": 8},
                    hovertext=[_hover(r) for r in members],
                    hoverinfo="text",
                )
            )
    figure.update_layout(
        title=_("MACs against input size (log–log): the slope is the exponent of growth"),
        xaxis=_pixel_axis(rows),
        yaxis={"title": _("GMACs per image (log scale)"), **log_axis(shown)},
        legend={"orientation": "h", "y": -0.2},
        **_LAYOUT,
    )
    return figure


def breakdown_figure(rows: Sequence[ScalingRow]) -> go.Figure:
    """Stacked GMACs of each point: attention (QKᵀ and AV), convolutions and linear layers."""
    names = [f"{_label(r)} · {r.size}" for r in rows]
    figure = go.Figure()
    for part, title in (
        ("attention", _("attention (QKᵀ and AV)")),
        ("conv", _("convolutions")),
        ("linear", _("linear layers (projections, MLPs, classifier)")),
    ):
        figure.add_trace(
            go.Bar(
                x=names,
                y=[getattr(r, f"{part}_macs") / 1e9 for r in rows],
                name=title,
                marker_color=PART_COLOURS[part],
                hovertext=[_hover(r) for r in rows],
                hoverinfo="text+name",
            )
        )
    figure.update_layout(
        barmode="stack",
        title=_("Where the MACs go"),
        yaxis_title=_("GMACs per image"),
        xaxis={"tickangle": -40},
        legend={"orientation": "h", "y": 1.08},
        **_LAYOUT,
    )
    return figure


def _per_model_figure(
    rows: Sequence[ScalingRow], value, title: str, axis_title: str, error=None, measured=None
) -> go.Figure:
    figure = go.Figure()
    shown: list[float] = []
    for index, (model, width) in enumerate(_models(rows)):
        members = sorted(
            (r for r in rows if (r.model, r.width) == (model, width) and value(r) is not None),
            key=lambda r: r.size,
        )
        if not members:
            continue
        colour = _PALETTE[index % len(_PALETTE)]
        shown += [value(r) for r in members]
        trace = {
            "x": [r.pixels for r in members],
            "y": [value(r) for r in members],
            "mode": "lines+markers",
            "name": _label(members[0]),
            "line": {"color": colour},
            "hovertext": [_hover(r) for r in members],
            "hoverinfo": "text+y",
        }
        if error is not None:
            low, high = zip(*(error(r) for r in members), strict=True)
            shown += list(low) + list(high)
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [h - value(r) for h, r in zip(high, members, strict=True)],
                "arrayminus": [value(r) - lo for lo, r in zip(low, members, strict=True)],
            }
        figure.add_trace(go.Scatter(**trace))
        if measured is not None and any(measured(r) is not None for r in members):
            timed = [r for r in members if measured(r) is not None]
            shown += [measured(r) for r in timed]
            figure.add_trace(
                go.Scatter(
                    x=[r.pixels for r in timed],
                    y=[measured(r) for r in timed],
                    mode="markers",
                    name=_("{label} measured on {device}").format(
                        label=_label(timed[0]), device=timed[0].device
                    ),
                    marker={"color": colour, "symbol": "x", "size": 10},
                )
            )
    figure.update_layout(
        title=title,
        xaxis=_pixel_axis(rows),
        yaxis={"title": axis_title, **log_axis(shown)},
        legend={"orientation": "h", "y": -0.2},
        **_LAYOUT,
    )
    return figure


def memory_figure(rows: Sequence[ScalingRow]) -> go.Figure:
    """Peak activation memory (MB, counted on meta) against input pixels, log–log; crosses where CUDA
    measured it."""
    return _per_model_figure(
        rows,
        lambda r: r.activation_bytes / 2**20,
        _("Peak activation memory against input size (batch 1)"),
        _("MB (log scale)"),
        measured=lambda r: (
            None if r.measured_activation_bytes is None else r.measured_activation_bytes / 2**20
        ),
    )


def latency_figure(rows: Sequence[ScalingRow]) -> go.Figure:
    """Measured batch-1 latency (median, bars p10–p90) against input pixels, log–log."""
    device = next((r.device for r in rows if r.latency_ms is not None), "—")
    return _per_model_figure(
        rows,
        lambda r: r.latency_ms,
        _("Latency against input size ({device})").format(device=device),
        _("ms at batch 1, median (bars: p10–p90; log scale)"),
        error=lambda r: (r.latency_p10_ms, r.latency_p90_ms),
    )


def _millions(value: float) -> str:
    return f"{value / 1e6:.1f}M" if value < 100e6 else f"{value / 1e6:.0f}M"


def mobilenet_grid_figure(cells: Sequence[GridCell]) -> go.Figure:
    """A heatmap of mult-adds over width α (rows) × input size ρ (columns), each cell's count written in
    it with the paper's figure beneath where the paper prints one."""
    widths = sorted({c.width for c in cells}, reverse=True)
    sizes = sorted({c.size for c in cells}, reverse=True)
    by_key = {(c.width, c.size): c for c in cells}
    z, text = [], []
    for width in widths:
        z.append([by_key[(width, s)].macs / 1e6 if (width, s) in by_key else None for s in sizes])
        row_text = []
        for size in sizes:
            cell = by_key.get((width, size))
            if cell is None:
                row_text.append("")
                continue
            line = _millions(cell.macs)
            if cell.published is not None:
                line += "<br>" + _("paper {macs}").format(macs=_millions(cell.published.macs))
            row_text.append(line)
        text.append(row_text)
    values = [v for row in z for v in row if v is not None]
    high = max(values) if values else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(sizes))),
            y=list(range(len(widths))),
            customdata=[[[w, s] for s in sizes] for w in widths],
            colorscale=CIVIDIS,
            colorbar=colourbar(_("M mult-adds")),
            hovertemplate=_(
                "α = %{customdata[0]}, %{customdata[1]}×%{customdata[1]}: %{z:.1f}M mult-adds<extra></extra>"
            ),
        )
    )
    # Each cell's text in black on the light (yellow) end of the scale, white on the dark end.
    for row, (row_values, row_text) in enumerate(zip(z, text, strict=True)):
        for column, (value, label) in enumerate(zip(row_values, row_text, strict=True)):
            if label:
                figure.add_annotation(
                    x=column,
                    y=row,
                    text=label,
                    showarrow=False,
                    font={"color": "black" if value > 0.6 * high else "white"},
                )
    figure.update_layout(
        title=_("MobileNet V1: mult-adds over width α × resolution ρ, counted (paper beneath)"),
        xaxis={
            "title": _("input size (ρ × 224)"),
            "tickvals": list(range(len(sizes))),
            "ticktext": [str(s) for s in sizes],
        },
        yaxis={"tickvals": list(range(len(widths))), "ticktext": [f"α = {w:g}" for w in widths]},
        **{**_LAYOUT, "height": 400},
    )
    return figure


def compound_figure(series: Sequence[tuple[str, Sequence[CompoundRow]]]) -> go.Figure:
    """Published top-1 against MACs (log x) for each named series of variants (B0→B7, Lite0→Lite2),
    joined in order; the hover gives each variant's depth, width and resolution."""
    figure = go.Figure()
    shown: list[float] = []
    for index, (name, rows) in enumerate(series):
        rated = [r for r in rows if r.acc1 is not None]
        shown += [r.macs / 1e9 for r in rated]
        figure.add_trace(
            go.Scatter(
                x=[r.macs / 1e9 for r in rated],
                y=[r.acc1 for r in rated],
                mode="lines+markers+text",
                name=name,
                text=[r.title.rsplit("-", 1)[-1] for r in rated],
                textposition="top left",
                line={"color": _PALETTE[index % len(_PALETTE)]},
                marker={"size": 9},
                hovertext=[
                    _(
                        "<b>{title}</b><br>{blocks} blocks (×{d:.2f}), {channels} channels in the last (×{w:.2f}), "
                        "{size}×{size} (×{r:.2f})<br>{gmacs:.2f} GMACs · {params:.1f}M parameters<br>top-1 "
                        "{acc:.1f}% ({source})"
                    ).format(
                        title=r.title,
                        blocks=r.blocks,
                        d=r.depth_ratio,
                        channels=r.channels,
                        w=r.width_ratio,
                        size=r.size,
                        r=r.resolution_ratio,
                        gmacs=r.macs / 1e9,
                        params=r.params / 1e6,
                        acc=r.acc1,
                        source=r.accuracy_source,
                    )
                    for r in rated
                ],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        title=_("Compound scaling: accuracy against MACs"),
        xaxis={"title": _("GMACs per image at the native size (log scale)"), **log_axis(shown, padding=0.12)},
        yaxis_title=_("ImageNet-1K top-1 (%), published"),
        **_LAYOUT,
    )
    return figure


def compound_dimensions_figure(rows: Sequence[CompoundRow]) -> go.Figure:
    """Depth, width and resolution of each variant as ratios to the first: how compound scaling turns
    all three knobs together."""
    figure = go.Figure()
    for index, (field, title) in enumerate(
        (
            ("depth_ratio", _("depth (blocks)")),
            ("width_ratio", _("width (channels)")),
            ("resolution_ratio", _("resolution")),
        )
    ):
        figure.add_trace(
            go.Bar(
                x=[r.title for r in rows],
                y=[getattr(r, field) for r in rows],
                name=title,
                marker_color=_PALETTE[index],
            )
        )
    figure.update_layout(
        barmode="group",
        title=_("× {first}: depth, width, resolution").format(first=rows[0].title if rows else "—"),
        yaxis_title=_("× the first variant"),
        legend={"orientation": "h", "y": 1.08},
        **{**_LAYOUT, "height": 400},
    )
    return figure
