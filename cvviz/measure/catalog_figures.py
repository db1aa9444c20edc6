"""One row per catalog model — identity, story, parameters, MACs, published accuracy — persisted on disk.

Counting the whole catalog builds 80-odd models on the meta device; the figures only change when torch,
torchvision or cvviz's model code change, so they are computed once (in parallel processes) and stored
under ``$CVVIZ_CACHE_DIR`` (default ``~/.cache/cvviz``) keyed by those versions and a digest of the
catalog's source. Reading them back (:func:`persisted_summaries`) imports neither torch nor torchvision,
which lets the first page draw its timeline before the heavy libraries have loaded.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

CACHE_ENV = "CVVIZ_CACHE_DIR"
_PACKAGE = Path(__file__).resolve().parent.parent
# Source whose changes change a figure: the catalog, the families, and the architectures cvviz writes.
_SOURCES = ("catalog", "families", "models/architectures", "models/build.py", "measure/complexity.py")


@dataclass(frozen=True)
class ModelSummary:
    """What the catalog and a meta-device build say about a model; accuracy names its source.

    ``params`` is the inference-time count from the real module; ``macs`` multiply-accumulates for one
    image at ``input_size`` (1 MAC = 2 FLOPs).
    """

    name: str
    title: str
    family: str
    year: int
    kind: str
    params: int
    macs: int
    input_size: int
    pretrained_available: bool
    weights: str | None
    acc1: float | None
    acc5: float | None
    accuracy_source: str | None
    paper: str
    paper_url: str
    key_idea: str

    @property
    def flops(self) -> int:
        return 2 * self.macs


def cache_dir() -> Path:
    """Where cvviz keeps figures it computed (``$CVVIZ_CACHE_DIR``, default ``~/.cache/cvviz``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cvviz")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def figures_key() -> str:
    """The versions of torch, torchvision and cvviz plus a digest of the catalog's source files."""
    digest = hashlib.sha256()
    for relative in _SOURCES:
        root = _PACKAGE / relative
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(_PACKAGE)).encode())
            digest.update(path.read_bytes())
    from cvviz import __version__

    return f"torch {_version('torch')} · torchvision {_version('torchvision')} · cvviz {__version__} · {digest.hexdigest()[:16]}"


def _index_path() -> Path:
    return cache_dir() / "catalog-figures.json"


def persisted_summaries() -> list[ModelSummary] | None:
    """The persisted rows if they were computed by this exact torch, torchvision and cvviz, else None.

    Imports neither torch nor torchvision.
    """
    try:
        stored = json.loads(_index_path().read_text(encoding="utf-8"))
        if stored.get("key") != figures_key():
            return None
        return [ModelSummary(**row) for row in stored["rows"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _persist(rows: list[ModelSummary]) -> None:
    path = _index_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"key": figures_key(), "rows": [dataclasses.asdict(r) for r in rows]})
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(payload)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only home: the figures are simply recomputed next time


def summarise(name: str) -> ModelSummary:
    """One model's row, counted now on the meta device."""
    from cvviz.catalog.registry import get_spec
    from cvviz.measure.complexity import count_totals
    from cvviz.models.build import build_on_meta

    spec = get_spec(name)
    params, macs = count_totals(build_on_meta(spec), (1, *spec.input_shape))
    published = spec.published
    return ModelSummary(
        name=spec.name,
        title=spec.title,
        family=spec.family,
        year=spec.year,
        kind=spec.kind,
        params=params,
        macs=macs,
        input_size=spec.input_size,
        pretrained_available=spec.pretrained_available,
        weights=spec.weights_name,
        acc1=published.top1 if published else None,
        acc5=published.top5 if published else None,
        accuracy_source=published.source if published else None,
        paper=spec.paper.title,
        paper_url=spec.paper.url,
        key_idea=spec.key_idea,
    )


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Start spawned workers without the parent's ``__main__`` script.

    A spawned process first re-runs the parent's main script (as ``__mp_main__``). Under Streamlit that
    is the page being run, which would draw itself again in the worker and ask for these very figures
    there: the worker dies and the pool breaks. The workers need nothing from it, so while they start
    ``__main__`` is a module without a file, which spawn does not re-run.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _summarise_in_worker(name: str) -> ModelSummary:
    import torch

    torch.set_num_threads(1)
    return summarise(name)


def compute_summaries(
    names: list[str] | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ModelSummary]:
    """Count every named model (default: the whole catalog) on ``workers`` CPUs (default: all); rows
    come back in catalog order.

    This process counts from the end of the list while ``workers - 1`` fresh worker processes start
    (importing torch takes them seconds) and count from the front; the two meet in the middle.
    """
    from cvviz.catalog.registry import list_models

    names = names or [spec.name for spec in list_models()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(names)))
    rows: dict[str, ModelSummary] = {}

    def note(name: str, row: ModelSummary) -> None:
        rows[name] = row
        if progress:
            progress(len(rows), len(names))

    if workers == 1:
        for name in names:
            note(name, summarise(name))
        return [rows[name] for name in names]
    context = multiprocessing.get_context("spawn")  # never fork a process that may run other threads
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        with _main_script_hidden():  # the workers start on the first submits
            futures = {name: pool.submit(_summarise_in_worker, name) for name in names}
        for name in reversed(names):
            if futures[name].cancel():  # not started by a worker yet: count it here
                note(name, summarise(name))
        for name, future in futures.items():
            if name not in rows:
                note(name, future.result())
    return [rows[name] for name in names]


def catalog_summaries(progress: Callable[[int, int], None] | None = None) -> list[ModelSummary]:
    """Every catalog model's row in story order: the persisted figures, or counted now and persisted."""
    rows = persisted_summaries()
    if rows is None:
        rows = compute_summaries(progress=progress)
        _persist(rows)
    return rows
