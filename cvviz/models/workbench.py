"""The model workbench: every shared model and every result computed from one, for all callers.

* **Models.** One copy per (model, weights, device), built once even under concurrent requests, in eval
  mode with gradients off, evicted least-recently-used beyond a memory budget (``CVVIZ_MODEL_CACHE_MB``).
* **Exclusive use.** A :class:`LoadedModel` hands its module out only through
  ``with loaded.exclusive() as model:``, which holds the model's lock for the block: hooks attached inside
  cannot see another session's forward pass, and no caller has to remember a locking convention.
* **Results.** One bounded cache keyed by (model key, image fingerprint, analysis, parameters), where the
  model key names the weights exactly (see :class:`cvviz.models.loading.WeightsInfo`). Results are plain
  data (numpy arrays, dataclasses) and never hold a model; they are dropped with their model on eviction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from cvviz.catalog.registry import get_spec
from cvviz.catalog.schema import ModelSpec
from cvviz.device import resolve_device
from cvviz.errors import DeviceError
from cvviz.i18n import _
from cvviz.models.loading import WeightsInfo, WeightsKind, build_model
from cvviz.models.weights import ProgressCallback

BUDGET_ENV = "CVVIZ_MODEL_CACHE_MB"
DEFAULT_BUDGET_MB = 4096
STATS_ENV = "CVVIZ_WORKBENCH_STATS"
"""A file the process's workbench rewrites (as JSON, :meth:`WorkbenchStats.as_dict`) whenever it builds
or evicts a model: how a running server shares its models can be read from outside it (load tests)."""
RESULTS_BUDGET_ENV = "CVVIZ_RESULT_CACHE_MB"
DEFAULT_RESULTS_BUDGET_MB = 512

T = TypeVar("T")


@dataclass(eq=False)
class LoadedModel:
    """A shared model ready for inference: eval mode, gradients off, never mutated by callers.

    The module itself is reached only through :meth:`exclusive`. ``key`` names this exact model (catalog
    name, weights digest, device) and keys its results.
    """

    spec: ModelSpec
    _model: nn.Module = field(repr=False)
    weights: WeightsInfo
    device: torch.device
    nbytes: int
    note: str = ""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def trained(self) -> bool:
        return self.weights.trained

    @property
    def key(self) -> str:
        return f"{self.spec.name}|{self.weights.digest}|{self.device}"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[nn.Module]:
        """The module, for this thread alone until the block ends (re-entrant within one thread)."""
        with self._lock:
            yield self._model


def model_nbytes(model: nn.Module) -> int:
    """Bytes held by the model's parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _budget(variable: str, default_mb: int) -> int:
    try:
        return int(float(os.environ.get(variable, default_mb)) * 1024 * 1024)
    except ValueError:
        return default_mb * 1024 * 1024


def result_nbytes(value: object, _depth: int = 0) -> int:
    """Approximate memory of a result: its arrays and tensors, walked through containers and dataclasses."""
    if _depth > 6:
        return 0
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(result_nbytes(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(result_nbytes(v, _depth + 1) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(result_nbytes(getattr(value, f.name), _depth + 1) for f in fields(value))
    return sys.getsizeof(value)


class ResultCache:
    """Least-recently-used results, bounded in bytes; the newest result is always kept."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = (
            _budget(RESULTS_BUDGET_ENV, DEFAULT_RESULTS_BUDGET_MB) if budget_bytes is None else budget_bytes
        )
        self._entries: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, object]:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key][0]
        return False, None

    def put(self, key: tuple, value: object) -> None:
        size = result_nbytes(value)
        with self._lock:
            self._entries[key] = (value, size)
            self._entries.move_to_end(key)
            while len(self._entries) > 1 and self.total_bytes() > self.budget_bytes:
                self._entries.popitem(last=False)

    def forget_model(self, model_key: str) -> None:
        """Drop every result computed from the model ``model_key``."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == model_key]:
                del self._entries[key]

    def total_bytes(self) -> int:
        return sum(size for _, size in self._entries.values())

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class WorkbenchStats:
    """How the workbench has served its models: ``builds`` counts the copies built of each model key
    (``name/weights/device``; ``name/user-<digest>/device`` for uploaded weights), ``requests`` the calls
    to :meth:`Workbench.get`, ``cached`` the keys held now (least recently used first), ``model_bytes``
    their parameters and buffers, ``budget_bytes`` the bound they are evicted to."""

    builds: dict[str, int]
    requests: int
    cached: tuple[str, ...]
    model_bytes: int
    budget_bytes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "builds": dict(self.builds),
            "requests": self.requests,
            "cached": list(self.cached),
            "model_bytes": self.model_bytes,
            "budget_bytes": self.budget_bytes,
        }


def _key_label(key: tuple) -> str:
    name, weights, digest, device = key
    return f"{name}/{weights if digest is None else 'user-' + digest[:12]}/{device}"


class Workbench:
    """The shared models and their results (see the module docstring).

    ``budget_bytes`` bounds the models' parameters and buffers; the most recently requested model is
    always kept, even if it alone exceeds the budget. ``results`` is the :class:`ResultCache`.
    """

    def __init__(self, budget_bytes: int | None = None, results_budget_bytes: int | None = None) -> None:
        self.budget_bytes = _budget(BUDGET_ENV, DEFAULT_BUDGET_MB) if budget_bytes is None else budget_bytes
        self.results = ResultCache(results_budget_bytes)
        self._entries: OrderedDict[tuple, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}
        self._builds: dict[str, int] = {}
        self._requests = 0

    def get(
        self,
        name: str,
        weights: WeightsKind = "pretrained",
        *,
        device: str | torch.device | None = None,
        user_weights: bytes | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadedModel:
        """The shared loaded model, building it (once, even under concurrent calls) if needed."""
        spec = get_spec(name)
        automatic = device is None or device == "auto"
        target = resolve_device(device)
        digest = hashlib.sha256(user_weights).hexdigest() if user_weights is not None else None
        key = (spec.name, weights, digest, str(target))
        with self._lock:
            self._requests += 1
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
            model, info = build_model(spec, weights, user_weights=user_weights, progress=progress)
            note = ""
            try:
                model = self._to_device(model, spec, target)
            except DeviceError as exc:
                if not automatic:
                    raise
                # Chosen automatically: the CPU is a fine place to run instead (cached under the GPU key
                # so the next request does not try the full GPU again).
                note = f"{exc} It runs on the CPU instead."
                target = torch.device("cpu")
            entry = LoadedModel(spec, model, info, target, model_nbytes(model), note)
            with self._lock:
                self._entries[key] = entry
                self._loading.pop(key, None)
                self._builds[_key_label(key)] = self._builds.get(_key_label(key), 0) + 1
                self._evict()
            self._publish()
            return entry

    def remember(
        self,
        model_key: str,
        image_key: str | None,
        analysis: str,
        parameters: Hashable,
        compute: Callable[[], T],
    ) -> T:
        """``compute()``'s result, reused while the model, the image and the parameters are the same.

        ``model_key`` is :attr:`LoadedModel.key` (or a catalog name for results that depend only on the
        architecture); ``image_key`` an image fingerprint or None. Errors are not cached.
        """
        key = (model_key, image_key, analysis, parameters)
        found, value = self.results.get(key)
        if found:
            return value  # type: ignore[return-value]
        value = compute()
        self.results.put(key, value)
        return value

    def _to_device(self, model: nn.Module, spec: ModelSpec, device: torch.device) -> nn.Module:
        if device.type == "cpu":
            return model
        try:
            return model.to(device)
        except torch.cuda.OutOfMemoryError:
            self.clear()
            torch.cuda.empty_cache()
            try:
                return model.to(device)
            except torch.cuda.OutOfMemoryError as exc:
                raise DeviceError(
                    _("The GPU does not have enough free memory for {title}.").format(title=spec.title)
                ) from exc

    def _evict(self) -> None:
        while len(self._entries) > 1 and self.total_bytes() > self.budget_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.results.forget_model(evicted.key)

    def total_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def stats(self) -> WorkbenchStats:
        """The copies built so far, the requests served and what is cached now."""
        with self._lock:
            return WorkbenchStats(
                builds=dict(self._builds),
                requests=self._requests,
                cached=tuple(_key_label(key) for key in self._entries),
                model_bytes=self.total_bytes(),
                budget_bytes=self.budget_bytes,
            )

    def _publish(self) -> None:
        """Rewrite the :data:`STATS_ENV` file, if one is named (whole, never half-written)."""
        path = os.environ.get(STATS_ENV)
        if not path:
            return
        stats = self.stats().as_dict() | {"pid": os.getpid()}
        partial = f"{path}.{os.getpid()}.{threading.get_ident()}"
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(stats, out)
        os.replace(partial, path)

    def cached_keys(self) -> list[tuple]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                self.results.forget_model(entry.key)
            self._entries.clear()


@contextlib.contextmanager
def exclusive_module(model_or_loaded: nn.Module | LoadedModel) -> Iterator[tuple[nn.Module, torch.device]]:
    """``(module, device)`` for a plain module (the caller's own) or a shared model, held exclusively."""
    if isinstance(model_or_loaded, LoadedModel):
        with model_or_loaded.exclusive() as model:
            yield model, model_or_loaded.device
    else:
        device = next(model_or_loaded.parameters(), torch.empty(0)).device
        yield model_or_loaded, device
