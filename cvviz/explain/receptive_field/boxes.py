"""The input pixels one unit of a layer sees, on an image of a given size."""

from __future__ import annotations

from dataclasses import dataclass

from cvviz.explain.receptive_field.field import LayerField, pair


@dataclass(frozen=True)
class UnitBox:
    """The input pixels one unit sees: (top, left, bottom, right), inclusive.

    ``box`` is unclipped (it may reach into the padding); ``clipped`` is its part inside the image (None if
    none is); ``padding_fraction`` is the share of the box's area that lies in the padding.
    """

    box: tuple[int, int, int, int]
    clipped: tuple[int, int, int, int] | None
    padding_fraction: float


def unit_box(f: LayerField, i: int, j: int, input_size: int | tuple[int, int]) -> UnitBox:
    """The box of unit (i, j) of a layer with field ``f`` on an input of ``input_size``."""
    height, width = pair(input_size)
    top = i * f.stride[0] - f.padding[0]
    left = j * f.stride[1] - f.padding[1]
    bottom, right = top + f.size[0] - 1, left + f.size[1] - 1
    ct, cl, cb, cr = max(top, 0), max(left, 0), min(bottom, height - 1), min(right, width - 1)
    inside = max(cb - ct + 1, 0) * max(cr - cl + 1, 0)
    clipped = (ct, cl, cb, cr) if inside else None
    return UnitBox((top, left, bottom, right), clipped, 1.0 - inside / (f.size[0] * f.size[1]))
