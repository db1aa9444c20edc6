"""The images a transfer-learning run learns from: the user's classes, each a few images.

Three sources, one result (:class:`TransferImages`):

* :func:`bundled_shapes` — the offline set the page opens with: circles, squares, triangles and stars drawn
  with Pillow from a fixed seed (random colours, sizes, positions and rotations on noisy backgrounds), so
  the lab works at first sight with no download and no file shipped;
* :func:`from_folder` — an ImageFolder layout, ``class_name/image.jpg`` (a zip is unpacked first, within
  limits, by :func:`cvviz.data.archives.unpack_zip`: see :func:`from_zip`);
* :func:`from_class_images` — encoded images per class name (uploads, webcam snapshots).

Every file goes through the project's decoder (:func:`cvviz.data.images.load_image`); files that are not
images, or that it refuses, are left out and named in ``notes``. A set needs at least
:data:`MIN_CLASSES` classes with :data:`MIN_PER_CLASS` images each (:func:`check_minimum`).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from cvviz.data.archives import MAX_BYTES, MAX_FILES, unpack_zip
from cvviz.data.images import image_fingerprint, load_image
from cvviz.errors import CvvizError, ImageError
from cvviz.i18n import N_, _, ngettext

MIN_CLASSES = 2
MIN_PER_CLASS = 2
MAX_SIDE = 1024
"""Images larger than this on their longer side are reduced to it when read (no catalog model's input is
near it), so a set of phone photos fits in memory."""
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
SHAPES = ("circle", "square", "triangle", "star")
SHAPES_PER_CLASS = 16
SHAPES_SIZE = 128
SHAPES_DESCRIPTION = N_(
    "Shapes, drawn by cvviz: {classes} classes ({names}) × {per_class} images of {size}×{size} pixels, "
    "each shape in a random colour, size, position and rotation on a noisy background, drawn with "
    "Pillow from a fixed seed (no download)."
)
SKIPPED_SHOWN = 3


class TransferDataError(CvvizError, ValueError):
    """Images that cannot make a transfer-learning set (too few classes or images, no class folders)."""


@dataclass(frozen=True, eq=False)
class TransferImages:
    """Labelled RGB images: ``images[i]`` is of class ``classes[labels[i]]``, named ``names[i]``.

    ``labels`` has shape (N,), int64. ``fingerprint`` identifies the whole set (images and labels), so
    results computed from it can be kept while it is the same; ``notes`` say what was left out.
    """

    classes: tuple[str, ...]
    images: tuple[Image.Image, ...]
    labels: np.ndarray
    names: tuple[str, ...]
    description: str
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.images)

    @property
    def counts(self) -> dict[str, int]:
        """Images per class, in class order."""
        found = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, found)}

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Each image's pixel fingerprint (:func:`cvviz.data.images.image_fingerprint`)."""
        return _fingerprints(self)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256("|".join(self.classes).encode())
        digest.update(self.labels.astype(np.int64).tobytes())
        digest.update("".join(self.fingerprints).encode())
        return digest.hexdigest()[:16]


def _fingerprints(data: TransferImages) -> tuple[str, ...]:
    # Frozen dataclass: remember the fingerprints on the instance itself.
    found = data.__dict__.get("_fingerprints")
    if found is None:
        found = tuple(image_fingerprint(image) for image in data.images)
        object.__setattr__(data, "_fingerprints", found)
    return found


def check_minimum(data: TransferImages) -> None:
    """Raise :class:`TransferDataError` unless ``data`` has at least 2 classes with 2 images each."""
    counts = data.counts
    if len(counts) < MIN_CLASSES:
        raise TransferDataError(
            _(
                "Transfer learning needs at least {classes} classes with at least {images} images each; "
                "there is {found}."
            ).format(classes=MIN_CLASSES, images=MIN_PER_CLASS, found=len(counts))
        )
    short = [name for name, count in counts.items() if count < MIN_PER_CLASS]
    if short:
        raise TransferDataError(
            _("Every class needs at least {images} images; too few in {names}.").format(
                images=MIN_PER_CLASS, names=", ".join(f"'{name}' ({counts[name]})" for name in short)
            )
        )


def _reduced(image: Image.Image) -> Image.Image:
    if max(image.size) <= MAX_SIDE:
        return image
    reduced = image.copy()
    reduced.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return reduced


def _skipped_note(skipped: list[str]) -> tuple[str, ...]:
    if not skipped:
        return ()
    shown = ", ".join(skipped[:SKIPPED_SHOWN]) + (", …" if len(skipped) > SKIPPED_SHOWN else "")
    return (
        ngettext(
            "{count} file was not an image cvviz can read and was left out: {names}.",
            "{count} files were not images cvviz can read and were left out: {names}.",
            len(skipped),
        ).format(count=len(skipped), names=shown),
    )


def _decode_all(
    classes: Sequence[str], items: Sequence[tuple[int, str, bytes]], description: str, skipped: list[str]
) -> TransferImages:
    """Decode ``(label, name, encoded bytes)`` items; refused images are added to ``skipped``."""
    decoded, labels, names = [], [], []
    for label, name, data in items:
        try:
            decoded.append(_reduced(load_image(data).image))
        except ImageError:
            skipped.append(name)
            continue
        labels.append(label)
        names.append(name)
    return TransferImages(
        tuple(classes),
        tuple(decoded),
        np.asarray(labels, dtype=np.int64),
        tuple(names),
        description,
        _skipped_note(skipped),
    )


def from_class_images(
    images: Mapping[str, Sequence[bytes]], description: str | None = None
) -> TransferImages:
    """A set from encoded images per class name (uploads or webcam snapshots), in the mapping's order.

    Class names are stripped; an empty name, or the same name twice, raises :class:`TransferDataError`.
    Images the decoder refuses are left out and named in ``notes``.
    """
    classes: list[str] = []
    items = []
    for raw_name, encoded in images.items():
        name = raw_name.strip()
        if not name:
            raise TransferDataError(_("Every class needs a name."))
        if name in classes:
            raise TransferDataError(_("Two classes are called '{name}'.").format(name=name))
        classes.append(name)
        items += [(len(classes) - 1, f"{name} #{index}", data) for index, data in enumerate(encoded, start=1)]
    text = description or _("Your images: {classes} classes.").format(classes=len(classes))
    return _decode_all(classes, items, text, [])


def from_folder(root: str | os.PathLike[str], description: str | None = None) -> TransferImages:
    """A set from an ImageFolder layout: one sub-folder per class (its name is the class), holding its
    images (in sub-folders too). Hidden files and folders are ignored; so are files at the top level.

    Raises :class:`TransferDataError` when ``root`` is not a folder or holds no class folders.
    """
    path = Path(root)
    if not path.is_dir():
        raise TransferDataError(_("'{path}' is not a folder.").format(path=path.name or str(path)))
    folders = sorted(
        child for child in path.iterdir() if child.is_dir() and not child.name.startswith((".", "__"))
    )
    if not folders:
        raise TransferDataError(
            _("There are no class folders: lay the images out as class_name/image.jpg, one folder per class.")
        )
    items, skipped = [], []
    for label, folder in enumerate(folders):
        for file in sorted(folder.rglob("*")):
            relative = file.relative_to(folder)
            if not file.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            name = f"{folder.name}/{relative.as_posix()}"
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(name)
                continue
            items.append((label, name, file.read_bytes()))
    text = description or _("{name}: {classes} classes.").format(name=path.name, classes=len(folders))
    return _decode_all([folder.name for folder in folders], items, text, skipped)


def from_zip(
    source: bytes | str | os.PathLike[str],
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    parent: str | os.PathLike[str] | None = None,
) -> TransferImages:
    """A set from a zip of an ImageFolder layout, treated as hostile: unpacked within the limits of
    :func:`cvviz.data.archives.unpack_zip` into a private temporary folder under ``parent``, read, and
    removed again before this returns (the images are kept in memory)."""
    with unpack_zip(source, max_files=max_files, max_bytes=max_bytes, parent=parent) as archive:
        return from_folder(archive.root, _("Your zip: {files} files.").format(files=archive.files))


def bundled_shapes(
    per_class: int = SHAPES_PER_CLASS, seed: int = 0, size: int = SHAPES_SIZE
) -> TransferImages:
    """The bundled offline set (see :data:`SHAPES_DESCRIPTION`): ``per_class`` images of each shape."""
    rng = random.Random(seed)
    images, labels, names = [], [], []
    for label, shape in enumerate(SHAPES):
        for index in range(1, per_class + 1):
            images.append(_draw_shape(shape, rng, size))
            labels.append(label)
            names.append(f"{shape} #{index}")
    description = _(SHAPES_DESCRIPTION).format(
        classes=len(SHAPES), names=", ".join(SHAPES), per_class=per_class, size=size
    )
    return TransferImages(
        SHAPES, tuple(images), np.asarray(labels, dtype=np.int64), tuple(names), description
    )


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))  # type: ignore[return-value]


def _far_colour(rng: random.Random, other: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random colour clearly different from ``other`` (so every shape is visible)."""
    while True:
        colour = _colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, other)) > 200:
            return colour


def _draw_shape(shape: str, rng: random.Random, size: int) -> Image.Image:
    background = _colour(rng)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 18, (size, size, 3))
    pixels = np.clip(np.asarray(background, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB").filter(ImageFilter.GaussianBlur(1))
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.18, 0.36) * size
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0, 2 * math.pi)
    fill = _far_colour(rng, background)
    if shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    else:
        corners = {"square": 4, "triangle": 3, "star": 10}[shape]
        points = []
        for k in range(corners):
            reach = radius * (0.45 if shape == "star" and k % 2 else 1.0)
            theta = angle + 2 * math.pi * k / corners
            points.append((cx + reach * math.cos(theta), cy + reach * math.sin(theta)))
        draw.polygon(points, fill=fill)
    return image
