"""The detection lab's speed: the seconds a default run of the grid detector and of the U-Net takes to its
reported held-out mAP@0.5 / mIoU, and what a threshold slider costs against running the network again.

Every run is the lab's own loop (``cvviz.tasks.lab.train``) with the task's default settings (1,000 training
scenes, batches of 32 for the detector and 16 for the U-Net, Adam with a one-cycle schedule) on one torch
thread, as the lab runs; the seconds are the whole run: making the scenes, the training steps and the
held-out scoring after every epoch (200 scenes of test digits). The run's CPU time (``time.process_time``)
is reported beside its wall time: on one thread it is what the run takes on a core of its own, whatever else
the machine runs. Then, for the last detector: one forward pass over the 200 held-out scenes (what a page
would pay to re-run the network) against re-running only the post-processing of one scene (threshold and
NMS) and of all 200 with their mAP (what a slider move costs). A U-Net run below ``MIOU_FLOOR`` fails the
benchmark.

    python -m benchmarks.task_lab [--runs 2 | --seeds 0 1 2] [--tasks detect segment]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from cvviz.tasks.grid_detector import DEFAULT_IOU, DEFAULT_SCORE
from cvviz.tasks.lab import (
    METRIC,
    MIOU_FLOOR,
    TASKS,
    TaskConfig,
    detection_map,
    detector_outputs,
    model_from_result,
    train,
)
from cvviz.tasks.synthetic import held_out_scenes
from cvviz.tasks.views import DetectorView, final_boxes


def _timed(work, repeats: int = 5) -> float:
    times = []
    for _repeat in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", help="train with these seeds (default 0 … runs − 1)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"device: CPU, {os.cpu_count()} cores (the lab's loop on one thread), torch {torch.__version__}")
    print(f"load average at the start: {load}")
    held_out_scenes()  # made once per process, as the app does
    last, failed = None, []
    for task in args.tasks:
        seconds, cpu, scores, epochs = [], [], [], []
        for seed in args.seeds if args.seeds else range(args.runs):
            started = time.process_time()
            result = train(TaskConfig(task=task, seed=seed))
            cpu.append(time.process_time() - started)
            seconds.append(result.seconds)
            scores.append(result.score)
            epochs.append(statistics.median(epoch.seconds for epoch in result.epochs))
            if task == "detect":
                last = result
        print(
            f"{task}: {len(result.epochs)} epochs, whole run {statistics.median(seconds):.1f} s "
            f"(runs: {', '.join(f'{s:.1f}' for s in seconds)}); CPU time {statistics.median(cpu):.1f} s "
            f"(runs: {', '.join(f'{s:.1f}' for s in cpu)}); epoch {statistics.median(epochs):.2f} s; "
            f"held-out {METRIC[task]} {statistics.median(scores):.3f} (runs: {', '.join(f'{s:.3f}' for s in scores)})"
        )
        if task == "segment" and min(scores) < MIOU_FLOOR:
            failed.append(f"a default U-Net run reached mIoU {min(scores):.3f}, below its floor {MIOU_FLOOR}")
    if last is not None:
        model, scenes = model_from_result(last), held_out_scenes()
        forward = _timed(lambda: detector_outputs(model, scenes))
        outputs = detector_outputs(model, scenes)
        view = DetectorView(outputs, scenes)
        one = _timed(lambda: final_boxes(view, 0, DEFAULT_SCORE, DEFAULT_IOU), repeats=20)
        every = _timed(lambda: detection_map(outputs, scenes, DEFAULT_SCORE, DEFAULT_IOU))
        print(
            f"detector forward over {len(scenes)} held-out scenes: {1000 * forward:.1f} ms; slider update, one "
            f"scene's threshold + NMS + AP: {1000 * one:.2f} ms ({one / forward:.3f}× the forward); all "
            f"{len(scenes)} scenes with their mAP: {1000 * every:.1f} ms ({every / forward:.2f}×)"
        )
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")
    if failed:
        raise SystemExit("; ".join(failed))


if __name__ == "__main__":
    main()
