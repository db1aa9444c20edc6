"""Timing a model: latency at batch 1, throughput at a larger batch, peak CUDA memory and achieved TFLOP/s.

Each run is timed with ``torch.cuda.Event`` on a GPU (after synchronising) or ``time.perf_counter`` on
the CPU, under ``torch.inference_mode``, after a warm-up. A time budget keeps a comparison of many models
short: a model stops being timed once it has used its budget and run at least three times.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from cvviz.i18n import N_
from cvviz.models.workbench import model_nbytes

Dtype = Literal["fp32", "bf16"]
# Kept in English in records and JSON; pages show them through ``_()``.
CPU_MEMORY_NOTE = N_("peak memory is measured on CUDA only (torch.cuda.max_memory_allocated); not on the CPU")
CUDA_MEMORY_NOTE = N_(
    "weights + peak extra torch.cuda.max_memory_allocated during the batched runs (activations and workspace)"
)
MIN_RUNS = 3

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
    run: Callable[[], object],
    device: torch.device,
    *,
    runs: int = 20,
    warmup: int = 3,
    budget_s: float | None = None,
) -> LatencyStats:
    """Time ``run()`` up to ``runs`` times after ``warmup`` untimed calls.

    On CUDA each run is bracketed by ``torch.cuda.Event`` records and the device is synchronised, so the
    time is the GPU's, not the launch overhead's; on the CPU ``time.perf_counter`` brackets each call.
    With ``budget_s``, timing stops once the timed runs have taken that long and at least
    :data:`MIN_RUNS` (or ``runs``, if fewer) have run; ``runs`` in the result says how many did.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    for _ in range(max(0, warmup)):
        run()
    _synchronize(device)
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(runs):
        if (
            budget_s is not None
            and len(times) >= min(MIN_RUNS, runs)
            and time.perf_counter() - started >= budget_s
        ):
            break
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
        runs=len(times),
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
    throughput: bool = True,
    budget_s: float | None = None,
) -> dict:
    """Latency at batch 1 and, with ``throughput``, throughput at ``batch``, peak CUDA memory and achieved
    TFLOP/s for ``model``; ``budget_s`` bounds the time spent on each (see :func:`time_forward`).

    ``model`` must already live on ``device``; it is not modified (channels-last uses a converted copy).
    Returns the live fields of :class:`cvviz.measure.profiling.ProfileRow` as a dict.
    """
    if channels_last:
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def make_input(size: int) -> torch.Tensor:
        tensor = torch.randn((size, *input_shape), device=device)
        return tensor.to(memory_format=torch.channels_last) if channels_last else tensor

    latency = time_forward(
        _forward(model, make_input(1), device, dtype), device, runs=runs, warmup=warmup, budget_s=budget_s
    )
    live = {
        "runs": latency.runs,
        "latency_ms": latency.median_ms,
        "latency_p10_ms": latency.p10_ms,
        "latency_p90_ms": latency.p90_ms,
    }
    if not throughput:
        return live
    big = make_input(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    batched = time_forward(
        _forward(model, big, device, dtype), device, runs=max(3, runs // 4), warmup=1, budget_s=budget_s
    )
    peak_memory = None
    if device.type == "cuda":
        # Weights plus the peak the batched runs added on top of what was allocated before (which also
        # holds other cached models and the input), so models cached beside this one do not count.
        peak_memory = model_nbytes(model) + torch.cuda.max_memory_allocated(device) - before
    seconds = batched.median_ms / 1000.0
    achieved = flops_per_image * batch / seconds / 1e12 if seconds > 0 else None
    peak = peak_tflops(device, dtype)
    return {
        **live,
        "throughput": batch / seconds if seconds > 0 else None,
        "peak_memory_bytes": peak_memory,
        "memory_note": CUDA_MEMORY_NOTE if peak_memory is not None else CPU_MEMORY_NOTE,
        "tflops": achieved,
        "peak_share": achieved / peak[1] if peak and achieved is not None else None,
    }


@functools.cache
def seconds_per_mac(device_name: str) -> float:
    """Seconds this device takes per multiply-accumulate on a plain stack of 3×3 convolutions at batch 1,
    measured once per device: the basis of "about N s" estimates made before anything is timed."""
    device = torch.device(device_name)
    model = nn.Sequential(*(nn.Conv2d(64, 64, 3, padding=1) for _ in range(4))).to(device).eval()
    batch = torch.randn(1, 64, 56, 56, device=device)
    macs = 4 * 64 * 64 * 9 * 56 * 56
    with torch.inference_mode():
        model(batch)
        _synchronize(device)
        start = time.perf_counter()
        for _ in range(3):
            model(batch)
        _synchronize(device)
    return (time.perf_counter() - start) / 3 / macs


def estimate_seconds(
    macs: int,
    seconds_per_mac: float,
    *,
    runs: int,
    warmup: int,
    budget_s: float | None,
    throughput: bool = False,
    batch: int = 8,
) -> float:
    """Roughly how long :func:`measure_model` will take for a model of ``macs`` per image."""
    latency = max(macs * seconds_per_mac, 1e-4)
    timed = runs if budget_s is None else min(runs, max(MIN_RUNS, budget_s / latency + 1))
    total = (warmup + timed) * latency
    if throughput:
        batched = (
            max(3, runs // 4)
            if budget_s is None
            else min(max(3, runs // 4), max(MIN_RUNS, budget_s / (latency * batch) + 1))
        )
        total += (1 + batched) * latency * batch
    return total
