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

import hashlib
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

from cvviz.catalog import get_spec
from cvviz.data.images import load_image
from cvviz.data.roots import FolderNotAllowedError, is_within
from cvviz.errors import CvvizError, ImageError
from cvviz.i18n import N_, _
from cvviz.jobs import Job
from cvviz.measure.distributed import Distributed
from cvviz.measure.evaluation_results import EvaluationRecord, append_result, read_results
from cvviz.models.inference import preprocess
from cvviz.models.workbench import Workbench

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


class LabelledImageDataset(torch.utils.data.Dataset):
    """``items`` (path, class) preprocessed for ``spec`` as in its published evaluation, for a DataLoader.

    Item *i* is ``(input, label)`` with ``input`` of shape (C, crop, crop); an image that cannot be
    decoded gives a zero input and label −1, so that worker processes never raise and it is counted as
    skipped.
    """

    def __init__(self, items: Sequence[tuple[str, int]], spec) -> None:
        self.items = items
        self.spec = spec

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.items[index]
        try:
            return preprocess(load_image(path).image, self.spec)[0], label
        except ImageError:
            return torch.zeros(self.spec.input_shape), -1


def count_correct(
    loaded,
    items: Sequence[tuple[str, int]],
    *,
    batch_size: int = 16,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int, int, int]:
    """``(correct1, correct5, images, skipped)`` of ``loaded`` on ``items`` (path, class index).

    Images are decoded and preprocessed by a ``DataLoader`` with ``workers`` worker processes (0: in
    this process), in order, while the model runs; ``progress(done, total)`` follows each batch.
    """
    spec = loaded.spec
    loader = torch.utils.data.DataLoader(
        LabelledImageDataset(items, spec),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=loaded.device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )
    k = min(5, spec.num_classes)
    correct1 = correct5 = seen = skipped = done = 0
    for inputs, labels in loader:
        done += len(labels)
        readable = labels >= 0
        skipped += int((~readable).sum())
        if readable.any():
            batch = inputs[readable].to(loaded.device, non_blocking=True)
            with loaded.exclusive() as model, torch.inference_mode():
                top = model(batch).topk(k, dim=1).indices.cpu()
            target = labels[readable].unsqueeze(1)
            correct1 += int((top[:, :1] == target).any(dim=1).sum())
            correct5 += int((top == target).any(dim=1).sum())
            seen += int(readable.sum())
        if progress is not None:
            progress(done, len(items))
    return correct1, correct5, seen, skipped


def evaluate_accuracy(
    loaded,
    dataset: LabelledImages,
    *,
    batch_size: int = 16,
    workers: int = 0,
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
    correct1, correct5, seen, skipped = count_correct(
        loaded,
        dataset.items,
        batch_size=batch_size,
        workers=workers,
        progress=None if progress is None else lambda done, total: progress(done, total, spec.name),
    )
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


def evaluable_models() -> list[str]:
    """Every catalog classifier with published trained weights (what ``evaluate --all`` measures)."""
    from cvviz.catalog import list_models

    return [s.name for s in list_models() if s.pretrained_available]


@dataclass(frozen=True)
class CatalogEvaluation:
    """What :func:`catalog_evaluation_job` did: rows measured now, models already in the results file
    (not redone), and models that could not be evaluated with the reason."""

    measured: tuple[EvaluationRecord, ...]
    resumed: tuple[str, ...]
    errors: tuple[tuple[str, str], ...]


EvaluationEvent = Callable[[str, "EvaluationRecord | None", str | None], None]
"""Called on rank 0 as each model finishes: ``(name, record or None, error or None)``; a model already
in the results file comes with its earlier record."""


def catalog_evaluation_job(
    names: Sequence[str],
    root: str | Path,
    out: str | Path,
    *,
    batch_size: int = 64,
    workers: int = 4,
    limit: int | None = None,
    device: str = "auto",
    user_weights: bytes | None = None,
    distributed: Distributed | None = None,
    cache: Workbench | None = None,
    download_progress: Callable[[str], Callable[[int, int | None], None]] | None = None,
    on_model: EvaluationEvent | None = None,
) -> Job[CatalogEvaluation]:
    """Top-1/top-5 of each model in ``names`` on the folder ``root``, one row per model in the CSV ``out``.

    Each model gets its own preprocessing (from its weights' published evaluation) and its images
    through a ``DataLoader`` with ``workers`` processes. A model already in ``out`` for the same folder,
    sample (``limit`` images, a seeded choice) and weights is not redone, so a killed run continues where
    it stopped. With ``distributed`` (several processes started by torchrun), each rank evaluates its
    shard and the counts are summed exactly; only rank 0 writes. Pretrained weights missing from disk are
    downloaded (by rank 0, with ``download_progress(name)``); ``user_weights`` is a state_dict for a single
    model. The job reports progress per image batch and stops when cancelled.
    """
    from cvviz.catalog import get_spec
    from cvviz.device import describe_device
    from cvviz.jobs import Cancelled
    from cvviz.measure.distributed import shard_indices

    specs = [get_spec(name) for name in names]
    if user_weights is not None and len(specs) != 1:
        raise CvvizError(_("A weights file belongs to one model: name exactly one with --weights."))
    if batch_size < 1 or workers < 0 or (limit is not None and limit < 1):
        raise CvvizError(_("The batch size and image limit must be at least 1, the workers at least 0."))
    ranks = distributed or Distributed()
    cache = cache if cache is not None else Workbench()
    root = Path(root).resolve()
    sample = "all" if limit is None else str(limit)
    if user_weights is not None:
        weights_label = "user " + hashlib.sha256(user_weights).hexdigest()[:12]
    else:
        weights_label = "pretrained"

    datasets: dict[tuple[str, ...], LabelledImages | str] = {}

    def attempt(spec, step: Callable[[], object]) -> str | None:
        """None when ``step()`` worked, else the sentence saying why not (a cancel goes through)."""
        try:
            step()
        except Cancelled:
            raise
        except torch.cuda.OutOfMemoryError:
            return _("The GPU ran out of memory on {title}.").format(title=spec.title)
        except CvvizError as exc:
            return str(exc)
        return None

    def scan(spec) -> LabelledImages:
        if spec.categories not in datasets:  # read once for every model with the same classes
            try:
                datasets[spec.categories] = scan_image_folder(root, spec.categories, limit=limit)
            except DatasetError as exc:
                datasets[spec.categories] = str(exc)
        found = datasets[spec.categories]
        if isinstance(found, str):
            raise DatasetError(found)
        return found

    def load(spec):
        kind = "user" if user_weights is not None else "pretrained"
        progress = download_progress(spec.name) if download_progress and ranks.main else None
        return cache.get(
            spec.name, kind, device=ranks.device(device), user_weights=user_weights, progress=progress
        )

    def one_model(spec, part) -> tuple[EvaluationRecord | None, str | None]:
        started = time.monotonic()
        part.update(0.0, _("{title}: loading").format(title=spec.title))
        # Rank 0 loads first (downloading what is missing); the others then read it from disk.
        error = attempt(spec, lambda: scan(spec)) or (
            attempt(spec, lambda: load(spec)) if ranks.main else None
        )
        ranks.barrier()
        if error is None and not ranks.main:
            error = attempt(spec, lambda: load(spec))
        counts, where = [0, 0, 0, 0], ""
        if error is None:
            loaded, dataset = load(spec), scan(spec)
            where = describe_device(loaded.device)
            mine = [dataset.items[i] for i in shard_indices(len(dataset.items), ranks.rank, ranks.world_size)]

            def progress(done: int, total: int) -> None:
                part.update(
                    done / max(total, 1),
                    _("{title}: {done}/{total} images").format(title=spec.title, done=done, total=total),
                )

            def run() -> None:
                counts[:] = count_correct(
                    loaded, mine, batch_size=batch_size, workers=workers, progress=progress
                )

            error = attempt(spec, run)
        correct1, correct5, images, skipped, failures = ranks.sum([*counts, error is not None])
        cache.clear()  # one model at a time: the next may be large
        if failures:
            return None, error or _("{title} failed in another process.").format(title=spec.title)
        record = EvaluationRecord(
            model=spec.name,
            images=images,
            top1=100.0 * correct1 / images if images else 0.0,
            top5=100.0 * correct5 / images if images else 0.0,
            correct1=correct1,
            correct5=correct5,
            skipped=skipped,
            weights=weights_label,
            dataset=str(root),
            sample=sample,
            device=where,
            processes=ranks.world_size,
            seconds=round(time.monotonic() - started, 2),
            measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return record, None

    def work(reporter) -> CatalogEvaluation:
        finished = {}
        if ranks.main:
            finished = {r.key: r for r in read_results(out) if r.dataset == str(root)}
        finished = ranks.broadcast(finished)
        measured, resumed, errors = [], [], []
        for position, spec in enumerate(specs):
            part = reporter.part(position / len(specs), (position + 1) / len(specs))
            record = finished.get((spec.name, str(root), sample, weights_label))
            error = None
            if record is not None:
                resumed.append(spec.name)
            else:
                record, error = one_model(spec, part)
                if error is not None:
                    errors.append((spec.name, error))
                else:
                    measured.append(record)
                    if ranks.main:
                        append_result(out, record)
            if on_model is not None and ranks.main:
                on_model(spec.name, record, error)
        reporter.update(1.0, _("Done"))
        return CatalogEvaluation(tuple(measured), tuple(resumed), tuple(errors))

    return Job(_("Evaluating"), work)
