"""Dataset examples: the image patches that excite one channel most, over a set of images.

Each image is run once and, for every channel of the layer, its strongest unit is kept (value and
position, :class:`LayerMaxima`); the top-k images of any channel then follow without running the model
again. A patch is the strongest unit's receptive field on the crop the model saw, taken from the
receptive-field library (:mod:`cvviz.explain.receptive_field`), as OpenAI Microscope pairs dataset
examples with feature visualisations (Olah et al. 2017, "Feature Visualization", "dataset examples").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.data.images import ImageError, image_fingerprint, load_image, sample_images
from cvviz.explain.neurons.objectives import NeuronError
from cvviz.explain.receptive_field import LayerField, receptive_field_for_spec, unit_box
from cvviz.hooks import capture_outputs, resolve_layers
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.models.inference import preprocess, to_display_image

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel, Workbench

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
MAX_IMAGES = 2000
BATCH = 8


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Named RGB images to search (``names[i]`` names ``images[i]``); ``skipped`` lists files that could
    not be read."""

    names: tuple[str, ...]
    images: tuple[Image.Image, ...]
    skipped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.images)

    @property
    def fingerprint(self) -> str:
        """Identifies the set's pixels, so what is computed from it is kept while it is the same."""
        found = self.__dict__.get("_fingerprint")
        if found is None:
            digest = hashlib.sha256("".join(image_fingerprint(i) for i in self.images).encode())
            found = digest.hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", found)
        return found


def sample_set() -> ImageSet:
    """The bundled sample photos."""
    samples = sample_images()
    return ImageSet(tuple(s.name for s in samples), tuple(load_image(s.path).image for s in samples))


def from_images(named: Sequence[tuple[str, Image.Image]]) -> ImageSet:
    """A set from (name, image) pairs (uploads, a lab's data)."""
    if not named:
        raise NeuronError(_("There are no images to search."))
    return ImageSet(tuple(n for n, _ in named), tuple(i for _, i in named))


def from_folder(root: str | os.PathLike[str], limit: int = MAX_IMAGES) -> ImageSet:
    """Every image under ``root`` (sub-folders too, hidden ones left out), in name order, at most
    ``limit``; files that cannot be decoded are skipped and named."""
    path = Path(root)
    if not path.is_dir():
        raise NeuronError(_("'{path}' is not a folder.").format(path=path.name or str(path)))
    names, images, skipped = [], [], []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if not file.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if len(images) >= limit:
            break
        try:
            images.append(load_image(file).image)
        except ImageError:
            skipped.append(relative.as_posix())
            continue
        names.append(relative.as_posix())
    if not images:
        raise NeuronError(_("There are no readable images in '{path}'.").format(path=path.name or str(path)))
    return ImageSet(tuple(names), tuple(images), tuple(skipped))


@dataclass(frozen=True)
class LayerMaxima:
    """Each image's strongest unit per channel of one layer.

    ``values``: (N, C) float32, the highest activation of channel c in image n; ``units``: (N, C, 2) int,
    its (row, column) on the layer's (H, W) = ``grid`` map.
    """

    layer: str
    values: np.ndarray
    units: np.ndarray
    grid: tuple[int, int]

    @property
    def channels(self) -> int:
        return int(self.values.shape[1])


def layer_maxima(
    loaded: LoadedModel, images: ImageSet, layer: str, reporter: Reporter | None = None
) -> LayerMaxima:
    """Run every image of ``images`` through the shared model once (in batches, under its lock per
    batch) and keep each channel's strongest unit of ``layer``."""
    spec = loaded.spec
    layout = get_family(spec).grid_layout(spec, layer)
    values, units, grid = [], [], (0, 0)
    for start in range(0, len(images), BATCH):
        chunk = images.images[start : start + BATCH]
        x = torch.cat([preprocess(image, spec) for image in chunk]).to(loaded.device)
        with loaded.exclusive() as model, torch.no_grad():
            resolve_layers(model, [layer])
            with capture_outputs(model, [layer]) as captured:
                model(x)
        out = captured[layer]
        if layout is not None:
            out = layout.to_grid(out)
        if out.dim() == 2:
            out = out[:, :, None, None]
        if out.dim() != 4:
            raise NeuronError(
                _("Layer {layer!r} does not output channels over positions; choose another.").format(
                    layer=layer
                )
            )
        grid = (int(out.shape[2]), int(out.shape[3]))
        best, where = out.float().flatten(2).max(dim=2)
        values.append(best.cpu().numpy())
        units.append(np.stack([(where // grid[1]).cpu().numpy(), (where % grid[1]).cpu().numpy()], axis=-1))
        if reporter is not None:
            done = min(start + BATCH, len(images))
            reporter.update(
                done / len(images), _("{done} of {total} images").format(done=done, total=len(images))
            )
    return LayerMaxima(layer, np.concatenate(values), np.concatenate(units).astype(np.int64), grid)


@dataclass(frozen=True)
class Patch:
    """One dataset example: image ``name`` (index ``image`` in its set), whose unit ``unit`` of the
    channel reached ``activation``. ``box`` (top, left, bottom, right, inclusive) is the unit's receptive
    field clipped to the model's input crop, ``pixels`` (h, w, 3) uint8 the crop there, and
    ``whole_image`` says the field covers the entire crop (global pooling, attention)."""

    image: int
    name: str
    activation: float
    unit: tuple[int, int]
    box: tuple[int, int, int, int]
    pixels: np.ndarray
    whole_image: bool


def unit_field(spec: ModelSpec, layer: str, fields: Sequence[LayerField] | None = None) -> LayerField | None:
    """``layer``'s theoretical receptive field (from ``fields``, else computed), or None when the model is
    not a CNN (attention sees the whole image) or the layer has no local field."""
    if get_family(spec).receptive_field != "convolutional":
        return None
    for field in fields if fields is not None else receptive_field_for_spec(spec):
        if field.layer == layer and not field.global_context:
            return field
    return None


def top_patches(
    maxima: LayerMaxima,
    images: ImageSet,
    spec: ModelSpec,
    channel: int,
    k: int = 9,
    field: LayerField | None = None,
) -> list[Patch]:
    """The ``k`` images whose strongest unit of ``channel`` is highest (one patch per image), strongest
    first, each cropped to that unit's receptive field ``field`` (None: the whole crop)."""
    if not 0 <= channel < maxima.channels:
        raise NeuronError(
            _("There is no channel {index}; choose 0–{last}.").format(index=channel, last=maxima.channels - 1)
        )
    if k < 1:
        raise NeuronError(_("Ask for at least one patch."))
    order = np.argsort(-maxima.values[:, channel], kind="stable")[:k]
    patches = []
    for n in order:
        i, j = (int(v) for v in maxima.units[n, channel])
        crop = np.asarray(to_display_image(images.images[n], spec).convert("RGB"))
        height, width = crop.shape[:2]
        box = (0, 0, height - 1, width - 1)
        if field is not None:
            placed = unit_box(field, i, j, (height, width))
            box = placed.clipped or box
        top, left, bottom, right = box
        patches.append(
            Patch(
                image=int(n),
                name=images.names[n],
                activation=float(maxima.values[n, channel]),
                unit=(i, j),
                box=box,
                pixels=crop[top : bottom + 1, left : right + 1].copy(),
                whole_image=box == (0, 0, height - 1, width - 1),
            )
        )
    return patches


def layer_maxima_cached(
    bench: Workbench, loaded: LoadedModel, images: ImageSet, layer: str, reporter: Reporter | None = None
) -> LayerMaxima:
    """:func:`layer_maxima` kept in the workbench per (model, image set, layer)."""
    return bench.remember(
        loaded.key,
        images.fingerprint,
        "neurons.maxima",
        layer,
        lambda: layer_maxima(loaded, images, layer, reporter),
    )


def maxima_job(bench: Workbench, loaded: LoadedModel, images: ImageSet, layer: str) -> Job[LayerMaxima]:
    """:func:`layer_maxima_cached` as a :class:`cvviz.jobs.Job`."""
    return Job(
        _("Searching the images"),
        lambda reporter: layer_maxima_cached(bench, loaded, images, layer, reporter),
    )
