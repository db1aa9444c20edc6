"""What every figure shares: log axes labelled with whole numbers, square pixels, colour scales whose low
end is the darkest, colour keys and titles that fit their column.

Log axes: Plotly's own log ticks label the minor steps too ("1000, 5, 2, 100, 5, 2…"), so 0.3 and 3 look
alike. :func:`log_axis` labels only 1-2-5 steps or decades, each written out in full ("0.2", "5", "1,000").
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from PIL import Image

from cvviz.formatting import format_number
from cvviz.i18n import _


def rgb_scale(name: str) -> list[list]:
    """Plotly's colour scale ``name`` as [position, "rgb(r, g, b)"] pairs.

    Written out in rgb() because Streamlit's chart theme uses the hex colours "#000001"…"#000040" as
    placeholders and swaps them for its own palette in the browser: Inferno and Magma begin at
    "#000004", which would turn their darkest end pink.
    """
    return [
        [position, "rgb({}, {}, {})".format(*plotly.colors.hex_to_rgb(colour))]
        if colour.startswith("#")
        else [position, colour]
        for position, colour in plotly.colors.get_colorscale(name)
    ]


# Perceptually uniform, darkest at the low end: magnitudes (attention, saliency, effective fields) in
# Inferno, feature activations in Viridis; a diverging scale only for signed data, white at zero.
HEAT = rgb_scale("Inferno")
ACTIVATION = rgb_scale("Viridis")
MAGMA = rgb_scale("Magma")
CIVIDIS = rgb_scale("Cividis")
DIVERGING = rgb_scale("RdBu_r")

_COLOURBAR = {"thickness": 12, "len": 0.9}


def _steps(low: float, high: float) -> tuple[int, ...]:
    """The mantissas to label: 1-2-5 over up to about three decades, decades (1) beyond."""
    return (1, 2, 5) if math.log10(high / low) <= 3.2 else (1,)


def log_ticks(low: float, high: float) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Tick values in [``low``, ``high``] (both > 0) at 1-2-5 steps (short ranges) or decades (long
    ranges; every second or third decade, counted from 1, past eight of them), and their full-number texts."""
    if not 0 < low <= high:
        raise ValueError(
            _("log ticks need 0 < low <= high, not {low!r}, {high!r}").format(low=low, high=high)
        )
    mantissas = _steps(low, high)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    decade_step = 1 if mantissas != (1,) else max(1, math.ceil((last - first + 1) / 8))
    values = []
    for exponent in range(first, last + 1):
        if exponent % decade_step:
            continue
        for mantissa in mantissas:
            value = _exact(mantissa, exponent)
            if low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
                values.append(value)
    return tuple(values), tuple(format_number(v) for v in values)


def _exact(mantissa: int, exponent: int) -> float:
    """mantissa × 10^exponent without binary noise (0.2, not 0.20000000000000001)."""
    return float(f"{mantissa}e{exponent}")


def _nearest_tick(value: float, mantissas: tuple[int, ...], upward: bool) -> float:
    """The nearest 1-2-5 (or decade) value at or below (``upward`` False) / above ``value``."""
    exponent = math.floor(math.log10(value))
    candidates = [_exact(m, e) for e in (exponent - 1, exponent, exponent + 1) for m in mantissas]
    if upward:
        return min(c for c in candidates if c >= value * (1 - 1e-9))
    return max(c for c in candidates if c <= value * (1 + 1e-9))


def log_axis(values: Iterable[float | None], padding: float = 0.06) -> dict:
    """Layout settings for a log axis showing ``values`` (non-positive and missing ones are ignored):
    the range (``padding`` of its span, in decades, on each side) and 1-2-5 or decade ticks written in
    full. A range too short to hold two ticks grows to the nearest tick on each side."""
    shown = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    if not shown:
        return {"type": "log"}
    low, high = math.log10(min(shown)), math.log10(max(shown))
    pad = max(padding * (high - low), 0.03)
    low, high = low - pad, high + pad
    ticks, texts = log_ticks(10**low, 10**high)
    if len(ticks) < 2:
        mantissas = _steps(10**low, 10**high)
        low = min(low, math.log10(_nearest_tick(10**low, mantissas, upward=False)))
        high = max(high, math.log10(_nearest_tick(10**high, mantissas, upward=True)))
        ticks, texts = log_ticks(10**low * (1 - 1e-9), 10**high * (1 + 1e-9))
    return {
        "type": "log",
        "range": [low, high],
        "tickmode": "array",
        "tickvals": list(ticks),
        "ticktext": list(texts),
        "minor": {"showgrid": False, "ticks": ""},
    }


def colourbar(title: str, side: str = "right", **extra) -> dict:
    """A colour bar (the key of a heat map) with its title on ``side``; ``extra`` sets its place."""
    return {**_COLOURBAR, **extra, "title": {"text": title, "side": side}}


def square_pixels(figure: go.Figure) -> go.Figure:
    """One data unit as long across as down on every subplot holding a heat map or an image: each such
    subplot's y axis is anchored to its OWN x axis (yaxis2 → x2, …), and the plot shrinks inside its
    domain rather than stretching the pixels."""
    for trace in figure.data:
        if trace.type not in ("heatmap", "image"):
            continue
        x_ref, y_ref = trace.xaxis or "x", trace.yaxis or "y"
        figure.layout[f"yaxis{y_ref[1:]}"].update(scaleanchor=x_ref, scaleratio=1, constrain="domain")
        figure.layout[f"xaxis{x_ref[1:]}"].update(constrain="domain")
    return figure


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most about ``width`` characters (Plotly titles do not wrap)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join([*lines, line])


def image_trace(pixels: np.ndarray, **extra) -> go.Image:
    """An (H, W, 3) uint8 picture as an image trace that carries a PNG, not a list of numbers.

    The browser then receives tens of kilobytes instead of a JSON array of every channel value (about a
    megabyte for a 224×224 crop) and draws it at once; pixel coordinates are the same.
    """
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[..., :3]).astype(np.uint8)).save(buffer, format="PNG")
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return go.Image(source=source, hoverinfo="skip", **extra)
