"""A picture of one handwritten digit made into what a digit classifier was trained on (the MNIST convention).

LeCun, Cortes & Burges describe MNIST's preparation: each digit was scaled to fit a 20×20 box keeping its
aspect ratio, then placed in a 28×28 image so that its centre of mass sits at the centre. LeNet-5 reads
32×32, so the 28×28 field is padded by 2 pixels on every side. The same steps turn a photo or a scan
(dark ink on light paper) and scikit-learn's 8×8 digits into inputs that look alike, so a network trained
on one reads the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from cvviz.errors import ImageError
from cvviz.i18n import _

BOX = 20
"""The digit's longer side after fitting, in pixels."""
FIELD = 28
"""The square the digit is centred in by its centre of mass."""
SIZE = 32
"""LeNet-5's input: the field padded by 2 pixels on every side."""
INK_THRESHOLD = 0.2
"""A pixel is ink when it is at least this fraction of the brightest ink (after removing the background)."""


@dataclass(frozen=True)
class DigitSteps:
    """Each step of :func:`centre_digit`, as float arrays in [0, 1] with ink bright (1) on black (0).

    ``ink`` is the input on a black background (inverted when the paper was light), ``cropped`` the box
    around the ink, ``fitted`` it scaled into 20×20 (and brightened so its strongest ink is 1: shrinking a
    large photo averages thin strokes into grey), ``centred`` the 28×28 field, ``padded`` the 32×32
    result. ``inverted`` says whether the input was dark ink on a light background.
    """

    ink: np.ndarray
    cropped: np.ndarray
    fitted: np.ndarray
    centred: np.ndarray
    padded: np.ndarray
    inverted: bool


def ink_on_black(image: Image.Image | np.ndarray) -> tuple[np.ndarray, bool]:
    """``image`` as a float (H, W) array in [0, 1] with the ink bright on a black background.

    The background is read off the image's border (its median): a light border means dark ink on paper,
    which is inverted. The background level is then subtracted, so paper that is grey rather than white
    still becomes black.
    """
    if isinstance(image, Image.Image):
        pixels = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    else:
        pixels = np.asarray(image, dtype=np.float64)
        if pixels.ndim != 2:
            raise ImageError(_("A digit image must have one channel (height × width)."))
        top = pixels.max()
        pixels = pixels / top if top > 1.0 else pixels
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = float(np.median(border))
    inverted = background > 0.5
    if inverted:
        pixels, background = 1.0 - pixels, 1.0 - background
    return np.clip(pixels - background, 0.0, None), inverted


def has_ink(image: Image.Image | np.ndarray) -> bool:
    """Whether there is anything drawn at all (an empty canvas has none)."""
    ink, _ = ink_on_black(image)
    return bool(ink.max() > 0.05)


def centre_digit_steps(image: Image.Image | np.ndarray) -> DigitSteps:
    """Every step from a picture of one digit to LeNet-5's 32×32 input (see the module docstring).

    An image with no ink gives black images throughout rather than an error: callers that must refuse an
    empty drawing ask :func:`has_ink` first.
    """
    ink, inverted = ink_on_black(image)
    top = float(ink.max())
    if top <= 0.0:
        blank = np.zeros((SIZE, SIZE))
        return DigitSteps(ink, ink, np.zeros((BOX, BOX)), np.zeros((FIELD, FIELD)), blank, inverted)
    ink = ink / top
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    fitted = _fit_in_box(cropped, BOX)
    fitted = fitted / max(float(fitted.max()), 1e-12)  # thin strokes of a large photo stay full strength
    centred = _centre_by_mass(fitted, FIELD)
    margin = (SIZE - FIELD) // 2
    padded = np.pad(centred, margin)
    return DigitSteps(ink, cropped, fitted, centred, padded, inverted)


def centre_digit(image: Image.Image | np.ndarray) -> np.ndarray:
    """The (32, 32) float array in [0, 1], ink bright, that a digit classifier reads (the last step)."""
    return centre_digit_steps(image).padded


def centre_digit_image(image: Image.Image) -> Image.Image:
    """:func:`centre_digit` as an 8-bit grayscale PIL image (what the catalog's LeNet-5 is shown)."""
    return Image.fromarray(np.round(centre_digit(image) * 255.0).astype(np.uint8))


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of ``pixels``, in pixel-index coordinates."""
    total = float(pixels.sum())
    rows, cols = np.indices(pixels.shape)
    return float((rows * pixels).sum() / total), float((cols * pixels).sum() / total)


def _fit_in_box(pixels: np.ndarray, box: int) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (area-averaging when
    shrinking, bilinear when enlarging)."""
    height, width = pixels.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(pixels.astype(np.float32)).resize(size, resample)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def _centre_by_mass(pixels: np.ndarray, field: int) -> np.ndarray:
    """Place ``pixels`` in a ``field``×``field`` square, translated (by a fraction of a pixel if need be,
    with bilinear interpolation, which moves the centre of mass by exactly the translation) so that its
    centre of mass is at the square's centre."""
    height, width = pixels.shape
    canvas = np.zeros((field, field))
    top, left = (field - height) // 2, (field - width) // 2
    canvas[top : top + height, left : left + width] = pixels
    row, col = centre_of_mass(canvas)
    middle = (field - 1) / 2.0
    shift_rows, shift_cols = middle - row, middle - col
    # PIL's affine maps each output pixel (x, y) to the input pixel (x + c, y + f).
    moved = Image.fromarray(canvas.astype(np.float32)).transform(
        (field, field),
        Image.Transform.AFFINE,
        (1.0, 0.0, -shift_cols, 0.0, 1.0, -shift_rows),
        resample=Image.Resampling.BILINEAR,
    )
    return np.clip(np.asarray(moved, dtype=np.float64), 0.0, 1.0)
