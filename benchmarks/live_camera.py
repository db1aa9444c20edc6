"""Benchmark: the live camera's per-frame call, and a stream run through the newest-frame worker.

For each configuration (EfficientNet-Lite0 + Grad-CAM, ViT-B/16 + last-layer attention, ViT-B/16 +
Grad-CAM) on a 640×480 frame of a bundled sample photo (a webcam's usual stream):

* the per-frame library call :func:`cvviz.live.process_frame` (preprocessing, model, overlay): median
  and 90th percentile of ``--frames`` calls, and the frames per second that makes;
* the bare model on the same preprocessed input: forward + backward of the top logit down to the input
  for Grad-CAM, one forward pass for attention; ``ratio`` is its time over the call's (1.0: the call
  costs nothing extra; above 1 where Grad-CAM's backward pass stops at its layer, short of the input);
* a stream: frames offered at ``--camera-fps`` for ``--seconds`` to a
  :class:`~cvviz.live.LatestFrameWorker`; results per second and the median capture → result latency.

Weights: Lite0's packaged ImageNet weights; ViT-B/16 random (the time does not depend on the values).
Every timing runs in a thread of its own, as the app's worker and script threads do: on a CPU shared with
other work, torch's intra-op threads in the main thread can wait on each other for whole time slices
(measured: 5.6 s against 0.15 s per Lite0 frame at load average 10).

    python -m benchmarks.live_camera [--device cpu|cuda] [--frames 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time

import numpy as np
import torch

from cvviz.data.images import load_sample
from cvviz.live import LatestFrameWorker, LiveOptions, process_frame
from cvviz.models.inference import preprocess
from cvviz.models.workbench import Workbench

CONFIGURATIONS = (
    ("efficientnet_lite0", "pretrained", "grad_cam"),
    ("vit_b_16", "random", "attention"),
    ("vit_b_16", "random", "grad_cam"),
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _times(call, count: int, device: torch.device) -> list[float]:
    call()  # warm-up
    _sync(device)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        _sync(device)
        times.append(time.perf_counter() - started)
    return times


def _in_thread(work):
    """``work()``'s result, computed in a new thread (as the app's worker computes every frame)."""
    box: list = []
    thread = threading.Thread(target=lambda: box.append(work()))
    thread.start()
    thread.join()
    return box[0]


def _bare(loaded, batch: torch.Tensor, overlay: str):
    def forward_backward() -> None:
        with loaded.exclusive() as model, torch.enable_grad():
            x = batch.clone().requires_grad_(True)
            model(x).max().backward()

    def forward() -> None:
        with loaded.exclusive() as model, torch.inference_mode():
            model(batch)

    return forward_backward if overlay == "grad_cam" else forward


def _stream(loaded, frame: np.ndarray, options: LiveOptions, camera_fps: float, seconds: float):
    """Results per second and the median capture → result latency (ms) of a stream offered frames at
    ``camera_fps`` for ``seconds``."""
    latencies: dict[int, float] = {}
    with LatestFrameWorker(lambda f: process_frame(loaded, f, options), idle_s=5.0) as worker:
        ends = time.perf_counter() + seconds
        while time.perf_counter() < ends:
            worker.submit(frame)
            time.sleep(1.0 / camera_fps)
            latest = worker.latest()
            if latest is not None:
                latencies[latest.frame_index] = latest.latency_ms
        stats = worker.stats()
    return stats.fps, statistics.median(latencies.values()) if latencies else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--camera-fps", type=float, default=30.0)
    args = parser.parse_args()
    device = torch.device(args.device)
    frame = np.asarray(load_sample("cat").image.convert("RGB").resize((640, 480)))
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"device: {args.device} ({name}), {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"load average {load:.1f}; frame 640×480"
    )
    print(
        "| model + overlay | call median (ms) | call p90 (ms) | call fps | bare (ms) | ratio | "
        "stream fps | stream latency (ms) |\n|---|---|---|---|---|---|---|---|"
    )
    bench = Workbench()
    for model_name, weights, overlay in CONFIGURATIONS:
        loaded = bench.get(model_name, weights, device=device)
        options = LiveOptions(overlay=overlay)  # type: ignore[arg-type]
        calls = _in_thread(
            lambda m=loaded, o=options: _times(lambda: process_frame(m, frame, o), args.frames, device)
        )
        batch = preprocess(load_sample("cat").image.convert("RGB").resize((640, 480)), loaded.spec).to(device)
        bare = _in_thread(lambda m=loaded, b=batch, o=overlay: _times(_bare(m, b, o), args.frames, device))
        fps, latency = _stream(loaded, frame, options, args.camera_fps, args.seconds)
        median = statistics.median(calls)
        p90 = sorted(calls)[max(0, int(0.9 * len(calls)) - 1)]
        print(
            f"| {loaded.spec.title} + {overlay} | {median * 1000:.0f} | {p90 * 1000:.0f} | {1 / median:.1f} | "
            f"{statistics.median(bare) * 1000:.0f} | {statistics.median(bare) / median:.2f} | "
            f"{fps:.1f} | {latency:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
