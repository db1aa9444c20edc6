"""Images laid side by side in one picture (the CLI's PNG output): each scaled to a square cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, C) in [0, 1] (C = 1 or 3) or uint8 → (H, W, 3) uint8."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return array


def tile(
    images: Sequence[np.ndarray], columns: int | None = None, cell: int = 128, gap: int = 4
) -> Image.Image:
    """``images`` ((H, W, C) arrays) in rows of ``columns`` (default: a near-square grid), each scaled to
    ``cell``×``cell`` pixels, ``gap`` white pixels apart."""
    count = len(images)
    columns = columns or max(1, int(np.ceil(np.sqrt(count))))
    rows = max(1, -(-count // columns))
    sheet = Image.new("RGB", (columns * cell + (columns - 1) * gap, rows * cell + (rows - 1) * gap), "white")
    for n, image in enumerate(images):
        picture = Image.fromarray(to_uint8(image)).resize((cell, cell), Image.Resampling.BICUBIC)
        sheet.paste(picture, ((n % columns) * (cell + gap), (n // columns) * (cell + gap)))
    return sheet
