"""Decode untrusted image bytes into a plain 8-bit RGB picture, and the bundled sample photos.

Uploads come from anywhere, so :func:`load_image` is deliberately strict: it only lets Pillow use a short list
of common raster formats, refuses oversized or degenerate images before any pixels are decoded (the defence
against decompression bombs), and normalises every mode Pillow can produce (palette, alpha, CMYK, 16-bit,
float, ...) to RGB without the usual silent mistakes such as clipping 16-bit values or dropping alpha.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pathlib
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from cvviz.errors import ImageError
from cvviz.i18n import N_, _

__all__ = [
    "ACCEPTED_FORMATS",
    "MAX_ASPECT_RATIO",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "LoadedImage",
    "SampleImage",
    "image_fingerprint",
    "load_image",
    "load_sample",
    "sample_images",
]

MAX_BYTES = 50_000_000
"""Largest encoded input accepted, in bytes (50 MB)."""

MAX_PIXELS = 40_000_000
"""Largest decoded image accepted, in pixels (40 megapixels); checked from the header before decoding."""

MIN_SIDE = 8
"""Smallest accepted width or height, in pixels."""

MAX_ASPECT_RATIO = 20
"""Longest side may be at most this many times the shortest (resizing thin strips explodes memory)."""

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Pillow plugins :func:`load_image` may use (JPEG includes MPO); other, riskier decoders such as EPS never run."""

_NOT_AN_IMAGE = N_("The file is not an image cvviz can read (JPEG, PNG, WebP, BMP, GIF or TIFF).")
_CORRUPT = N_("The image data is truncated or corrupt.")

# Everything Pillow's decoders are known to raise on hostile or damaged input.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, struct.error, EOFError, IndexError, TypeError, KeyError)

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_SIXTEEN_BIT_GRAY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_WHITE = (255, 255, 255, 255)
_WARNING_FILTERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image ready for a model, plus what was done to get it there."""

    image: Image.Image
    """Always mode ``"RGB"``, 8 bits per sample, fully loaded and independent of any file."""
    source_format: str
    """Pillow's name for the encoded format, e.g. ``"JPEG"``, ``"PNG"``, ``"MPO"``."""
    original_size: tuple[int, int]
    """``(width, height)`` as stored in the file, before EXIF rotation."""
    notes: tuple[str, ...]
    """Human sentences about conversions applied, e.g. ``"Applied EXIF rotation."``."""

    @functools.cached_property
    def fingerprint(self) -> str:
        """:func:`image_fingerprint` of the picture, computed once."""
        return image_fingerprint(self.image)


def load_image(
    source: bytes | str | os.PathLike[str],
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
) -> LoadedImage:
    """Decode ``source`` (encoded bytes or a file path) into an 8-bit RGB image.

    Uses frame 0 of animated or multi-page files, applies the EXIF orientation, composites transparency over
    white and scales 16-bit and float samples to 8 bits. Raises :class:`ImageError` with one user-facing
    sentence for anything that is empty, too large, too small, too thin, not a supported image, or corrupt.
    """
    data = _read_source(source, max_bytes)
    return _decode(data, max_pixels)


def _read_source(source: bytes | str | os.PathLike[str], max_bytes: int) -> bytes:
    """Return the encoded bytes of ``source``, refusing empty or oversized input before reading it all."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError(_("The image is empty (0 bytes)."))
        if len(data) > max_bytes:
            raise ImageError(_too_many_bytes_message(len(data), max_bytes))
        return data
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_image() takes bytes or a path, not {type(source).__name__}")

    path = pathlib.Path(source)
    try:
        if not path.exists():
            raise ImageError(_("The file '{path}' does not exist.").format(path=path))
        if not path.is_file():
            raise ImageError(_("'{path}' is not a file.").format(path=path))
        size = path.stat().st_size
        if size == 0:
            raise ImageError(_("The file '{path}' is empty (0 bytes).").format(path=path))
        if size > max_bytes:
            raise ImageError(_too_many_bytes_message(size, max_bytes))
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # the file may have grown since stat()
    except ImageError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: e.g. a NUL byte in the path
        raise ImageError(_("The file '{path}' could not be read.").format(path=path)) from exc
    if len(data) > max_bytes:
        raise ImageError(_too_many_bytes_message(len(data), max_bytes))
    if not data:
        raise ImageError(_("The file '{path}' is empty (0 bytes).").format(path=path))
    return data


def _decode(data: bytes, max_pixels: int) -> LoadedImage:
    """Open, vet, load and normalise one image from memory; the Pillow handle is closed on return."""
    notes: list[str] = []
    try:
        with _bomb_warnings_as_errors():
            opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(_bomb_message(str(exc), max_pixels)) from exc
    except _DECODE_ERRORS as exc:  # includes UnidentifiedImageError
        raise ImageError(_(_NOT_AN_IMAGE)) from exc

    with opened as image:
        source_format = image.format or "unknown"
        original_size = image.size
        _check_dimensions(*original_size, max_pixels=max_pixels)
        try:
            with _bomb_warnings_as_errors():
                _select_first_frame(image, notes)
            sixteen_bit_colour = image.mode in ("RGB", "RGBA") and ";16" in _raw_mode(image)
            image.load()
            oriented = _apply_exif_orientation(image, notes)
            rgb = _to_rgb(oriented, notes)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(_bomb_message(str(exc), max_pixels)) from exc
        except MemoryError as exc:
            raise ImageError(_("There is not enough memory to decode this image.")) from exc
        except _DECODE_ERRORS as exc:
            raise ImageError(_(_CORRUPT)) from exc

    if sixteen_bit_colour:
        notes.append(N_("Reduced 16-bit colour samples to 8-bit."))
    if rgb is image:  # never hand back the object tied to the (now closed) file
        rgb = rgb.copy()
    return LoadedImage(
        image=rgb, source_format=source_format, original_size=original_size, notes=tuple(notes)
    )


def _check_dimensions(width: int, height: int, *, max_pixels: int) -> None:
    """Refuse images that are too many pixels, too small or too thin, using header dimensions only."""
    pixels = width * height
    if pixels > max_pixels:
        raise ImageError(
            _(
                "The image is {width}×{height} pixels ({megapixels} megapixels); cvviz accepts up to {limit} "
                "megapixels."
            ).format(
                width=width, height=height, megapixels=_megapixels(pixels), limit=_megapixels(max_pixels)
            )
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            _(
                "The image is {width}×{height} pixels; cvviz needs at least {side} pixels on each side."
            ).format(width=width, height=height, side=MIN_SIDE)
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageError(
            _("The image is {width}×{height} pixels; cvviz accepts aspect ratios up to {ratio}:1.").format(
                width=width, height=height, ratio=MAX_ASPECT_RATIO
            )
        )


@contextlib.contextmanager
def _bomb_warnings_as_errors() -> Iterator[None]:
    """Make Pillow's ``DecompressionBombWarning`` an exception for the duration of the block only.

    Pillow merely warns for images between its own pixel limit and twice that. ``catch_warnings`` edits the
    process-wide filter list, so the lock keeps concurrent cvviz calls (e.g. Streamlit sessions) from
    interleaving and leaving the temporary filter installed. It only guards header parsing, which is fast.
    """
    with _WARNING_FILTERS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _select_first_frame(image: Image.Image, notes: list[str]) -> None:
    """Position ``image`` on frame 0 and note how many frames or pages the file holds."""
    try:
        frame_count: int | None = int(getattr(image, "n_frames", 1))
    except _DECODE_ERRORS:  # a damaged later frame need not spoil the first one
        frame_count = None
    if image.tell() != 0 or frame_count is None:
        image.seek(0)
    if frame_count is None:
        notes.append(N_("Used the first frame; later frames could not be read."))
    elif frame_count > 1:
        notes.append(_("Used frame 1 of {count}.").format(count=frame_count))


def _raw_mode(image: Image.Image) -> str:
    """The raw sample layout of the first tile (e.g. ``"RGB;16B"``), read before decoding; ``""`` if unknown."""
    tiles = getattr(image, "tile", None) or []
    if not tiles:
        return ""
    args = tiles[0].args
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return ""


def _apply_exif_orientation(image: Image.Image, notes: list[str]) -> Image.Image:
    """Rotate/flip ``image`` upright per its EXIF orientation tag; a damaged tag is ignored with a note."""
    try:
        orientation = image.getexif().get(0x0112, 1)
        if orientation in (None, 1):
            return image
        transposed = ImageOps.exif_transpose(image)
    except (*_DECODE_ERRORS, ZeroDivisionError):
        notes.append(N_("Ignored an unreadable EXIF orientation tag."))
        return image
    if transposed is None or transposed is image:
        return image
    notes.append(N_("Applied EXIF rotation."))
    return transposed


def _to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB without clipping high bit depths or revealing hidden colours."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _SIXTEEN_BIT_GRAY_MODES:
        notes.append(N_("Scaled 16-bit samples to 8-bit."))
        return _gray_array_to_rgb(_scale_16_bit(np.asarray(image)))
    if mode == "I":
        return _gray_array_to_rgb(_scale_32_bit_int(np.asarray(image), notes))
    if mode == "F":
        notes.append(N_("Scaled floating-point samples to 8-bit."))
        return _gray_array_to_rgb(_scale_float(np.asarray(image)))
    if mode == "La":
        image = _unpremultiply_la(image)
        mode = image.mode
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        return _composite_over_white(image.convert("RGBA"), notes)
    return image.convert("RGB")


def _composite_over_white(rgba: Image.Image, notes: list[str]) -> Image.Image:
    """Blend ``rgba`` over an opaque white background so transparent areas show white, not stored junk."""
    lowest_alpha, _highest = rgba.getchannel("A").getextrema()
    if lowest_alpha < 255:
        notes.append(N_("Composited transparency over white."))
    background = Image.new("RGBA", rgba.size, _WHITE)
    return Image.alpha_composite(background, rgba).convert("RGB")


def _unpremultiply_la(image: Image.Image) -> Image.Image:
    """Turn Pillow's premultiplied ``"La"`` mode (which it cannot convert) into ordinary ``"LA"``."""
    samples = np.asarray(image).astype(np.float64)
    luminance, alpha = samples[..., 0], samples[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(alpha > 0, luminance * 255.0 / alpha, 0.0)
    stacked = np.stack([np.clip(np.rint(straight), 0, 255), alpha], axis=-1).astype(np.uint8)
    return Image.fromarray(stacked, mode="LA")


def _scale_16_bit(samples: np.ndarray) -> np.ndarray:
    """Map 0..65535 onto 0..255 by dividing by 257 (65535 → 255, 32896 → 128), rounding to nearest."""
    wide = samples.astype(np.uint32)
    return ((wide + 128) // 257).astype(np.uint8)


def _scale_32_bit_int(samples: np.ndarray, notes: list[str]) -> np.ndarray:
    """Map 32-bit integer samples to 8 bits: as-is if already 0..255, as 16-bit if 0..65535, else min-max."""
    lowest, highest = int(samples.min()), int(samples.max())
    if lowest >= 0 and highest <= 255:
        return samples.astype(np.uint8)
    if lowest >= 0 and highest <= 65535:
        notes.append(N_("Scaled 16-bit samples to 8-bit."))
        return _scale_16_bit(samples)
    notes.append(
        _("Stretched 32-bit integer samples ({lowest} to {highest}) to 8-bit.").format(
            lowest=lowest, highest=highest
        )
    )
    return _stretch(samples.astype(np.float64), float(lowest), float(highest))


def _scale_float(samples: np.ndarray) -> np.ndarray:
    """Map float samples to 8 bits: values in [0, 1] scale by 255 (clipped), wider ranges are min-max scaled."""
    samples = samples.astype(np.float64)
    finite = np.isfinite(samples)
    if not finite.any():
        return np.zeros(samples.shape, dtype=np.uint8)
    samples = np.where(finite, samples, 0.0)
    highest = float(samples[finite].max())
    if highest <= 1.0:
        return np.rint(np.clip(samples, 0.0, 1.0) * 255.0).astype(np.uint8)
    return _stretch(samples, float(samples[finite].min()), highest)


def _stretch(samples: np.ndarray, lowest: float, highest: float) -> np.ndarray:
    """Linearly map ``lowest..highest`` onto 0..255 (a constant image becomes black)."""
    if highest <= lowest:
        return np.zeros(samples.shape, dtype=np.uint8)
    scaled = (samples - lowest) * (255.0 / (highest - lowest))
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def _gray_array_to_rgb(gray: np.ndarray) -> Image.Image:
    """An RGB image whose three channels all equal the 8-bit ``gray`` array."""
    return Image.fromarray(np.ascontiguousarray(gray, dtype=np.uint8), mode="L").convert("RGB")


def _too_many_bytes_message(size: int, max_bytes: int) -> str:
    return _("The file is {size} MB; cvviz accepts files up to {limit} MB.").format(
        size=_megabytes(size), limit=_megabytes(max_bytes)
    )


def _bomb_message(pillow_message: str, max_pixels: int) -> str:
    """Sentence for an image Pillow itself flagged as a decompression bomb (its size is only in its text)."""
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    match = re.search(r"\((\d+) pixels\)", pillow_message)
    if match:
        pixels = int(match.group(1))
        return _("The image has {megapixels} megapixels; cvviz accepts up to {limit} megapixels.").format(
            megapixels=_megapixels(pixels), limit=_megapixels(limit)
        )
    return _("The image has more pixels than cvviz accepts (up to {limit} megapixels).").format(
        limit=_megapixels(limit)
    )


def _megapixels(pixels: int) -> str:
    return _short_number(pixels / 1_000_000)


def _megabytes(size: int) -> str:
    return _short_number(size / 1_000_000)


def _short_number(value: float) -> str:
    """``40.0`` → ``"40"``, ``62.35`` → ``"62.4"``, ``0.05`` → ``"0.05"``."""
    text = f"{value:.1f}" if value >= 1 else f"{value:.2g}"
    return text.removesuffix(".0")


# --- bundled sample photos -------------------------------------------------------------------------------

SAMPLES_DIR = pathlib.Path(__file__).with_name("samples")
"""Folder holding the bundled sample photos and their ATTRIBUTION.md."""


@dataclass(frozen=True)
class SampleImage:
    """A photo shipped with cvviz so the app works without an upload."""

    name: str
    """Short identifier used by :func:`load_sample`, e.g. ``"cat"``."""
    title: str
    """Human title, e.g. ``"Cat (Chelsea)"`` (marked for translation: show it as ``_(title)``)."""
    path: pathlib.Path
    """Absolute path of the bundled file."""
    credit: str
    """One line: author and licence."""


_SAMPLES = (
    SampleImage(
        name="cat",
        title=N_("Cat (Chelsea)"),
        path=SAMPLES_DIR / "cat.png",
        credit="Stefan van der Walt, CC0 (via scikit-image).",
    ),
    SampleImage(
        name="coffee",
        title=N_("Coffee cup"),
        path=SAMPLES_DIR / "coffee.png",
        credit="Rachel Michetti, courtesy of Pikolo Espresso Bar, CC0 (via scikit-image).",
    ),
    SampleImage(
        name="rocket",
        title=N_("Rocket launch (Falcon 9, DSCOVR)"),
        path=SAMPLES_DIR / "rocket.jpg",
        credit="SpaceX, public domain (via scikit-image).",
    ),
    SampleImage(
        name="astronaut",
        title=N_("Astronaut (Eileen Collins)"),
        path=SAMPLES_DIR / "astronaut.png",
        credit="NASA, public domain (via scikit-image).",
    ),
)


def sample_images() -> tuple[SampleImage, ...]:
    """The bundled sample photos, in a fixed order with the cat first."""
    return _SAMPLES


def load_sample(name: str) -> LoadedImage:
    """Decode the bundled sample called ``name``; an unknown name raises :class:`ImageError` listing valid ones."""
    for sample in _SAMPLES:
        if sample.name == name:
            return load_image(sample.path)
    valid = ", ".join(sample.name for sample in _SAMPLES)
    raise ImageError(
        _("There is no sample image called '{name}'; choose one of: {valid}.").format(name=name, valid=valid)
    )


def image_fingerprint(image: Image.Image) -> str:
    """A short digest of an image's pixels, size and mode: equal images give equal fingerprints, so
    results computed for one image can be reused for the same image in a later run."""
    digest = hashlib.sha256(f"{image.mode}{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()[:16]
