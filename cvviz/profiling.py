"""Backbones side by side: parameters, FLOPs and published accuracy, plus latency, throughput and memory
measured live on the chosen device.

Counting (:func:`count_row`) runs on the meta device through :func:`cvviz.complexity.complexity_for_spec`:
no weights and no memory. Timing (:func:`profile_models`) runs the shared cached model under
``torch.inference_mode`` with a warm-up, then times each run with ``torch.cuda.Event`` on a GPU (after
synchronising) or ``time.perf_counter`` on the CPU. Random weights time the same as trained ones, so
accuracy here is always the *published* figure, named with its source; :mod:`cvviz.evaluation` measures it.

Convention: 1 MAC = 2 FLOPs. Achieved TFLOP/s = FLOPs per image × batch / seconds per batch, compared with
the device's peak dense throughput where the device is in :data:`PEAK_TFLOPS`.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

import torch
from torch import nn

from cvviz.catalog import ModelSpec, get_spec
from cvviz.complexity import NOT_COUNTED, complexity_for_spec
from cvviz.device import describe_device, resolve_device
from cvviz.errors import CvvizError
from cvviz.model_cache import ModelCache, model_nbytes
from cvviz.models import build_on_meta
from cvviz.weights import cached_weights_path, expected_size_bytes

Dtype = Literal["fp32", "bf16"]
ProfileProgress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, model_name)`` before each model and once more at the end."""

FLOPS_NOTE = f"FLOPs = 2 × MACs at the native input size, batch 1; not counted: {NOT_COUNTED}."
CPU_MEMORY_NOTE = "peak memory is measured on CUDA only (torch.cuda.max_memory_allocated); not on the CPU"

# Peak dense (no sparsity) tensor-core bf16 and plain fp32 TFLOP/s from the vendors' data sheets.
# Matched in order against ``torch.cuda.get_device_name``; fp32 is the non-tensor-core figure (TF32
# matmuls can exceed it, so a share above 100 % in fp32 means TF32 was used).
PEAK_TFLOPS: tuple[tuple[str, str, float, float], ...] = (
    (r"H200", "NVIDIA H200", 989.4, 66.9),
    (r"H100.*PCIe", "NVIDIA H100 PCIe", 756.0, 51.2),
    (r"H100.*NVL", "NVIDIA H100 NVL", 835.0, 60.0),
    (r"H100", "NVIDIA H100 SXM", 989.4, 66.9),
    (r"A100", "NVIDIA A100", 312.0, 19.5),
    (r"\bL4\b", "NVIDIA L4", 121.0, 30.3),
)


@dataclass(frozen=True)
class LatencyStats:
    """Wall time of ``runs`` timed forward passes after ``warmup`` untimed ones, in milliseconds."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    times_ms: tuple[float, ...]


@dataclass(frozen=True)
class ProfileRow:
    """One model's row in the comparison. Counts are per image at the native input size (batch 1).

    ``weight_bytes`` is the published checkpoint size when ``weight_bytes_source`` is ``"published
    checkpoint"`` (torchvision's ``_file_size``), else the computed size of the state_dict's tensors.
    ``acc1``/``acc5`` are published figures (percent) named by ``accuracy_source``, never measured here.
    Live fields (``latency_*``, ``throughput``, ``peak_memory_bytes``, ``tflops``, ``peak_share``) are
    None when not measured; ``error`` holds the sentence when measuring failed (e.g. out of memory).
    """

    model: str
    title: str
    family: str
    year: int
    params: int
    macs: int
    flops: int
    input_size: int
    weight_bytes: int
    weight_bytes_source: str
    acc1: float | None
    acc5: float | None
    accuracy_source: str | None
    note: str = ""
    device: str | None = None
    dtype: str | None = None
    channels_last: bool | None = None
    weights: str | None = None
    batch: int | None = None
    runs: int | None = None
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None
    throughput: float | None = None
    peak_memory_bytes: int | None = None
    memory_note: str | None = None
    tflops: float | None = None
    peak_share: float | None = None
    error: str | None = None

    def to_record(self) -> dict:
        """A flat dict for JSON or CSV (None stays None, i.e. ``null``)."""
        return asdict(self)


def _published_note(spec: ModelSpec, params: int) -> str:
    meta = spec.torchvision_weights.meta if spec.torchvision_weights is not None else {}
    published = meta.get("num_params")
    if published is None or published == params:
        return ""
    return (
        f"torchvision publishes {published:,} parameters, which include training-only heads "
        f"(auxiliary classifier); {params:,} is the inference-time count of the model as built here."
    )


def _state_dict_bytes(spec: ModelSpec) -> int:
    model = build_on_meta(spec)
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


@functools.cache
def count_row(name: str) -> ProfileRow:
    """Counts and published figures for one catalog model; needs no weights and no memory."""
    spec = get_spec(name)
    complexity = complexity_for_spec(spec)
    published_size = expected_size_bytes(spec)
    if published_size:
        weight_bytes, weight_source = published_size, "published checkpoint"
    else:
        weight_bytes, weight_source = _state_dict_bytes(spec), "computed state_dict (fp32)"
    accuracy = spec.published
    return ProfileRow(
        model=spec.name,
        title=spec.title,
        family=spec.family,
        year=spec.year,
        params=complexity.params,
        macs=complexity.macs,
        flops=complexity.flops,
        input_size=spec.input_size,
        weight_bytes=weight_bytes,
        weight_bytes_source=weight_source,
        acc1=accuracy.top1 if accuracy else None,
        acc5=accuracy.top5 if accuracy else None,
        accuracy_source=accuracy.source if accuracy else None,
        note=_published_note(spec, complexity.params),
    )


def peak_tflops(device: torch.device, dtype: Dtype) -> tuple[str, float] | None:
    """``(device label, peak dense TFLOP/s)`` for a known GPU and dtype; None on the CPU or if unknown."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for pattern, label, bf16, fp32 in PEAK_TFLOPS:
        if re.search(pattern, name):
            return label, bf16 if dtype == "bf16" else fp32
    return None


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_forward(
    run: Callable[[], object], device: torch.device, *, runs: int = 20, warmup: int = 3
) -> LatencyStats:
    """Time ``run()`` ``runs`` times after ``warmup`` untimed calls.

    On CUDA each run is bracketed by ``torch.cuda.Event`` records and the device is synchronised, so the
    time is the GPU's, not the launch overhead's; on the CPU ``time.perf_counter`` brackets each call.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    for _ in range(max(0, warmup)):
        run()
    _synchronize(device)
    times: list[float] = []
    for _ in range(runs):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            end.record()
            end.synchronize()
            times.append(float(start.elapsed_time(end)))
        else:
            begin = time.perf_counter()
            run()
            times.append((time.perf_counter() - begin) * 1000.0)
    ordered = sorted(times)
    return LatencyStats(
        median_ms=statistics.median(ordered),
        p10_ms=_quantile(ordered, 0.1),
        p90_ms=_quantile(ordered, 0.9),
        runs=runs,
        times_ms=tuple(times),
    )


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default method)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _forward(
    model: nn.Module, batch: torch.Tensor, device: torch.device, dtype: Dtype
) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=dtype == "bf16"):
            return model(batch)

    return run


def measure_model(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    flops_per_image: int,
    device: torch.device,
    *,
    dtype: Dtype = "fp32",
    channels_last: bool = False,
    batch: int = 8,
    runs: int = 20,
    warmup: int = 3,
) -> dict:
    """Latency at batch 1, throughput at ``batch``, peak CUDA memory and achieved TFLOP/s for ``model``.

    ``model`` must already live on ``device``; it is not modified (channels-last uses a converted copy).
    Returns the live fields of :class:`ProfileRow` as a dict.
    """
    if channels_last:
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def make_input(size: int) -> torch.Tensor:
        tensor = torch.randn((size, *input_shape), device=device)
        return tensor.to(memory_format=torch.channels_last) if channels_last else tensor

    latency = time_forward(_forward(model, make_input(1), device, dtype), device, runs=runs, warmup=warmup)
    big = make_input(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    batched = time_forward(_forward(model, big, device, dtype), device, runs=max(3, runs // 4), warmup=1)
    peak_memory = None
    if device.type == "cuda":
        # Weights plus the peak the batched runs added on top of what was allocated before (which also
        # holds other cached models and the input), so models cached beside this one do not count.
        peak_memory = model_nbytes(model) + torch.cuda.max_memory_allocated(device) - before
    seconds = batched.median_ms / 1000.0
    achieved = flops_per_image * batch / seconds / 1e12 if seconds > 0 else None
    peak = peak_tflops(device, dtype)
    return {
        "latency_ms": latency.median_ms,
        "latency_p10_ms": latency.p10_ms,
        "latency_p90_ms": latency.p90_ms,
        "throughput": batch / seconds if seconds > 0 else None,
        "peak_memory_bytes": peak_memory,
        "memory_note": (
            "weights + peak extra torch.cuda.max_memory_allocated during the batched runs "
            "(activations and workspace)"
            if peak_memory is not None
            else CPU_MEMORY_NOTE
        ),
        "tflops": achieved,
        "peak_share": achieved / peak[1] if peak and achieved is not None else None,
    }


def available_weights(spec: ModelSpec) -> str:
    """Pretrained when they are on disk already (never download to time a model), else random."""
    if spec.packaged_weights or cached_weights_path(spec) is not None:
        return "pretrained"
    return "random"


def profile_models(
    names: Iterable[str],
    *,
    measure: bool = False,
    device: str | torch.device | None = None,
    dtype: Dtype = "fp32",
    channels_last: bool = False,
    batch: int = 8,
    runs: int = 20,
    warmup: int = 3,
    cache: ModelCache | None = None,
    progress: ProfileProgress | None = None,
) -> list[ProfileRow]:
    """One :class:`ProfileRow` per model, in the order given.

    Without ``measure`` only counts and published figures are filled in. With it, each model is taken from
    ``cache`` (a :class:`cvviz.model_cache.ModelCache`; a private one if None) with whatever weights are on
    disk, and timed on ``device``. A failure for one model (a GPU out of memory, say) is recorded in that
    row's ``error`` and the run goes on.
    """
    if dtype not in ("fp32", "bf16"):
        raise CvvizError(f"Unknown dtype {dtype!r}; choose fp32 or bf16.")
    if batch < 1 or runs < 1:
        raise CvvizError("Batch size and number of runs must be at least 1.")
    names = list(names)
    target = resolve_device(device) if measure else None
    if measure and cache is None:
        cache = ModelCache()
    rows = []
    for done, name in enumerate(names):
        if progress is not None:
            progress(done, len(names), name)
        row = count_row(name)
        if measure:
            row = _measured(row, cache, target, dtype, channels_last, batch, runs, warmup)
        rows.append(row)
    if progress is not None:
        progress(len(names), len(names), "")
    return rows


def _measured(
    row: ProfileRow,
    cache: ModelCache,
    device: torch.device,
    dtype: Dtype,
    channels_last: bool,
    batch: int,
    runs: int,
    warmup: int,
) -> ProfileRow:
    spec = get_spec(row.model)
    settings = {
        "device": describe_device(device),
        "dtype": dtype,
        "channels_last": channels_last,
        "batch": batch,
        "runs": runs,
    }
    try:
        weights = available_weights(spec)
        loaded = cache.get(spec.name, weights, device=device)
        with loaded.lock:
            live = measure_model(
                loaded.model,
                spec.input_shape,
                row.flops,
                device,
                dtype=dtype,
                channels_last=channels_last,
                batch=batch,
                runs=runs,
                warmup=warmup,
            )
        return replace(row, **settings, weights=weights, **live)
    except torch.cuda.OutOfMemoryError:
        _release(device)
        return replace(
            row, **settings, error=f"The GPU ran out of memory profiling {spec.title} at batch {batch}."
        )
    except CvvizError as exc:
        _release(device)
        return replace(row, **settings, error=str(exc))
    except RuntimeError as exc:  # e.g. the CPU allocator refusing a large batch
        _release(device)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return replace(row, **settings, error=f"Profiling {spec.title} failed: {reason}")


def _release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: ``(cost, accuracy)`` pairs, lower cost and higher
    accuracy are better (e.g. FLOPs and top-1). Returned in order of increasing cost.

    A point is on the front when no other point has cost ≤ and accuracy ≥ with at least one strict;
    of exact duplicates only the first is kept.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
