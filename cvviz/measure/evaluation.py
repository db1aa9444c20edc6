"""Live top-1/top-5 accuracy of catalog models on an ImageNet-style folder of labelled images.

A folder holds one sub-folder per class, each with its images. The class of a sub-folder is read in one
of three ways, chosen for the whole folder (torchvision does not ship ImageNet's WordNet-id list):

1. WordNet ids (``n01440764``) with a ``LOC_synset_mapping.txt``-style file in the folder: one line per
   class, ``<wnid> <names>``, line *i* being class *i* (the file Kaggle's ImageNet distribution ships);
2. class indices (``281``), 0 to number of classes − 1;
3. class names exactly as the model's categories (``tabby``; case and ``_`` for spaces do not matter).

Images are preprocessed exactly as for the published evaluation (:func:`cvviz.models.inference.preprocess`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from cvviz.catalog import get_spec
from cvviz.data.images import load_image
from cvviz.data.roots import FolderNotAllowedError, is_within
from cvviz.errors import CvvizError, ImageError
from cvviz.i18n import N_, _
from cvviz.models.inference import preprocess

MAPPING_FILES = ("LOC_synset_mapping.txt", "synset_mapping.txt", "synsets.txt")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
ACCEPTED_LAYOUTS = N_(
    "one sub-folder per class, named by WordNet id (n01440764) with a LOC_synset_mapping.txt file beside "
    "them, by class index (0–999), or by class name as the model lists it (e.g. 'tabby')"
)
_WNID = re.compile(r"^n\d{8}$")

EvaluationProgress = Callable[[int, int, str], None]
"""Called as ``progress(images_done, images_total, model_name)``."""


class DatasetError(CvvizError, ValueError):
    """A folder that cvviz cannot read as labelled images."""


@dataclass(frozen=True)
class LabelledImages:
    """The chosen images and their class indices; ``found`` counts every image before choosing."""

    root: str
    items: tuple[tuple[str, int], ...]
    layout: str
    found: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class AccuracyResult:
    """Top-1/top-5 accuracy (percent) of one model on ``images`` images; ``skipped`` could not be decoded."""

    model: str
    title: str
    weights: str
    images: int
    correct1: int
    correct5: int
    skipped: int
    error: str | None = None

    @property
    def top1(self) -> float | None:
        return 100.0 * self.correct1 / self.images if self.images else None

    @property
    def top5(self) -> float | None:
        return 100.0 * self.correct5 / self.images if self.images else None

    @property
    def trained(self) -> bool:
        return self.weights != "random"


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", " ")


def _read_mapping(path: Path) -> dict[str, int]:
    mapping = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            mapping[line.split()[0]] = len(mapping)
    return mapping


def _class_index(
    folder: str, categories: Sequence[str], wnids: dict[str, int] | None, by_name: dict[str, int]
) -> tuple[int, str] | None:
    if wnids is not None and folder in wnids:
        return wnids[folder], "WordNet ids with a mapping file"
    if folder.isdigit() and int(folder) < len(categories):
        return int(folder), "class indices"
    if _normalise(folder) in by_name:
        return by_name[_normalise(folder)], "class names"
    return None


def scan_image_folder(
    root: str | Path,
    categories: Sequence[str],
    *,
    limit: int | None = None,
    seed: int = 0,
    within: Sequence[str | Path] | None = None,
) -> LabelledImages:
    """The labelled images under ``root`` (see the module docstring for the layouts accepted).

    With ``limit``, a seeded random choice of that many images, kept in sorted order so the choice is
    reproducible. Raises :class:`DatasetError` naming the first sub-folder whose class cannot be read.
    With ``within`` (folders, see :mod:`cvviz.data.roots`), ``root`` must lie under one of them
    (:class:`~cvviz.data.roots.FolderNotAllowedError` otherwise), and class folders and images that a
    symbolic link leads out of them are left out.
    """
    path = Path(root)
    if within is not None and not is_within(path, within):
        raise FolderNotAllowedError(
            _("'{path}' is outside the folders this server shares.").format(path=path)
        )
    if not path.is_dir():
        raise DatasetError(
            _("'{path}' is not a folder; expected {ACCEPTED_LAYOUTS}.").format(
                path=path, ACCEPTED_LAYOUTS=ACCEPTED_LAYOUTS
            )
        )
    mapping_file = next(
        (
            path / name
            for name in MAPPING_FILES
            if (path / name).is_file() and (within is None or is_within(path / name, within))
        ),
        None,
    )
    wnids = _read_mapping(mapping_file) if mapping_file else None
    by_name = {_normalise(name): index for index, name in enumerate(categories)}
    folders = sorted(
        child
        for child in path.iterdir()
        if child.is_dir() and not child.name.startswith(".") and (within is None or is_within(child, within))
    )
    if not folders:
        raise DatasetError(
            _("'{path}' has no class sub-folders; expected {ACCEPTED_LAYOUTS}.").format(
                path=path, ACCEPTED_LAYOUTS=ACCEPTED_LAYOUTS
            )
        )
    items, layouts = [], set()
    for folder in folders:
        found = _class_index(folder.name, categories, wnids, by_name)
        if found is None:
            hint = (
                " It looks like a WordNet id: add a LOC_synset_mapping.txt file to the folder."
                if _WNID.match(folder.name) and wnids is None
                else ""
            )
            raise DatasetError(
                _("Cannot tell which class the sub-folder '{name}' holds.{hint}").format(
                    name=folder.name, hint=hint
                )
            )
        index, layout = found
        layouts.add(layout)
        images = sorted(
            f
            for f in folder.rglob("*")
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and (within is None or is_within(f, within))
        )
        items += [(str(image), index) for image in images]
    if not items:
        raise DatasetError(
            _("No images ({value}) were found under '{path}'.").format(
                value=", ".join(sorted(IMAGE_SUFFIXES)), path=path
            )
        )
    chosen = items
    if limit is not None and limit < len(items):
        picked = sorted(random.Random(seed).sample(range(len(items)), limit))
        chosen = [items[i] for i in picked]
    return LabelledImages(
        str(path), tuple(chosen), " and ".join(sorted(layouts)), len(items), tuple(categories)
    )


def evaluate_accuracy(
    loaded,
    dataset: LabelledImages,
    *,
    batch_size: int = 16,
    progress: EvaluationProgress | None = None,
) -> AccuracyResult:
    """Top-1/top-5 of ``loaded`` (a :class:`cvviz.models.workbench.LoadedModel`) on ``dataset``.

    Images that cannot be decoded are skipped and counted in ``skipped``; a model whose classes are not
    the dataset's raises :class:`DatasetError`.
    """
    spec = loaded.spec
    if tuple(spec.categories) != dataset.categories:
        raise DatasetError(
            _("{title} does not predict the classes this folder is labelled with.").format(title=spec.title)
        )
    correct1 = correct5 = skipped = seen = 0
    total = len(dataset.items)
    k = min(5, spec.num_classes)
    for start in range(0, total, batch_size):
        chunk = dataset.items[start : start + batch_size]
        inputs, labels = [], []
        for path, label in chunk:
            try:
                inputs.append(preprocess(load_image(path).image, spec))
            except ImageError:
                skipped += 1
                continue
            labels.append(label)
        if inputs:
            batch = torch.cat(inputs).to(loaded.device)
            with loaded.exclusive() as model, torch.inference_mode():
                logits = model(batch).float().cpu()
            top = logits.topk(k, dim=1).indices
            target = torch.tensor(labels).unsqueeze(1)
            correct1 += int((top[:, :1] == target).any(dim=1).sum())
            correct5 += int((top == target).any(dim=1).sum())
            seen += len(labels)
        if progress is not None:
            progress(min(start + batch_size, total), total, spec.name)
    return AccuracyResult(spec.name, spec.title, loaded.weights.kind, seen, correct1, correct5, skipped)


def evaluate_models(
    names: Iterable[str],
    dataset: LabelledImages,
    cache,
    *,
    batch_size: int = 16,
    progress: EvaluationProgress | None = None,
) -> list[AccuracyResult]:
    """:func:`evaluate_accuracy` for each model, with the weights already on disk (random otherwise).

    A model that cannot be evaluated (different classes, GPU out of memory) gets a result with ``error``.
    """
    from cvviz.measure.profiling import available_weights

    results = []
    for name in names:
        spec = get_spec(name)
        weights = available_weights(spec)
        try:
            loaded = cache.get(name, weights)
            results.append(evaluate_accuracy(loaded, dataset, batch_size=batch_size, progress=progress))
        except torch.cuda.OutOfMemoryError:
            results.append(
                AccuracyResult(
                    name, spec.title, weights, 0, 0, 0, 0, f"The GPU ran out of memory on {spec.title}."
                )
            )
        except CvvizError as exc:
            results.append(AccuracyResult(name, spec.title, weights, 0, 0, 0, 0, str(exc)))
    return results
