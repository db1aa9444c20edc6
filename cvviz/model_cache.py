"""A bounded, thread-safe cache of loaded models shared by every caller (all browser sessions).

One copy per (model, weights, device); least-recently-used models are evicted once their parameters
and buffers exceed a memory budget, so a kiosk that has shown 30 models does not grow without bound.
Each entry carries a lock: work that attaches hooks to the shared model holds it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import nn

from cvviz.catalog import ModelSpec, get_spec
from cvviz.device import resolve_device
from cvviz.errors import DeviceError
from cvviz.models import WeightsInfo, WeightsKind, build_model
from cvviz.weights import ProgressCallback

BUDGET_ENV = "CVVIZ_MODEL_CACHE_MB"
DEFAULT_BUDGET_MB = 4096


@dataclass(eq=False)
class LoadedModel:
    """A model ready for inference: eval mode, gradients off, never to be mutated by callers."""

    spec: ModelSpec
    model: nn.Module
    weights: WeightsInfo
    device: torch.device
    nbytes: int
    note: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def trained(self) -> bool:
        return self.weights.trained


def model_nbytes(model: nn.Module) -> int:
    """Bytes held by the model's parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _budget_from_env() -> int:
    try:
        return int(float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_MB)) * 1024 * 1024)
    except ValueError:
        return DEFAULT_BUDGET_MB * 1024 * 1024


class ModelCache:
    """Least-recently-used cache of :class:`LoadedModel`, bounded by ``budget_bytes``.

    The most recently requested model is always kept, even if it alone exceeds the budget.
    """

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = _budget_from_env() if budget_bytes is None else budget_bytes
        self._entries: OrderedDict[tuple, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}

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
                self._evict()
            return entry

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
                raise DeviceError(f"The GPU does not have enough free memory for {spec.title}.") from exc

    def _evict(self) -> None:
        while len(self._entries) > 1 and self.total_bytes() > self.budget_bytes:
            self._entries.popitem(last=False)

    def total_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def cached_keys(self) -> list[tuple]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
